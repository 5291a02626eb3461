//! IBANs, compact (`IT60X0542811101000000123456`) or printed in groups of four separated by single spaces:
//! a known country code, exactly that country's length, and mod-97 equal to 1.

use super::{at, is_word};
use crate::checksum::iban_mod97;

/// Country code → IBAN length (the SWIFT registry's countries).
const LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NL", 18),
    (b"NO", 15),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"SA", 24),
    (b"SC", 31),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
];

/// The IBAN's length for a country code, if the country uses IBANs.
pub(crate) fn country_length(cc: &[u8]) -> Option<usize> {
    LENGTHS.iter().find(|(c, _)| c.as_slice() == cc).map(|&(_, l)| l)
}

/// Whether the word `[start, end)` starts like an IBAN: two capitals, two digits.
pub(crate) fn looks_like_start(text: &[u8], start: usize, end: usize) -> bool {
    end - start >= 4
        && text[start].is_ascii_uppercase()
        && text[start + 1].is_ascii_uppercase()
        && text[start + 2].is_ascii_digit()
        && text[start + 3].is_ascii_digit()
}

/// The end of what is printed like an IBAN (space-separated alphanumeric groups after the word ending at
/// `end`, up to 34 characters), so that the groups of one failing its checksum are not read as other numbers.
pub(crate) fn extent(text: &[u8], start: usize, end: usize) -> usize {
    let mut total = end - start;
    let mut pos = end;
    while total < 34 && at(text, pos) == b' ' && at(text, pos + 1).is_ascii_alphanumeric() {
        let mut group_end = pos + 1;
        while group_end < text.len() && text[group_end].is_ascii_alphanumeric() {
            group_end += 1;
        }
        if group_end - pos - 1 > 4 {
            break;
        }
        total += group_end - pos - 1;
        pos = group_end;
    }
    pos
}

/// The end of the IBAN starting at the word `[start, end)`, if there is one.
pub(crate) fn check(text: &[u8], start: usize, end: usize) -> Option<usize> {
    let length = country_length(&text[start..start + 2])?;
    let mut compact = Vec::with_capacity(length);
    let push_group = |group: &[u8], compact: &mut Vec<u8>| -> bool {
        if !group.iter().all(u8::is_ascii_alphanumeric) {
            return false;
        }
        compact.extend(group.iter().map(u8::to_ascii_uppercase));
        true
    };
    let mut last = end;
    if end - start == length {
        if !push_group(&text[start..end], &mut compact) {
            return None;
        }
    } else if end - start == 4 {
        push_group(&text[start..end], &mut compact);
        let mut pos = end;
        while compact.len() < length {
            if at(text, pos) != b' ' || !at(text, pos + 1).is_ascii_alphanumeric() {
                return None;
            }
            let group_start = pos + 1;
            let mut group_end = group_start;
            while group_end < text.len() && text[group_end].is_ascii_alphanumeric() && group_end - group_start < 5 {
                group_end += 1;
            }
            let len = group_end - group_start;
            let remaining = length - compact.len();
            if len > 4 || (len < 4 && len != remaining) || len > remaining {
                return None;
            }
            push_group(&text[group_start..group_end], &mut compact);
            pos = group_end;
        }
        last = pos;
    } else {
        return None;
    }
    if is_word(at(text, last)) {
        return None;
    }
    iban_mod97(&compact).then_some(last)
}
