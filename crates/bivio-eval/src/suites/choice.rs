//! Multiple-choice files, one engine for MMLU, GPQA and anything in their shape:
//!
//! - **MMLU CSV** as published (`data/test/<subject>_test.csv`): no header, columns
//!   `question,A,B,C,D,answer`; the subject is the file name without `_test`/`_val`/`_dev`. A header row
//!   `question,A,B,C,D,answer[,subject]` (any option letters A–J) is also accepted.
//! - **GPQA CSV** as published (`gpqa_main.csv`): columns `Question`, `Correct Answer`,
//!   `Incorrect Answer 1..3`, subject from `Subdomain`; the four options are shuffled per question with
//!   the run's `--seed`, so a run is reproducible and the correct answer is not always A.
//! - **JSONL**: `{"question", "choices": [...] | "A": …, "B": …, "answer": "C" | 2, "subject"?}`.
//! - A **directory**: every `.csv`/`.jsonl` file in it (sorted), so `mmlu=data/test` runs all 57 subjects.

use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde_json::Value;

use crate::EvalError;
use crate::item::{Item, Prompt, Reference};
use crate::suites::{Suite, fingerprint, jsonl_objects, read};

const LETTERS: [char; 10] = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J'];

/// One question before it becomes an item.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub subject: String,
    pub question: String,
    pub options: Vec<String>,
    /// Index into `options`.
    pub answer: usize,
}

pub fn load(name: &str, path: &Path, seed: u64) -> Result<Suite, EvalError> {
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|err| EvalError::read(path, err))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "csv" || x == "jsonl"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(EvalError::usage(format!("{}: no .csv or .jsonl files", path.display())));
        }
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut all = Vec::new();
    let mut bytes_all = Vec::new();
    for file in &files {
        let bytes = read(file)?;
        let questions = if file.extension().is_some_and(|x| x == "jsonl") {
            from_jsonl(file, &String::from_utf8_lossy(&bytes))?
        } else {
            from_csv(file, &bytes, seed)?
        };
        bytes_all.extend_from_slice(&bytes);
        all.extend(questions);
    }
    let mut per_subject: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let items = all
        .into_iter()
        .map(|q| {
            let n = per_subject.entry(q.subject.clone()).or_default();
            let id = format!("{}/{}", q.subject, n);
            *n += 1;
            item(id, &q)
        })
        .collect();
    Ok(Suite { name: name.to_owned(), source: path.display().to_string(), fingerprint: fingerprint(&bytes_all), items })
}

fn item(id: String, q: &Question) -> Item {
    let letters: Vec<char> = LETTERS[..q.options.len()].to_vec();
    let subject = q.subject.replace('_', " ");
    let mut user = format!("The following is a multiple choice question about {subject}.\n\n{}\n", q.question.trim());
    for (letter, option) in letters.iter().zip(&q.options) {
        user.push_str(&format!("{letter}. {}\n", option.trim()));
    }
    user.push_str("\nAnswer with the letter of the correct option only.\nAnswer:");
    Item {
        id,
        subject: Some(q.subject.clone()),
        prompt: Prompt { user, max_tokens: 64, ..Prompt::default() },
        reference: Reference::Choice { answer: LETTERS[q.answer], letters },
    }
}

/// The subject a file name implies: `high_school_physics_test.csv` → `high_school_physics`.
fn subject_of(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    for suffix in ["_test", "_val", "_dev"] {
        if let Some(s) = stem.strip_suffix(suffix) {
            return s.to_owned();
        }
    }
    stem
}

/// `A`/`b`/` C ` or `0`-based index text → index, if among `n` options.
fn answer_index(text: &str, n: usize) -> Option<usize> {
    let t = text.trim();
    let mut chars = t.chars();
    if let (Some(c), None) = (chars.next(), chars.next())
        && let Some(i) = LETTERS.iter().position(|l| *l == c.to_ascii_uppercase())
    {
        return (i < n).then_some(i);
    }
    t.parse::<usize>().ok().filter(|i| *i < n)
}

