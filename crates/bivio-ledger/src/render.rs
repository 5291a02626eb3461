//! Reports and ROI as text: a table for people (readable at a glance: compact token counts, dollars,
//! milliseconds), JSON for programs (exact decimals as strings, every field), CSV for spreadsheets (exact
//! values, one line per group — no total line when grouped, so a column sum is the total). Pure functions of
//! the report structs: the CLI prints what they return.
//!
//! The privacy audit's table opens with its conclusion in one sentence ([`audit_conclusion`]) — the question
//! an auditor asks is yes/no — then the breakdowns and the listing; its CSV is the per-kind rows.

use std::fmt::Write as _;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::audit::{AuditReport, AuditRow};
use crate::error::LedgerError;
use crate::report::{NONE_GROUP, Report, ReportRow};
use crate::roi::RoiReport;
use crate::time::format_minute;

/// Output format of `bivio report`, `bivio roi` and `bivio audit`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

/// A `--format` value that is not table, json or csv.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{0}` (expected table, json or csv)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(text: &str) -> Result<Format, UnknownFormat> {
        match text {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            other => Err(UnknownFormat(other.to_owned())),
        }
    }
}

/// Renders a report; the text ends with a newline.
pub fn render_report(report: &Report, format: Format) -> Result<String, LedgerError> {
    match format {
        Format::Table => Ok(report_table(report)),
        Format::Json => Ok(serde_json::to_string_pretty(report)? + "\n"),
        Format::Csv => Ok(report_csv(report)),
    }
}

/// Renders a privacy audit; the text ends with a newline. The table's first line is the conclusion.
pub fn render_audit(audit: &AuditReport, format: Format) -> Result<String, LedgerError> {
    match format {
        Format::Table => Ok(audit_table(audit)),
        Format::Json => Ok(serde_json::to_string_pretty(audit)? + "\n"),
        Format::Csv => Ok(audit_csv(audit)),
    }
}

/// Renders an ROI answer; the text ends with a newline.
pub fn render_roi(roi: &RoiReport, format: Format) -> Result<String, LedgerError> {
    match format {
        Format::Table => Ok(roi_table(roi)),
        Format::Json => Ok(serde_json::to_string_pretty(roi)? + "\n"),
        Format::Csv => Ok(roi_csv(roi)),
    }
}

fn window(from_ms: Option<i64>, until_ms: i64) -> String {
    match from_ms {
        Some(from) => format!("{} to {} UTC", format_minute(from), format_minute(until_ms)),
        None => format!("until {} UTC (no requests)", format_minute(until_ms)),
    }
}

fn report_table(report: &Report) -> String {
    let mut out = String::new();
    let _ = write!(out, "Requests {}", window(report.from_ms, report.until_ms));
    if let Some(by) = report.group_by {
        let _ = write!(out, ", by {}", by.label());
    }
    out.push('\n');
    match &report.baseline_model {
        Some(model) => {
            let _ = writeln!(out, "Saved: local requests re-priced at {model} prices, minus what they cost.");
        }
        None => out.push_str("Saved: no baseline model configured (ledger.baseline_model).\n"),
    }
    out.push('\n');
    let first = report.group_by.map_or("", |by| by.label()).to_uppercase();
    let headers = [
        first.as_str(),
        "REQS",
        "ERR",
        "INPUT",
        "OUTPUT",
        "CACHE R",
        "CACHE W",
        "COST",
        "P50 MS",
        "P95 MS",
        "TTFT P50",
        "TTFT P95",
        "TOK/S",
        "LOCAL",
        "SAVED",
    ];
    let cells = |row: &ReportRow, label: &str| -> Vec<String> {
        vec![
            label.to_owned(),
            thousands(row.requests),
            thousands(row.errors),
            compact(row.input_tokens),
            compact(row.output_tokens),
            compact(row.cache_read_tokens),
            compact(row.cache_write_tokens),
            usd(row.cost_usd),
            ms(row.latency_p50_ms),
            ms(row.latency_p95_ms),
            ms(row.ttft_p50_ms),
            ms(row.ttft_p95_ms),
            row.output_tokens_per_s.map_or_else(|| "-".to_owned(), |tps| format!("{tps:.1}")),
            percent(row.local_share),
            row.savings_usd.map_or_else(|| "-".to_owned(), usd),
        ]
    };
    let body: Vec<Vec<String>> = report.rows.iter().map(|row| cells(row, &row.group)).collect();
    let footer = cells(&report.total, "TOTAL");
    out.push_str(&table(&headers, &body, &footer));
    out
}

