//! Credentials. Three cheap anchors, no regular expressions:
//! - vendor prefixes checked on the first bytes of each word (`sk-ant-`, `sk-`, `AKIA…`, `ghp_`,
//!   `github_pat_`, `xoxb-`, `eyJ…` for JWTs), then the token's own charset and minimum length;
//! - `-----BEGIN … PRIVATE KEY-----` blocks and Slack webhook URLs, found with `memmem`;
//! - assignments (`key=…`, `token: …`, `"secret": "…"`): a key name that hints at a credential and a value
//!   of at least 16 token characters with letters and digits, high Shannon entropy, and not made of words.

use memchr::memmem;

use super::{at, before, is_word};
use crate::checksum::shannon_entropy;
use crate::kinds::{Finding, Kind};

/// Minimum length of an assigned value considered a token.
const MIN_ASSIGNED_LEN: usize = 16;

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn extend(text: &[u8], from: usize, accept: impl Fn(u8) -> bool) -> usize {
    let mut end = from;
    while end < text.len() && accept(text[end]) {
        end += 1;
    }
    end
}

fn has_letter_and_digit(token: &[u8]) -> bool {
    token.iter().any(u8::is_ascii_digit) && token.iter().any(u8::is_ascii_alphabetic)
}

/// A vendor-prefixed token starting at the word `[start, end)`: its kind and end.
pub(crate) fn prefixed(text: &[u8], start: usize, end: usize) -> Option<(Kind, usize)> {
    let word = &text[start..end];
    let next = at(text, end);
    match word[0] {
        b's' if word == b"sk" && next == b'-' => {
            let token_end = extend(text, end, is_token_byte);
            let token = &text[start..token_end];
            let body = &text[end + 1..token_end];
            if token.starts_with(b"sk-ant-") && token.len() >= 7 + 24 && has_letter_and_digit(body) {
                return Some((Kind::SecretAnthropic, token_end));
            }
            (body.len() >= 32 && has_letter_and_digit(body)).then_some((Kind::SecretOpenai, token_end))
        }
        b'g' => {
            let github = [b"ghp_".as_slice(), b"gho_", b"ghu_", b"ghs_", b"ghr_"];
            let long = word.starts_with(b"github_pat_") && word.len() >= 11 + 40;
            let short = github.iter().any(|p| word.starts_with(p))
                && word.len() >= 4 + 30
                && word[4..].iter().all(u8::is_ascii_alphanumeric);
            ((long || short) && has_letter_and_digit(&word[4..])).then_some((Kind::SecretGithub, end))
        }
        b'x' if matches!(word, b"xoxb" | b"xoxp" | b"xoxa" | b"xoxr" | b"xoxs" | b"xoxe" | b"xapp") && next == b'-' => {
            let token_end = extend(text, end, is_token_byte);
            let body = &text[end..token_end];
            (body.len() >= 20 && has_letter_and_digit(body)).then_some((Kind::SecretSlack, token_end))
        }
        b'A' if word.len() == 20
            && [b"AKIA".as_slice(), b"ASIA", b"AGPA", b"AIDA", b"AROA", b"ANPA", b"ANVA", b"AIPA"]
                .iter()
                .any(|p| word.starts_with(p))
            && word[4..].iter().all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit()) =>
        {
            Some((Kind::SecretAws, end))
        }
        b'e' if word.starts_with(b"eyJ") => jwt(text, start),
        _ => None,
    }
}

/// `eyJ<header>.eyJ<payload>.<signature>` in base64url.
fn jwt(text: &[u8], start: usize) -> Option<(Kind, usize)> {
    let is_b64url = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let header_end = extend(text, start, is_b64url);
    if header_end - start < 10 || at(text, header_end) != b'.' {
        return None;
    }
    let payload_start = header_end + 1;
    if !text[payload_start..].starts_with(b"eyJ") {
        return None;
    }
    let payload_end = extend(text, payload_start, is_b64url);
    if at(text, payload_end) != b'.' {
        return None;
    }
    let signature_end = extend(text, payload_end + 1, is_b64url);
    (signature_end - payload_end > 8).then_some((Kind::Jwt, signature_end))
}

/// Private-key blocks (to their END line, or to the end of the text when cut) and Slack webhook URLs.
pub(crate) fn scan_blocks(text: &[u8], out: &mut Vec<Finding>) {
    for begin in memmem::find_iter(text, b"-----BEGIN ") {
        let header_end = memchr::memchr(b'\n', &text[begin..]).map_or(text.len(), |i| begin + i);
        let header = &text[begin..header_end];
        if memmem::find(header, b"PRIVATE KEY-----").is_none() {
            continue;
        }
        let end = match memmem::find(&text[header_end..], b"-----END ") {
            Some(i) => {
                let footer = header_end + i + 9;
                memmem::find(&text[footer..], b"-----").map_or(text.len(), |j| footer + j + 5)
            }
            None => text.len(),
        };
        out.push(Finding::new(Kind::PrivateKey, begin, end));
    }
    for hook in memmem::find_iter(text, b"hooks.slack.com/services/") {
        let body_start = hook + 25;
        let end = extend(text, body_start, |b| b.is_ascii_alphanumeric() || b == b'/' || b == b'_');
        if end - body_start < 20 {
            continue;
        }
        let start = if text[..hook].ends_with(b"https://") { hook - 8 } else { hook };
        out.push(Finding::new(Kind::SecretSlack, start, end));
    }
}