pub fn from_csv(path: &Path, bytes: &[u8], seed: u64) -> Result<Vec<Question>, EvalError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    let mut rows = reader.records();
    let Some(first) = rows.next() else { return Ok(Vec::new()) };
    let first = first.map_err(|err| csv_error(path, &err))?;
    let header: Vec<String> = first.iter().map(|h| h.trim().to_owned()).collect();
    let lower: Vec<String> = header.iter().map(|h| h.to_lowercase()).collect();
    let col = |name: &str| lower.iter().position(|h| h == name);
    let subject = subject_of(path);
    let mut out = Vec::new();

    if let (Some(q), Some(correct)) = (col("question"), col("correct answer")) {
        // GPQA: options shuffled per question, reproducibly.
        let wrong: Vec<usize> = (1..=3).filter_map(|i| col(&format!("incorrect answer {i}"))).collect();
        let sub = col("subdomain").or_else(|| col("high-level domain"));
        for (n, row) in rows.enumerate() {
            let line = n + 2;
            let row = row.map_err(|err| csv_error(path, &err))?;
            let get = |i: usize, field: &str| {
                row.get(i)
                    .map(str::to_owned)
                    .ok_or_else(|| EvalError::data(path, line, format!("column `{field}`: missing")))
            };
            let mut options = vec![(get(correct, "Correct Answer")?, true)];
            for &w in &wrong {
                options.push((get(w, "Incorrect Answer")?, false));
            }
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            options.shuffle(&mut rng);
            let answer = options.iter().position(|(_, ok)| *ok).unwrap_or(0);
            out.push(Question {
                subject: sub.and_then(|s| row.get(s)).map_or_else(|| subject.clone(), |s| s.trim().replace(' ', "_")),
                question: get(q, "Question")?,
                options: options.into_iter().map(|(o, _)| o).collect(),
                answer,
            });
        }
        return Ok(out);
    }

    let (question_col, option_cols, answer_col, subject_col, data_rows): (
        usize,
        Vec<usize>,
        usize,
        Option<usize>,
        Vec<_>,
    ) = if let (Some(q), Some(a)) = (col("question"), col("answer")) {
        let options: Vec<usize> = LETTERS.iter().filter_map(|l| col(&l.to_ascii_lowercase().to_string())).collect();
        if options.len() < 2 {
            return Err(EvalError::data(path, 1, "header: expected option columns A, B, …"));
        }
        (q, options, a, col("subject"), rows.enumerate().map(|(n, r)| (n + 2, r)).collect())
    } else {
        // The published MMLU files: no header, six columns.
        let all = std::iter::once(Ok(first)).chain(rows).enumerate().map(|(n, r)| (n + 1, r)).collect();
        (0, vec![1, 2, 3, 4], 5, None, all)
    };
    for (line, row) in data_rows {
        let row = row.map_err(|err| csv_error(path, &err))?;
        let get = |i: usize| row.get(i).map(str::to_owned);
        let need = option_cols.iter().chain([&question_col, &answer_col]).copied().max().unwrap_or(0) + 1;
        if row.len() < need {
            return Err(EvalError::data(
                path,
                line,
                format!("expected {need} columns (question, options, answer), got {}", row.len()),
            ));
        }
        let options: Vec<String> = option_cols.iter().filter_map(|&i| get(i)).collect();
        let answer_text = get(answer_col).unwrap_or_default();
        let answer = answer_index(&answer_text, options.len()).ok_or_else(|| {
            EvalError::data(path, line, format!("column `answer`: `{answer_text}` is not an option letter"))
        })?;
        out.push(Question {
            subject: subject_col.and_then(get).filter(|s| !s.trim().is_empty()).unwrap_or_else(|| subject.clone()),
            question: get(question_col).unwrap_or_default(),
            options,
            answer,
        });
    }
    Ok(out)
}

fn csv_error(path: &Path, err: &csv::Error) -> EvalError {
    let line = err.position().map_or(0, |p| p.line() as usize);
    EvalError::data(path, line, format!("invalid CSV: {err}"))
}

