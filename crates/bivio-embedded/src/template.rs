//! IR conversation → the model's prompt text, through llama.cpp's chat-template engine.
//!
//! llama.cpp's `llama_chat_apply_template` does not run Jinja: it recognises the GGUF's template (or a
//! built-in name such as `gemma` or `chatml`) and formats with a hand-written equivalent. That covers the
//! common families without a template interpreter in the request path; a template it does not recognise is
//! refused when the model loads, with the config key that fixes it.
//!
//! What the IR holds that a plain chat template cannot:
//! - images and documents: refused (this is a text model);
//! - tool calls and tool results: written as plain text lines (`[tool call NAME (ID): {json}]`,
//!   `[tool result (ID): text]`), so a conversation that went through tools still reads coherently. Tool
//!   *use* is not offered to the model — the router sends tool-using work to Claude;
//! - thinking blocks: dropped (earlier reasoning is not replayed to the model, as the APIs do themselves);
//! - a final assistant turn: a prefill — the prompt ends with the opened assistant turn followed by that
//!   text, and the model continues it.

use bivio_protocol::ApiError;
use bivio_protocol::ir::{Block, ChatRequest, Role, ToolResultContent};
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};

/// Built-in names worth suggesting in errors (llama.cpp knows more).
const SUGGESTED: &str = "\"gemma\", \"chatml\", \"llama3\", \"mistral-v7\", \"phi4\", \"deepseek3\"";

/// One turn in the template's vocabulary (`system`, `user`, `assistant`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Turn {
    pub role: &'static str,
    pub content: String,
}

/// A request's conversation, flattened to text turns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Conversation {
    pub turns: Vec<Turn>,
    /// The text of a trailing assistant turn, which the model continues.
    pub prefill: Option<String>,
}

impl Conversation {
    pub(crate) fn from_request(request: &ChatRequest) -> Result<Conversation, ApiError> {
        let mut turns = Vec::with_capacity(request.messages.len() + 1);
        let system: Vec<&str> =
            request.system.iter().map(|s| s.text.as_str()).filter(|text| !text.trim().is_empty()).collect();
        if !system.is_empty() {
            turns.push(Turn { role: "system", content: system.join("\n\n") });
        }
        for message in &request.messages {
            let role = match message.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            turns.push(Turn { role, content: render_blocks(&message.content)? });
        }
        let prefill = match turns.last() {
            Some(last) if last.role == "assistant" => turns.pop().map(|turn| turn.content),
            _ => None,
        };
        Ok(Conversation { turns, prefill: prefill.filter(|text| !text.is_empty()) })
    }
}

fn render_blocks(blocks: &[Block]) -> Result<String, ApiError> {
    let mut parts: Vec<String> = Vec::with_capacity(blocks.len());
    for block in blocks {
        match block {
            Block::Text { text, .. } => parts.push(text.clone()),
            Block::Image { .. } => return Err(no_images()),
            Block::Document { .. } => return Err(ApiError::invalid("this local model does not take documents")),
            Block::ToolUse { id, name, input, .. } => parts.push(format!("[tool call {name} ({id}): {input}]")),
            Block::ToolResult { tool_use_id, content, is_error, .. } => {
                if let ToolResultContent::Blocks(inner) = content
                    && inner.iter().any(|b| matches!(b, Block::Image { .. }))
                {
                    return Err(no_images());
                }
                let label = if *is_error { "tool error" } else { "tool result" };
                parts.push(format!("[{label} ({tool_use_id}): {}]", content.joined_text()));
            }
            Block::Other(value) => parts.push(Block::unmodelled_as_text(value)),
            Block::Thinking { .. } | Block::RedactedThinking { .. } => {}
        }
    }
    Ok(parts.join("\n"))
}

fn no_images() -> ApiError {
    ApiError::invalid("this local model does not take images")
}

/// Where the template came from, for logs and `bivio model list`-style output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateSource {
    /// The GGUF's `tokenizer.chat_template`.
    Gguf,
    /// The configured built-in name.
    Configured(String),
}

/// A template llama.cpp is known to apply to this model.
#[derive(Debug, Clone)]
pub(crate) struct ChatTemplate {
    template: LlamaChatTemplate,
    pub source: TemplateSource,
}

