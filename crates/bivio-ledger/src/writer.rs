//! Getting records off the request path.
//!
//! [`LedgerWriter::record`] is a `try_send` into a bounded channel: it never waits and never fails the
//! request. When the queue is full (storage slower than traffic, or down) the record is dropped and
//! counted — a metric, plus a warning at the 1st, 2nd, 4th, 8th… drop so logs stay bounded.
//!
//! One background task drains the queue: it takes what is queued (up to `batch_size`), waits at most
//! `flush_interval` for more when the batch is not full, and writes the batch in one transaction. At most
//! `queue_capacity + batch_size` records are held in memory. A failed write is retried ([`WRITE_TRIES`]
//! times, backing off); a batch that still fails is written record by record, so one bad record (say, a
//! duplicate id) does not take its neighbours with it — unless [`SALVAGE_GIVE_UP`] records in a row fail
//! (storage is down), when the rest are given up. Lost records are counted as `failed` and logged without
//! payloads. [`Ledger::shutdown`] closes the queue (later records count as dropped), writes everything
//! still queued without lingering, and returns the final counts.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{LedgerSettings, WriterSettings};
use crate::error::LedgerError;
use crate::record::{AttemptRecord, Entry, LedgerRecord};
use crate::store::Store;

/// Tries per batch before it is given up (and counted as `failed`).
pub const WRITE_TRIES: u32 = 4;
/// Wait after the first failed try; ×4 after each further one (0.1 s, 0.4 s, 1.6 s).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Consecutive single-record failures after which salvaging a failed batch stops.
pub const SALVAGE_GIVE_UP: u32 = 3;

#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

/// The writer's counters, for metrics and for the shutdown log line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WriterStats {
    /// Requests taken into the queue.
    pub accepted: u64,
    /// Requests committed to storage.
    pub written: u64,
    /// Requests refused because the queue was full or closed.
    pub dropped: u64,
    /// Requests lost because storage kept failing.
    pub failed: u64,
    /// Requests waiting in the queue now.
    pub queue_depth: usize,
}

/// The request path's handle on the ledger. Cheap to clone; every clone feeds the same queue.
#[derive(Debug, Clone)]
pub struct LedgerWriter {
    tx: mpsc::Sender<Entry>,
    counters: Arc<Counters>,
}

impl LedgerWriter {
    /// Queues a request and its attempts. Never blocks, never fails: a full or closed queue drops the
    /// record and counts it.
    pub fn record(&self, record: LedgerRecord, attempts: Vec<AttemptRecord>) {
        match self.tx.try_send(Entry { record, attempts }) {
            Ok(()) => {
                self.counters.accepted.fetch_add(1, Ordering::Relaxed);
            }
            Err(err) => {
                let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if dropped.is_power_of_two() {
                    let reason = match err {
                        mpsc::error::TrySendError::Full(_) => "queue full",
                        mpsc::error::TrySendError::Closed(_) => "ledger shut down",
                    };
                    tracing::warn!(dropped, reason, "ledger record dropped");
                }
            }
        }
    }

    /// Records waiting to be written.
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity().saturating_sub(self.tx.capacity())
    }

    /// Records dropped so far (queue full or closed).
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// All counters at once.
    pub fn stats(&self) -> WriterStats {
        WriterStats {
            accepted: self.counters.accepted.load(Ordering::Relaxed),
            written: self.counters.written.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            queue_depth: self.queue_depth(),
        }
    }
}

