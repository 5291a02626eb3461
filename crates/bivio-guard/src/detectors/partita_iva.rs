//! Italian partita IVA: 11 digits in one block (optionally after `IT`, see the scanner) whose last digit is
//! the check digit of the first ten; the office code (digits 8–10) is 001–100 or 120, 121, 888, 999.

use super::numeric::NumericSpan;
use crate::checksum::partita_iva;

pub(crate) fn check(span: &NumericSpan) -> bool {
    !span.overflow && span.single_group() && digits_ok(span.digits())
}

/// The checksum plus the office-code range, on 11 ASCII digits.
pub(crate) fn digits_ok(d: &[u8]) -> bool {
    if d.len() != 11 || !partita_iva(d) {
        return false;
    }
    let office = d[7..10].iter().fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
    (1..=100).contains(&office) || matches!(office, 120 | 121 | 888 | 999)
}
