//! OpenAI-compatible Chat Completions servers (`POST {api_base}/chat/completions`): vLLM, Ollama's `/v1`,
//! llama.cpp's server, OpenAI, DeepSeek, Groq, Together, Mistral …

use bivio_protocol::{Api, ApiError, ErrorKind};
use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::{
    Completion, EventStream, Provider, Timeouts, UpstreamBody, UpstreamCall, http_util as http, normalise_base,
};

#[derive(Debug)]
pub struct OpenAiCompatProvider {
    name: String,
    base: String,
    api_key: Option<SecretString>,
    timeouts: Timeouts,
    client: reqwest::Client,
}

impl OpenAiCompatProvider {
    /// `api_base` is what an OpenAI SDK would take as `base_url`, e.g. `http://localhost:8000/v1`.
    pub fn new(
        name: &str,
        api_base: &str,
        api_key: Option<SecretString>,
        timeouts: Timeouts,
    ) -> Result<OpenAiCompatProvider, ApiError> {
        Ok(OpenAiCompatProvider {
            name: name.to_owned(),
            base: normalise_base(api_base),
            api_key,
            timeouts,
            client: http::client(&timeouts)?,
        })
    }

    fn post(&self, call: &UpstreamCall) -> Result<reqwest::RequestBuilder, ApiError> {
        let UpstreamBody::Wire(body) = &call.body else {
            return Err(ApiError::new(ErrorKind::Api, "the OpenAI-compatible provider takes wire bodies"));
        };
        let mut request = self.client.post(format!("{}/chat/completions", self.base)).json::<Value>(body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        Ok(request)
    }
}

impl Provider for OpenAiCompatProvider {
    fn wire_api(&self) -> Option<Api> {
        Some(Api::OpenAi)
    }

    fn complete(&self, call: UpstreamCall) -> BoxFuture<'_, Result<Completion, ApiError>> {
        Box::pin(async move {
            let response = http::send(&self.name, self.post(&call)?, &self.timeouts).await?;
            let body = http::body(&self.name, response, &self.timeouts).await?;
            Ok(Completion::Wire { api: Api::OpenAi, body })
        })
    }

    fn stream(&self, call: UpstreamCall) -> BoxFuture<'_, Result<EventStream, ApiError>> {
        Box::pin(async move {
            let response = http::send(&self.name, self.post(&call)?, &self.timeouts).await?;
            let frames = http::frames(self.name.clone(), response, self.timeouts.stream_idle);
            Ok(EventStream::Wire { api: Api::OpenAi, frames })
        })
    }
}
