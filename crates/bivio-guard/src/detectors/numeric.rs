//! Numeric spans: a run of digit groups joined by single separators (`+39 347 123 4567`, `4111-1111-…`,
//! `10.0.0.1`, `123-45-6789`), built once and offered to the numeric detectors in priority order. Building
//! the span once (and skipping past it) is what keeps the numeric detectors to one pass over the text.

use super::{at, before, is_word};

pub(crate) const MAX_DIGITS: usize = 24;
pub(crate) const MAX_GROUPS: usize = 12;

/// A separator between two digit groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sep {
    Space,
    Dash,
    Dot,
    Slash,
    /// Anything with a parenthesis: `) `, ` (`, `)-`, `(`, `)`.
    Paren,
}

#[derive(Debug, Clone)]
pub(crate) struct NumericSpan {
    pub start: usize,
    pub end: usize,
    /// Starts with `+`.
    pub plus: bool,
    /// The first group is inside parentheses (`(415) 555-0132`).
    pub paren: bool,
    pub digits: [u8; MAX_DIGITS],
    pub n_digits: usize,
    /// Byte range of each group.
    pub groups: [(usize, usize); MAX_GROUPS],
    pub n_groups: usize,
    /// `seps[i]` precedes group `i` (`seps[0]` is unused).
    pub seps: [Sep; MAX_GROUPS],
    /// More digits or groups than any detector accepts.
    pub overflow: bool,
}

impl NumericSpan {
    pub fn digits(&self) -> &[u8] {
        &self.digits[..self.n_digits]
    }

    pub fn group_len(&self, i: usize) -> usize {
        let (s, e) = self.groups[i];
        e - s
    }

    pub fn group_lens(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.n_groups).map(|i| self.group_len(i))
    }

    /// The one separator used between every group, if all are the same (`None` with a single group).
    pub fn uniform_sep(&self) -> Option<Sep> {
        let first = *self.seps.get(1)?;
        if self.n_groups < 2 {
            return None;
        }
        self.seps[1..self.n_groups].iter().all(|&s| s == first).then_some(first)
    }

    pub fn single_group(&self) -> bool {
        self.n_groups == 1 && !self.plus
    }
}

/// Whether a digit run at `p` may start a numeric span: not glued to a word or to the tail of a dotted,
/// dashed or slashed token (`v1.2`, `ORD-2024-…`, `/api/123`), nor an amount or an id (`$`, `#`).
pub(crate) fn left_boundary_ok(text: &[u8], p: usize) -> bool {
    let mut q = p;
    if matches!(before(text, q), b'(') {
        q -= 1;
    }
    if matches!(before(text, q), b'+') {
        q -= 1;
    }
    let b = before(text, q);
    !(is_word(b) || matches!(b, b'.' | b'-' | b'/' | b'#' | b'$' | b'\\' | b'&' | b'%' | b'*' | b'^'))
}

/// Builds the span whose first digit group starts at `p` (a digit preceded by an accepted boundary).
pub(crate) fn build(text: &[u8], p: usize) -> NumericSpan {
    let mut span = NumericSpan {
        start: p,
        end: p,
        plus: false,
        paren: false,
        digits: [0; MAX_DIGITS],
        n_digits: 0,
        groups: [(0, 0); MAX_GROUPS],
        n_groups: 0,
        seps: [Sep::Space; MAX_GROUPS],
        overflow: false,
    };
    if before(text, span.start) == b'(' {
        span.start -= 1;
        span.paren = true;
    }
    if before(text, span.start) == b'+' {
        span.start -= 1;
        span.plus = true;
    }
    let mut i = p;
    let mut sep = Sep::Space;
    loop {
        let group_start = i;
        while at(text, i).is_ascii_digit() {
            if span.n_digits < MAX_DIGITS {
                span.digits[span.n_digits] = text[i];
                span.n_digits += 1;
            } else {
                span.overflow = true;
            }
            i += 1;
        }
        if span.n_groups < MAX_GROUPS {
            span.groups[span.n_groups] = (group_start, i);
            span.seps[span.n_groups] = sep;
            span.n_groups += 1;
        } else {
            span.overflow = true;
        }
        // A separator: one of ` -./`, or up to two bytes that include a parenthesis; then a digit.
        let (next_sep, len) = match (at(text, i), at(text, i + 1)) {
            (b')', b' ' | b'-') | (b' ', b'(') => (Sep::Paren, 2),
            (b'(' | b')', _) => (Sep::Paren, 1),
            (b' ', _) => (Sep::Space, 1),
            (b'-', _) => (Sep::Dash, 1),
            (b'.', _) => (Sep::Dot, 1),
            (b'/', _) => (Sep::Slash, 1),
            _ => break,
        };
        if !at(text, i + len).is_ascii_digit() {
            break;
        }
        sep = next_sep;
        i += len;
    }
    span.end = i;
    if is_word(at(text, i)) {
        span.overflow = true;
    }
    span
}
