//! GSM8K extraction parity with lm-evaluation-harness: on varied model outputs, bivio's strict-match and
//! flexible-extract answers — and whether each counts as correct — equal the harness's own code: its
//! `RegexFilter` (lm_eval.filters.extraction), the regexes of its `gsm8k.yaml`, and its
//! `exact_match_hf_evaluate` with that task's `regexes_to_ignore` and `ignore_case`.
#![allow(clippy::print_stderr)]

mod common;

use bivio_eval::score::gsm8k;

const REFERENCE: &str = r#"
import ast, json, re, string, sys
from pathlib import Path
import numpy as np
import lm_eval
from lm_eval.filters.extraction import RegexFilter

root = Path(lm_eval.__file__).parent
yaml_text = (root / "tasks/gsm8k/gsm8k.yaml").read_text()
patterns = re.findall(r'regex_pattern: "(.*)"', yaml_text)
strict_pattern, flexible_pattern = [bytes(p, "utf-8").decode("unicode_escape") for p in patterns]
# exact_match_hf_evaluate, taken from the harness's source (importing lm_eval.api.metrics needs sacrebleu).
source = (root / "api/metrics.py").read_text()
fn = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == "exact_match_hf_evaluate")
fn.decorator_list = []
scope = {"np": np, "re": re, "string": string}
exec(compile(ast.Module(body=[fn], type_ignores=[]), "metrics.py", "exec"), scope)
exact_match = scope["exact_match_hf_evaluate"]
ignore = [",", "\\$", "(?s).*#### ", "\\.$"]

cases = json.load(open(sys.argv[1]))
strict = RegexFilter(regex_pattern=strict_pattern, group_select=0)
flexible = RegexFilter(regex_pattern=flexible_pattern, group_select=-1)
out = []
for case in cases:
    s = list(strict.apply([[case["output"]]], [None]))[0][0]
    f = list(flexible.apply([[case["output"]]], [None]))[0][0]
    em = lambda p: bool(exact_match([p], [case["gold"]], regexes_to_ignore=ignore, ignore_case=True)["exact_match"])
    out.append({"strict": s, "flexible": f, "strict_ok": em(s), "flexible_ok": em(f)})
print(json.dumps(out))
"#;

fn cases() -> Vec<(String, String)> {
    let golds = [
        "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether.\n#### 72",
        "He pays 1,200 + 300 = $<<1200+300=1500>>1,500\n#### 1500",
        "The temperature drops by 3.\n#### -3",
        "So it takes 2.5 hours.\n#### 2.5",
        "#### 0",
    ];
    let outputs = [
        "#### 72",
        "The answer is 72.",
        "She sold 48 + 24 = 72 clips.\n#### 72",
        "Total: $1,500",
        "$1,500.",
        "1500.00",
        "#### 1,500",
        "#### $1,500",
        "The answer is -3 degrees",
        "It drops by 3, so the answer is - 3",
        "#### -3.",
        "2.5 hours",
        "It takes 2 and a half hours, i.e. 2.5.\n",
        "5/2",
        "The final answer is $\\boxed{72}$",
        "Answer: 72\n\nQuestion: A train leaves at 9",
        "#### 71\n#### 72",
        "no number here at all",
        "",
        "0",
        "#### 0",
        "The value is 0.",
        "The answer is 72.\n",
        "seventy-two",
        "72 clips. Next, 48 clips in April",
        "1,2,3 and 4",
        "12.3.4",
        "$ 1500",
        "..",
        "The answer is ٧٢",
        "####72",
        "#### 1500\n#### 0",
        "It is 1e3",
        "-0",
        "Answer: -3,000",
    ];
    let mut out = Vec::new();
    for gold in golds {
        for output in outputs {
            out.push((output.to_owned(), gold.to_owned()));
        }
    }
    out
}

#[test]
fn extraction_and_matching_equal_the_harness() {
    let Some(python) = common::reference_python("lm_eval.filters.extraction") else { return };
    let cases = cases();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    let json: Vec<serde_json::Value> = cases.iter().map(|(o, g)| serde_json::json!({"output": o, "gold": g})).collect();
    std::fs::write(&file, serde_json::to_string(&json).unwrap()).unwrap();
    let run = std::process::Command::new(python).args(["-c", REFERENCE]).arg(&file).output().unwrap();
    assert!(run.status.success(), "reference failed: {}", String::from_utf8_lossy(&run.stderr));
    let reference: Vec<serde_json::Value> = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(reference.len(), cases.len());
    let mut mismatches = Vec::new();
    for ((output, gold), want) in cases.iter().zip(&reference) {
        let got = serde_json::json!({
            "strict": gsm8k::strict(output),
            "flexible": gsm8k::flexible(output),
            "strict_ok": gsm8k::matches(&gsm8k::strict(output), gold),
            "flexible_ok": gsm8k::matches(&gsm8k::flexible(output), gold),
        });
        if &got != want {
            mismatches.push(format!(
                "output {output:?} gold …{:?}: harness {want}, bivio {got}",
                &gold[gold.len().saturating_sub(10)..]
            ));
        }
    }
    let correct = reference.iter().filter(|r| r["flexible_ok"] == true).count();
    eprintln!("gsm8k parity: {} cases ({correct} flexible-correct), {} mismatches", cases.len(), mismatches.len());
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(correct > 10 && correct < cases.len(), "the cases must exercise both outcomes");
}
