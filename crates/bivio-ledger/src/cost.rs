//! What a request cost, exactly.
//!
//! Cloud models are priced per token ([`Price`], USD per million tokens, Anthropic's semantics: `input`
//! excludes cache reads and writes, each priced on its own — the IR's [`Usage`] already normalises OpenAI's
//! `prompt_tokens` / `cached_tokens` this way, so one formula prices both APIs correctly). Reasoning tokens
//! are inside `output_tokens` and are not priced twice.
//!
//! Local models are priced either per token (a [`Price`] you chose) or from the hardware that serves them
//! ([`HardwareCost`]). The hardware model: a busy hour costs the purchase price spread over the lifetime's
//! hours plus the power drawn at full load; a request costs the busy time it took (its upstream time).
//! That equals "per-token cost at the request's own measured throughput" (tokens × hourly cost ÷ tokens per
//! hour), and it is the cost at full utilisation — a lower bound when the machine sits idle. What idle
//! capacity really costs is `bivio roi`'s question (purchase price against measured avoided spend), not a
//! per-request one. When requests overlap on one machine, each is charged its full latency, so local cost
//! is overstated — the conservative side for a savings claim.
//!
//! All arithmetic is `Decimal`; results are rounded to [`COST_SCALE`] places (banker's rounding), which
//! changes nothing for per-token prices with up to six decimals per million tokens.

use bivio_protocol::ir::Usage;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::config::ConfigError;

/// Decimal places kept in a cost: one pico-dollar.
pub const COST_SCALE: u32 = 12;
/// Hours in an average month (365.25 × 24 ÷ 12).
pub const HOURS_PER_MONTH: Decimal = Decimal::from_parts(7305, 0, 0, false, 1);
/// Days in an average month (365.25 ÷ 12).
pub const DAYS_PER_MONTH: Decimal = Decimal::from_parts(304_375, 0, 0, false, 4);
/// Prices are quoted per this many tokens.
const PER: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);
/// Microseconds in an hour.
const US_PER_HOUR: Decimal = Decimal::from_parts(3_600_000_000, 0, 0, false, 0);
/// Sanity bound on a configured price (USD per million tokens) — keeps every product far from overflow.
const MAX_PRICE: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

/// USD per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Uncached input tokens.
    #[serde(default)]
    pub input: Decimal,
    /// Output tokens (reasoning included).
    #[serde(default)]
    pub output: Decimal,
    /// Tokens read from the prompt cache (Anthropic `cache_read_input_tokens`, OpenAI `cached_tokens`).
    #[serde(default)]
    pub cache_read: Decimal,
    /// Tokens written to the prompt cache (Anthropic `cache_creation_input_tokens`).
    #[serde(default)]
    pub cache_write: Decimal,
}

impl Price {
    /// The cost of `usage` in USD.
    pub fn cost(&self, usage: &Usage) -> Decimal {
        let parts = [
            (self.input, usage.input_tokens),
            (self.output, usage.output_tokens),
            (self.cache_read, usage.cache_read_tokens),
            (self.cache_write, usage.cache_write_tokens),
        ];
        let micro =
            parts.iter().fold(Decimal::ZERO, |sum, (price, tokens)| add(sum, mul(*price, Decimal::from(*tokens))));
        round_cost(micro / PER)
    }

    /// Each price must be a number in 0 ..= 1 000 000.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        for (field, value) in [
            ("input", self.input),
            ("output", self.output),
            ("cache_read", self.cache_read),
            ("cache_write", self.cache_write),
        ] {
            if value.is_sign_negative() && !value.is_zero() {
                return Err(ConfigError::new(format!("{path}.{field}"), "must be a non-negative number"));
            }
            if value > MAX_PRICE {
                return Err(ConfigError::new(
                    format!("{path}.{field}"),
                    "must be at most 1000000 (USD per million tokens)",
                ));
            }
        }
        Ok(())
    }
}

/// A machine that serves local models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareCost {
    /// What it cost to buy, USD.
    pub purchase_usd: Decimal,
    /// How long it is expected to serve, months (≥ 1).
    pub lifetime_months: u32,
    /// Power drawn while generating, watts.
    pub power_w: Decimal,
    /// Electricity price, USD per kWh.
    pub kwh_usd: Decimal,
}