impl ChatTemplate {
    /// The configured name if any, else the GGUF's template, else `known` (the built-in name bivio knows for
    /// this file, e.g. `gemma` for the default model); it must render a probe conversation. Errors name the
    /// `chat_template` key, the one that fixes them.
    pub(crate) fn resolve(
        model: &LlamaModel,
        configured: Option<&str>,
        known: Option<&str>,
    ) -> Result<ChatTemplate, String> {
        let built_in = |name: &str| -> Result<ChatTemplate, String> {
            let template = LlamaChatTemplate::new(name.trim())
                .map_err(|_| "`chat_template` must not contain NUL bytes".to_owned())?;
            Ok(ChatTemplate { template, source: TemplateSource::Configured(name.trim().to_owned()) })
        };
        let chosen = match (configured, model.chat_template(None)) {
            (Some(name), _) => built_in(name)?,
            (None, Ok(template)) => ChatTemplate { template, source: TemplateSource::Gguf },
            (None, Err(_)) => match known {
                Some(name) => built_in(name)?,
                None => {
                    return Err(format!(
                        "the GGUF has no chat template (a base model?): set `chat_template` to a llama.cpp built-in \
                         name such as {SUGGESTED}"
                    ));
                }
            },
        };
        let probe = Conversation {
            turns: vec![
                Turn { role: "system", content: "s".into() },
                Turn { role: "user", content: "u".into() },
                Turn { role: "assistant", content: "a".into() },
                Turn { role: "user", content: "u".into() },
            ],
            prefill: None,
        };
        match chosen.render(model, &probe) {
            Ok(_) => Ok(chosen),
            Err(_) => Err(match &chosen.source {
                TemplateSource::Configured(name) => format!(
                    "`chat_template` = \"{name}\" is not a template llama.cpp knows; use a built-in name such as \
                     {SUGGESTED}"
                ),
                TemplateSource::Gguf => format!(
                    "llama.cpp does not recognise the GGUF's chat template: set `chat_template` to the built-in \
                     name of its family, such as {SUGGESTED}"
                ),
            }),
        }
    }

    /// The prompt text: every turn, then the opened assistant turn (and the prefill, if any).
    pub(crate) fn render(&self, model: &LlamaModel, conversation: &Conversation) -> Result<String, ApiError> {
        let messages = conversation
            .turns
            .iter()
            .map(|turn| LlamaChatMessage::new(turn.role.to_owned(), turn.content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ApiError::invalid("message text must not contain NUL characters"))?;
        let mut prompt = model.apply_chat_template(&self.template, &messages, true).map_err(|err| {
            ApiError::invalid(format!("the model's chat template could not format the request: {err}"))
        })?;
        if let Some(prefill) = &conversation.prefill {
            prompt.push_str(prefill);
        }
        Ok(prompt)
    }

    pub(crate) fn describe(&self) -> String {
        match &self.source {
            TemplateSource::Gguf => "from the GGUF".to_owned(),
            TemplateSource::Configured(name) => format!("built-in \"{name}\""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bivio_protocol::ir::{ImageSource, Message, SystemText};
    use serde_json::json;

    fn request(system: &[&str], messages: Vec<Message>) -> ChatRequest {
        ChatRequest {
            system: system.iter().map(|t| SystemText { text: (*t).into(), cache_control: None }).collect(),
            messages,
            ..ChatRequest::default()
        }
    }

    fn user(blocks: Vec<Block>) -> Message {
        Message { role: Role::User, content: blocks }
    }

    #[test]
    fn system_texts_join_into_one_system_turn() {
        let conversation =
            Conversation::from_request(&request(&["a", " ", "b"], vec![user(vec![Block::text("hi")])])).unwrap();
        assert_eq!(
            conversation.turns,
            vec![Turn { role: "system", content: "a\n\nb".into() }, Turn { role: "user", content: "hi".into() }]
        );
        assert_eq!(conversation.prefill, None);
    }

    #[test]
    fn trailing_assistant_turn_is_a_prefill() {
        let messages = vec![
            user(vec![Block::text("q")]),
            Message { role: Role::Assistant, content: vec![Block::text("The answer is")] },
        ];
        let conversation = Conversation::from_request(&request(&[], messages)).unwrap();
        assert_eq!(conversation.turns.len(), 1);
        assert_eq!(conversation.prefill.as_deref(), Some("The answer is"));
    }

    #[test]
    fn tools_become_text_and_thinking_is_dropped() {
        let messages = vec![
            user(vec![Block::text("weather?")]),
            Message {
                role: Role::Assistant,
                content: vec![
                    Block::Thinking { thinking: "hmm".into(), signature: None },
                    Block::ToolUse {
                        id: "t1".into(),
                        name: "get".into(),
                        input: json!({"c":"Rome"}),
                        cache_control: None,
                    },
                ],
            },
            user(vec![Block::ToolResult {
                tool_use_id: "t1".into(),
                content: ToolResultContent::Text("sunny".into()),
                is_error: false,
                cache_control: None,
            }]),
        ];
        let conversation = Conversation::from_request(&request(&[], messages)).unwrap();
        assert_eq!(conversation.turns[1].content, r#"[tool call get (t1): {"c":"Rome"}]"#);
        assert_eq!(conversation.turns[2].content, "[tool result (t1): sunny]");
    }

    #[test]
    fn images_are_refused() {
        let image =
            Block::Image { source: ImageSource::Url { url: "https://example.com/a.png".into() }, cache_control: None };
        let err = Conversation::from_request(&request(&[], vec![user(vec![image.clone()])])).unwrap_err();
        assert_eq!(err.kind, bivio_protocol::ErrorKind::InvalidRequest);
        assert!(err.message.contains("does not take images"));
        let nested = Block::ToolResult {
            tool_use_id: "t".into(),
            content: ToolResultContent::Blocks(vec![image]),
            is_error: false,
            cache_control: None,
        };
        assert!(Conversation::from_request(&request(&[], vec![user(vec![nested])])).is_err());
    }
}
