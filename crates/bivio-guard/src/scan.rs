//! `Scanner::scan_text`: every built-in detector in a handful of linear passes, then custom rules, then
//! overlap resolution.
//!
//! Passes: `memchr` for `@` (e-mail), `memmem` for `-----BEGIN ` and Slack webhooks, `memchr2` for `=`/`:`
//! (assignments), and one walk over the text's words (`[A-Za-z0-9_]+`) that dispatches on each word's first
//! bytes: a digit starts a numeric span (cards, phones, SSNs, partita IVA, IPv4), a letter may start an IBAN,
//! a codice fiscale, an `IT` partita IVA or a vendor-prefixed secret, and a hex word next to a colon may
//! start an IPv6 address. Most words fail the first byte test, which is what makes the walk cheap.

use crate::config::{BUILTIN_ALLOW, GuardConfig, GuardConfigError};
use crate::detectors::custom::CustomDetector;
use crate::detectors::{
    at, before, card, codice_fiscale, email, iban, ip, is_word, numeric, partita_iva, phone, secrets, ssn,
};
use crate::kinds::{Finding, Kind};

/// The compiled detectors. Cheap to share (`Clone`, `Send + Sync`); build once per config.
#[derive(Debug, Clone)]
pub struct Scanner {
    custom: CustomDetector,
    /// Lower-cased values that are never findings (`BUILTIN_ALLOW` and `guard.allow`).
    allow: Vec<String>,
}

impl Scanner {
    /// Validates the config (custom rule names, terms, regexes) and compiles the custom rules.
    pub fn new(config: &GuardConfig) -> Result<Scanner, GuardConfigError> {
        config.validate()?;
        let allow = BUILTIN_ALLOW
            .iter()
            .map(|v| (*v).to_owned())
            .chain(config.allow.iter().cloned())
            .map(|v| v.trim().to_ascii_lowercase())
            .collect();
        Ok(Scanner { custom: CustomDetector::new(config)?, allow })
    }

    /// Every finding in `text`, sorted by start, without overlaps (the more specific kind wins an overlap).
    pub fn scan_text(&self, text: &str) -> Vec<Finding> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        email::scan(bytes, &mut out);
        secrets::scan_blocks(bytes, &mut out);
        secrets::scan_assignments(bytes, &mut out);
        scan_words(bytes, &mut out);
        self.custom.scan(text, &mut out);
        resolve_overlaps(&mut out);
        if !out.is_empty() {
            out.retain(|f| text.get(f.start..f.end).is_none_or(|value| !self.allowed(value)));
        }
        out
    }

    fn allowed(&self, value: &str) -> bool {
        self.allow.iter().any(|a| a.eq_ignore_ascii_case(value))
    }
}

/// `is_word` as a table: the word walk's inner loops are one load and one branch per byte.
static WORD: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_word(b as u8);
        b += 1;
    }
    table
};

