//! `bivio audit`: did sensitive data leave the premises? A privacy audit over the ledger's labels and
//! counts — kinds the guard found, its decision, where each attempt went — never any content.
//!
//! Definitions (they are what the numbers mean, so they are part of the contract):
//! - A request is **sensitive** when the guard found at least one kind (`sensitivity_kinds` is not `[]`)
//!   or recorded a decision (`guard_action` is set: the guard decides `local_only` or `block` on images
//!   without naming a kind). Requests written before schema version 2 have no recorded decision.
//! - Every sensitive request falls in exactly one of three outcomes, by its attempts:
//!   **reached a cloud provider** — at least one attempt went to a non-local upstream, whatever that
//!   attempt's outcome (a failed cloud call still received the request); **stayed local** — it has
//!   attempts and all of them were local; **not sent** — no attempt at all (blocked, or failed closed).
//! - Per kind: a request counts once under each kind it holds (so kind rows may sum to more than the
//!   total); kindless requests form the `(none)` row. Per action: once under its decision; `(none)` for no
//!   recorded decision.
//! - Per destination: a sensitive request counts once under each distinct upstream its attempts went to
//!   (a cloud failure followed by a local answer counts under both).
//! - The listing holds the sensitive requests that reached a cloud provider, oldest first, at most
//!   [`AUDIT_LIST_LIMIT`]; `cloud_requests_total` counts them all. Its provider and model are those of the
//!   first cloud attempt: the first upstream outside the premises to receive the request.
//! - Rows are ordered by requests (descending), then label.
//!
//! Both backends run the same SQL and the same fold, so they give identical reports.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::error::LedgerError;
use crate::report::NONE_GROUP;
use crate::store::{AuditFact, AuditScan, Store, VisitAudit};

/// The most sensitive cloud requests listed one by one (the rest are counted).
pub const AUDIT_LIST_LIMIT: usize = 1_000;

/// What to audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Inclusive start, unix ms; `None` = from the first record.
    pub since_ms: Option<i64>,
    /// Exclusive end, unix ms (usually now).
    pub until_ms: i64,
}

/// Outcomes of a set of sensitive requests: `requests = stayed_local + reached_cloud + not_sent`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    /// The kind, the guard action, or `total`.
    pub label: String,
    pub requests: u64,
    /// Sent only to local upstreams.
    pub stayed_local: u64,
    /// At least one attempt went to a cloud upstream.
    pub reached_cloud: u64,
    /// No attempt at all: blocked, or failed closed.
    pub not_sent: u64,
}

/// Sensitive requests sent to one upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditDestination {
    pub provider: String,
    pub upstream_model: String,
    pub local: bool,
    pub requests: u64,
}

/// A sensitive request that reached a cloud provider: labels only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CloudRequest {
    /// The request's id (UUID, hyphenated).
    pub id: String,
    pub ts_ms: i64,
    pub kinds: Vec<String>,
    pub guard_action: Option<String>,
    /// The first cloud attempt's provider and upstream model.
    pub provider: String,
    pub upstream_model: String,
    /// Attempts that went to a cloud upstream (more than 1 after cloud retries or fallbacks).
    pub cloud_attempts: u64,
}

/// A whole audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// The window's start: the query's `since`, else the first request's time (`None`: no requests).
    pub from_ms: Option<i64>,
    pub until_ms: i64,
    /// Every request in the window, sensitive or not.
    pub requests: u64,
    /// All sensitive requests (label `total`).
    pub sensitive: AuditRow,
    pub by_kind: Vec<AuditRow>,
    pub by_action: Vec<AuditRow>,
    pub by_destination: Vec<AuditDestination>,
    /// The first [`AUDIT_LIST_LIMIT`] sensitive requests that reached a cloud provider, oldest first.
    pub cloud_requests: Vec<CloudRequest>,
    /// All sensitive requests that reached a cloud provider (equals `sensitive.reached_cloud`).
    pub cloud_requests_total: u64,
}

/// Where a request's data went, as far as the audit cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    StayedLocal,
    ReachedCloud,
    NotSent,
}

impl AuditRow {
    fn add(&mut self, outcome: Outcome) {
        self.requests += 1;
        match outcome {
            Outcome::StayedLocal => self.stayed_local += 1,
            Outcome::ReachedCloud => self.reached_cloud += 1,
            Outcome::NotSent => self.not_sent += 1,
        }
    }
}

/// The sensitive request whose rows are being read (its rows are adjacent: see the scan's ORDER BY).
struct Current {
    id: String,
    ts_ms: i64,
    kinds: Vec<String>,
    guard_action: Option<String>,
    /// Distinct (provider, upstream model, local) of its attempts.
    destinations: BTreeSet<(String, String, bool)>,
    /// The first cloud attempt's (provider, upstream model).
    first_cloud: Option<(String, String)>,
    cloud_attempts: u64,
    attempts: u64,
}

