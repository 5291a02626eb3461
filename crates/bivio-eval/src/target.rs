//! One model to evaluate, reached through the provider the gateway itself uses for it, so a score
//! measures exactly what clients of the gateway get. The request is built as IR, encoded for the
//! provider's wire API with the protocol crate's encoders (or passed as IR to in-process models), and the
//! answer decoded back with the protocol crate's decoders — the same functions as the gateway's pipeline
//! and egress.

use std::sync::Arc;
use std::time::Instant;

use bivio_ledger::Pricing;
use bivio_protocol::ir::{Block, ChatRequest, ChatResponse, Message, Role, ToolChoice};
use bivio_protocol::{Api, anthropic, openai};
use bivio_providers::{Completion, Provider, UpstreamBody, UpstreamCall};

use crate::EvalError;
use crate::item::{Answer, Prompt, ToolCall};

/// A configured model.
#[derive(Debug, Clone)]
pub struct Target {
    /// The gateway's name for it (`[models.NAME]`).
    pub name: String,
    pub provider: Arc<dyn Provider>,
    pub upstream_model: String,
    /// Served on premises ("open") rather than by a cloud API ("closed"), for `bench gap`.
    pub local: bool,
    pub pricing: Pricing,
}

/// Sampling settings shared by every item of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sampling {
    pub temperature: f64,
    pub seed: Option<i64>,
}

impl Target {
    /// One conversation turn: `history` (earlier user/assistant turns) then the prompt's user text.
    pub async fn answer(&self, prompt: &Prompt, history: &[Message], sampling: Sampling) -> Result<Answer, EvalError> {
        let mut messages = history.to_vec();
        messages.push(Message { role: Role::User, content: vec![Block::text(prompt.user.clone())] });
        let request = ChatRequest {
            model: self.name.clone(),
            system: prompt
                .system
                .iter()
                .map(|text| bivio_protocol::ir::SystemText { text: text.clone(), cache_control: None })
                .collect(),
            messages,
            max_tokens: Some(prompt.max_tokens),
            temperature: Some(sampling.temperature),
            seed: sampling.seed,
            stop_sequences: prompt.stop.clone(),
            tools: prompt.tools.clone(),
            tool_choice: (!prompt.tools.is_empty()).then_some(ToolChoice::Auto),
            ..ChatRequest::default()
        };
        let started = Instant::now();
        let response = self.complete(&request).await?;
        let elapsed = started.elapsed();
        let mut answer = answer_of(&response);
        answer.latency_ms = elapsed.as_millis() as u64;
        // Local models without a per-token price cost their machine's busy time (the call's duration).
        answer.cost_usd = self.pricing.cost(&response.usage, elapsed.as_micros() as u64);
        Ok(answer)
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, EvalError> {
        let failed =
            |err: bivio_protocol::ApiError| EvalError::Model { model: self.name.clone(), message: err.message };
        let body = match self.provider.wire_api() {
            Some(Api::Anthropic) => {
                UpstreamBody::Wire(anthropic::encode_request(request, &self.upstream_model).map_err(failed)?)
            }
            Some(Api::OpenAi) => {
                UpstreamBody::Wire(openai::encode_request(request, &self.upstream_model).map_err(failed)?)
            }
            None => UpstreamBody::Ir(Box::new(ChatRequest { model: self.upstream_model.clone(), ..request.clone() })),
        };
        let completion =
            self.provider.complete(UpstreamCall { body, forward_headers: Vec::new() }).await.map_err(failed)?;
        match completion {
            Completion::Wire { api: Api::Anthropic, body } => anthropic::parse_response(&body).map_err(failed),
            Completion::Wire { api: Api::OpenAi, body } => openai::parse_response(&body).map_err(failed),
            Completion::Ir(response) => Ok(response),
        }
    }
}

/// Text blocks joined, tool calls in order; thinking is not part of the answer.
fn answer_of(response: &ChatResponse) -> Answer {
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in &response.content {
        match block {
            Block::Text { text: t, .. } => text.push_str(t),
            Block::ToolUse { name, input, .. } => {
                tool_calls.push(ToolCall { name: name.clone(), arguments: input.clone() })
            }
            _ => {}
        }
    }
    Answer { text, tool_calls, usage: response.usage, ..Answer::default() }
}