pub fn from_jsonl(path: &Path, text: &str) -> Result<Vec<Question>, EvalError> {
    let subject = subject_of(path);
    let mut out = Vec::new();
    for (line, record) in jsonl_objects(path, text)? {
        let question = match record.get("question") {
            Some(Value::String(s)) => s.clone(),
            _ => return Err(EvalError::data(path, line, "field `question`: missing or not a string")),
        };
        let options: Vec<String> = match record.get("choices").or_else(|| record.get("options")) {
            Some(Value::Array(list)) => {
                list.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).collect()
            }
            Some(_) => return Err(EvalError::data(path, line, "field `choices`: expected an array of strings")),
            None => LETTERS
                .iter()
                .map_while(|l| record.get(&l.to_string()).and_then(Value::as_str).map(str::to_owned))
                .collect(),
        };
        if options.len() < 2 || options.len() > LETTERS.len() {
            return Err(EvalError::data(path, line, "field `choices`: between 2 and 10 options are needed"));
        }
        let answer = match record.get("answer") {
            Some(Value::Number(n)) => n.as_u64().map(|n| n as usize).filter(|i| *i < options.len()),
            Some(Value::String(s)) => answer_index(s, options.len()),
            _ => None,
        }
        .ok_or_else(|| EvalError::data(path, line, "field `answer`: expected an option letter or a 0-based index"))?;
        let subject = record.get("subject").and_then(Value::as_str).map_or_else(|| subject.clone(), str::to_owned);
        out.push(Question { subject, question, options, answer });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mmlu_directory_without_headers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("astronomy_test.csv"),
            "\"What is, in fact, the Sun?\",A star,A planet,A moon,A comet,A\nQ2,a,b,c,d,D\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("virology_test.csv"), "Q,a,b,c,d,B\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let suite = load("mmlu", dir.path(), 0).unwrap();
        let ids: Vec<&str> = suite.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["astronomy/0", "astronomy/1", "virology/0"]);
        assert!(suite.items[0].prompt.user.contains("What is, in fact, the Sun?\nA. A star\nB. A planet"));
        assert_eq!(suite.items[1].reference, Reference::Choice { answer: 'D', letters: vec!['A', 'B', 'C', 'D'] });
        assert_eq!(suite.items[2].subject.as_deref(), Some("virology"));
    }

    #[test]
    fn header_csv_jsonl_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("mc.csv");
        std::fs::write(&csv, "question,A,B,C,answer,subject\nQ,x,y,z,c,logic\n").unwrap();
        let q = from_csv(&csv, &std::fs::read(&csv).unwrap(), 0).unwrap();
        assert_eq!(
            q[0],
            Question {
                subject: "logic".into(),
                question: "Q".into(),
                options: vec!["x".into(), "y".into(), "z".into()],
                answer: 2
            }
        );
        std::fs::write(&csv, "Q,a,b,c,d,E\n").unwrap();
        let err = load("mmlu", &csv, 0).unwrap_err().to_string();
        assert!(err.contains("mc.csv:1: column `answer`: `E` is not an option letter"), "{err}");
        std::fs::write(&csv, "Q,a,b\n").unwrap();
        assert!(load("mmlu", &csv, 0).unwrap_err().to_string().contains("mc.csv:1: expected 6 columns"));
        let jsonl = dir.path().join("mc.jsonl");
        std::fs::write(&jsonl, "{\"question\":\"Q\",\"choices\":[\"x\",\"y\"],\"answer\":1,\"subject\":\"s\"}\n{\"question\":\"Q\",\"A\":\"x\",\"B\":\"y\",\"answer\":\"A\"}\n{\"question\":\"Q\",\"choices\":[\"x\",\"y\"],\"answer\":5}\n").unwrap();
        let err = load("mmlu", &jsonl, 0).unwrap_err().to_string();
        assert!(err.contains("mc.jsonl:3: field `answer`"), "{err}");
    }

    #[test]
    fn gpqa_options_are_shuffled_reproducibly() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("gpqa_main.csv");
        let mut text = String::from(
            "Question,Correct Answer,Incorrect Answer 1,Incorrect Answer 2,Incorrect Answer 3,Subdomain\n",
        );
        for i in 0..20 {
            text.push_str(&format!("Q{i},right,w1,w2,w3,Quantum Mechanics\n"));
        }
        std::fs::write(&csv, text).unwrap();
        let a = from_csv(&csv, &std::fs::read(&csv).unwrap(), 7).unwrap();
        let b = from_csv(&csv, &std::fs::read(&csv).unwrap(), 7).unwrap();
        assert_eq!(a, b);
        assert!(a.iter().all(|q| q.options[q.answer] == "right" && q.subject == "Quantum_Mechanics"));
        assert!(a.iter().any(|q| q.answer != 0), "the correct answer must not always be A");
    }
}
