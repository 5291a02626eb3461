//! Renderings of reports: a terminal table, Markdown, JSON and one self-contained HTML page (`html`: inline CSS
//! and SVG charts, no scripts, no external assets). Pure functions of the report structs.

use std::fmt::Write;
use std::str::FromStr;

mod html;

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
            body.push_str(&html::score_chart(rows));
            body.push_str(&html::table(&header, &cells));
            if !subjects.is_empty() {
                body.push_str("<h2>Per subject</h2>\n");
                body.push_str(&html::table(&subject_header, &subjects));
            }
            html::page("bivio bench report", &body)
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
            body.push_str(&html::gap_chart(points));
            body.push_str(&html::table(&header, &cells));
            html::page("bivio bench gap", &body)
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
            let mut body = format!("<h1>bivio arena — {}</h1>\n", html::esc(run_id));
            for b in boards {
                let _ = write!(
                    body,
                    "<h2>{}</h2>\n{}{}",
                    html::esc(&b.category),
                    html::rating_chart(b),
                    html::table(&header, &cells(b))
                );
            }
            html::page("bivio arena", &body)
        }
    })
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
