//! `bivio roi`: does the local machine pay for itself, from measured traffic?
//!
//! Over the measured window (from `since`, or from the ledger's first request if that is later, to now):
//! - **cloud spend avoided** per month = what the local requests would have cost at the baseline model's
//!   price, scaled from the window to an average month (30.4375 days);
//! - **running cost** per month = electricity for the time the local upstream was busy (power × busy hours
//!   × price per kWh), scaled the same way — idle draw is not counted;
//! - **net saving** per month = avoided − running;
//! - **break-even** = purchase price ÷ net saving, in months; never when net saving ≤ 0.
//!
//! Also shown, for context: what the traffic still sent to cloud APIs costs per month, and the local
//! machine's cost per million output tokens at its measured throughput. Money is rounded to cents, hours
//! and days to 0.01, months to 0.1 — these are extrapolations, and more digits would claim more than the
//! data knows.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::cost::{DAYS_PER_MONTH, HardwareCost, add, mul};
use crate::error::LedgerError;
use crate::report::{Acc, Baseline, rate, share};
use crate::store::Store;

const MS_PER_DAY: Decimal = Decimal::from_parts(86_400_000, 0, 0, false, 0);
const US_PER_HOUR: Decimal = Decimal::from_parts(3_600_000_000, 0, 0, false, 0);

/// What to compute ROI for.
#[derive(Debug, Clone, PartialEq)]
pub struct RoiQuery {
    /// Inclusive start, unix ms; `None` = from the first record.
    pub since_ms: Option<i64>,
    /// End of the window, unix ms (usually now).
    pub until_ms: i64,
    pub baseline: Baseline,
    pub hardware: HardwareCost,
}

/// The answer, per month unless named otherwise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoiReport {
    /// Start of the measured window (`None`: no requests at all).
    pub from_ms: Option<i64>,
    pub until_ms: i64,
    pub window_days: Decimal,
    pub baseline_model: String,
    pub hardware: HardwareCost,
    pub requests: u64,
    pub local_requests: u64,
    /// 0–1.
    pub local_share: f64,
    /// What the traffic that still went to cloud APIs costs per month.
    pub cloud_spend_monthly_usd: Decimal,
    /// Local traffic at the baseline model's price, per month.
    pub avoided_monthly_usd: Decimal,
    /// Hours per month the local upstream was busy.
    pub local_busy_hours_monthly: Decimal,
    /// Electricity for those hours.
    pub running_monthly_usd: Decimal,
    /// `avoided − running`.
    pub net_monthly_usd: Decimal,
    /// Purchase price ÷ lifetime (what the machine "costs" per month if it pays off).
    pub amortisation_monthly_usd: Decimal,
    /// `purchase ÷ net`; `None` = never (net ≤ 0).
    pub break_even_months: Option<Decimal>,
    pub pays_off_within_lifetime: bool,
    /// `net × lifetime − purchase`: what the machine leaves over its whole life.
    pub lifetime_net_usd: Decimal,
    pub local_output_tokens_per_s: Option<f64>,
    /// Busy-hour cost (amortisation + electricity) per million output tokens at the measured throughput.
    pub local_usd_per_million_output_tokens: Option<Decimal>,
}

impl Store {
    /// Computes ROI from the traffic in the query's window.
    pub async fn roi(&self, query: &RoiQuery) -> Result<RoiReport, LedgerError> {
        let first = self.first_ts_ms().await?;
        let from_ms = match (first, query.since_ms) {
            (Some(first), Some(since)) => Some(first.max(since)),
            (first, _) => first,
        };
        let totals = self.totals(query.since_ms, query.until_ms, query.baseline.price).await?;
        Ok(compute(&totals, from_ms, query))
    }
}

