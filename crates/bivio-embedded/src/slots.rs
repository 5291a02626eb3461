//! Admission and hand-off: a fixed number of slot threads take jobs from one bounded queue.
//!
//! Admission is counted, not timed: a request is refused as soon as `slots + queue` requests are in
//! flight (running or waiting), so overload is answered at once instead of after a timeout, and tests can
//! rely on it. A waiting request whose client has gone is dropped from the queue without running.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use bivio_protocol::ir::StreamEvent;
use bivio_protocol::{ApiError, ErrorKind};
use llama_cpp_2::token::LlamaToken;
use tokio::sync::mpsc;

use crate::sampling::Sampling;

/// One admitted request, ready for a slot.
#[derive(Debug)]
pub(crate) struct Job {
    pub id: String,
    pub model: String,
    pub prompt: Vec<LlamaToken>,
    pub max_tokens: u32,
    pub sampling: Sampling,
    pub stop_sequences: Vec<String>,
    /// Where the events go; closed when the client went away.
    pub events: mpsc::Sender<StreamEvent>,
}

/// How a job ended, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Completed,
    Cancelled,
    Failed,
}

/// A snapshot of the provider's load and history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EmbeddedStats {
    /// Configured slots (generations that may run at once).
    pub slots: usize,
    /// Slots generating now.
    pub busy_slots: usize,
    /// The most slots ever busy at once.
    pub peak_busy_slots: usize,
    /// Requests waiting for a slot.
    pub queued: usize,
    /// Generations that ran to a stop reason.
    pub completed: u64,
    /// Generations stopped because the client went away (also those dropped while waiting).
    pub cancelled: u64,
    /// Generations that failed inside llama.cpp.
    pub failed: u64,
    /// Requests refused because `slots + queue` were in flight.
    pub rejected: u64,
    /// Prompt tokens of admitted requests that ran.
    pub prompt_tokens: u64,
    /// Tokens generated, over all requests.
    pub generated_tokens: u64,
}

#[derive(Debug, Default)]
struct State {
    waiting: VecDeque<Job>,
    busy: usize,
    shutdown: bool,
}

#[derive(Debug)]
pub(crate) struct SlotPool {
    slots: usize,
    queue: usize,
    state: Mutex<State>,
    wake: Condvar,
    peak_busy: AtomicUsize,
    completed: AtomicU64,
    cancelled: AtomicU64,
    failed: AtomicU64,
    rejected: AtomicU64,
    prompt_tokens: AtomicU64,
    generated_tokens: AtomicU64,
}

