//! Bradley–Terry ratings as LMArena computes them (PyPI `arena-rank`, `BradleyTerry`): maximise
//! Σ w·[y·(rᵢ−rⱼ) − softplus(rᵢ−rⱼ)] over battles (y = 1 win, 0 loss, ½ tie — ties count as half a win
//! each way), with no prior, then report `1000 + 400/ln 10 · r`. The likelihood fixes ratings only up
//! to a common shift; like `arena-rank` (whose optimiser starts at 0 and only moves along gradients that
//! sum to zero) ratings are centred on mean 0 before scaling, so both give the same numbers.
//!
//! Solved by Newton's method on the full Hessian (models are few): (H + 𝟙𝟙ᵀ/n)·Δ = g, where adding
//! 𝟙𝟙ᵀ/n removes the shift's null direction without moving a centred solution; quadratic convergence
//! reaches the optimum to ~1e-12 in a handful of steps.

use rand::SeedableRng;
use rand::seq::IndexedRandom;

/// One comparison: `a` against `b`, `outcome` 1.0 (a won), 0.0 (b won) or 0.5 (tie).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Battle {
    pub a: usize,
    pub b: usize,
    pub outcome: f64,
}

pub const SCALE: f64 = 400.0;
pub const BASE: f64 = 10.0;
pub const INIT_RATING: f64 = 1000.0;

/// Natural-scale ratings (mean 0) for `n` competitors.
pub fn fit(n: usize, battles: &[Battle]) -> Vec<f64> {
    let mut r = vec![0.0; n];
    // A battle naming an unknown competitor (or one against itself) carries no information: skip it.
    let battles: Vec<Battle> = battles.iter().filter(|b| b.a < n && b.b < n && b.a != b.b).copied().collect();
    let battles = battles.as_slice();
    if n == 0 || battles.is_empty() {
        return r;
    }
    for _ in 0..200 {
        let mut g = vec![0.0; n];
        let mut h = vec![vec![0.0; n]; n];
        for b in battles {
            let p = sigmoid(r[b.a] - r[b.b]);
            let resid = b.outcome - p;
            g[b.a] += resid;
            g[b.b] -= resid;
            let w = p * (1.0 - p);
            h[b.a][b.a] += w;
            h[b.b][b.b] += w;
            h[b.a][b.b] -= w;
            h[b.b][b.a] -= w;
        }
        for (i, row) in h.iter_mut().enumerate() {
            for cell in row.iter_mut() {
                *cell += 1.0 / n as f64;
            }
            // A vanishing ridge keeps a disconnected comparison graph solvable.
            row[i] += 1e-12;
        }
        let Some(step) = solve(h, g) else { break };
        let size = step.iter().fold(0.0_f64, |m, s| m.max(s.abs()));
        for (ri, si) in r.iter_mut().zip(&step) {
            *ri += si;
        }
        centre(&mut r);
        if size < 1e-13 {
            break;
        }
    }
    r
}

/// `1000 + 400/ln 10 · r`.
pub fn scaled(r: &[f64]) -> Vec<f64> {
    let alpha = SCALE / BASE.ln();
    r.iter().map(|x| INIT_RATING + alpha * x).collect()
}

/// Ratings with 95% bootstrap intervals: battles resampled with replacement `rounds` times (seeded).
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub rating: f64,
    pub low: f64,
    pub high: f64,
}

pub fn fit_with_intervals(n: usize, battles: &[Battle], rounds: usize, seed: u64) -> Vec<Interval> {
    let point = scaled(&fit(n, battles));
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); n];
    for _ in 0..rounds {
        let resample: Vec<Battle> = (0..battles.len()).filter_map(|_| battles.choose(&mut rng).copied()).collect();
        for (i, v) in scaled(&fit(n, &resample)).into_iter().enumerate() {
            samples[i].push(v);
        }
    }
    point
        .into_iter()
        .zip(samples)
        .map(|(rating, s)| Interval {
            rating,
            low: crate::stats::quantile(&s, 0.025).unwrap_or(rating),
            high: crate::stats::quantile(&s, 0.975).unwrap_or(rating),
        })
        .collect()
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 { 1.0 / (1.0 + (-x).exp()) } else { x.exp() / (1.0 + x.exp()) }
}

fn centre(r: &mut [f64]) {
    let mean = r.iter().sum::<f64>() / r.len() as f64;
    r.iter_mut().for_each(|x| *x -= mean);
}

/// Gaussian elimination with partial pivoting; `None` if singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..n {
            let f = a[row][col] / a[col][col];
            if f != 0.0 {
                let (upper, lower) = a.split_at_mut(row);
                for (target, source) in lower[0][col..].iter_mut().zip(&upper[col][col..]) {
                    *target -= f * source;
                }
                b[row] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_players_have_the_closed_form() {
        // a beats b 3 times of 4: p = 3/4 ⇒ rₐ − r_b = ln 3.
        let battles = [
            Battle { a: 0, b: 1, outcome: 1.0 },
            Battle { a: 0, b: 1, outcome: 1.0 },
            Battle { a: 1, b: 0, outcome: 0.0 },
            Battle { a: 0, b: 1, outcome: 0.0 },
        ];
        let r = fit(2, &battles);
        assert!((r[0] - r[1] - 3f64.ln()).abs() < 1e-10, "{r:?}");
        assert!((r[0] + r[1]).abs() < 1e-12);
        let s = scaled(&r);
        assert!((s[0] + s[1] - 2000.0).abs() < 1e-9);
    }

    #[test]
    fn malformed_battles_are_ignored() {
        let r = fit(2, &[Battle { a: 0, b: 5, outcome: 1.0 }, Battle { a: 1, b: 1, outcome: 1.0 }]);
        assert_eq!(r, vec![0.0, 0.0]);
    }

    #[test]
    fn ties_count_half() {
        let battles = [Battle { a: 0, b: 1, outcome: 0.5 }, Battle { a: 0, b: 1, outcome: 1.0 }];
        // y = 1.5 of 2 ⇒ p = 3/4.
        let r = fit(2, &battles);
        assert!((r[0] - r[1] - 3f64.ln()).abs() < 1e-10);
    }

    #[test]
    fn intervals_contain_the_estimate() {
        let mut battles = Vec::new();
        for i in 0..60 {
            battles.push(Battle { a: i % 3, b: (i + 1) % 3, outcome: if i % 4 == 0 { 0.0 } else { 1.0 } });
        }
        let iv = fit_with_intervals(3, &battles, 50, 1);
        for x in &iv {
            assert!(x.low <= x.rating && x.rating <= x.high, "{x:?}");
        }
        assert_eq!(iv, fit_with_intervals(3, &battles, 50, 1), "seeded");
    }
}
