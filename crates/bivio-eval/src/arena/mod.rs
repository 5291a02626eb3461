//! The arena (seed §1.6): models answer the same prompts, a judge compares every pair of answers — in
//! both orders, to cancel the judge's position bias — or a person votes, and Bradley–Terry ratings (with
//! bootstrap intervals) and online Elo rank the models, overall and per category.

pub mod bt;
pub mod elo;
pub mod human;
pub mod prompts;
pub mod run;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::store::VoteRow;
use bt::Battle;

/// A verdict for one ordering, in the judge's letters: `A` (first shown), `B` (second), `tie`.
pub fn parse_verdict(judgement: &str) -> Option<&'static str> {
    // MT-Bench's pairwise judges end with [[A]], [[B]] or [[C]] (tie); the last one given counts.
    let mut found = None;
    let mut rest = judgement;
    while let Some(i) = rest.find("[[") {
        let tail = &rest[i + 2..];
        found = match tail.get(..3) {
            Some("A]]") => Some("A"),
            Some("B]]") => Some("B"),
            Some("C]]") => Some("tie"),
            _ => found,
        };
        rest = tail;
    }
    found
}

/// Battles from votes. Votes of one judge on one prompt and pair are combined: a model wins when every
/// ordering the judge saw agrees it won; mixed verdicts (position bias) or ties make a tie — MT-Bench's
/// convention. Invalid verdicts are left out. Returns the battles in vote order with their categories.
pub fn battles(votes: &[VoteRow], models: &[String]) -> Vec<(String, Battle)> {
    let index = |m: &str| models.iter().position(|x| x == m);
    // (prompt, judge, low model, high model) → first vote's order, category, the winner by ordering (None = tie).
    type Key = (String, String, usize, usize);
    let mut groups: BTreeMap<Key, (i64, String, Vec<Option<usize>>)> = BTreeMap::new();
    for v in votes {
        let (Some(first), Some(second)) = (index(&v.first), index(&v.second)) else { continue };
        let winner = match v.verdict.as_str() {
            "A" => Some(first),
            "B" => Some(second),
            "tie" => None,
            _ => continue,
        };
        let key = (v.prompt_id.clone(), v.judge.clone(), first.min(second), first.max(second));
        let entry = groups.entry(key).or_insert_with(|| (v.seq, v.category.clone(), Vec::new()));
        entry.2.push(winner);
    }
    let mut out: Vec<(i64, String, Battle)> = groups
        .into_iter()
        .map(|((_, _, a, b), (seq, category, winners))| {
            let all_a = winners.iter().all(|w| *w == Some(a));
            let all_b = winners.iter().all(|w| *w == Some(b));
            let outcome = if all_a {
                1.0
            } else if all_b {
                0.0
            } else {
                0.5
            };
            (seq, category, Battle { a, b, outcome })
        })
        .collect();
    out.sort_by_key(|(seq, _, _)| *seq);
    out.into_iter().map(|(_, c, b)| (c, b)).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standing {
    pub model: String,
    pub rating: f64,
    pub low: f64,
    pub high: f64,
    pub elo: f64,
    pub battles: usize,
    pub wins: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leaderboard {
    /// `overall`, or a prompt category.
    pub category: String,
    pub standings: Vec<Standing>,
}

/// Overall and per-category leaderboards, best first.
pub fn leaderboards(models: &[String], battles: &[(String, Battle)], rounds: usize, seed: u64) -> Vec<Leaderboard> {
    let mut by_category: BTreeMap<String, Vec<Battle>> = BTreeMap::new();
    for (category, b) in battles {
        by_category.entry(category.clone()).or_default().push(*b);
    }
    let all: Vec<Battle> = battles.iter().map(|(_, b)| *b).collect();
    let mut boards = vec![board("overall", models, &all, rounds, seed)];
    if by_category.len() > 1 {
        boards.extend(by_category.iter().map(|(c, b)| board(c, models, b, rounds, seed)));
    }
    boards
}

fn board(category: &str, models: &[String], battles: &[Battle], rounds: usize, seed: u64) -> Leaderboard {
    let intervals = bt::fit_with_intervals(models.len(), battles, rounds, seed);
    let elo = elo::online(models.len(), battles);
    let mut standings: Vec<Standing> = models
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mine = battles.iter().filter(|b| b.a == i || b.b == i);
            let wins = mine.clone().map(|b| if b.a == i { b.outcome } else { 1.0 - b.outcome }).sum();
            Standing {
                model: m.clone(),
                rating: intervals[i].rating,
                low: intervals[i].low,
                high: intervals[i].high,
                elo: elo[i],
                battles: mine.count(),
                wins,
            }
        })
        .collect();
    standings.sort_by(|a, b| b.rating.total_cmp(&a.rating));
    Leaderboard { category: category.to_owned(), standings }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(prompt: &str, first: &str, second: &str, verdict: &str, seq: i64) -> VoteRow {
        VoteRow {
            prompt_id: prompt.into(),
            category: "writing".into(),
            first: first.into(),
            second: second.into(),
            judge: "model:j".into(),
            verdict: verdict.into(),
            explanation: String::new(),
            created_at_ms: 0,
            seq,
        }
    }

    #[test]
    fn verdicts() {
        assert_eq!(parse_verdict("A is better. [[A]]"), Some("A"));
        assert_eq!(parse_verdict("[[B]] no wait [[C]]"), Some("tie"));
        assert_eq!(parse_verdict("both fine"), None);
    }

    #[test]
    fn both_orders_must_agree() {
        let models = vec!["x".to_owned(), "y".to_owned()];
        // p1: x wins in both orders; p2: the judge always prefers the first shown (position bias) → tie.
        let votes = [
            vote("p1", "x", "y", "A", 0),
            vote("p1", "y", "x", "B", 1),
            vote("p2", "x", "y", "A", 2),
            vote("p2", "y", "x", "A", 3),
            vote("p3", "x", "y", "invalid", 4),
        ];
        let b = battles(&votes, &models);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].1, Battle { a: 0, b: 1, outcome: 1.0 });
        assert_eq!(b[1].1.outcome, 0.5);
        let boards = leaderboards(&models, &b, 20, 0);
        assert_eq!(boards[0].standings[0].model, "x");
        assert_eq!(boards[0].standings[0].wins, 1.5);
    }
}
