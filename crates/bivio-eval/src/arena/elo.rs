//! Online Elo, as the original Chatbot Arena leaderboard computed it: battles in the order they happened,
//! K = 4, base 10, scale 400, every model starting at 1000; a tie scores ½. Order-dependent by design —
//! shown beside Bradley–Terry, which is not.

use crate::arena::bt::Battle;

pub const K: f64 = 4.0;

pub fn online(n: usize, battles: &[Battle]) -> Vec<f64> {
    let mut r = vec![1000.0; n];
    for b in battles.iter().filter(|b| b.a < n && b.b < n && b.a != b.b) {
        let expected = 1.0 / (1.0 + 10f64.powf((r[b.b] - r[b.a]) / 400.0));
        let delta = K * (b.outcome - expected);
        r[b.a] += delta;
        r[b.b] -= delta;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_win_between_equals_moves_k_over_two() {
        let r = online(2, &[Battle { a: 0, b: 1, outcome: 1.0 }]);
        assert_eq!(r, vec![1002.0, 998.0]);
        let r = online(2, &[Battle { a: 0, b: 1, outcome: 0.5 }]);
        assert_eq!(r, vec![1000.0, 1000.0]);
        assert_eq!(online(1, &[Battle { a: 0, b: 3, outcome: 1.0 }]), vec![1000.0], "out of range: ignored");
    }
}
