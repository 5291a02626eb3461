//! Small statistics: intervals for a proportion, percentiles, and a seeded bootstrap.

/// 95% Wilson score interval for `successes` of `n` (good at small n and near 0 or 1, unlike the normal one).
pub fn wilson(successes: f64, n: f64) -> (f64, f64) {
    if n <= 0.0 {
        return (0.0, 1.0);
    }
    let z = 1.959_963_984_540_054_f64;
    let p = successes / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * ((p * (1.0 - p) + z * z / (4.0 * n)) / n).sqrt() / denom;
    // Rounding can put a bound a hair past the estimate at p = 0 or 1 (e.g. 5.6e-17 for 0 of 3).
    ((centre - half).clamp(0.0, p), (centre + half).clamp(p, 1.0))
}

/// 95% interval of the mean of scores in 0..=1: Wilson when every score is 0 or 1, else mean ± 1.96·s/√n.
pub fn mean_interval(scores: &[f64]) -> (f64, f64, f64) {
    let n = scores.len() as f64;
    if scores.is_empty() {
        return (0.0, 0.0, 1.0);
    }
    let mean = scores.iter().sum::<f64>() / n;
    if scores.iter().all(|s| *s == 0.0 || *s == 1.0) {
        let (lo, hi) = wilson(mean * n, n);
        return (mean, lo, hi);
    }
    let var = if n > 1.0 { scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.25 };
    let half = 1.959_963_984_540_054 * (var / n).sqrt();
    (mean, (mean - half).max(0.0), (mean + half).min(1.0))
}

/// The `q`-quantile (0..=1) with linear interpolation (numpy's default), `None` for no values.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_known_values() {
        // 8/10: Wilson 95% = (0.4902, 0.9433).
        let (lo, hi) = wilson(8.0, 10.0);
        assert!((lo - 0.4902).abs() < 1e-4 && (hi - 0.9433).abs() < 1e-4, "{lo} {hi}");
        let (lo, hi) = wilson(0.0, 5.0);
        assert!(lo == 0.0 && (hi - 0.4345).abs() < 1e-4, "{hi}");
        // The bounds never cross the estimate, at any n, even at 0% and 100%.
        for n in 1..200 {
            let n = f64::from(n);
            assert_eq!(wilson(0.0, n).0, 0.0, "n={n}");
            assert_eq!(wilson(n, n).1, 1.0, "n={n}");
            let (lo, hi) = wilson(n / 3.0, n);
            assert!(lo <= 1.0 / 3.0 && 1.0 / 3.0 <= hi);
        }
    }

    #[test]
    fn quantiles() {
        assert_eq!(quantile(&[3.0, 1.0, 2.0, 4.0], 0.5), Some(2.5));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[5.0], 0.95), Some(5.0));
    }

    #[test]
    fn partial_scores_use_the_normal_interval() {
        let (m, lo, hi) = mean_interval(&[0.5, 0.7, 0.9]);
        assert!((m - 0.7).abs() < 1e-12 && lo < m && hi > m);
    }
}
