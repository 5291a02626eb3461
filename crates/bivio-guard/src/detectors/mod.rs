//! One module per detector family. Each validates candidates that the scanner's single pass (or a `memchr`
//! pass over a rare anchor byte) hands it; none runs a regular expression over the whole text.

pub(crate) mod card;
pub(crate) mod codice_fiscale;
pub(crate) mod custom;
pub(crate) mod email;
pub(crate) mod iban;
pub(crate) mod ip;
pub(crate) mod numeric;
pub(crate) mod partita_iva;
pub(crate) mod phone;
pub(crate) mod secrets;
pub(crate) mod ssn;

/// `[A-Za-z0-9_]`: the bytes of a "word". Non-ASCII bytes are separators, which keeps every span on an
/// ASCII boundary (and so on a char boundary).
#[inline]
pub(crate) const fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The byte at `i`, or 0 past the end (0 is never a word byte nor a separator we accept).
#[inline]
pub(crate) fn at(text: &[u8], i: usize) -> u8 {
    text.get(i).copied().unwrap_or(0)
}

/// The byte before `i`, or 0 at the start.
#[inline]
pub(crate) fn before(text: &[u8], i: usize) -> u8 {
    if i == 0 { 0 } else { text[i - 1] }
}
