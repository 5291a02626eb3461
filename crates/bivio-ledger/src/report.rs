//! `bivio report`: requests, tokens, cost, latency and TTFT percentiles, throughput, share served locally
//! and savings against an all-Claude baseline, for a time window, optionally grouped.
//!
//! Definitions (they are what the numbers mean, so they are part of the contract):
//! - Latency and TTFT percentiles are over successful requests (`status = ok`), nearest-rank (the value
//!   at rank ⌈p·n⌉ of the sorted sample: always an observed value). TTFT only where a first token was seen.
//! - Tokens/s is Σ output tokens ÷ Σ generation time over successful requests with output (generation time
//!   as in [`crate::record::output_tokens_per_s`]) — a token-weighted throughput, not a mean of rates.
//! - Share local is local requests ÷ requests.
//! - Savings: for each local request, what its usage would have cost at the baseline model's price minus
//!   what it did cost; cloud requests save nothing. `None` when no baseline is configured.
//! - Groups: `model` is `provider/upstream_model`; `key`, `category` their column; `day` the UTC date.
//!   Requests without a value form the `(none)` group. Rows are ordered by cost (descending), then
//!   requests, then name; days chronologically. `total` covers the whole window.

use std::collections::HashMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::cost::{Price, add};
use crate::error::LedgerError;
use crate::record::generation_us;
use crate::store::{Fact, Scan, Store, Visit};
use crate::time::format_day;

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    Model,
    Category,
    Key,
    Day,
}

impl GroupBy {
    pub fn label(self) -> &'static str {
        match self {
            GroupBy::Model => "model",
            GroupBy::Category => "category",
            GroupBy::Key => "key",
            GroupBy::Day => "day",
        }
    }
}

/// A `--by` value that is not one of model, category, key, day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown grouping `{0}` (expected model, category, key or day)")]
pub struct UnknownGroupBy(pub String);

impl FromStr for GroupBy {
    type Err = UnknownGroupBy;

    fn from_str(text: &str) -> Result<GroupBy, UnknownGroupBy> {
        match text {
            "model" => Ok(GroupBy::Model),
            "category" => Ok(GroupBy::Category),
            "key" => Ok(GroupBy::Key),
            "day" => Ok(GroupBy::Day),
            other => Err(UnknownGroupBy(other.to_owned())),
        }
    }
}

/// The model whose price re-prices local traffic ("what if everything had gone to Claude").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Baseline {
    pub model: String,
    pub price: Price,
}

/// What to report on.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportQuery {
    /// Inclusive start, unix ms; `None` = from the first record.
    pub since_ms: Option<i64>,
    /// Exclusive end, unix ms (usually now).
    pub until_ms: i64,
    pub group_by: Option<GroupBy>,
    pub baseline: Option<Baseline>,
}

/// One line of a report (a group, or the total).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    pub group: String,
    pub requests: u64,
    /// Requests that did not end `ok` (errors and cancellations).
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    /// Exact sum, USD.
    pub cost_usd: Decimal,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub ttft_p50_ms: Option<f64>,
    pub ttft_p95_ms: Option<f64>,
    /// Rounded to 0.01.
    pub output_tokens_per_s: Option<f64>,
    pub local_requests: u64,
    /// 0–1, rounded to 0.0001.
    pub local_share: f64,
    /// USD; `None` without a baseline.
    pub savings_usd: Option<Decimal>,
}

/// A whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The window's start: the query's `since`, else the first request's time (`None`: no requests).
    pub from_ms: Option<i64>,
    pub until_ms: i64,
    pub group_by: Option<GroupBy>,
    pub baseline_model: Option<String>,
    /// Empty when not grouped.
    pub rows: Vec<ReportRow>,
    pub total: ReportRow,
}

/// Running sums for one group. Also the ROI's input (see `roi.rs`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Acc {
    pub requests: u64,
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_tokens: u64,
    pub cache_write_tokens: u64,
    pub cost_usd: Decimal,
    pub latencies_us: Vec<u64>,
    pub ttfts_us: Vec<u64>,
    pub generated_tokens: u64,
    pub generation_us: u64,
    pub local_requests: u64,
    pub local_cost_usd: Decimal,
    /// Σ baseline-priced cost of local requests.
    pub local_baseline_usd: Decimal,
    /// Σ time the local upstream worked (upstream time, else total), µs.
    pub local_busy_us: u64,
    pub local_generated_tokens: u64,
    pub local_generation_us: u64,
    pub first_ts_ms: Option<i64>,
}

