//! Bradley–Terry parity with PyPI `arena-rank` (LMArena's implementation): on the same synthetic battles
//! (wins, losses and ties among six models), bivio's ratings equal `BradleyTerry.compute_ratings_and_cis`'s
//! within 1e-6 after normalisation: both centred on their mean (the likelihood fixes ratings only up to a
//! shift) and compared in the likelihood's own units, log-strengths (rating / (400/ln 10)). With
//! `arena-rank`'s shipped optimiser tolerances (L-BFGS, ftol = gtol = 1e-9) its ratings are themselves only
//! that precise (~1e-5 rating points); converged tightly (tolerances 1e-15, same code) they also agree
//! within 1e-6 rating points.
#![allow(clippy::print_stderr)]

mod common;

use bivio_eval::arena::bt::{Battle, fit, scaled};
use rand::{Rng, SeedableRng};

const REFERENCE: &str = r#"
import json, sys
import pandas as pd
from arena_rank.utils.data_utils import PairDataset
from arena_rank.models.bradley_terry import BradleyTerry

df = pd.read_json(sys.argv[1], lines=True)
ds = PairDataset.from_pandas(df)
out = {}
# As shipped (L-BFGS stops at ftol = gtol = 1e-9), and converged tightly (same code, tolerances at 1e-15).
for name, kw in [("default", {}), ("tight", {"ftol": 1e-15, "gtol": 1e-15, "max_iter": 10000})]:
    model = BradleyTerry(n_competitors=len(ds.competitors), **kw)
    res = model.compute_ratings_and_cis(ds, significance_level=0.05)
    out[name] = {c: float(r) for c, r in zip(res["competitors"], res["ratings"])}
print(json.dumps(out))
"#;

fn synthetic(seed: u64, models: usize, battles: usize) -> Vec<Battle> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let strength: Vec<f64> = (0..models).map(|i| i as f64 * 0.35 - 0.8).collect();
    (0..battles)
        .map(|_| {
            let a = rng.random_range(0..models);
            let mut b = rng.random_range(0..models - 1);
            if b >= a {
                b += 1;
            }
            let p = 1.0 / (1.0 + (strength[b] - strength[a]).exp());
            let u: f64 = rng.random();
            let outcome = if u < 0.1 {
                0.5
            } else if rng.random::<f64>() < p {
                1.0
            } else {
                0.0
            };
            Battle { a, b, outcome }
        })
        .collect()
}

#[test]
fn ratings_equal_arena_rank() {
    let Some(python) = common::reference_python("arena_rank") else { return };
    let names: Vec<String> = (0..6).map(|i| format!("model-{i}")).collect();
    for (seed, n) in [(1, 400), (2, 3000)] {
        let battles = synthetic(seed, names.len(), n);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("battles.jsonl");
        let lines: Vec<String> = battles
            .iter()
            .map(|b| {
                let winner = match b.outcome {
                    1.0 => "model_a",
                    0.0 => "model_b",
                    _ => "tie",
                };
                serde_json::json!({"model_a": names[b.a], "model_b": names[b.b], "winner": winner}).to_string()
            })
            .collect();
        std::fs::write(&file, lines.join("\n") + "\n").unwrap();
        let run = std::process::Command::new(&python).args(["-c", REFERENCE]).arg(&file).output().unwrap();
        assert!(run.status.success(), "arena-rank failed: {}", String::from_utf8_lossy(&run.stderr));
        let reference: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>> =
            serde_json::from_slice(&run.stdout).unwrap();

        let ours = scaled(&fit(names.len(), &battles));
        let centre = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            v.iter().map(|x| x - m).collect::<Vec<_>>()
        };
        let alpha = 400.0 / 10f64.ln();
        let worst = |variant: &str| {
            let theirs: Vec<f64> = names.iter().map(|n| reference[variant][n]).collect();
            centre(&ours).iter().zip(&centre(&theirs)).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
        };
        let (default, tight) = (worst("default"), worst("tight"));
        eprintln!(
            "arena-rank parity ({n} battles): max |Δ| vs shipped tolerances {default:.2e} rating points = {:.2e} \
             log-strength; vs tight {tight:.2e} rating points; ours {ours:?}",
            default / alpha
        );
        assert!(default / alpha < 1e-6, "ours {ours:?}\ntheirs {:?}", reference["default"]);
        assert!(tight < 1e-6, "ours {ours:?}\ntheirs {:?}", reference["tight"]);
    }
}
