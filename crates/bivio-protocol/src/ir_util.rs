//! Small IR helpers shared by both APIs' parsers and encoders.

use crate::ir::{Block, Message, Role};

/// Appends a turn, merging it into the previous one when the role repeats (Anthropic requires alternation;
/// OpenAI clients often send consecutive user or tool messages).
pub(crate) fn push_merged(messages: &mut Vec<Message>, role: Role, content: Vec<Block>) {
    match messages.last_mut() {
        Some(last) if last.role == role => last.content.extend(content),
        _ => messages.push(Message { role, content }),
    }
}