impl Acc {
    pub(crate) fn add(&mut self, fact: &Fact<'_>, baseline: Option<&Price>) {
        self.requests += 1;
        self.input_tokens += fact.usage.input_tokens;
        self.output_tokens += fact.usage.output_tokens;
        self.cache_read_tokens += fact.usage.cache_read_tokens;
        self.cache_write_tokens += fact.usage.cache_write_tokens;
        self.cost_usd = add(self.cost_usd, fact.cost_usd);
        self.first_ts_ms = Some(self.first_ts_ms.map_or(fact.ts_ms, |first| first.min(fact.ts_ms)));
        let generation = generation_us(fact.total_us, fact.ttft_us);
        if fact.ok {
            self.latencies_us.push(fact.total_us);
            if let Some(ttft) = fact.ttft_us {
                self.ttfts_us.push(ttft);
            }
            if fact.usage.output_tokens > 0 && generation > 0 {
                self.generated_tokens += fact.usage.output_tokens;
                self.generation_us += generation;
            }
        } else {
            self.errors += 1;
        }
        if fact.local {
            self.local_requests += 1;
            self.local_cost_usd = add(self.local_cost_usd, fact.cost_usd);
            if let Some(price) = baseline {
                self.local_baseline_usd = add(self.local_baseline_usd, price.cost(&fact.usage));
            }
            self.local_busy_us += fact.upstream_us.unwrap_or(fact.total_us);
            if fact.ok && fact.usage.output_tokens > 0 && generation > 0 {
                self.local_generated_tokens += fact.usage.output_tokens;
                self.local_generation_us += generation;
            }
        }
    }

    pub(crate) fn into_row(mut self, group: String, has_baseline: bool) -> ReportRow {
        ReportRow {
            group,
            requests: self.requests,
            errors: self.errors,
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cache_read_tokens: self.cache_read_tokens,
            cache_write_tokens: self.cache_write_tokens,
            cost_usd: self.cost_usd.normalize(),
            latency_p50_ms: percentile_ms(&mut self.latencies_us, 50),
            latency_p95_ms: percentile_ms(&mut self.latencies_us, 95),
            ttft_p50_ms: percentile_ms(&mut self.ttfts_us, 50),
            ttft_p95_ms: percentile_ms(&mut self.ttfts_us, 95),
            output_tokens_per_s: rate(self.generated_tokens, self.generation_us),
            local_requests: self.local_requests,
            local_share: share(self.local_requests, self.requests),
            savings_usd: has_baseline.then(|| (self.local_baseline_usd - self.local_cost_usd).normalize()),
        }
    }
}

/// Nearest-rank percentile `p` (1–100) of µs samples, in ms. Reorders `samples`.
pub(crate) fn percentile_ms(samples: &mut [u64], p: usize) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let rank = (p * samples.len()).div_ceil(100).clamp(1, samples.len());
    let (_, value, _) = samples.select_nth_unstable(rank - 1);
    Some(*value as f64 / 1000.0)
}

/// Tokens per second, rounded to 0.01.
pub(crate) fn rate(tokens: u64, micros: u64) -> Option<f64> {
    (tokens > 0 && micros > 0).then(|| (tokens as f64 * 1e6 / micros as f64 * 100.0).round() / 100.0)
}

/// `part ÷ whole` in 0–1, rounded to 0.0001; 0 when `whole` is 0.
pub(crate) fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0 }
}

/// Label for rows whose grouping column is empty.
pub const NONE_GROUP: &str = "(none)";

/// Folds a scan into the total and per-group sums.
struct Aggregator {
    baseline: Option<Price>,
    group_by: Option<GroupBy>,
    total: Acc,
    groups: HashMap<String, Acc>,
    /// The last day seen and its label: rows arrive roughly in time order, so this saves formatting a
    /// date per row.
    last_day: Option<(i64, String)>,
}

