//! The seed-style table from stored runs: per model × suite, the score with its 95% interval, cost per 100
//! items, p50 latency and tokens/s — plus per-subject and macro accuracy (MMLU), pass@k (several samples)
//! and the secondary metric (GSM8K strict-match).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::EvalError;
use crate::score::passk;
use crate::stats::{mean_interval, quantile};
use crate::store::{ItemRow, RunRow, Store};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub run_id: String,
    pub suite: String,
    pub model: String,
    /// Served on premises ("open") or by a cloud API ("closed").
    pub local: bool,
    pub started_at_ms: i64,
    pub finished: bool,
    /// Samples scored / planned; failed samples.
    pub scored: usize,
    pub planned: i64,
    pub errors: usize,
    /// Mean score (accuracy, pass@1) and its 95% interval.
    pub score: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// GSM8K: strict-match accuracy beside the flexible headline.
    pub alt_score: Option<f64>,
    /// Sum over scored samples, USD, scaled to 100 samples.
    pub cost_per_100: Decimal,
    pub p50_latency_ms: Option<f64>,
    /// Output tokens per second of generation time, over all samples.
    pub tokens_per_s: Option<f64>,
    pub subjects: Vec<SubjectRow>,
    /// Mean of per-subject accuracies (MMLU's "macro" average), when there are subjects.
    pub macro_score: Option<f64>,
    /// (k, pass@k) for k in 1, 10, 100 where every item has at least k samples.
    pub pass_at_k: Vec<(u64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectRow {
    pub subject: String,
    pub n: usize,
    pub score: f64,
}

/// Which runs: explicit ids, else the latest run of every (suite, model).
pub fn select_runs(store: &Store, ids: &[String]) -> Result<Vec<RunRow>, EvalError> {
    let runs = store.runs()?;
    if !ids.is_empty() {
        let mut out = Vec::new();
        for id in ids {
            let run =
                runs.iter().find(|r| &r.id == id).ok_or_else(|| EvalError::usage(format!("--run: no run `{id}`")))?;
            out.push(run.clone());
        }
        return Ok(out);
    }
    let mut latest: BTreeMap<(String, String), RunRow> = BTreeMap::new();
    for run in runs {
        latest.insert((run.suite.clone(), run.model.clone()), run);
    }
    Ok(latest.into_values().collect())
}

pub fn rows(store: &Store, runs: &[RunRow]) -> Result<Vec<Row>, EvalError> {
    runs.iter().map(|run| Ok(row(run, &store.items(&run.id)?))).collect()
}

pub fn row(run: &RunRow, items: &[ItemRow]) -> Row {
    let ok: Vec<&ItemRow> = items.iter().filter(|i| i.error.is_none() && i.score.is_some()).collect();
    let scores: Vec<f64> = ok.iter().filter_map(|i| i.score).collect();
    let (score, ci_low, ci_high) = mean_interval(&scores);
    let alts: Vec<f64> = ok.iter().filter_map(|i| i.alt_score).collect();
    let alt_score = (!alts.is_empty()).then(|| alts.iter().sum::<f64>() / alts.len() as f64);
    let cost: Decimal = ok.iter().filter_map(|i| i.cost_usd.parse::<Decimal>().ok()).sum();
    let cost_per_100 = if ok.is_empty() {
        Decimal::ZERO
    } else {
        (cost * Decimal::from(100) / Decimal::from(ok.len() as u64)).round_dp(6).normalize()
    };
    let latencies: Vec<f64> = ok.iter().map(|i| i.latency_ms as f64).collect();
    let out_tokens: i64 = ok.iter().map(|i| i.output_tokens).sum();
    let busy_ms: i64 = ok.iter().map(|i| i.latency_ms).sum();
    let tokens_per_s = (busy_ms > 0).then(|| out_tokens as f64 * 1000.0 / busy_ms as f64);

    let mut by_subject: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for i in &ok {
        if let (Some(subject), Some(score)) = (i.subject.as_deref(), i.score) {
            by_subject.entry(subject).or_default().push(score);
        }
    }
    let subjects: Vec<SubjectRow> = by_subject
        .into_iter()
        .map(|(subject, s)| SubjectRow {
            subject: subject.to_owned(),
            n: s.len(),
            score: s.iter().sum::<f64>() / s.len() as f64,
        })
        .collect();
    let macro_score =
        (!subjects.is_empty()).then(|| subjects.iter().map(|s| s.score).sum::<f64>() / subjects.len() as f64);

    let mut per_item: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for i in &ok {
        let e = per_item.entry(i.item_id.as_str()).or_default();
        e.0 += 1;
        e.1 += u64::from(i.score.is_some_and(|s| s >= 1.0));
    }
    let problems: Vec<(u64, u64)> = per_item.into_values().collect();
    let pass_at_k = [1, 10, 100].iter().filter_map(|&k| passk::mean_pass_at_k(&problems, k).map(|v| (k, v))).collect();

    Row {
        run_id: run.id.clone(),
        suite: run.suite.clone(),
        model: run.model.clone(),
        local: run.local,
        started_at_ms: run.started_at_ms,
        finished: run.finished_at_ms.is_some(),
        scored: ok.len(),
        planned: run.items_total,
        errors: items.len() - ok.len(),
        score,
        ci_low,
        ci_high,
        alt_score,
        cost_per_100,
        p50_latency_ms: quantile(&latencies, 0.5),
        tokens_per_s,
        subjects,
        macro_score,
        pass_at_k,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, sample: i64, score: f64, subject: &str) -> ItemRow {
        ItemRow {
            item_id: id.into(),
            sample,
            subject: Some(subject.into()),
            score: Some(score),
            latency_ms: 100,
            output_tokens: 10,
            cost_usd: "0.001".into(),
            ..ItemRow::default()
        }
    }

    #[test]
    fn aggregates() {
        let run = RunRow {
            id: "r".into(),
            suite: "mmlu".into(),
            source: String::new(),
            fingerprint: String::new(),
            model: "m".into(),
            upstream_model: "m".into(),
            local: true,
            params: "{}".into(),
            items_total: 5,
            started_at_ms: 0,
            finished_at_ms: Some(1),
        };
        let mut items = vec![
            item("a/0", 0, 1.0, "a"),
            item("a/1", 0, 0.0, "a"),
            item("b/0", 0, 1.0, "b"),
            item("b/1", 0, 1.0, "b"),
        ];
        items.push(ItemRow { item_id: "b/2".into(), error: Some("x".into()), ..ItemRow::default() });
        let row = row(&run, &items);
        assert_eq!((row.scored, row.errors), (4, 1));
        assert_eq!(row.score, 0.75);
        assert_eq!(row.macro_score, Some(0.75));
        assert_eq!(row.subjects[0], SubjectRow { subject: "a".into(), n: 2, score: 0.5 });
        assert_eq!(row.cost_per_100.to_string(), "0.1");
        assert_eq!(row.tokens_per_s, Some(100.0));
        assert_eq!(row.pass_at_k, vec![(1, 0.75)]);
        assert!(row.ci_low < 0.75 && row.ci_high > 0.75);
    }
}
