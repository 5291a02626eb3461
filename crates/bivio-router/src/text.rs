//! Text helpers shared by feature extraction and the classifier: splitting prose from fenced code, and a
//! normalised form that makes cue matching a plain substring search.

/// Prose and fenced code blocks of one text, split at ``` fences.
#[derive(Debug, Default)]
pub(crate) struct Split {
    /// The text outside fences.
    pub prose: String,
    /// One entry per fenced block: its language tag (lower-cased, may be empty) and its byte length.
    pub blocks: Vec<(String, usize)>,
}

pub(crate) fn split_code(text: &str) -> Split {
    let mut split = Split::default();
    let mut in_block: Option<(String, usize)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("```") {
            match in_block.take() {
                Some(block) => split.blocks.push(block),
                None => {
                    let lang = rest.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
                    in_block = Some((lang, 0));
                }
            }
            continue;
        }
        match in_block.as_mut() {
            Some((_, len)) => *len += line.len() + 1,
            None => {
                split.prose.push_str(line);
                split.prose.push('\n');
            }
        }
    }
    // An unclosed fence still counts as code (truncated pastes are common).
    if let Some(block) = in_block {
        split.blocks.push(block);
    }
    split
}

/// Lower-cases, maps every non-alphanumeric character to one space and pads both ends with a space, so a cue
/// `" word"` matches at a word start and `" word "` matches the whole word. Apostrophes become spaces
/// (`l'email` → `l email`); accented letters are kept.
pub(crate) fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push(' ');
    let mut last_space = true;
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            for lower in ch.to_lowercase() {
                out.push(lower);
            }
            last_space = false;
        } else if !last_space {
            out.push(' ');
            last_space = true;
        }
    }
    if !last_space {
        out.push(' ');
    }
    out
}

/// The part of a long text where instructions usually are: its start and its end. Cues found in the middle
/// of a pasted document say what the document is about, not what the user wants.
pub(crate) fn instruction_window(prose: &str, max: usize) -> String {
    if prose.len() <= max {
        return prose.to_owned();
    }
    let half = max / 2;
    let mut head_end = half;
    while !prose.is_char_boundary(head_end) {
        head_end -= 1;
    }
    let mut tail_start = prose.len() - half;
    while !prose.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    format!("{}\n{}", &prose[..head_end], &prose[tail_start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_fences_and_languages() {
        let s = split_code("look:\n```rust\nfn a() {}\n```\nand\n```\nx\n");
        assert_eq!(s.prose, "look:\nand\n");
        assert_eq!(s.blocks.len(), 2);
        assert_eq!(s.blocks[0].0, "rust");
        assert_eq!(s.blocks[1].0, "");
    }

    #[test]
    fn normalises_words() {
        assert_eq!(normalise("Scrivi l'Email, PER favore!"), " scrivi l email per favore ");
    }

    #[test]
    fn window_keeps_head_and_tail() {
        let text = format!("question {} tail", "x".repeat(1000));
        let w = instruction_window(&text, 40);
        assert!(w.starts_with("question"));
        assert!(w.ends_with("tail"));
    }
}
