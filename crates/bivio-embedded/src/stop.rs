//! Stop sequences over streamed text.
//!
//! The generated text arrives a token at a time, and a stop sequence may span several tokens. Text that
//! could still turn out to be the start of a stop sequence is held back until the next token settles it, so
//! the client never sees any part of the sequence that ended generation (the APIs' contract: the stop
//! sequence is not part of the answer).
//!
//! Several sequences may complete inside one piece; the match that *ends* first wins (ties: the longer
//! sequence), which is what a character-at-a-time stream would have seen. So the result does not depend on
//! how the model's tokens happen to cut the text.

/// What one piece of text produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    /// Text now safe to show.
    pub text: String,
    /// The stop sequence that ended generation, if one did. Nothing may be pushed afterwards.
    pub stopped: Option<String>,
}

/// Finds stop sequences in a text stream, holding back possible prefixes.
#[derive(Debug, Default)]
pub(crate) struct StopMatcher {
    stops: Vec<String>,
    held: String,
}

impl StopMatcher {
    /// Empty sequences are ignored (they would match before any text).
    pub(crate) fn new(stops: &[String]) -> StopMatcher {
        StopMatcher { stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(), held: String::new() }
    }

    pub(crate) fn push(&mut self, piece: &str) -> Step {
        if self.stops.is_empty() {
            return Step { text: piece.to_owned(), stopped: None };
        }
        self.held.push_str(piece);
        // Every match starts inside `held`: text released earlier was not a prefix of any sequence.
        let first = self
            .stops
            .iter()
            .filter_map(|stop| self.held.find(stop.as_str()).map(|start| (start + stop.len(), stop.len(), stop)))
            .min_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        if let Some((end, len, stop)) = first {
            let text = self.held[..end - len].to_owned();
            let stopped = Some(stop.clone());
            self.held.clear();
            return Step { text, stopped };
        }
        let keep = self.longest_prefix_suffix();
        let release = self.held.len() - keep;
        let text = self.held[..release].to_owned();
        self.held.drain(..release);
        Step { text, stopped: None }
    }

    /// Ends the stream without a match: whatever was held back is plain text after all.
    pub(crate) fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    /// Length of the longest suffix of `held` that is a proper prefix of some stop sequence.
    fn longest_prefix_suffix(&self) -> usize {
        self.held
            .char_indices()
            .map(|(start, _)| start)
            .find(|&start| {
                let suffix = &self.held[start..];
                self.stops.iter().any(|stop| stop.len() > suffix.len() && stop.starts_with(suffix))
            })
            .map_or(0, |start| self.held.len() - start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, Option<String>) {
        let stops: Vec<String> = stops.iter().map(|s| (*s).to_owned()).collect();
        let mut matcher = StopMatcher::new(&stops);
        let mut out = String::new();
        for piece in pieces {
            let step = matcher.push(piece);
            out.push_str(&step.text);
            if step.stopped.is_some() {
                return (out, step.stopped);
            }
        }
        out.push_str(&matcher.finish());
        (out, None)
    }

    /// The reference: scan end positions in order; the first position where some sequence ends wins.
    fn reference(stops: &[String], text: &str) -> (String, Option<String>) {
        let stops: Vec<&String> = stops.iter().filter(|s| !s.is_empty()).collect();
        for end in text.char_indices().map(|(i, c)| i + c.len_utf8()) {
            let head = &text[..end];
            if let Some(stop) = stops.iter().filter(|s| head.ends_with(s.as_str())).max_by_key(|s| s.len()) {
                return (head[..end - stop.len()].to_owned(), Some((*stop).clone()));
            }
        }
        (text.to_owned(), None)
    }

    #[test]
    fn sequence_split_across_pieces_is_not_emitted() {
        assert_eq!(run(&["\n\n"], &["Hello", "\n", "\nworld"]), ("Hello".into(), Some("\n\n".into())));
    }

    #[test]
    fn false_prefix_is_released() {
        assert_eq!(run(&["END"], &["an E", "N", "d"]), ("an ENd".into(), None));
        let mut matcher = StopMatcher::new(&["END".to_owned()]);
        assert_eq!(matcher.push("an E").text, "an ");
        assert_eq!(matcher.push("x").text, "Ex");
    }

    #[test]
    fn earliest_ending_match_wins() {
        assert_eq!(run(&["bcd", "c"], &["abcd"]), ("ab".into(), Some("c".into())));
        assert_eq!(run(&["abc", "bc"], &["xabc"]), ("x".into(), Some("abc".into())));
    }

    #[test]
    fn no_stops_passes_everything_through() {
        assert_eq!(run(&[], &["a", "b"]), ("ab".into(), None));
        assert_eq!(run(&[""], &["a", "b"]), ("ab".into(), None));
    }

    proptest! {
        #[test]
        fn streaming_matches_the_reference_for_any_split(
            text in "[ab\\n😀]{0,24}",
            stops in proptest::collection::vec("[ab\\n😀]{0,3}", 0..3),
            cuts in proptest::collection::vec(0usize..100, 0..8),
        ) {
            let boundaries: Vec<usize> = text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| boundaries[c % boundaries.len()]).collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut start = 0;
            for cut in cuts.into_iter().chain([text.len()]) {
                pieces.push(&text[start..cut]);
                start = cut;
            }
            let stop_refs: Vec<&str> = stops.iter().map(String::as_str).collect();
            prop_assert_eq!(run(&stop_refs, &pieces), reference(&stops, &text));
        }
    }
}