impl HardwareCost {
    /// Non-negative numbers, a lifetime of at least one month.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        for (field, value) in
            [("purchase_usd", self.purchase_usd), ("power_w", self.power_w), ("kwh_usd", self.kwh_usd)]
        {
            if value.is_sign_negative() && !value.is_zero() {
                return Err(ConfigError::new(format!("{path}.{field}"), "must be a non-negative number"));
            }
        }
        if self.lifetime_months == 0 {
            return Err(ConfigError::new(format!("{path}.lifetime_months"), "must be at least 1"));
        }
        Ok(())
    }

    /// The purchase price spread over the lifetime, USD per month.
    pub fn amortisation_per_month(&self) -> Decimal {
        self.purchase_usd / Decimal::from(self.lifetime_months.max(1))
    }

    /// Electricity for one hour at full load, USD.
    pub fn energy_per_busy_hour(&self) -> Decimal {
        mul(self.power_w, self.kwh_usd) / Decimal::ONE_THOUSAND
    }

    /// One busy hour: amortisation per lifetime hour plus electricity, USD.
    pub fn busy_hour_cost(&self) -> Decimal {
        let lifetime_hours = mul(Decimal::from(self.lifetime_months.max(1)), HOURS_PER_MONTH);
        add(self.purchase_usd / lifetime_hours, self.energy_per_busy_hour())
    }

    /// What `busy_us` microseconds of the machine cost (amortisation and electricity), USD.
    pub fn busy_cost(&self, busy_us: u64) -> Decimal {
        round_cost(mul(self.busy_hour_cost(), Decimal::from(busy_us)) / US_PER_HOUR)
    }

    /// Electricity only for `busy_us` microseconds, USD.
    pub fn energy_cost(&self, busy_us: u64) -> Decimal {
        round_cost(mul(self.energy_per_busy_hour(), Decimal::from(busy_us)) / US_PER_HOUR)
    }

    /// USD per million tokens generated at `tokens_per_s`; `None` when the throughput is not positive.
    pub fn usd_per_million_tokens(&self, tokens_per_s: Decimal) -> Option<Decimal> {
        if tokens_per_s <= Decimal::ZERO {
            return None;
        }
        let tokens_per_hour = mul(tokens_per_s, Decimal::from(3600));
        Some(round_cost(mul(self.busy_hour_cost(), PER) / tokens_per_hour))
    }
}

/// How one model's requests are priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pricing {
    /// Per token (cloud APIs, or a local model given a per-token price).
    PerToken(Price),
    /// The serving machine's busy time (local models).
    Hardware(HardwareCost),
}

impl Pricing {
    /// The cost of one request or attempt: its usage, or `busy_us` (the time the upstream worked on it)
    /// of the machine.
    pub fn cost(&self, usage: &Usage, busy_us: u64) -> Decimal {
        match self {
            Pricing::PerToken(price) => price.cost(usage),
            Pricing::Hardware(hardware) => hardware.busy_cost(busy_us),
        }
    }
}

/// Rounds to [`COST_SCALE`] places, half to even.
pub fn round_cost(value: Decimal) -> Decimal {
    value.round_dp_with_strategy(COST_SCALE, RoundingStrategy::MidpointNearestEven).normalize()
}

/// `a × b`, saturating instead of panicking (unreachable with validated prices and u64 token counts).
pub(crate) fn mul(a: Decimal, b: Decimal) -> Decimal {
    a.checked_mul(b).unwrap_or(Decimal::MAX)
}