impl SlotPool {
    pub(crate) fn new(slots: usize, queue: usize) -> SlotPool {
        SlotPool {
            slots,
            queue,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            peak_busy: AtomicUsize::new(0),
            completed: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            prompt_tokens: AtomicU64::new(0),
            generated_tokens: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves only counters behind: still consistent enough to go on.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a job or refuses it as overloaded.
    pub(crate) fn submit(&self, job: Job) -> Result<(), ApiError> {
        let mut state = self.lock();
        if state.shutdown {
            return Err(ApiError::new(ErrorKind::Unavailable, "the local model is shutting down"));
        }
        let before = state.waiting.len();
        state.waiting.retain(|waiting| !waiting.events.is_closed());
        let gone = before - state.waiting.len();
        self.cancelled.fetch_add(gone as u64, Ordering::Relaxed);
        if state.busy + state.waiting.len() >= self.slots + self.queue {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            let mut err = ApiError::new(
                ErrorKind::Overloaded,
                format!(
                    "the local model is busy: {} generating and {} waiting (limits: `slots` = {}, `queue` = {})",
                    state.busy,
                    state.waiting.len(),
                    self.slots,
                    self.queue
                ),
            );
            err.retry_after = Some(1);
            return Err(err);
        }
        state.waiting.push_back(job);
        drop(state);
        self.wake.notify_one();
        Ok(())
    }

    /// Blocks a slot thread until there is a job; `None` once the pool shuts down.
    pub(crate) fn next(&self) -> Option<Job> {
        let mut state = self.lock();
        loop {
            if state.shutdown {
                return None;
            }
            if let Some(job) = state.waiting.pop_front() {
                if job.events.is_closed() {
                    self.cancelled.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                state.busy += 1;
                self.peak_busy.fetch_max(state.busy, Ordering::Relaxed);
                return Some(job);
            }
            state = self.wake.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Frees the slot a job held.
    pub(crate) fn finish(&self, outcome: Outcome, prompt_tokens: usize, generated_tokens: u64) {
        let counter = match outcome {
            Outcome::Completed => &self.completed,
            Outcome::Cancelled => &self.cancelled,
            Outcome::Failed => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.prompt_tokens.fetch_add(prompt_tokens as u64, Ordering::Relaxed);
        self.generated_tokens.fetch_add(generated_tokens, Ordering::Relaxed);
        let mut state = self.lock();
        state.busy = state.busy.saturating_sub(1);
    }

    /// Stops the slot threads once their current job ends; waiting jobs are dropped (their streams end).
    pub(crate) fn shutdown(&self) {
        let mut state = self.lock();
        state.shutdown = true;
        state.waiting.clear();
        drop(state);
        self.wake.notify_all();
    }

    pub(crate) fn stats(&self) -> EmbeddedStats {
        let state = self.lock();
        EmbeddedStats {
            slots: self.slots,
            busy_slots: state.busy,
            peak_busy_slots: self.peak_busy.load(Ordering::Relaxed),
            queued: state.waiting.len(),
            completed: self.completed.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            prompt_tokens: self.prompt_tokens.load(Ordering::Relaxed),
            generated_tokens: self.generated_tokens.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> (Job, mpsc::Receiver<StreamEvent>) {
        let (events, rx) = mpsc::channel(4);
        let sampling = Sampling { temperature: 0.0, top_p: None, top_k: None, seed: None };
        let job = Job {
            id: "msg".into(),
            model: "m".into(),
            prompt: Vec::new(),
            max_tokens: 1,
            sampling,
            stop_sequences: Vec::new(),
            events,
        };
        (job, rx)
    }

    #[test]
    fn admits_slots_plus_queue_then_refuses() {
        let pool = SlotPool::new(1, 1);
        let (a, _ra) = job();
        let (b, _rb) = job();
        let (c, _rc) = job();
        pool.submit(a).unwrap();
        pool.submit(b).unwrap();
        let err = pool.submit(c).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Overloaded);
        assert!(err.message.contains("`queue` = 1"));
        assert_eq!(pool.stats().rejected, 1);
        // A slot takes one: still two in flight, still full.
        let running = pool.next().unwrap();
        let (d, _rd) = job();
        assert!(pool.submit(d).is_err());
        pool.finish(Outcome::Completed, 3, 2);
        drop(running);
        let (e, _re) = job();
        pool.submit(e).unwrap();
        let stats = pool.stats();
        assert_eq!((stats.busy_slots, stats.queued, stats.completed, stats.peak_busy_slots), (0, 2, 1, 1));
    }

    #[test]
    fn abandoned_waiting_jobs_are_skipped_and_counted() {
        let pool = SlotPool::new(1, 4);
        let (a, ra) = job();
        let (b, _rb) = job();
        pool.submit(a).unwrap();
        pool.submit(b).unwrap();
        drop(ra);
        let next = pool.next().unwrap();
        assert!(!next.events.is_closed());
        assert_eq!(pool.stats().cancelled, 1);
    }

    #[test]
    fn shutdown_releases_waiting_threads() {
        let pool = std::sync::Arc::new(SlotPool::new(1, 1));
        let waiter = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.next().is_none())
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        pool.shutdown();
        assert!(waiter.join().unwrap());
        let (a, _ra) = job();
        assert_eq!(pool.submit(a).unwrap_err().kind, ErrorKind::Unavailable);
    }
}
