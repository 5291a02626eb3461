//! Token pieces → text without splitting characters.
//!
//! A token's bytes need not be valid UTF-8 on their own: byte-fallback vocabularies spell an emoji or a CJK
//! character as several single-byte tokens. Emitting each piece lossily would turn one character into
//! several U+FFFD, so incomplete sequences wait here until the next piece completes them.

/// Buffers the incomplete tail of a byte stream and releases only whole characters.
#[derive(Debug, Default)]
pub(crate) struct Utf8Decoder {
    pending: Vec<u8>,
}

impl Utf8Decoder {
    /// Adds bytes and returns the text they complete. Bytes that can never be valid become U+FFFD; an
    /// incomplete sequence at the end is kept for the next call.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    out.push_str(text);
                    rest = &[];
                    break;
                }
                Err(err) => {
                    let (valid, after) = rest.split_at(err.valid_up_to());
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match err.error_len() {
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        // An incomplete sequence at the end: wait for more bytes.
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        let keep = rest.len();
        let drop_to = self.pending.len() - keep;
        self.pending.drain(..drop_to);
        out
    }

    /// Ends the stream: an incomplete tail becomes U+FFFD.
    pub(crate) fn finish(&mut self) -> String {
        if self.pending.is_empty() {
            return String::new();
        }
        self.pending.clear();
        char::REPLACEMENT_CHARACTER.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn split_multibyte_characters_are_joined() {
        let mut decoder = Utf8Decoder::default();
        let bytes = "é🙂".as_bytes();
        assert_eq!(decoder.push(&bytes[..1]), "");
        assert_eq!(decoder.push(&bytes[1..3]), "é");
        assert_eq!(decoder.push(&bytes[3..5]), "");
        assert_eq!(decoder.push(&bytes[5..]), "🙂");
        assert_eq!(decoder.finish(), "");
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut decoder = Utf8Decoder::default();
        assert_eq!(decoder.push(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(decoder.push(b"\xe2\x82"), "");
        assert_eq!(decoder.finish(), "\u{fffd}");
    }

    proptest! {
        #[test]
        fn any_split_of_valid_text_round_trips(text in ".{0,40}", cuts in proptest::collection::vec(0usize..200, 0..8)) {
            let bytes = text.as_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut decoder = Utf8Decoder::default();
            let mut out = String::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                out.push_str(&decoder.push(&bytes[start..cut]));
                start = cut;
            }
            out.push_str(&decoder.finish());
            prop_assert_eq!(out, text);
        }
    }
}
