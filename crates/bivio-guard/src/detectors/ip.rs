//! IP addresses, parsed by `std::net`. IPv4 comes from numeric spans (four dot-separated groups, optionally
//! followed by a `/prefix`); IPv6 from runs of hex digits and colons. Loopback, unspecified and broadcast
//! addresses are not reported: they identify nobody and fill every piece of code.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::numeric::{NumericSpan, Sep};
use super::{before, is_word};

/// The end of the IPv4 address at the start of `span`, if it is one.
pub(crate) fn check_v4(text: &[u8], span: &NumericSpan) -> Option<usize> {
    if span.plus || span.paren || span.n_groups < 4 || span.n_groups > 5 {
        return None;
    }
    if !(1..4).all(|i| span.seps[i] == Sep::Dot) {
        return None;
    }
    if span.n_groups == 5 && (span.seps[4] != Sep::Slash || span.group_len(4) > 3) {
        return None;
    }
    if span.n_groups == 4 && span.overflow {
        return None;
    }
    let end = span.groups[3].1;
    let addr: Ipv4Addr = std::str::from_utf8(&text[span.start..end]).ok()?.parse().ok()?;
    if addr.is_loopback() || addr.is_unspecified() || addr.is_broadcast() {
        return None;
    }
    Some(if span.n_groups == 5 { span.end } else { end })
}

fn is_v6_byte(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b':' || b == b'.'
}

/// The IPv6 candidate around a hex run at `p` (a colon touches it): grown both ways over hex digits, colons
/// and dots, then parsed. Returns the candidate's extent whether or not it parsed (so the caller can skip
/// it) and, when it is an address, its span.
pub(crate) fn check_v6(text: &[u8], p: usize) -> (usize, Option<(usize, usize)>) {
    let mut start = p;
    while start > 0 && is_v6_byte(text[start - 1]) {
        start -= 1;
    }
    let mut end = p;
    while end < text.len() && is_v6_byte(text[end]) {
        end += 1;
    }
    let extent_end = end;
    while end > start && matches!(text[end - 1], b'.' | b':') && !text[..end].ends_with(b"::") {
        end -= 1;
    }
    let glued = is_word(before(text, start)) || text.get(extent_end).is_some_and(|&b| is_word(b));
    let colons = text[start..end].iter().filter(|&&b| b == b':').count();
    if glued || colons < 2 {
        return (extent_end, None);
    }
    // Code is full of `12::34`, `de::`, `Add::add`: real addresses are written in one case and have three or
    // more groups, or two with a full first group (`fe80::1`, `2001::7334`).
    let candidate = &text[start..end];
    let mixed_case = candidate.iter().any(u8::is_ascii_uppercase) && candidate.iter().any(u8::is_ascii_lowercase);
    let mut groups = candidate.split(|&b| b == b':').filter(|g| !g.is_empty());
    let first_len = groups.next().map_or(0, <[u8]>::len);
    let n_groups = 1 + groups.count();
    let compressed = memchr::memmem::find(candidate, b"::").is_some();
    let shape_ok = !compressed || n_groups >= 3 || (n_groups == 2 && first_len == 4);
    if mixed_case || !shape_ok {
        return (extent_end, None);
    }
    let parsed = std::str::from_utf8(candidate).ok().and_then(|s| s.parse::<Ipv6Addr>().ok());
    let ok = parsed.is_some_and(|a| !a.is_loopback() && !a.is_unspecified());
    (extent_end, ok.then_some((start, end)))
}