/// An open ledger with its background writer.
#[derive(Debug)]
pub struct Ledger {
    store: Store,
    writer: LedgerWriter,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Ledger {
    /// Opens and migrates the configured store and starts the writer (needs a Tokio runtime).
    pub async fn open(settings: &LedgerSettings) -> Result<Ledger, LedgerError> {
        let store = Store::open(&settings.store).await?;
        Ok(Ledger::start(store, settings.writer))
    }

    /// Starts a writer over an open store (needs a Tokio runtime).
    pub fn start(store: Store, settings: WriterSettings) -> Ledger {
        let (tx, rx) = mpsc::channel(settings.queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(store.clone(), rx, stopped, settings, Arc::clone(&counters)));
        Ledger { store, writer: LedgerWriter { tx, counters }, stop, task }
    }

    /// A handle for the request path.
    pub fn writer(&self) -> LedgerWriter {
        self.writer.clone()
    }

    /// The store, for queries.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Closes the queue, writes everything still in it, and returns the final counts. Records offered
    /// after this starts are dropped (and counted). Wrap in a timeout if storage may be unreachable: a
    /// failing batch is retried for about two seconds before it is given up.
    pub async fn shutdown(self) -> WriterStats {
        let Ledger { writer, stop, task, .. } = self;
        // An error means the task already ended; either way it is drained below.
        let _ = stop.send(());
        if let Err(err) = task.await {
            tracing::error!(error = %err, "ledger writer task failed");
        }
        let stats = writer.stats();
        tracing::info!(
            written = stats.written,
            dropped = stats.dropped,
            failed = stats.failed,
            "ledger flushed and closed"
        );
        stats
    }
}

/// The background task: batch, write, repeat; on stop, drain and return.
async fn run(
    store: Store,
    mut rx: mpsc::Receiver<Entry>,
    mut stop: oneshot::Receiver<()>,
    settings: WriterSettings,
    counters: Arc<Counters>,
) {
    let batch_size = settings.batch_size.max(1);
    let mut stopping = false;
    let mut batch: Vec<Entry> = Vec::with_capacity(batch_size);
    loop {
        let received = tokio::select! {
            biased;
            _ = &mut stop, if !stopping => {
                stopping = true;
                rx.close();
                continue;
            }
            received = rx.recv_many(&mut batch, batch_size) => received,
        };
        if received == 0 {
            // Closed (on stop, or every writer dropped) and drained.
            break;
        }
        if !stopping && batch.len() < batch_size && !settings.flush_interval.is_zero() {
            let deadline = Instant::now() + settings.flush_interval;
            while batch.len() < batch_size {
                let more = batch_size - batch.len();
                tokio::select! {
                    biased;
                    _ = &mut stop, if !stopping => {
                        stopping = true;
                        rx.close();
                        break;
                    }
                    received = rx.recv_many(&mut batch, more) => if received == 0 { break },
                    () = tokio::time::sleep_until(deadline) => break,
                }
            }
        }
        write_batch(&store, std::mem::replace(&mut batch, Vec::with_capacity(batch_size)), &counters).await;
    }
}

async fn write_batch(store: &Store, batch: Vec<Entry>, counters: &Counters) {
    let records = batch.len() as u64;
    let batch: Arc<[Entry]> = batch.into();
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=WRITE_TRIES {
        match store.write(Arc::clone(&batch)).await {
            Ok(()) => {
                counters.written.fetch_add(records, Ordering::Relaxed);
                return;
            }
            Err(err) if attempt < WRITE_TRIES => {
                tracing::warn!(records, attempt, error = %err, "ledger write failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff *= 4;
            }
            Err(err) => {
                tracing::error!(records, error = %err, "ledger batch failed {WRITE_TRIES} times; writing it record by record");
                salvage(store, &batch, counters).await;
            }
        }
    }
}

/// Writes a failed batch one record per transaction, giving up after [`SALVAGE_GIVE_UP`] failures in a row.
async fn salvage(store: &Store, batch: &[Entry], counters: &Counters) {
    let (mut written, mut lost, mut in_a_row) = (0_u64, 0_u64, 0_u32);
    for (index, entry) in batch.iter().enumerate() {
        if in_a_row >= SALVAGE_GIVE_UP {
            lost += (batch.len() - index) as u64;
            break;
        }
        match store.write(Arc::from(vec![entry.clone()])).await {
            Ok(()) => {
                written += 1;
                in_a_row = 0;
            }
            Err(err) => {
                lost += 1;
                in_a_row += 1;
                tracing::error!(error = %err, "ledger record lost");
            }
        }
    }
    counters.written.fetch_add(written, Ordering::Relaxed);
    counters.failed.fetch_add(lost, Ordering::Relaxed);
    if lost > 0 {
        tracing::error!(written, lost, "ledger batch salvaged in part");
    }
}
