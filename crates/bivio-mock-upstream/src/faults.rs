//! Turning a list of pre-rendered SSE frames into a paced response body, with scripted faults.
//!
//! The API modules render the complete, correct stream; this module alone decides how much of it
//! the client gets. Keeping the two apart means a fault never produces a subtly wrong "valid"
//! frame: the prefix sent is always exactly what a correct stream would have sent.

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;

use crate::recorder::StreamGuard;
use crate::script::StreamOpts;

/// The API-specific frames a fault injects.
#[derive(Debug, Clone)]
pub(crate) struct FaultFrames {
    /// A frame whose data is not JSON.
    pub garbage: Bytes,
    /// The API's in-stream error frame.
    pub error: Bytes,
}

/// How long an abort waits so the frames before it reach the client.
const ABORT_FLUSH_PAUSE: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Error,
    Garbage,
    Cut,
    Abort,
}

#[derive(Debug)]
enum Item {
    Frame(Bytes),
    /// Fail the body: the HTTP server drops the connection without terminating the chunked body.
    Abort,
}

/// The earliest fault wins; on a tie the order is error, garbage, cut, abort.
fn first_fault(opts: &StreamOpts) -> Option<(usize, Fault)> {
    [
        (opts.error_after_frames, Fault::Error),
        (opts.garbage_after_frames, Fault::Garbage),
        (opts.cut_after_frames, Fault::Cut),
        (opts.abort_after_frames, Fault::Abort),
    ]
    .into_iter()
    .filter_map(|(n, fault)| n.map(|n| (n, fault)))
    .min_by_key(|(n, _)| *n)
}

fn plan(frames: Vec<Bytes>, opts: &StreamOpts, faults: FaultFrames) -> VecDeque<Item> {
    let Some((after, fault)) = first_fault(opts) else {
        return frames.into_iter().map(Item::Frame).collect();
    };
    let mut items: VecDeque<Item> = frames.into_iter().take(after).map(Item::Frame).collect();
    match fault {
        Fault::Error => items.push_back(Item::Frame(faults.error)),
        Fault::Garbage => items.push_back(Item::Frame(faults.garbage)),
        Fault::Cut => {}
        Fault::Abort => items.push_back(Item::Abort),
    }
    items
}

struct Run {
    items: VecDeque<Item>,
    delay: Duration,
    first: bool,
    guard: StreamGuard,
}

/// A streaming body sending `frames` per `opts`, sleeping `chunk_delay_ms` between frames.
/// The guard travels inside the stream: it is dropped with the body, which is how client
/// disconnects are counted.
pub(crate) fn body(frames: Vec<Bytes>, opts: &StreamOpts, faults: FaultFrames, guard: StreamGuard) -> Body {
    let run = Run {
        items: plan(frames, opts, faults),
        delay: Duration::from_millis(opts.chunk_delay_ms),
        first: true,
        guard,
    };
    let stream = futures::stream::unfold(run, |mut run| async move {
        if run.items.is_empty() {
            run.guard.complete();
            return None;
        }
        if !run.first && !run.delay.is_zero() {
            tokio::time::sleep(run.delay).await;
        }
        run.first = false;
        let item = run.items.pop_front()?;
        if run.items.is_empty() {
            run.guard.complete();
        }
        let next = match item {
            Item::Frame(bytes) => Ok(bytes),
            Item::Abort => {
                // hyper drops unflushed output when a body fails; pausing first (the body is
                // pending, so hyper flushes) makes sure the client does get the prefix.
                tokio::time::sleep(ABORT_FLUSH_PAUSE).await;
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "mock upstream: scripted abort"))
            }
        };
        Some((next, run))
    });
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(n: usize) -> Vec<Bytes> {
        (0..n).map(|i| Bytes::from(format!("f{i}"))).collect()
    }

    fn faults() -> FaultFrames {
        FaultFrames { garbage: Bytes::from_static(b"G"), error: Bytes::from_static(b"E") }
    }

    fn rendered(items: &VecDeque<Item>) -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::Frame(b) => String::from_utf8_lossy(b).into_owned(),
                Item::Abort => "ABORT".to_owned(),
            })
            .collect()
    }

    #[test]
    fn earliest_fault_wins() {
        let opts = StreamOpts { cut_after_frames: Some(3), garbage_after_frames: Some(2), ..StreamOpts::default() };
        assert_eq!(rendered(&plan(frames(5), &opts, faults())), ["f0", "f1", "G"]);
        let opts = StreamOpts { cut_after_frames: Some(1), ..StreamOpts::default() };
        assert_eq!(rendered(&plan(frames(5), &opts, faults())), ["f0"]);
        let opts = StreamOpts { abort_after_frames: Some(9), ..StreamOpts::default() };
        assert_eq!(rendered(&plan(frames(2), &opts, faults())), ["f0", "f1", "ABORT"]);
    }
}
