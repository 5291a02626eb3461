//! Claude's Messages API (`POST {api_base}/v1/messages`).

use bivio_protocol::{Api, ApiError, ErrorKind};
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::{
    Completion, EventStream, Provider, Timeouts, UpstreamBody, UpstreamCall, http_util as http, normalise_base,
};

/// The API version sent when the client (an OpenAI client) gave none.
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

#[derive(Debug)]
pub struct AnthropicProvider {
    name: String,
    base: String,
    api_key: Option<SecretString>,
    timeouts: Timeouts,
    client: reqwest::Client,
}

impl AnthropicProvider {
    /// `api_base` is the server root, e.g. `https://api.anthropic.com` (a trailing `/v1` is accepted too).
    pub fn new(
        name: &str,
        api_base: &str,
        api_key: Option<SecretString>,
        timeouts: Timeouts,
    ) -> Result<AnthropicProvider, ApiError> {
        let base = normalise_base(api_base);
        let base = base.strip_suffix("/v1").map(str::to_owned).unwrap_or(base);
        Ok(AnthropicProvider { name: name.to_owned(), base, api_key, timeouts, client: http::client(&timeouts)? })
    }

    fn post(
        &self,
        path: &str,
        body: &Value,
        forward: &[(reqwest::header::HeaderName, reqwest::header::HeaderValue)],
    ) -> reqwest::RequestBuilder {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(body);
        let mut has_version = false;
        for (name, value) in forward {
            has_version |= name == "anthropic-version";
            request = request.header(name, value);
        }
        if !has_version {
            request = request.header("anthropic-version", DEFAULT_ANTHROPIC_VERSION);
        }
        if let Some(key) = &self.api_key {
            request = request.header("x-api-key", key.expose_secret());
        }
        request
    }

    fn wire_body(&self, call: &UpstreamCall) -> Result<Value, ApiError> {
        match &call.body {
            UpstreamBody::Wire(body) => Ok(body.clone()),
            UpstreamBody::Ir(_) => Err(ApiError::new(ErrorKind::Api, "the Anthropic provider takes wire bodies")),
        }
    }
}

impl Provider for AnthropicProvider {
    fn wire_api(&self) -> Option<Api> {
        Some(Api::Anthropic)
    }

    fn complete(&self, call: UpstreamCall) -> BoxFuture<'_, Result<Completion, ApiError>> {
        Box::pin(async move {
            let body = self.wire_body(&call)?;
            let response =
                http::send(&self.name, self.post("/v1/messages", &body, &call.forward_headers), &self.timeouts).await?;
            let body = http::body(&self.name, response, &self.timeouts).await?;
            Ok(Completion::Wire { api: Api::Anthropic, body })
        })
    }

    fn stream(&self, call: UpstreamCall) -> BoxFuture<'_, Result<EventStream, ApiError>> {
        Box::pin(async move {
            let body = self.wire_body(&call)?;
            let response =
                http::send(&self.name, self.post("/v1/messages", &body, &call.forward_headers), &self.timeouts).await?;
            let frames = http::frames(self.name.clone(), response, self.timeouts.stream_idle);
            Ok(EventStream::Wire { api: Api::Anthropic, frames })
        })
    }

    fn count_tokens(
        &self,
        body: Value,
        forward_headers: Vec<(::http::HeaderName, ::http::HeaderValue)>,
    ) -> BoxFuture<'_, Result<Option<u64>, ApiError>> {
        Box::pin(async move {
            let request = self.post("/v1/messages/count_tokens", &body, &forward_headers);
            let response = http::send(&self.name, request, &self.timeouts).await?;
            let bytes = http::body(&self.name, response, &self.timeouts).await?;
            let value: Value = serde_json::from_slice(&bytes).map_err(|_| {
                ApiError::new(ErrorKind::BadGateway, format!("provider `{}` sent an unreadable token count", self.name))
            })?;
            Ok(value.get("input_tokens").and_then(Value::as_u64))
        })
    }
}
