//! Italian codice fiscale (personal): 16 characters, `LLLLLL DD L DD L DDD L`, where any digit may be
//! replaced by the omocodia letter `LMNPQRSTUV` (digit 0–9), the month letter is one of `ABCDEHLMPRST`, the
//! day is 1–31 (41–71 for women), and the last letter is the check character of the first fifteen.

use crate::checksum::codice_fiscale_check;

const MONTHS: &[u8] = b"ABCDEHLMPRST";
const OMOCODIA: &[u8] = b"LMNPQRSTUV";
/// Positions that hold digits (or their omocodia letters).
const DIGIT_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];

/// The digit a position's character stands for (itself, or through omocodia).
fn digit_value(c: u8) -> Option<u8> {
    if c.is_ascii_digit() {
        return Some(c - b'0');
    }
    OMOCODIA.iter().position(|&o| o == c).map(|i| i as u8)
}

/// `word` is exactly 16 bytes of one case.
pub(crate) fn check(word: &[u8]) -> bool {
    if word.len() != 16 {
        return false;
    }
    let upper_case = word.iter().all(|b| !b.is_ascii_lowercase());
    let lower_case = word.iter().all(|b| !b.is_ascii_uppercase());
    if !upper_case && !lower_case {
        return false;
    }
    let mut w = [0u8; 16];
    for (dst, src) in w.iter_mut().zip(word) {
        *dst = src.to_ascii_uppercase();
    }
    for (i, &c) in w.iter().enumerate() {
        let ok = if DIGIT_POSITIONS.contains(&i) { digit_value(c).is_some() } else { c.is_ascii_uppercase() };
        if !ok {
            return false;
        }
    }
    if !MONTHS.contains(&w[8]) {
        return false;
    }
    let (Some(d1), Some(d2)) = (digit_value(w[9]), digit_value(w[10])) else {
        return false;
    };
    let day = d1 * 10 + d2;
    if !((1..=31).contains(&day) || (41..=71).contains(&day)) {
        return false;
    }
    codice_fiscale_check(&w[..15]) == Some(w[15])
}
