//! The privacy guard on the request path: what a request contains (scan), what the policy says about it
//! (decide), and the redacted copy a cloud model may see instead (redact), with the answer restored on the
//! way back (see [`crate::restore`]).
//!
//! The guard runs before any upstream call, on the parsed request — every part an upstream would receive.
//! Only kind labels and counts leave this module: they go to the ledger, the logs and `x-bivio-reason`;
//! the values never do.

use bivio_guard::{Action, GuardConfig, GuardConfigError, GuardDecision, Policy, Redactor, Scanner};
use bivio_protocol::ir::ChatRequest;

/// The compiled `[guard]` table.
#[derive(Debug, Clone)]
pub struct Guard {
    scanner: Scanner,
    policy: Policy,
}

/// What the guard found in one request and what must happen to it.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub decision: GuardDecision,
    /// Labels of the kinds found, sorted (for the ledger's `sensitivity_kinds`).
    pub kinds: Vec<String>,
    /// `email=2,iban=1`: labels and counts only.
    pub summary: String,
}

impl Inspection {
    /// Must stay on local models: the policy said `local_only` for something in it.
    pub fn local_only(&self) -> bool {
        matches!(self.decision, GuardDecision::LocalOnly { .. })
    }

    /// The guard's decision label for the ledger; `None` when the request held nothing to decide about.
    pub fn action_label(&self) -> Option<&'static str> {
        let images = matches!(
            self.decision,
            GuardDecision::LocalOnly { images: true, .. } | GuardDecision::Block { images: true, .. }
        );
        (!self.kinds.is_empty() || images).then(|| self.decision.label())
    }

    /// One payload-free sentence for `x-bivio-reason`, or `None` when nothing was found.
    pub fn reason(&self) -> Option<String> {
        let what = match &self.decision {
            GuardDecision::LocalOnly { images: true, .. } | GuardDecision::Block { images: true, .. }
                if self.summary.is_empty() =>
            {
                "images".to_owned()
            }
            GuardDecision::LocalOnly { images: true, .. } | GuardDecision::Block { images: true, .. } => {
                format!("{},images", self.summary)
            }
            _ if self.summary.is_empty() => return None,
            _ => self.summary.clone(),
        };
        Some(format!("guard: {what} -> {}", self.decision.label()))
    }
}

/// A request as a cloud model may see it, and the redactor that restores the answer.
#[derive(Debug, Clone)]
pub struct Redacted {
    pub request: ChatRequest,
    pub redactor: Redactor,
}

impl Guard {
    pub fn new(config: &GuardConfig) -> Result<Guard, GuardConfigError> {
        Ok(Guard { scanner: Scanner::new(config)?, policy: Policy::new(config)? })
    }

    pub fn inspect(&self, request: &ChatRequest) -> Inspection {
        let sensitivity = self.scanner.scan_request(request);
        let decision = self.policy.decide(&sensitivity);
        let kinds = sensitivity.kinds().map(|kind| kind.label().into_owned()).collect();
        Inspection { decision, kinds, summary: sensitivity.summary() }
    }

    /// The request with every finding of a `redact` kind replaced by a placeholder. `None` when that cannot
    /// be done completely (a signed thinking block holds a finding: editing it would break its signature),
    /// in which case the request must not go to the cloud at all.
    pub fn redact(&self, request: &ChatRequest) -> Option<Redacted> {
        let mut redactor = Redactor::new();
        let mut copy = request.clone();
        let redact = |kind: &bivio_guard::Kind| self.policy.action(kind) == Action::Redact;
        let outcome = redactor.redact_request(&self.scanner, &mut copy, &redact);
        outcome.is_complete().then_some(Redacted { request: copy, redactor })
    }
}