#[derive(Default)]
struct Auditor {
    requests: u64,
    first_ts_ms: Option<i64>,
    current: Option<Current>,
    sensitive: AuditRow,
    by_kind: HashMap<String, AuditRow>,
    by_action: HashMap<String, AuditRow>,
    by_destination: BTreeMap<(String, String, bool), u64>,
    cloud_requests: Vec<CloudRequest>,
}

impl VisitAudit for Auditor {
    fn visit(&mut self, fact: AuditFact<'_>) -> Result<(), LedgerError> {
        let same_request = self.current.as_ref().is_some_and(|current| current.id == fact.id);
        if !same_request {
            self.finish_current();
            self.requests += 1;
            self.first_ts_ms = Some(self.first_ts_ms.map_or(fact.ts_ms, |first| first.min(fact.ts_ms)));
            if !fact.sensitive {
                return Ok(());
            }
            let mut kinds: Vec<String> = serde_json::from_str(fact.kinds)
                .map_err(|err| LedgerError::Corrupt(format!("sensitivity_kinds of {}: {err}", fact.id)))?;
            // A request counts once per kind, however the list was written.
            kinds.sort_unstable();
            kinds.dedup();
            self.current = Some(Current {
                id: fact.id.to_owned(),
                ts_ms: fact.ts_ms,
                kinds,
                guard_action: fact.guard_action.map(str::to_owned),
                destinations: BTreeSet::new(),
                first_cloud: None,
                cloud_attempts: 0,
                attempts: 0,
            });
        }
        if let (Some(current), Some(attempt)) = (self.current.as_mut(), fact.attempt) {
            current.attempts += 1;
            if !attempt.local {
                current.cloud_attempts += 1;
                if current.first_cloud.is_none() {
                    current.first_cloud = Some((attempt.provider.to_owned(), attempt.upstream_model.to_owned()));
                }
            }
            let destination = (attempt.provider.to_owned(), attempt.upstream_model.to_owned(), attempt.local);
            current.destinations.insert(destination);
        }
        Ok(())
    }
}

impl Auditor {
    /// Counts the sensitive request just read, if any.
    fn finish_current(&mut self) {
        let Some(current) = self.current.take() else { return };
        let outcome = match (current.attempts, &current.first_cloud) {
            (0, _) => Outcome::NotSent,
            (_, Some(_)) => Outcome::ReachedCloud,
            (_, None) => Outcome::StayedLocal,
        };
        self.sensitive.add(outcome);
        if current.kinds.is_empty() {
            self.by_kind.entry(NONE_GROUP.to_owned()).or_default().add(outcome);
        }
        for kind in &current.kinds {
            self.by_kind.entry(kind.clone()).or_default().add(outcome);
        }
        let action = current.guard_action.clone().unwrap_or_else(|| NONE_GROUP.to_owned());
        self.by_action.entry(action).or_default().add(outcome);
        for destination in current.destinations {
            *self.by_destination.entry(destination).or_default() += 1;
        }
        if let Some((provider, upstream_model)) = current.first_cloud
            && self.cloud_requests.len() < AUDIT_LIST_LIMIT
        {
            self.cloud_requests.push(CloudRequest {
                id: current.id,
                ts_ms: current.ts_ms,
                kinds: current.kinds,
                guard_action: current.guard_action,
                provider,
                upstream_model,
                cloud_attempts: current.cloud_attempts,
            });
        }
    }
}

/// Rows with their labels, most requests first, then by label.
fn rows(groups: HashMap<String, AuditRow>) -> Vec<AuditRow> {
    let mut rows: Vec<AuditRow> = groups.into_iter().map(|(label, row)| AuditRow { label, ..row }).collect();
    rows.sort_by(|a, b| b.requests.cmp(&a.requests).then_with(|| a.label.cmp(&b.label)));
    rows
}

/// Audits the query's window: what sensitive requests there were and where they went.
pub async fn audit(store: &Store, query: &AuditQuery) -> Result<AuditReport, LedgerError> {
    let scan = AuditScan { since_ms: query.since_ms, until_ms: query.until_ms };
    let mut auditor = store.audit_scan(scan, Auditor::default()).await?;
    auditor.finish_current();
    let Auditor { requests, first_ts_ms, sensitive, by_kind, by_action, by_destination, cloud_requests, .. } = auditor;
    let mut by_destination: Vec<AuditDestination> = by_destination
        .into_iter()
        .map(|((provider, upstream_model, local), requests)| AuditDestination {
            provider,
            upstream_model,
            local,
            requests,
        })
        .collect();
    // Stable after the BTreeMap's (provider, model, local) order: ties stay in name order.
    by_destination.sort_by_key(|destination| std::cmp::Reverse(destination.requests));
    Ok(AuditReport {
        from_ms: query.since_ms.or(first_ts_ms),
        until_ms: query.until_ms,
        requests,
        cloud_requests_total: sensitive.reached_cloud,
        sensitive: AuditRow { label: "total".to_owned(), ..sensitive },
        by_kind: rows(by_kind),
        by_action: rows(by_action),
        by_destination,
        cloud_requests,
    })
}
