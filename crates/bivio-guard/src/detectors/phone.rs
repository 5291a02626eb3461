//! Phone numbers. International: `+` or `00` then a country code, 8–15 digits in all (E.164), any common
//! grouping. Italian: mobiles `3xx` (prefixes in use) with 10 digits, landlines `0x…` with 8–11 digits (grouped
//! as the prefix then blocks of three or more, or one block of 9–10). North American: `(NXX) NXX-XXXX`, `NXX-NXX-XXXX`,
//! optionally after `1`. Blocks of fewer than three digits after the first are refused, which is what keeps
//! dates (`03-15-2024`), versions and amounts out.

use super::numeric::{NumericSpan, Sep};

pub(crate) fn check(span: &NumericSpan) -> bool {
    if span.overflow {
        return false;
    }
    let d = span.digits();
    let n = d.len();
    // No phone number anywhere is shorter (and every rule below may index the first three digits).
    if n < 6 {
        return false;
    }
    // Two groups around a dot are a decimal (`07.098765432`, `+1441497364.649`); `+12345-03-04` is a
    // signed year in a date.
    if span.n_groups == 2 && span.seps[1] == Sep::Dot {
        return false;
    }
    let date_like = span.n_groups == 3
        && span.uniform_sep() == Some(Sep::Dash)
        && span.group_len(0) >= 4
        && span.group_len(1) <= 2
        && span.group_len(2) <= 2;
    if span.plus {
        return (8..=15).contains(&n) && d[0] != b'0' && !date_like;
    }
    // `00` + country code: the first group must hold the `00` (`0.0760514` is a decimal, not a call abroad).
    if d.starts_with(b"00") && span.group_len(0) >= 2 && (11..=17).contains(&n) && d[2] != b'0' {
        return tail_groups_ok(span, 1, 1);
    }
    italian(span, d) || north_american(span, d)
}

/// Every group from `from` on has at least `min` digits.
fn tail_groups_ok(span: &NumericSpan, from: usize, min: usize) -> bool {
    (from..span.n_groups).all(|i| span.group_len(i) >= min)
}

fn italian(span: &NumericSpan, d: &[u8]) -> bool {
    let n = d.len();
    if span.paren || span.n_groups > 4 {
        return false;
    }
    let seps_ok = (1..span.n_groups).all(|i| matches!(span.seps[i], Sep::Space | Sep::Dash | Sep::Dot | Sep::Slash));
    if !seps_ok {
        return false;
    }
    match d[0] {
        b'3' if n == 10 && mobile_prefix(d) => {
            span.n_groups == 1 || (span.group_len(0) == 3 && tail_groups_ok(span, 1, 3))
        }
        b'0' if d[1] != b'0' && (6..=11).contains(&n) => {
            if span.n_groups == 1 {
                (9..=10).contains(&n)
            } else {
                n >= 8 && (2..=4).contains(&span.group_len(0)) && tail_groups_ok(span, 1, 3)
            }
        }
        _ => false,
    }
}

/// Italian mobile prefixes in use (32x–34x, 36x, 37x, 350–353, 380, 383, 388–393, 397): the rest of the
/// `3xxxxxxxxx` space is where 10-digit numbers in code and tables fall.
fn mobile_prefix(d: &[u8]) -> bool {
    let p = d[..3].iter().fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'));
    matches!(p, 320..=349 | 350..=353 | 360..=379 | 380 | 383 | 388..=393 | 397)
}

fn north_american(span: &NumericSpan, d: &[u8]) -> bool {
    let lens: Vec<usize> = span.group_lens().collect();
    let body = match (d.len(), lens.as_slice()) {
        (10, [3, 3, 4]) => d,
        (11, [1, 3, 3, 4]) if d[0] == b'1' => &d[1..],
        _ => return false,
    };
    let seps_ok = (1..span.n_groups).all(|i| matches!(span.seps[i], Sep::Space | Sep::Dash | Sep::Dot | Sep::Paren));
    seps_ok && (b'2'..=b'9').contains(&body[0]) && (b'2'..=b'9').contains(&body[3])
}
