//! Renderings of reports: a terminal table, Markdown, JSON and one self-contained HTML page (inline CSS
//! and SVG charts, no scripts, no external assets). Pure functions of the report structs.

use std::fmt::Write;
use std::str::FromStr;

use crate::EvalError;
use crate::arena::Leaderboard;
use crate::gap::{GapPoint, day};
use crate::report::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Markdown,
    Json,
    Html,
}

impl FromStr for Format {
    type Err = EvalError;
    fn from_str(s: &str) -> Result<Format, EvalError> {
        match s {
            "table" => Ok(Format::Table),
            "markdown" | "md" => Ok(Format::Markdown),
            "json" => Ok(Format::Json),
            "html" => Ok(Format::Html),
            other => Err(EvalError::usage(format!("--format: `{other}` is not one of table, markdown, json, html"))),
        }
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}", x * 100.0)
}

fn opt(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "–".to_owned(), |v| format!("{v:.digits$}"))
}

/// Header and cells of the main table (shared by table, Markdown and HTML).
fn bench_cells(rows: &[Row]) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec!["model", "suite", "n", "score %", "95% CI", "cost/100 $", "p50 ms", "tok/s", "notes"];
    let cells = rows
        .iter()
        .map(|r| {
            let mut notes = Vec::new();
            if let Some(alt) = r.alt_score {
                notes.push(format!("strict {}", pct(alt)));
            }
            if let Some(m) = r.macro_score {
                notes.push(format!("macro {}", pct(m)));
            }
            for (k, v) in r.pass_at_k.iter().filter(|(k, _)| *k > 1) {
                notes.push(format!("pass@{k} {}", pct(*v)));
            }
            if r.errors > 0 {
                notes.push(format!("{} failed", r.errors));
            }
            if !r.finished {
                notes.push("unfinished".into());
            }
            vec![
                format!("{}{}", r.model, if r.local { "" } else { " (cloud)" }),
                r.suite.clone(),
                r.scored.to_string(),
                pct(r.score),
                format!("{}–{}", pct(r.ci_low), pct(r.ci_high)),
                r.cost_per_100.to_string(),
                opt(r.p50_latency_ms, 0),
                opt(r.tokens_per_s, 1),
                notes.join(", "),
            ]
        })
        .collect();
    (header, cells)
}

fn text_table(header: &[&str], cells: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |row: Vec<&str>| {
        row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_owned()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().iter().map(String::as_str).collect()));
    for row in cells {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out.push('\n');
    out
}