/// The ROI arithmetic, from a window's sums.
pub(crate) fn compute(totals: &Acc, from_ms: Option<i64>, query: &RoiQuery) -> RoiReport {
    let hardware = query.hardware;
    let window_ms = from_ms.map_or(0, |from| query.until_ms.saturating_sub(from).max(0));
    // Scale from the window to a month; nothing measured → nothing extrapolated.
    let per_month = if window_ms > 0 { DAYS_PER_MONTH * MS_PER_DAY / Decimal::from(window_ms) } else { Decimal::ZERO };
    let monthly = |value: Decimal| mul(value, per_month);

    let cloud_cost = totals.cost_usd - totals.local_cost_usd;
    let avoided = monthly(totals.local_baseline_usd);
    let busy_hours = monthly(Decimal::from(totals.local_busy_us) / US_PER_HOUR);
    let running = monthly(hardware.energy_cost(totals.local_busy_us));
    let net = avoided - running;
    let lifetime = Decimal::from(hardware.lifetime_months);
    let break_even = (net > Decimal::ZERO).then(|| hardware.purchase_usd / net);
    let local_tps = rate(totals.local_generated_tokens, totals.local_generation_us);
    let local_tps_exact = (totals.local_generation_us > 0).then(|| {
        Decimal::from(totals.local_generated_tokens) * Decimal::from(1_000_000)
            / Decimal::from(totals.local_generation_us)
    });
    RoiReport {
        from_ms,
        until_ms: query.until_ms,
        window_days: (Decimal::from(window_ms) / MS_PER_DAY).round_dp(2),
        baseline_model: query.baseline.model.clone(),
        hardware,
        requests: totals.requests,
        local_requests: totals.local_requests,
        local_share: share(totals.local_requests, totals.requests),
        cloud_spend_monthly_usd: monthly(cloud_cost).round_dp(2),
        avoided_monthly_usd: avoided.round_dp(2),
        local_busy_hours_monthly: busy_hours.round_dp(2),
        running_monthly_usd: running.round_dp(2),
        net_monthly_usd: net.round_dp(2),
        amortisation_monthly_usd: hardware.amortisation_per_month().round_dp(2),
        break_even_months: break_even.map(|months| months.round_dp(1)),
        pays_off_within_lifetime: break_even.is_some_and(|months| months <= lifetime),
        lifetime_net_usd: add(mul(net, lifetime), -hardware.purchase_usd).round_dp(2),
        local_output_tokens_per_s: local_tps,
        local_usd_per_million_output_tokens: local_tps_exact
            .and_then(|tps| hardware.usd_per_million_tokens(tps))
            .map(|usd| usd.round_dp(4)),
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::cost::Price;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn query(purchase: &str) -> RoiQuery {
        RoiQuery {
            since_ms: None,
            until_ms: 0,
            baseline: Baseline { model: "claude-sonnet-4-5".into(), price: Price::default() },
            hardware: HardwareCost {
                purchase_usd: d(purchase),
                lifetime_months: 36,
                power_w: d("450"),
                kwh_usd: d("0.30"),
            },
        }
    }

    #[test]
    fn break_even_by_hand() {
        // A measured window of exactly one average month (30.4375 days), so nothing is rescaled.
        let month_ms = 2_629_800_000_i64;
        let mut query = query("2000");
        query.until_ms = month_ms;
        let totals = Acc {
            requests: 1_000,
            local_requests: 800,
            cost_usd: d("40"),
            local_cost_usd: d("10"),
            local_baseline_usd: d("110"),
            // 20 busy hours: 450 W × 20 h = 9 kWh × $0.30 = $2.70.
            local_busy_us: 20 * 3_600_000_000,
            // 720 000 tokens in 4 h of generation = 50 tokens/s.
            local_generated_tokens: 720_000,
            local_generation_us: 4 * 3_600_000_000,
            ..Acc::default()
        };
        let roi = compute(&totals, Some(0), &query);
        assert_eq!(roi.window_days, d("30.44"));
        assert_eq!(roi.cloud_spend_monthly_usd, d("30"));
        assert_eq!(roi.avoided_monthly_usd, d("110"));
        assert_eq!(roi.local_busy_hours_monthly, d("20"));
        assert_eq!(roi.running_monthly_usd, d("2.70"));
        assert_eq!(roi.net_monthly_usd, d("107.30"));
        // 2 000 / 107.30 = 18.639…
        assert_eq!(roi.break_even_months, Some(d("18.6")));
        assert!(roi.pays_off_within_lifetime);
        // 107.30 × 36 − 2 000 = 1 862.80
        assert_eq!(roi.lifetime_net_usd, d("1862.80"));
        assert_eq!(roi.amortisation_monthly_usd, d("55.56"));
        assert_eq!(roi.local_share, 0.8);
        assert_eq!(roi.local_output_tokens_per_s, Some(50.0));
        // 0.211051410754… per busy hour / 180 000 tokens per hour × 1e6 = 1.1725…
        assert_eq!(roi.local_usd_per_million_output_tokens, Some(d("1.1725")));

        // A week's traffic is scaled by 30.4375 / 7.
        query.until_ms = 7 * 86_400_000;
        let week = Acc { local_baseline_usd: d("14"), ..Acc::default() };
        let roi = compute(&week, Some(0), &query);
        assert_eq!(roi.avoided_monthly_usd, d("60.88"));
        assert_eq!(roi.break_even_months, Some(d("32.9")));
    }

    #[test]
    fn never_breaks_even_without_net_savings() {
        let mut query = query("3000");
        query.until_ms = 86_400_000;
        let roi = compute(&Acc::default(), Some(0), &query);
        assert_eq!(roi.break_even_months, None);
        assert!(!roi.pays_off_within_lifetime);
        assert_eq!(roi.lifetime_net_usd, d("-3000"));
        // No traffic at all: no window, nothing extrapolated.
        let roi = compute(&Acc::default(), None, &query);
        assert_eq!(roi.window_days, Decimal::ZERO);
        assert_eq!(roi.avoided_monthly_usd, Decimal::ZERO);
        assert_eq!(roi.local_output_tokens_per_s, None);
    }
}