impl Visit for Aggregator {
    fn visit(&mut self, fact: Fact<'_>) {
        self.total.add(&fact, self.baseline.as_ref());
        let Some(by) = self.group_by else { return };
        let label: &str = if by == GroupBy::Day {
            let day = fact.ts_ms.div_euclid(86_400_000);
            match &self.last_day {
                Some((cached, _)) if *cached == day => {}
                _ => self.last_day = Some((day, format_day(fact.ts_ms))),
            }
            self.last_day.as_ref().map_or(NONE_GROUP, |(_, label)| label.as_str())
        } else {
            fact.group.unwrap_or(NONE_GROUP)
        };
        match self.groups.get_mut(label) {
            Some(acc) => acc.add(&fact, self.baseline.as_ref()),
            None => {
                let mut acc = Acc::default();
                acc.add(&fact, self.baseline.as_ref());
                self.groups.insert(label.to_owned(), acc);
            }
        }
    }
}

impl Store {
    /// Runs a report over the query's window.
    pub async fn report(&self, query: &ReportQuery) -> Result<Report, LedgerError> {
        let scan = Scan { since_ms: query.since_ms, until_ms: query.until_ms, group_by: query.group_by };
        let aggregator = Aggregator {
            baseline: query.baseline.as_ref().map(|baseline| baseline.price),
            group_by: query.group_by,
            total: Acc::default(),
            groups: HashMap::new(),
            last_day: None,
        };
        let Aggregator { total, groups, .. } = self.scan(scan, aggregator).await?;
        let has_baseline = query.baseline.is_some();
        let mut rows: Vec<ReportRow> =
            groups.into_iter().map(|(label, acc)| acc.into_row(label, has_baseline)).collect();
        if query.group_by == Some(GroupBy::Day) {
            rows.sort_by(|a, b| a.group.cmp(&b.group));
        } else {
            rows.sort_by(|a, b| {
                b.cost_usd.cmp(&a.cost_usd).then(b.requests.cmp(&a.requests)).then(a.group.cmp(&b.group))
            });
        }
        Ok(Report {
            from_ms: query.since_ms.or(total.first_ts_ms),
            until_ms: query.until_ms,
            group_by: query.group_by,
            baseline_model: query.baseline.as_ref().map(|baseline| baseline.model.clone()),
            rows,
            total: total.into_row("total".to_owned(), has_baseline),
        })
    }

    /// The whole window's sums (for ROI).
    pub(crate) async fn totals(
        &self,
        since_ms: Option<i64>,
        until_ms: i64,
        baseline: Price,
    ) -> Result<Acc, LedgerError> {
        let scan = Scan { since_ms, until_ms, group_by: None };
        let aggregator = Aggregator {
            baseline: Some(baseline),
            group_by: None,
            total: Acc::default(),
            groups: HashMap::new(),
            last_day: None,
        };
        Ok(self.scan(scan, aggregator).await?.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<u64> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(percentile_ms(&mut samples, 50), Some(50.0));
        assert_eq!(percentile_ms(&mut samples, 95), Some(95.0));
        let mut one = vec![7_500];
        assert_eq!(percentile_ms(&mut one, 50), Some(7.5));
        assert_eq!(percentile_ms(&mut one, 95), Some(7.5));
        // n = 3: p50 → rank ⌈1.5⌉ = 2, p95 → rank ⌈2.85⌉ = 3.
        let mut three = vec![3_000, 1_000, 2_000];
        assert_eq!(percentile_ms(&mut three, 50), Some(2.0));
        assert_eq!(percentile_ms(&mut three, 95), Some(3.0));
        assert_eq!(percentile_ms(&mut [], 50), None);
    }

    #[test]
    fn rates_and_shares() {
        assert_eq!(rate(100, 2_000_000), Some(50.0));
        assert_eq!(rate(1, 3_000_000), Some(0.33));
        assert_eq!(rate(0, 5), None);
        assert_eq!(share(1, 3), 0.3333);
        assert_eq!(share(0, 0), 0.0);
        assert_eq!("day".parse::<GroupBy>(), Ok(GroupBy::Day));
        assert!("models".parse::<GroupBy>().unwrap_err().to_string().contains("expected model"));
    }
}