/// Columns padded to their widest cell: the first left-aligned, the rest right-aligned; a rule before the
/// footer when there is a body.
fn table(headers: &[&str], body: &[Vec<String>], footer: &[String]) -> String {
    table_with(headers, body, Some(footer), 1)
}

/// [`table`], the footer (and its rule) optional, the first `left` columns (text) left-aligned.
fn table_with(headers: &[&str], body: &[Vec<String>], footer: Option<&[String]>, left: usize) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|header| header.chars().count()).collect();
    for row in body.iter().map(Vec::as_slice).chain(footer) {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let mut text = String::new();
        for (index, (cell, width)) in cells.zip(&widths).enumerate() {
            let gap = if index == 0 { "" } else { "  " };
            if index < left {
                let _ = write!(text, "{gap}{cell:<width$}");
            } else {
                let _ = write!(text, "{gap}{cell:>width$}");
            }
        }
        text.trim_end().to_owned() + "\n"
    };
    let mut out = line(&mut headers.iter().copied());
    for row in body {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    if let Some(footer) = footer {
        if !body.is_empty() {
            let total_width = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
            out.push_str(&"-".repeat(total_width));
            out.push('\n');
        }
        out.push_str(&line(&mut footer.iter().map(String::as_str)));
    }
    out
}

fn report_csv(report: &Report) -> String {
    let mut out = String::from(
        "group,requests,errors,input_tokens,output_tokens,cache_read_tokens,cache_write_tokens,cost_usd,\
         latency_p50_ms,latency_p95_ms,ttft_p50_ms,ttft_p95_ms,output_tokens_per_s,local_requests,local_share,\
         savings_usd\n",
    );
    let rows: Vec<&ReportRow> =
        if report.group_by.is_some() { report.rows.iter().collect() } else { vec![&report.total] };
    for row in rows {
        let fields = [
            csv_field(&row.group),
            row.requests.to_string(),
            row.errors.to_string(),
            row.input_tokens.to_string(),
            row.output_tokens.to_string(),
            row.cache_read_tokens.to_string(),
            row.cache_write_tokens.to_string(),
            row.cost_usd.to_string(),
            opt(row.latency_p50_ms),
            opt(row.latency_p95_ms),
            opt(row.ttft_p50_ms),
            opt(row.ttft_p95_ms),
            opt(row.output_tokens_per_s),
            row.local_requests.to_string(),
            row.local_share.to_string(),
            row.savings_usd.map(|usd| usd.to_string()).unwrap_or_default(),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

fn roi_table(roi: &RoiReport) -> String {
    let hardware = &roi.hardware;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ROI of local serving, measured over {} days ({})",
        roi.window_days,
        window(roi.from_ms, roi.until_ms)
    );
    let _ = writeln!(
        out,
        "{} requests, {} served locally; baseline: {}",
        thousands(roi.requests),
        percent(roi.local_share),
        roi.baseline_model
    );
    out.push('\n');
    let break_even = match roi.break_even_months {
        Some(months) => format!("{months} months"),
        None => "never".to_owned(),
    };
    let verdict = match (roi.break_even_months, roi.local_requests) {
        (_, 0) => "no local traffic measured".to_owned(),
        (None, _) => "running cost exceeds the cloud spend it avoids".to_owned(),
        (Some(_), _) if roi.pays_off_within_lifetime => "pays off within its lifetime".to_owned(),
        (Some(_), _) => format!("longer than its {}-month lifetime", hardware.lifetime_months),
    };
    let lines = [
        (
            "Cloud spend avoided",
            format!("{} / month", usd(roi.avoided_monthly_usd)),
            format!("local traffic at {} prices", roi.baseline_model),
        ),
        (
            "Running cost",
            format!("{} / month", usd(roi.running_monthly_usd)),
            format!(
                "{} W x {} busy h/month x {}/kWh",
                hardware.power_w.normalize(),
                roi.local_busy_hours_monthly,
                usd(hardware.kwh_usd)
            ),
        ),
        ("Net saving", format!("{} / month", usd(roi.net_monthly_usd)), String::new()),
        (
            "Hardware",
            usd(hardware.purchase_usd),
            format!("{}-month lifetime ({} / month)", hardware.lifetime_months, usd(roi.amortisation_monthly_usd)),
        ),
        ("Break-even", break_even, verdict),
        ("Over its lifetime", format!("{} net", usd(roi.lifetime_net_usd)), String::new()),
    ];
    let value_width = lines.iter().map(|(_, value, _)| value.chars().count()).max().unwrap_or(0);
    for (label, value, note) in &lines {
        let text = format!("  {label:<19}  {value:>value_width$}   {note}");
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out.push('\n');
    let _ = write!(out, "Still spent on cloud APIs: {} / month.", usd(roi.cloud_spend_monthly_usd));
    if let Some(tps) = roi.local_output_tokens_per_s {
        let _ = write!(out, " Local throughput: {tps:.1} tok/s");
        if let Some(per_million) = roi.local_usd_per_million_output_tokens {
            let _ = write!(out, " ({} per 1M output tokens, busy-hour cost)", usd(per_million));
        }
        out.push('.');
    }
    out.push('\n');
    out
}

fn roi_csv(roi: &RoiReport) -> String {
    let header = "from_ms,until_ms,window_days,baseline_model,purchase_usd,lifetime_months,power_w,kwh_usd,requests,\
                  local_requests,local_share,cloud_spend_monthly_usd,avoided_monthly_usd,local_busy_hours_monthly,\
                  running_monthly_usd,net_monthly_usd,amortisation_monthly_usd,break_even_months,\
                  pays_off_within_lifetime,lifetime_net_usd,local_output_tokens_per_s,\
                  local_usd_per_million_output_tokens";
    let fields = [
        roi.from_ms.map(|ms| ms.to_string()).unwrap_or_default(),
        roi.until_ms.to_string(),
        roi.window_days.to_string(),
        csv_field(&roi.baseline_model),
        roi.hardware.purchase_usd.to_string(),
        roi.hardware.lifetime_months.to_string(),
        roi.hardware.power_w.to_string(),
        roi.hardware.kwh_usd.to_string(),
        roi.requests.to_string(),
        roi.local_requests.to_string(),
        roi.local_share.to_string(),
        roi.cloud_spend_monthly_usd.to_string(),
        roi.avoided_monthly_usd.to_string(),
        roi.local_busy_hours_monthly.to_string(),
        roi.running_monthly_usd.to_string(),
        roi.net_monthly_usd.to_string(),
        roi.amortisation_monthly_usd.to_string(),
        roi.break_even_months.map(|months| months.to_string()).unwrap_or_default(),
        roi.pays_off_within_lifetime.to_string(),
        roi.lifetime_net_usd.to_string(),
        opt(roi.local_output_tokens_per_s),
        roi.local_usd_per_million_output_tokens.map(|usd| usd.to_string()).unwrap_or_default(),
    ];
    format!("{header}\n{}\n", fields.join(","))
}

/// The audit's answer in one sentence: whether any sensitive request reached a cloud provider and, if so,
/// under which guard decisions. `allow` and `redact` are always named (the decisions that let a request
/// out); any other decision, or none recorded (requests from before schema version 2), only when it
/// accounts for some — a `local_only` request in the cloud is a finding in itself.
pub fn audit_conclusion(audit: &AuditReport) -> String {
    let sensitive = audit.sensitive.requests;
    let noun = if sensitive == 1 { "request" } else { "requests" };
    if sensitive == 0 {
        return "No sensitive requests in this window, so none reached a cloud provider.".to_owned();
    }
    let cloud = audit.sensitive.reached_cloud;
    if cloud == 0 {
        return format!("None of the {} sensitive {noun} reached a cloud provider.", thousands(sensitive));
    }
    let reached = |action: &str| {
        audit.by_action.iter().find(|row| row.label == action).map_or(0, |row: &AuditRow| row.reached_cloud)
    };
    let mut parts = vec![
        format!("{} under `allow`", thousands(reached("allow"))),
        format!("{} under `redact`", thousands(reached("redact"))),
    ];
    for row in &audit.by_action {
        if row.reached_cloud == 0 || row.label == "allow" || row.label == "redact" {
            continue;
        }
        if row.label == NONE_GROUP {
            parts.push(format!("{} with no recorded action", thousands(row.reached_cloud)));
        } else {
            parts.push(format!("{} under `{}`", thousands(row.reached_cloud), row.label));
        }
    }
    format!(
        "{} of {} sensitive {noun} reached a cloud provider: {}.",
        thousands(cloud),
        thousands(sensitive),
        parts.join(", ")
    )
}

fn audit_table(audit: &AuditReport) -> String {
    let mut out = audit_conclusion(audit);
    out.push('\n');
    let share = if audit.requests == 0 { 0.0 } else { audit.sensitive.requests as f64 / audit.requests as f64 };
    let _ = writeln!(
        out,
        "Privacy audit {}: {} requests, {} sensitive ({}).",
        window(audit.from_ms, audit.until_ms),
        thousands(audit.requests),
        thousands(audit.sensitive.requests),
        percent(share)
    );
    if audit.sensitive.requests == 0 {
        return out;
    }
    let outcome_cells = |row: &AuditRow, label: &str| -> Vec<String> {
        vec![
            label.to_owned(),
            thousands(row.requests),
            thousands(row.stayed_local),
            thousands(row.reached_cloud),
            thousands(row.not_sent),
        ]
    };
    let footer = outcome_cells(&audit.sensitive, "TOTAL");
    for (first, rows) in [("KIND", &audit.by_kind), ("ACTION", &audit.by_action)] {
        out.push('\n');
        let headers = [first, "REQS", "STAYED LOCAL", "REACHED CLOUD", "NOT SENT"];
        let body: Vec<Vec<String>> = rows.iter().map(|row| outcome_cells(row, &row.label)).collect();
        out.push_str(&table(&headers, &body, &footer));
    }
    if !audit.by_destination.is_empty() {
        out.push('\n');
        let body: Vec<Vec<String>> = audit
            .by_destination
            .iter()
            .map(|destination| {
                vec![
                    format!("{}/{}", destination.provider, destination.upstream_model),
                    if destination.local { "local" } else { "cloud" }.to_owned(),
                    thousands(destination.requests),
                ]
            })
            .collect();
        out.push_str(&table_with(&["SENT TO", "WHERE", "REQS"], &body, None, 2));
    }
    if audit.cloud_requests_total > 0 {
        out.push('\n');
        let listed = audit.cloud_requests.len() as u64;
        if listed < audit.cloud_requests_total {
            let _ = writeln!(
                out,
                "Sensitive requests that reached a cloud provider, the first {} of {}:",
                thousands(listed),
                thousands(audit.cloud_requests_total)
            );
        } else {
            out.push_str("Sensitive requests that reached a cloud provider:\n");
        }
        let body: Vec<Vec<String>> = audit
            .cloud_requests
            .iter()
            .map(|request| {
                vec![
                    format_minute(request.ts_ms),
                    request.id.clone(),
                    request.kinds.join(","),
                    request.guard_action.clone().unwrap_or_else(|| "-".to_owned()),
                    format!("{}/{}", request.provider, request.upstream_model),
                    thousands(request.cloud_attempts),
                ]
            })
            .collect();
        let headers = ["TIME (UTC)", "ID", "KINDS", "ACTION", "FIRST CLOUD UPSTREAM", "CLOUD TRIES"];
        out.push_str(&table_with(&headers, &body, None, 5));
    }
    out.push('\n');
    out.push_str(
        "Reached cloud: at least one attempt went to a cloud provider, failed attempts included. Stayed local: sent\n\
         only to local models. Not sent: no attempt (blocked, or failed closed). A request counts under each kind.\n",
    );
    if audit.by_kind.iter().any(|row| row.label == NONE_GROUP) {
        out.push_str("KIND (none): the guard decided without naming a kind (it does so for images).\n");
    }
    if audit.by_action.iter().any(|row| row.label == NONE_GROUP) {
        out.push_str("ACTION (none): no decision recorded (requests written before the ledger stored it).\n");
    }
    out
}

fn audit_csv(audit: &AuditReport) -> String {
    let mut out = String::from("kind,requests,stayed_local,reached_cloud,not_sent\n");
    for row in &audit.by_kind {
        let fields = [
            csv_field(&row.label),
            row.requests.to_string(),
            row.stayed_local.to_string(),
            row.reached_cloud.to_string(),
            row.not_sent.to_string(),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

fn opt(value: Option<f64>) -> String {
    value.map(|value| value.to_string()).unwrap_or_default()
}

/// `1234567` → `1,234,567`.
fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Token counts at a glance: `950`, `12.3k`, `4.56M`, `1.20B`.
fn compact(value: u64) -> String {
    let v = value as f64;
    match value {
        0..1_000 => value.to_string(),
        1_000..1_000_000 => format!("{:.1}k", v / 1e3),
        1_000_000..1_000_000_000 => format!("{:.2}M", v / 1e6),
        _ => format!("{:.2}B", v / 1e9),
    }
}

/// Dollars: cents from $1 up and for whole cents (`$1,234.56`, `$0.30`), four places below (`$0.0042`),
/// `<$0.0001` for dust.
fn usd(value: Decimal) -> String {
    let sign = if value.is_sign_negative() && !value.is_zero() { "-" } else { "" };
    let abs = value.abs();
    let places = if abs >= Decimal::ONE || abs.round_dp(2) == abs { 2 } else { 4 };
    let rounded = abs.round_dp(places);
    if rounded.is_zero() && !abs.is_zero() {
        return format!("{sign}<$0.0001");
    }
    let text = format!("{rounded:.prec$}", prec = places as usize);
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let whole = whole.parse::<u64>().map_or_else(|_| whole.to_owned(), thousands);
    format!("{sign}${whole}.{fraction}")
}

/// Milliseconds: whole from 100 up (`1,234`), one place below (`45.2`), `-` for none.
fn ms(value: Option<f64>) -> String {
    match value {
        None => "-".to_owned(),
        Some(ms) if ms >= 100.0 => thousands(ms.round() as u64),
        Some(ms) => format!("{ms:.1}"),
    }
}

/// `0.625` → `62.5%`.
fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_at_a_glance() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(100), "100");
        assert_eq!(compact(999), "999");
        assert_eq!(compact(12_345), "12.3k");
        assert_eq!(compact(4_560_000), "4.56M");
        assert_eq!(compact(1_200_000_000), "1.20B");
        let d = |text: &str| Decimal::from_str(text).unwrap();
        assert_eq!(usd(d("1234.5")), "$1,234.50");
        assert_eq!(usd(d("0.0042")), "$0.0042");
        assert_eq!(usd(d("0.00001")), "<$0.0001");
        assert_eq!(usd(Decimal::ZERO), "$0.00");
        assert_eq!(usd(d("0.3")), "$0.30");
        assert_eq!(usd(d("-12.345")), "-$12.34");
        assert_eq!(ms(Some(1234.4)), "1,234");
        assert_eq!(ms(Some(45.25)), "45.2");
        assert_eq!(percent(0.625), "62.5%");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!("csv".parse::<Format>(), Ok(Format::Csv));
        assert!("xml".parse::<Format>().is_err());
    }

    #[test]
    fn the_audit_conclusion_names_every_decision_that_let_data_out() {
        let row = |label: &str, requests: u64, reached_cloud: u64| AuditRow {
            label: label.to_owned(),
            requests,
            stayed_local: requests - reached_cloud,
            reached_cloud,
            not_sent: 0,
        };
        let mut audit = AuditReport {
            from_ms: Some(0),
            until_ms: 1,
            requests: 40,
            sensitive: row("total", 12, 0),
            by_kind: Vec::new(),
            by_action: vec![row("redact", 6, 0), row("local_only", 4, 0), row("allow", 2, 0)],
            by_destination: Vec::new(),
            cloud_requests: Vec::new(),
            cloud_requests_total: 0,
        };
        assert_eq!(audit_conclusion(&audit), "None of the 12 sensitive requests reached a cloud provider.");
        // A `local_only` request in the cloud is named even though the sentence's usual form has no place for it.
        audit.sensitive = row("total", 12, 4);
        audit.by_action = vec![row("redact", 6, 3), row("local_only", 4, 1), row("allow", 2, 0)];
        assert_eq!(
            audit_conclusion(&audit),
            "4 of 12 sensitive requests reached a cloud provider: 0 under `allow`, 3 under `redact`, 1 under \
             `local_only`."
        );
        audit.sensitive = row("total", 1, 0);
        audit.by_action = vec![row("block", 1, 0)];
        assert_eq!(audit_conclusion(&audit), "None of the 1 sensitive request reached a cloud provider.");
    }
}
