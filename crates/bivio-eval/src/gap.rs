//! The open–closed gap over time (seed §4): per suite and per day with runs, the best open (local) model's
//! score against the best closed (cloud) model's, from the latest run of each model that day.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::report::Row;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GapPoint {
    pub suite: String,
    /// UTC day, `YYYY-MM-DD`.
    pub day: String,
    pub best_open: Option<(String, f64)>,
    pub best_closed: Option<(String, f64)>,
    /// closed − open, when both exist (positive: closed models lead).
    pub gap: Option<f64>,
}

/// `rows` are per-run rows (every run, not only the latest); each model's last run of a day counts.
pub fn gap(rows: &[Row]) -> Vec<GapPoint> {
    let mut latest: BTreeMap<(String, String, String), &Row> = BTreeMap::new();
    for row in rows.iter().filter(|r| r.scored > 0) {
        let key = (row.suite.clone(), day(row.started_at_ms), row.model.clone());
        match latest.get(&key) {
            Some(existing) if existing.started_at_ms > row.started_at_ms => {}
            _ => {
                latest.insert(key, row);
            }
        }
    }
    let mut points: BTreeMap<(String, String), GapPoint> = BTreeMap::new();
    for ((suite, day, model), row) in latest {
        let point = points.entry((suite.clone(), day.clone())).or_insert_with(|| GapPoint {
            suite,
            day,
            best_open: None,
            best_closed: None,
            gap: None,
        });
        let slot = if row.local { &mut point.best_open } else { &mut point.best_closed };
        if slot.as_ref().is_none_or(|(_, s)| row.score > *s) {
            *slot = Some((model, row.score));
        }
    }
    points
        .into_values()
        .map(|mut p| {
            p.gap = match (&p.best_open, &p.best_closed) {
                (Some((_, o)), Some((_, c))) => Some(c - o),
                _ => None,
            };
            p
        })
        .collect()
}

/// Unix milliseconds → `YYYY-MM-DD` (UTC), by the civil-from-days algorithm (H. Hinnant).
pub fn day(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(1_709_164_800_000), "2024-02-29");
        assert_eq!(day(1_735_689_599_999), "2024-12-31");
    }

    fn row(suite: &str, model: &str, local: bool, at: i64, score: f64) -> Row {
        crate::report::Row {
            run_id: format!("{model}{at}"),
            suite: suite.into(),
            model: model.into(),
            local,
            started_at_ms: at,
            finished: true,
            scored: 10,
            planned: 10,
            errors: 0,
            score,
            ci_low: 0.0,
            ci_high: 1.0,
            alt_score: None,
            cost_per_100: rust_decimal::Decimal::ZERO,
            p50_latency_ms: None,
            tokens_per_s: None,
            subjects: vec![],
            macro_score: None,
            pass_at_k: vec![],
        }
    }

    #[test]
    fn best_open_against_best_closed_per_day() {
        let d1 = 0;
        let d2 = 86_400_000;
        let rows = [
            row("gsm8k", "gemma", true, d1, 0.2),
            row("gsm8k", "qwen", true, d1, 0.4),
            row("gsm8k", "claude", false, d1 + 5, 0.9),
            row("gsm8k", "qwen", true, d2, 0.6),
            row("gsm8k", "qwen", true, d2 + 1, 0.7),
        ];
        let points = gap(&rows);
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].best_open, Some(("qwen".into(), 0.4)));
        assert!((points[0].gap.unwrap_or(0.0) - 0.5).abs() < 1e-12);
        assert_eq!(points[1].best_open, Some(("qwen".into(), 0.7)), "the day's latest run of a model counts");
        assert_eq!(points[1].gap, None);
    }
}
