//! E-mail addresses, anchored on `@` (one `memchr` pass). The local part and the domain are grown outwards
//! from the `@` and validated: a dotted domain whose last label is alphabetic and not a file extension, which
//! rejects `@decorators`, `user@localhost`, `lodash@4.17.21` and `icon@2x.png`.

use crate::kinds::{Finding, Kind};

/// Top-level "domains" that are really file names in code (`logo@2x.png`).
const FILE_EXTENSIONS: &[&[u8]] = &[
    b"png", b"jpg", b"jpeg", b"gif", b"svg", b"webp", b"ico", b"js", b"ts", b"tsx", b"jsx", b"css", b"scss", b"json",
    b"map", b"html", b"md", b"txt", b"py", b"rs", b"go", b"rb", b"java", b"yaml", b"yml", b"toml", b"lock", b"mjs",
];

fn is_local(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

pub(crate) fn scan(text: &[u8], out: &mut Vec<Finding>) {
    for at in memchr::memchr_iter(b'@', text) {
        if let Some((start, end)) = candidate(text, at) {
            out.push(Finding::new(Kind::Email, start, end));
        }
    }
}

fn candidate(text: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut start = at;
    while start > 0 && at - start < 64 && is_local(text[start - 1]) {
        start -= 1;
    }
    if start > 0 && (is_local(text[start - 1]) || text[start - 1] == b'@') {
        return None;
    }
    while start < at && matches!(text[start], b'.' | b'-' | b'+') {
        start += 1;
    }
    if start == at || text[at - 1] == b'.' {
        return None;
    }
    let mut end = at + 1;
    while end < text.len() && end - at <= 253 && is_domain(text[end]) {
        end += 1;
    }
    while end > at + 1 && matches!(text[end - 1], b'.' | b'-') {
        end -= 1;
    }
    if end < text.len() && (text[end] == b'@' || text[end] == b'_') {
        return None;
    }
    let domain = &text[at + 1..end];
    let mut labels = 0;
    let mut last: &[u8] = &[];
    for label in domain.split(|&b| b == b'.') {
        if label.is_empty() || label.len() > 63 || label[0] == b'-' || label[label.len() - 1] == b'-' {
            return None;
        }
        labels += 1;
        last = label;
    }
    let tld_ok = last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic);
    if labels < 2 || !tld_ok {
        return None;
    }
    let lower = last.to_ascii_lowercase();
    if FILE_EXTENSIONS.contains(&lower.as_slice()) {
        return None;
    }
    Some((start, end))
}
