//! What the mock saw: every API request, and how each stream ended.
//!
//! Gateway tests assert on this from the outside (e.g. "the client disconnected, so the upstream
//! stream must have been cancelled"), so the counters are updated before the answer leaves.

use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One request received on an API endpoint (control endpoints under `/_mock` are not recorded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedCall {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Request path without the query, e.g. `/v1/messages`.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Headers in arrival order, names lower-case (values decoded lossily).
    pub headers: Vec<(String, String)>,
    /// The parsed JSON body; the raw text as a JSON string when it is not JSON (`body_is_json`
    /// false); `null` for an empty body.
    pub body: Value,
    /// Whether `body` is the parsed request JSON.
    pub body_is_json: bool,
}

impl RecordedCall {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Counters over the life of the mock (or since the last reset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// API requests received.
    pub calls: u64,
    /// Streaming responses handed to the HTTP server.
    pub streams_started: u64,
    /// Streams whose last frame was produced (including scripted faults: the server chose to end).
    pub streams_completed: u64,
    /// Streams dropped before their last frame: the client went away.
    pub streams_cancelled: u64,
}

#[derive(Debug, Default)]
struct Inner {
    calls: Vec<RecordedCall>,
    stats: Stats,
}

/// Shared, cloneable log of calls and stream outcomes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder {
    inner: Arc<Mutex<Inner>>,
}

impl Recorder {
    /// A panicking holder cannot leave the log half-updated in a way that matters to tests,
    /// so a poisoned lock is simply taken over.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn record(&self, call: RecordedCall) {
        let mut inner = self.lock();
        inner.stats.calls += 1;
        inner.calls.push(call);
    }

    pub fn calls(&self) -> Vec<RecordedCall> {
        self.lock().calls.clone()
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    pub fn reset(&self) {
        *self.lock() = Inner::default();
    }

    /// Counts a stream as started; the guard counts how it ends.
    pub fn stream_started(&self) -> StreamGuard {
        self.lock().stats.streams_started += 1;
        StreamGuard { recorder: self.clone(), finished: false }
    }
}

/// Lives inside a response body stream. Dropped unfinished means the HTTP server discarded the
/// body early, which (for a body that is still producing) only happens when the client is gone.
#[derive(Debug)]
pub(crate) struct StreamGuard {
    recorder: Recorder,
    finished: bool,
}

impl StreamGuard {
    /// Marks the stream complete; called when its last frame is produced, so a client that read
    /// the whole body always observes the updated counter.
    pub fn complete(&mut self) {
        if !self.finished {
            self.finished = true;
            self.recorder.lock().stats.streams_completed += 1;
        }
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.recorder.lock().stats.streams_cancelled += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_counts_exactly_one_outcome() {
        let recorder = Recorder::default();
        let mut done = recorder.stream_started();
        done.complete();
        done.complete();
        drop(done);
        drop(recorder.stream_started());
        let stats = recorder.stats();
        assert_eq!((stats.streams_started, stats.streams_completed, stats.streams_cancelled), (2, 1, 1));
    }
}
