//! Payment card numbers: 13–19 digits laid out as printed (one block of at most 16 — longer unseparated
//! runs are table data far more often than cards —, groups of four, Amex 4-6-5, Diners 4-6-4) with one separator kind, an issuer prefix whose length rules match, and a valid Luhn digit.

use super::numeric::{NumericSpan, Sep};
use crate::checksum::luhn;

pub(crate) fn check(span: &NumericSpan) -> bool {
    let n = span.n_digits;
    if span.overflow || span.plus || !(13..=19).contains(&n) {
        return false;
    }
    let layout_ok = (span.n_groups == 1 && n <= 16)
        || (matches!(span.uniform_sep(), Some(Sep::Space | Sep::Dash)) && {
            let lens: Vec<usize> = span.group_lens().collect();
            let fours = lens[..lens.len() - 1].iter().all(|&l| l == 4) && (1..=4).contains(&lens[lens.len() - 1]);
            fours || lens == [4, 6, 5] || lens == [4, 6, 4]
        });
    layout_ok && issuer_length_ok(span.digits()) && luhn(span.digits())
}

/// Issuer identification ranges and the lengths each issuer uses.
fn issuer_length_ok(d: &[u8]) -> bool {
    let n = d.len();
    let prefix = |k: usize| -> u32 { d[..k].iter().fold(0, |acc, &c| acc * 10 + u32::from(c - b'0')) };
    let p2 = prefix(2);
    let p3 = prefix(3);
    let p4 = prefix(4);
    match d[0] {
        b'4' => matches!(n, 13 | 16 | 19),                             // Visa
        b'5' => (51..=55).contains(&p2) && n == 16,                    // Mastercard
        b'2' => (2221..=2720).contains(&p4) && n == 16,                // Mastercard 2-series
        b'3' if p2 == 34 || p2 == 37 => n == 15,                       // Amex
        b'3' if (3528..=3589).contains(&p4) => (16..=19).contains(&n), // JCB
        b'3' if (300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39) => (14..=19).contains(&n), // Diners
        b'6' if p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) => (16..=19).contains(&n), // Discover
        b'6' if p2 == 62 => (16..=19).contains(&n),                    // UnionPay
        _ => false,
    }
}