/// `a + b`, saturating instead of panicking.
pub(crate) fn add(a: Decimal, b: Decimal) -> Decimal {
    a.checked_add(b).unwrap_or(Decimal::MAX)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn usage(input: u64, output: u64, cache_read: u64, cache_write: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            cache_read_tokens: cache_read,
            cache_write_tokens: cache_write,
            reasoning_tokens: None,
        }
    }

    fn sonnet() -> Price {
        Price { input: d("3"), output: d("15"), cache_read: d("0.30"), cache_write: d("3.75") }
    }

    #[test]
    fn anthropic_cache_tokens_are_priced_on_their_own() {
        // 1 000 × $3 + 500 × $15 + 20 000 × $0.30 + 4 000 × $3.75 = 3 000 + 7 500 + 6 000 + 15 000
        // = 31 500 µ$ = $0.0315.
        assert_eq!(sonnet().cost(&usage(1_000, 500, 20_000, 4_000)), d("0.0315"));
        // Without the cache, the same prompt (25 000 input tokens) would have cost 25 000 × $3 + 7 500 µ$.
        assert_eq!(sonnet().cost(&usage(25_000, 500, 0, 0)), d("0.0825"));
    }

    #[test]
    fn openai_cached_tokens_are_priced_at_the_cached_rate() {
        // gpt-4o-mini: $0.15 in, $0.60 out, $0.075 cached. OpenAI reports prompt_tokens = 10 000 of which
        // cached_tokens = 8 000; the IR holds input 2 000 + cache_read 8 000.
        // 2 000 × 0.15 + 8 000 × 0.075 + 200 × 0.60 = 300 + 600 + 120 = 1 020 µ$.
        let mini = Price { input: d("0.15"), output: d("0.60"), cache_read: d("0.075"), cache_write: Decimal::ZERO };
        assert_eq!(mini.cost(&usage(2_000, 200, 8_000, 0)), d("0.00102"));
    }

    #[test]
    fn reasoning_tokens_are_not_priced_twice() {
        let mut with_reasoning = usage(100, 1_000, 0, 0);
        with_reasoning.reasoning_tokens = Some(800);
        // 100 × 3 + 1 000 × 15 = 15 300 µ$.
        assert_eq!(sonnet().cost(&with_reasoning), d("0.0153"));
    }

    #[test]
    fn costs_are_exact_decimals() {
        // One token at $0.075/M is 7.5e-8 dollars — exactly, no binary float residue.
        let price = Price { cache_read: d("0.075"), ..Price::default() };
        assert_eq!(price.cost(&usage(0, 0, 1, 0)).to_string(), "0.000000075");
        // Ten million requests of one such token sum to exactly $0.75.
        let one = price.cost(&usage(0, 0, 1, 0));
        let sum = (0..10_000_000).fold(Decimal::ZERO, |acc, _| acc + one);
        assert_eq!(sum, d("0.75"));
        // 0.1 + 0.2 is 0.3.
        let tenth = Price { input: d("0.1"), output: d("0.2"), ..Price::default() };
        assert_eq!(tenth.cost(&usage(1_000_000, 1_000_000, 0, 0)), d("0.3"));
        assert_eq!(Price::default().cost(&usage(5, 5, 5, 5)), Decimal::ZERO);
    }

    #[test]
    fn toml_numbers_become_the_decimals_written() {
        let price: Price = toml::from_str("input = 3\noutput = 15.0\ncache_read = 0.3\ncache_write = 3.75\n").unwrap();
        assert_eq!(price, sonnet());
        assert_eq!(price.cache_read.to_string(), "0.3");
        assert!(toml::from_str::<Price>("inptu = 1\n").is_err());
        let bad = Price { output: d("-1"), ..Price::default() };
        assert_eq!(
            bad.validate("models.x.price").unwrap_err().to_string(),
            "models.x.price.output: must be a non-negative number"
        );
    }

    #[test]
    fn hardware_cost_by_hand() {
        // $8 766 over 12 months = 8 766 lifetime hours (12 × 730.5) → $1 per busy hour of amortisation;
        // 500 W at $0.20/kWh → $0.10 per busy hour. A busy hour costs $1.10.
        let box_ = HardwareCost { purchase_usd: d("8766"), lifetime_months: 12, power_w: d("500"), kwh_usd: d("0.20") };
        assert_eq!(box_.amortisation_per_month(), d("730.5"));
        assert_eq!(box_.energy_per_busy_hour(), d("0.1"));
        assert_eq!(box_.busy_hour_cost(), d("1.1"));
        // A request that kept it busy for 36 s (1 % of an hour) costs $0.011, of which $0.001 electricity.
        assert_eq!(box_.busy_cost(36_000_000), d("0.011"));
        assert_eq!(box_.energy_cost(36_000_000), d("0.001"));
        // At 50 tokens/s an hour yields 180 000 tokens: $1.10 / 180 000 × 1e6 = $6.111…/M.
        assert_eq!(box_.usd_per_million_tokens(d("50")).unwrap().round_dp(6), d("6.111111"));
        assert_eq!(box_.usd_per_million_tokens(Decimal::ZERO), None);
        // Pricing by hardware ignores token counts; per token ignores time.
        assert_eq!(Pricing::Hardware(box_).cost(&usage(9, 9, 9, 9), 3_600_000_000), d("1.1"));
        assert_eq!(Pricing::PerToken(sonnet()).cost(&usage(1_000, 500, 20_000, 4_000), 99), d("0.0315"));
    }

    #[test]
    fn an_rtx_4090_by_hand() {
        // $2 000 over 36 months: $55.56/month; 450 W at $0.30/kWh: $0.135 per busy hour.
        let rtx = HardwareCost { purchase_usd: d("2000"), lifetime_months: 36, power_w: d("450"), kwh_usd: d("0.30") };
        assert_eq!(rtx.amortisation_per_month().round_dp(2), d("55.56"));
        assert_eq!(rtx.energy_per_busy_hour(), d("0.135"));
        // 2 000 / (36 × 730.5) = 2 000 / 26 298 = 0.076051410754…; + 0.135 = 0.211051410754…
        assert_eq!(rtx.busy_hour_cost().round_dp(9), d("0.211051411"));
        // One second busy: 0.211051410754… / 3 600 = 0.0000586253918…
        assert_eq!(rtx.busy_cost(1_000_000), d("0.000058625392"));
    }
}