/// Key names that announce a credential (lower-cased substrings).
const KEY_HINTS: &[&[u8]] = &[
    b"secret",
    b"token",
    b"passw",
    b"pwd",
    b"apikey",
    b"api_key",
    b"api-key",
    b"access_key",
    b"accesskey",
    b"auth",
    b"credential",
    b"private",
    b"signing",
];

fn key_hints_secret(key: &[u8]) -> bool {
    let lower: Vec<u8> = key.iter().map(u8::to_ascii_lowercase).collect();
    lower.ends_with(b"key") || KEY_HINTS.iter().any(|h| memmem::find(&lower, h).is_some())
}

fn is_value_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/' | b'=' | b'.' | b'~')
}

/// Values made of words (`meta-llama/Llama-3.1-8B-Instruct`, `my_super_secret_value_2`) are names, not
/// tokens: random tokens almost never contain two parts of three letters or more in one case or Capitalised
/// (a random mixed-case run like `wJalrXUtnFEMI` is not a word).
fn made_of_words(value: &[u8]) -> bool {
    let is_word = |part: &&[u8]| {
        part.len() >= 3
            && part.iter().all(u8::is_ascii_alphabetic)
            && (part[1..].iter().all(u8::is_ascii_lowercase) || part.iter().all(u8::is_ascii_uppercase))
    };
    // `TLS13_CHACHA20_POLY1305_SHA256` and friends: constant names, not tokens.
    let constant_name = value.contains(&b'_') && !value.iter().any(u8::is_ascii_lowercase);
    constant_name || value.split(|&b| matches!(b, b'_' | b'-' | b'/' | b'.' | b'+' | b'~')).filter(is_word).count() >= 2
}

/// Assignments of high-entropy values to credential-named keys.
pub(crate) fn scan_assignments(text: &[u8], out: &mut Vec<Finding>) {
    for op in memchr::memchr2_iter(b'=', b':', text) {
        // Value first: it is the cheap test that fails for almost every `:` and `=` in code and prose.
        let mut v = op + 1;
        if matches!(at(text, v), b'=' | b'>') || before(text, op) == b'=' || before(text, op) == b'!' {
            continue;
        }
        while matches!(at(text, v), b' ' | b'\t') && v - op < 4 {
            v += 1;
        }
        let quote = at(text, v);
        let quoted = matches!(quote, b'"' | b'\'' | b'`');
        if quoted {
            v += 1;
        }
        let value_end = extend(text, v, is_value_byte);
        let mut value = &text[v..value_end];
        let terminator = at(text, value_end);
        let terminated = if quoted {
            terminator == quote
        } else {
            matches!(terminator, 0 | b' ' | b'\n' | b'\r' | b'\t' | b',' | b';' | b'}' | b'&' | b'"' | b'\'')
        };
        // Base64 padding is part of a token but not of its entropy.
        while let [rest @ .., b'='] = value {
            value = rest;
        }
        if !terminated || value.len() < MIN_ASSIGNED_LEN || !has_letter_and_digit(value) {
            continue;
        }
        // The key: an identifier right before the operator, maybe quoted, maybe followed by spaces.
        let mut k = op;
        while k > 0 && matches!(text[k - 1], b' ' | b'\t') && op - k < 4 {
            k -= 1;
        }
        if k > 0 && matches!(text[k - 1], b'"' | b'\'') {
            k -= 1;
        }
        let key_end = k;
        while k > 0 && (is_word(text[k - 1]) || text[k - 1] == b'-' || text[k - 1] == b'.') && key_end - k < 64 {
            k -= 1;
        }
        let key = &text[k..key_end];
        if key.is_empty() || !key_hints_secret(key) {
            continue;
        }
        if made_of_words(value) || shannon_entropy(value) < entropy_threshold(value.len()) {
            continue;
        }
        let lower_key = key.to_ascii_lowercase();
        let kind = if memmem::find(&lower_key, b"aws").is_some() { Kind::SecretAws } else { Kind::HighEntropySecret };
        out.push(Finding::new(kind, v, v + value.len()));
    }
}

/// Bits per character a value must reach: a random token of length `len` over ~60 symbols reaches about
/// `log2(len)` (few repeats); 16 hex digits reach ≈3.4. Words and repetitive fillers stay well below.
fn entropy_threshold(len: usize) -> f64 {
    if len < 24 { 3.0 } else { 3.3 }
}