fn markdown_table(header: &[&str], cells: &[Vec<String>]) -> String {
    let esc = |s: &str| s.replace('|', "\\|");
    let mut out =
        format!("| {} |\n|{}|\n", header.join(" | "), header.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
    for row in cells {
        out.push_str(&format!("| {} |\n", row.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")));
    }
    out
}

fn subject_cells(rows: &[Row]) -> Vec<Vec<String>> {
    rows.iter()
        .flat_map(|r| {
            r.subjects
                .iter()
                .map(|s| vec![r.model.clone(), r.suite.clone(), s.subject.clone(), s.n.to_string(), pct(s.score)])
        })
        .collect()
}

pub fn bench(rows: &[Row], format: Format) -> Result<String, EvalError> {
    let (header, cells) = bench_cells(rows);
    let subjects = subject_cells(rows);
    let subject_header = ["model", "suite", "subject", "n", "score %"];
    Ok(match format {
        Format::Json => serde_json::to_string_pretty(rows).map_err(|e| EvalError::Render(e.to_string()))? + "\n",
        Format::Table => {
            let mut out = text_table(&header, &cells);
            if !subjects.is_empty() {
                out.push('\n');
                out.push_str(&text_table(&subject_header, &subjects));
            }
            out
        }
        Format::Markdown => {
            let mut out = markdown_table(&header, &cells);
            if !subjects.is_empty() {
                out.push_str("\n### Per subject\n\n");
                out.push_str(&markdown_table(&subject_header, &subjects));
            }
            out
        }
        Format::Html => {
            let mut body = String::from("<h1>bivio bench report</h1>\n");
            let _ = writeln!(
                body,
                "<p>Score with its 95% interval (Wilson), cost per 100 items, median latency and output tokens/s per model and suite.</p>"
            );
            body.push_str(&score_chart(rows));
            body.push_str(&html_table(&header, &cells));
            if !subjects.is_empty() {
                body.push_str("<h2>Per subject</h2>\n");
                body.push_str(&html_table(&subject_header, &subjects));
            }
            page("bivio bench report", &body)
        }
    })
}

pub fn gap(points: &[GapPoint], format: Format) -> Result<String, EvalError> {
    let header = ["suite", "day", "best open", "score %", "best closed", "score %", "gap (pts)"];
    let cells: Vec<Vec<String>> = points
        .iter()
        .map(|p| {
            let side = |s: &Option<(String, f64)>| {
                s.as_ref().map_or(("–".into(), "–".into()), |(m, v)| (m.clone(), pct(*v)))
            };
            let (om, os) = side(&p.best_open);
            let (cm, cs) = side(&p.best_closed);
            vec![
                p.suite.clone(),
                p.day.clone(),
                om,
                os,
                cm,
                cs,
                p.gap.map_or("–".into(), |g| format!("{:+.1}", g * 100.0)),
            ]
        })
        .collect();
    Ok(match format {
        Format::Json => serde_json::to_string_pretty(points).map_err(|e| EvalError::Render(e.to_string()))? + "\n",
        Format::Table => text_table(&header, &cells),
        Format::Markdown => markdown_table(&header, &cells),
        Format::Html => {
            let mut body = String::from("<h1>Open vs closed models over time</h1>\n");
            body.push_str(&gap_chart(points));
            body.push_str(&html_table(&header, &cells));
            page("bivio bench gap", &body)
        }
    })
}

pub fn arena(run_id: &str, boards: &[Leaderboard], format: Format) -> Result<String, EvalError> {
    let header = ["rank", "model", "BT rating", "95% CI", "online Elo", "battles", "wins"];
    let cells = |b: &Leaderboard| -> Vec<Vec<String>> {
        b.standings
            .iter()
            .enumerate()
            .map(|(i, s)| {
                vec![
                    (i + 1).to_string(),
                    s.model.clone(),
                    format!("{:.1}", s.rating),
                    format!("{:.1}–{:.1}", s.low, s.high),
                    format!("{:.1}", s.elo),
                    s.battles.to_string(),
                    format!("{:.1}", s.wins + 0.0),
                ]
            })
            .collect()
    };
    Ok(match format {
        Format::Json => {
            let v = serde_json::json!({"run": run_id, "leaderboards": boards});
            serde_json::to_string_pretty(&v).map_err(|e| EvalError::Render(e.to_string()))? + "\n"
        }
        Format::Table | Format::Markdown => {
            let mut out = String::new();
            for b in boards {
                if format == Format::Markdown {
                    let _ = write!(out, "### {}\n\n{}\n", b.category, markdown_table(&header, &cells(b)));
                } else {
                    let _ = write!(out, "{} ({run_id})\n{}\n", b.category, text_table(&header, &cells(b)));
                }
            }
            out
        }
        Format::Html => {
            let mut body = format!("<h1>bivio arena — {}</h1>\n", esc(run_id));
            for b in boards {
                let _ = write!(
                    body,
                    "<h2>{}</h2>\n{}{}",
                    esc(&b.category),
                    rating_chart(b),
                    html_table(&header, &cells(b))
                );
            }
            page("bivio arena", &body)
        }
    })
}

// --- HTML -------------------------------------------------------------------------------------------

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\n<style>\
         body{{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}\
         th,td{{border:1px solid #ccc;padding:4px 8px;text-align:left}}th{{background:#f3f3f3}}svg{{margin:1em 0}}\
         </style></head><body>\n{body}<p><small>generated by bivio</small></p></body></html>\n",
        esc(title)
    )
}

fn html_table(header: &[&str], cells: &[Vec<String>]) -> String {
    let mut out = String::from("<table><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr>\n");
    for row in cells {
        out.push_str("<tr>");
        for c in row {
            let _ = write!(out, "<td>{}</td>", esc(c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

const PALETTE: [&str; 8] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"];

/// Grouped horizontal bars: one group per suite, one bar per model, whiskers for the 95% interval.
fn score_chart(rows: &[Row]) -> String {
    let mut suites: Vec<&str> = rows.iter().map(|r| r.suite.as_str()).collect();
    suites.dedup();
    suites.sort_unstable();
    suites.dedup();
    let mut models: Vec<&str> = rows.iter().map(|r| r.model.as_str()).collect();
    models.sort_unstable();
    models.dedup();
    let (left, width, bar) = (160.0, 480.0, 16.0);
    let group = bar * models.len() as f64 + 14.0;
    let height = 30.0 + group * suites.len() as f64 + 20.0 * models.len().div_ceil(3) as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"scores\">\n",
        left + width + 40.0
    );
    for t in 0..=4 {
        let x = left + width * f64::from(t) / 4.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{x}\" y1=\"20\" x2=\"{x}\" y2=\"{}\" stroke=\"#ddd\"/><text x=\"{x}\" y=\"14\" font-size=\"10\" text-anchor=\"middle\">{}%</text>",
            20.0 + group * suites.len() as f64,
            t * 25
        );
    }
    for (si, suite) in suites.iter().enumerate() {
        let y0 = 24.0 + group * si as f64;
        let _ = writeln!(svg, "<text x=\"4\" y=\"{}\" font-size=\"12\">{}</text>", y0 + group / 2.0, esc(suite));
        for (mi, model) in models.iter().enumerate() {
            let Some(r) = rows.iter().find(|r| r.suite == *suite && r.model == *model) else { continue };
            let y = y0 + bar * mi as f64;
            let colour = PALETTE[mi % PALETTE.len()];
            let _ = writeln!(
                svg,
                "<rect x=\"{left}\" y=\"{y}\" width=\"{:.1}\" height=\"{}\" fill=\"{colour}\"><title>{} {}: {}%</title></rect>",
                width * r.score,
                bar - 3.0,
                esc(model),
                esc(suite),
                pct(r.score)
            );
            let (lo, hi, mid) = (left + width * r.ci_low, left + width * r.ci_high, y + (bar - 3.0) / 2.0);
            let _ = writeln!(svg, "<line x1=\"{lo:.1}\" y1=\"{mid}\" x2=\"{hi:.1}\" y2=\"{mid}\" stroke=\"#222\"/>");
        }
    }
    let legend_y = 30.0 + group * suites.len() as f64;
    for (mi, model) in models.iter().enumerate() {
        let (x, y) = (left + 160.0 * (mi % 3) as f64, legend_y + 20.0 * (mi / 3) as f64);
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{y}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>",
            PALETTE[mi % PALETTE.len()],
            x + 14.0,
            y + 9.0,
            esc(model)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// A forest plot: each model's Bradley–Terry rating as a dot on its 95% bootstrap interval.
fn rating_chart(board: &Leaderboard) -> String {
    let finite = |x: f64| if x.is_finite() { x } else { 1000.0 };
    let lo = board.standings.iter().map(|s| finite(s.low)).fold(f64::INFINITY, f64::min);
    let hi = board.standings.iter().map(|s| finite(s.high)).fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if hi - lo < 1.0 { (lo - 50.0, hi + 50.0) } else { (lo, hi) };
    let (left, width, row) = (160.0, 420.0, 22.0);
    let x = |v: f64| left + width * (finite(v) - lo) / (hi - lo);
    let height = 30.0 + row * board.standings.len() as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"ratings\">\n",
        left + width + 60.0
    );
    let _ = writeln!(
        svg,
        "<text x=\"{left}\" y=\"12\" font-size=\"10\">{lo:.0}</text><text x=\"{}\" y=\"12\" font-size=\"10\" text-anchor=\"end\">{hi:.0}</text>",
        left + width
    );
    for (i, s) in board.standings.iter().enumerate() {
        let y = 28.0 + row * i as f64;
        let colour = PALETTE[i % PALETTE.len()];
        let _ = writeln!(
            svg,
            "<text x=\"4\" y=\"{}\" font-size=\"12\">{}</text><line x1=\"{:.1}\" y1=\"{y}\" x2=\"{:.1}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"/><circle cx=\"{:.1}\" cy=\"{y}\" r=\"4\" fill=\"{colour}\"><title>{}: {:.1} ({:.1}–{:.1})</title></circle>",
            y + 4.0,
            esc(&s.model),
            x(s.low),
            x(s.high),
            x(s.rating),
            esc(&s.model),
            s.rating,
            s.low,
            s.high
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// One line per suite: the gap (closed − open, points) on each day both sides ran.
fn gap_chart(points: &[GapPoint]) -> String {
    let with_gap: Vec<&GapPoint> = points.iter().filter(|p| p.gap.is_some()).collect();
    if with_gap.is_empty() {
        return "<p>No day has both an open and a closed model run on the same suite yet.</p>\n".into();
    }
    let mut days: Vec<&str> = with_gap.iter().map(|p| p.day.as_str()).collect();
    days.sort_unstable();
    days.dedup();
    let mut suites: Vec<&str> = with_gap.iter().map(|p| p.suite.as_str()).collect();
    suites.sort_unstable();
    suites.dedup();
    let (left, top, width, height) = (50.0, 20.0, 560.0, 220.0);
    let x = |d: &str| {
        let i = days.iter().position(|x| *x == d).unwrap_or(0) as f64;
        left + if days.len() > 1 { width * i / (days.len() - 1) as f64 } else { width / 2.0 }
    };
    // Gap in points, −100 … +100, zero in the middle.
    let y = |g: f64| top + height / 2.0 - g * height / 2.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"gap over time\">\n",
        left + width + 160.0,
        top + height + 40.0
    );
    for g in [-1.0, -0.5, 0.0, 0.5, 1.0] {
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#ddd\"/><text x=\"4\" y=\"{2}\" font-size=\"10\">{3:+.0}</text>",
            y(g),
            left + width,
            y(g) + 3.0,
            g * 100.0
        );
    }
    for d in &days {
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            x(d),
            top + height + 16.0,
            esc(d)
        );
    }
    for (si, suite) in suites.iter().enumerate() {
        let colour = PALETTE[si % PALETTE.len()];
        let pts: Vec<String> = with_gap
            .iter()
            .filter(|p| p.suite == *suite)
            .filter_map(|p| p.gap.map(|g| format!("{:.1},{:.1}", x(&p.day), y(g))))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
            pts.join(" ")
        );
        for p in &pts {
            if let Some((px, py)) = p.split_once(',') {
                let _ = writeln!(svg, "<circle cx=\"{px}\" cy=\"{py}\" r=\"3\" fill=\"{colour}\"/>");
            }
        }
        let ly = top + 14.0 * si as f64;
        let _ = writeln!(
            svg,
            "<rect x=\"{}\" y=\"{ly}\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>",
            left + width + 20.0,
            left + width + 34.0,
            ly + 9.0,
            esc(suite)
        );
    }
    svg.push_str("</svg>\n<p><small>Gap = best closed − best open score, in percentage points; above zero the closed model leads.</small></p>\n");
    svg
}

/// When a run started, for listings.
pub fn started(ms: i64) -> String {
    day(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> Row {
        Row {
            run_id: "r".into(),
            suite: "gsm8k".into(),
            model: "m<1>".into(),
            local: true,
            started_at_ms: 0,
            finished: true,
            scored: 3,
            planned: 3,
            errors: 0,
            score: 2.0 / 3.0,
            ci_low: 0.2,
            ci_high: 0.9,
            alt_score: Some(0.0),
            cost_per_100: rust_decimal::Decimal::ZERO,
            p50_latency_ms: Some(10.0),
            tokens_per_s: Some(5.0),
            subjects: vec![],
            macro_score: None,
            pass_at_k: vec![(1, 2.0 / 3.0)],
        }
    }

    #[test]
    fn every_format_renders() {
        let rows = [row()];
        let table = bench(&rows, Format::Table).unwrap();
        assert!(table.contains("66.7") && table.contains("strict 0.0"), "{table}");
        assert!(bench(&rows, Format::Markdown).unwrap().starts_with("| model | suite |"));
        let json: serde_json::Value = serde_json::from_str(&bench(&rows, Format::Json).unwrap()).unwrap();
        assert_eq!(json[0]["suite"], "gsm8k");
        let html = bench(&rows, Format::Html).unwrap();
        assert!(html.contains("<svg") && html.contains("m&lt;1&gt;") && !html.contains("m<1>"));
        assert!(
            !html.contains("http://")
                || html.matches("http://").all(|_| html.contains("xmlns=\"http://www.w3.org/2000/svg\""))
        );
        assert!(!html.contains("<script") && !html.contains("src="), "self-contained");
        assert!("pdf".parse::<Format>().is_err());
    }

    #[test]
    fn arena_and_gap_pages_are_self_contained() {
        let board = Leaderboard {
            category: "overall".into(),
            standings: vec![crate::arena::Standing {
                model: "a&b".into(),
                rating: 1010.0,
                low: 990.0,
                high: 1030.0,
                elo: 1002.0,
                battles: 3,
                wins: 2.0,
            }],
        };
        let html = arena("arena_x", &[board], Format::Html).unwrap();
        assert!(html.contains("<circle") && html.contains("a&amp;b") && !html.contains("<script"));
        let points = [GapPoint {
            suite: "gsm8k".into(),
            day: "2026-01-01".into(),
            best_open: Some(("o".into(), 0.4)),
            best_closed: Some(("c".into(), 0.9)),
            gap: Some(0.5),
        }];
        let html = gap(&points, Format::Html).unwrap();
        assert!(html.contains("<polyline") && html.contains("+50.0"));
        assert!(gap(&points, Format::Table).unwrap().contains("gsm8k"));
    }
}
