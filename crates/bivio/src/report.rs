//! `bivio report`, `bivio roi` and `bivio audit`: read the ledger named by the config (or the zero-config
//! default's) and render what it says. Only the config's ledger part is read: no provider is built, no
//! model loaded, no API key needed.

use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, anyhow};
use bivio_gateway::Config;
use bivio_gateway::config::LedgerView;
use bivio_ledger::AuditQuery;
use bivio_ledger::render::{render_audit, render_report, render_roi};
use bivio_ledger::report::{Baseline, GroupBy, ReportQuery};
use bivio_ledger::roi::RoiQuery;
use bivio_ledger::{Format, HardwareCost, Store, time};
use rust_decimal::Decimal;

use crate::{Failure, config_failure, output, runtime_failure};

/// `--hardware-usd`, `--power-w`, `--kwh-usd`, `--lifetime-months`: each overrides `[ledger.hardware]`.
#[derive(Debug, Default)]
pub struct HardwareOverrides {
    pub hardware_usd: Option<String>,
    pub power_w: Option<String>,
    pub kwh_usd: Option<String>,
    pub lifetime_months: Option<u32>,
}

fn ledger_view(config: Option<&Path>) -> Result<LedgerView, Failure> {
    let what = config.map_or_else(|| "the zero-config default".to_owned(), |p| p.display().to_string());
    Config::ledger_view(config, &|var| std::env::var(var).ok())
        .with_context(|| format!("invalid config {what}"))
        .map_err(config_failure)
}

pub fn report(config: Option<&Path>, since: Option<&str>, by: Option<&str>, format: &str) -> Result<(), Failure> {
    let config = ledger_view(config)?;
    let format = Format::from_str(format).map_err(|err| config_failure(anyhow!("--format: {err}")))?;
    let group_by = by.map(GroupBy::from_str).transpose().map_err(|err| config_failure(anyhow!("--by: {err}")))?;
    let (since_ms, until_ms) = window(since)?;
    let baseline = config.baseline.clone().map(|(model, price)| Baseline { model, price });
    let query = ReportQuery { since_ms, until_ms, group_by, baseline };
    let text = runtime()?.block_on(async {
        let store = Store::open(&config.ledger.store).await.context("cannot open the ledger")?;
        let report = store.report(&query).await.context("cannot read the ledger")?;
        render_report(&report, format).context("cannot render the report")
    });
    output::line(text.map_err(runtime_failure)?.trim_end());
    Ok(())
}

/// `bivio audit`: where sensitive requests went, with the one-line conclusion first.
pub fn audit(config: Option<&Path>, since: Option<&str>, format: &str) -> Result<(), Failure> {
    let config = ledger_view(config)?;
    let format = Format::from_str(format).map_err(|err| config_failure(anyhow!("--format: {err}")))?;
    let (since_ms, until_ms) = window(since)?;
    let text = runtime()?.block_on(async {
        let store = Store::open(&config.ledger.store).await.context("cannot open the ledger")?;
        let report =
            bivio_ledger::audit(&store, &AuditQuery { since_ms, until_ms }).await.context("cannot read the ledger")?;
        render_audit(&report, format).context("cannot render the audit")
    });
    output::line(text.map_err(runtime_failure)?.trim_end());
    Ok(())
}

pub fn roi(
    config: Option<&Path>,
    since: Option<&str>,
    overrides: &HardwareOverrides,
    format: &str,
) -> Result<(), Failure> {
    let config = ledger_view(config)?;
    let format = Format::from_str(format).map_err(|err| config_failure(anyhow!("--format: {err}")))?;
    let (since_ms, until_ms) = window(since)?;
    let (model, price) = config.baseline.clone().ok_or_else(|| {
        config_failure(anyhow!("set ledger.baseline_model: local traffic is valued at that (cloud) model's price"))
    })?;
    let hardware = hardware(config.ledger.hardware, overrides)?;
    let query = RoiQuery { since_ms, until_ms, baseline: Baseline { model, price }, hardware };
    let text = runtime()?.block_on(async {
        let store = Store::open(&config.ledger.store).await.context("cannot open the ledger")?;
        let roi = store.roi(&query).await.context("cannot read the ledger")?;
        render_roi(&roi, format).context("cannot render the ROI")
    });
    output::line(text.map_err(runtime_failure)?.trim_end());
    Ok(())
}

/// The configured hardware with the flags applied; every field must come from one or the other.
fn hardware(configured: Option<HardwareCost>, overrides: &HardwareOverrides) -> Result<HardwareCost, Failure> {
    let decimal = |flag: &str, value: &Option<String>, fallback: Option<Decimal>| -> Result<Decimal, Failure> {
        match value {
            Some(text) => {
                Decimal::from_str(text).map_err(|_| config_failure(anyhow!("--{flag}: `{text}` is not a number")))
            }
            None => fallback.ok_or_else(|| {
                config_failure(anyhow!("--{flag} is required (or set [ledger.hardware] in the config)"))
            }),
        }
    };
    let hardware = HardwareCost {
        purchase_usd: decimal("hardware-usd", &overrides.hardware_usd, configured.map(|h| h.purchase_usd))?,
        power_w: decimal("power-w", &overrides.power_w, configured.map(|h| h.power_w))?,
        kwh_usd: decimal("kwh-usd", &overrides.kwh_usd, configured.map(|h| h.kwh_usd))?,
        lifetime_months: overrides.lifetime_months.or(configured.map(|h| h.lifetime_months)).ok_or_else(|| {
            config_failure(anyhow!("--lifetime-months is required (or set [ledger.hardware] in the config)"))
        })?,
    };
    hardware.validate("hardware").map_err(|err| config_failure(anyhow!("{}: {}", err.path, err.message)))?;
    Ok(hardware)
}

fn window(since: Option<&str>) -> Result<(Option<i64>, i64), Failure> {
    let until_ms = time::now_ms();
    let since_ms = match since {
        None => None,
        Some(text) => {
            let duration = time::parse_duration(text).map_err(|err| config_failure(anyhow!("--since: {err}")))?;
            Some(until_ms - i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
        }
    };
    Ok((since_ms, until_ms))
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(runtime_failure)
}