fn scan_words(text: &[u8], out: &mut Vec<Finding>) {
    let n = text.len();
    let mut i = 0;
    // Where the last IPv6 candidate ended: words inside it are not candidates again.
    let mut v6_checked = 0;
    while i < n {
        // Skip separators, then take the word: slice scans over a lookup table, no per-byte bounds checks.
        match text[i..].iter().position(|&b| WORD[usize::from(b)]) {
            Some(skip) => i += skip,
            None => break,
        }
        let start = i;
        i += text[i..].iter().position(|&b| !WORD[usize::from(b)]).unwrap_or(n - i);
        let end = i;
        let first = text[start];
        if first.is_ascii_digit() {
            if text[start..end].iter().all(u8::is_ascii_digit) && numeric::left_boundary_ok(text, start) {
                let span = numeric::build(text, start);
                if let Some(finding) = classify_numeric(text, &span) {
                    out.push(finding);
                }
                i = i.max(span.end);
            }
        } else if first.is_ascii_alphabetic() {
            // Only five first letters can start a vendor token; the gate keeps the call off most words.
            let maybe_secret = matches!(first, b's' | b'g' | b'x' | b'e' | b'A');
            if let Some((kind, token_end)) = maybe_secret.then(|| secrets::prefixed(text, start, end)).flatten() {
                out.push(Finding::new(kind, start, token_end));
                i = i.max(token_end);
                continue;
            }
            if end - start == 16 && codice_fiscale::check(&text[start..end]) {
                out.push(Finding::new(Kind::CodiceFiscale, start, end));
                continue;
            }
            if iban::looks_like_start(text, start, end) {
                if let Some(iban_end) = iban::check(text, start, end) {
                    out.push(Finding::new(Kind::Iban, start, iban_end));
                    i = i.max(iban_end);
                    continue;
                }
                if end - start == 13
                    && &text[start..start + 2] == b"IT"
                    && partita_iva::digits_ok(&text[start + 2..end])
                {
                    out.push(Finding::new(Kind::PartitaIva, start, end));
                    continue;
                }
                if end - start == 4 && iban::country_length(&text[start..start + 2]).is_some() {
                    i = i.max(iban::extent(text, start, end));
                    continue;
                }
            }
        }
        // IPv6: a hex word of at most four digits touching a colon.
        if start >= v6_checked
            && end - start <= 4
            && (at(text, end) == b':' || before(text, start) == b':')
            && text[start..end].iter().all(u8::is_ascii_hexdigit)
        {
            let (extent_end, found) = ip::check_v6(text, start);
            v6_checked = extent_end;
            if let Some((s, e)) = found {
                out.push(Finding::new(Kind::IpAddress, s, e));
                i = i.max(e);
            }
        }
    }
}

/// The one detector a numeric span satisfies, most specific first.
fn classify_numeric(text: &[u8], span: &numeric::NumericSpan) -> Option<Finding> {
    if let Some(end) = ip::check_v4(text, span) {
        return Some(Finding::new(Kind::IpAddress, span.start, end));
    }
    // One unseparated number between other numbers (`[3999983367, 3982226758, …]`, CSV of measurements) is
    // table data: a lone 10-digit mobile or 16-digit Luhn pass there is chance, not a person.
    if span.n_groups == 1 && in_number_list(text, span) {
        return None;
    }
    // A parenthesis before the first group is part of a phone number's layout, of the sentence otherwise.
    let digits_start = span.groups[0].0;
    let (kind, start) = if ssn::check(span) {
        (Kind::UsSsn, digits_start)
    } else if card::check(span) {
        (Kind::PaymentCard, digits_start)
    } else if partita_iva::check(span) {
        (Kind::PartitaIva, digits_start)
    } else if phone::check(span) {
        (Kind::Phone, span.start)
    } else {
        return None;
    };
    Some(Finding::new(kind, start, span.end))
}

/// Whether a number's neighbour across a comma (and at most one space) is another number.
fn in_number_list(text: &[u8], span: &numeric::NumericSpan) -> bool {
    let mut after = span.end;
    let after_list = at(text, after) == b',' && {
        after += 1;
        if at(text, after) == b' ' {
            after += 1;
        }
        at(text, after).is_ascii_digit()
    };
    let mut before_pos = span.start;
    if before(text, before_pos) == b' ' {
        before_pos -= 1;
    }
    let before_list = before(text, before_pos) == b',' && before_pos >= 2 && text[before_pos - 2].is_ascii_digit();
    after_list || before_list
}

/// Sorts by start and drops overlapping findings: of two that overlap, the one with the better rank wins,
/// then the longer one.
pub(crate) fn resolve_overlaps(findings: &mut Vec<Finding>) {
    if findings.len() < 2 {
        return;
    }
    findings.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut kept: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings.drain(..) {
        match kept.last_mut() {
            Some(last) if f.start < last.end => {
                let better = (f.kind.rank(), std::cmp::Reverse(f.end - f.start))
                    < (last.kind.rank(), std::cmp::Reverse(last.end - last.start));
                if better {
                    *last = f;
                }
            }
            _ => kept.push(f),
        }
    }
    *findings = kept;
}
