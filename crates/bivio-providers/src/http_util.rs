//! HTTP plumbing shared by the wire providers: one pooled client, a POST with timeouts, upstream failures
//! mapped to client-visible errors, and a response body turned into SSE frames as bytes arrive.

use std::time::Duration;

use bivio_protocol::sse::{Frame, SseParser};
use bivio_protocol::{ApiError, ErrorKind};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;

use crate::Timeouts;

/// A pooled client for one upstream.
pub(crate) fn client(timeouts: &Timeouts) -> Result<reqwest::Client, ApiError> {
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(|err| ApiError::new(ErrorKind::Api, format!("could not build the HTTP client: {err}")))
}

/// Sends the request and returns the response once its status and headers are in, or the upstream's error.
pub(crate) async fn send(
    provider: &str,
    request: reqwest::RequestBuilder,
    timeouts: &Timeouts,
) -> Result<reqwest::Response, ApiError> {
    let response = match tokio::time::timeout(timeouts.response, request.send()).await {
        Err(_) => return Err(timeout(provider)),
        Ok(Err(err)) => return Err(transport_error(provider, &err)),
        Ok(Ok(response)) => response,
    };
    if response.status().is_success() {
        return Ok(response);
    }
    Err(upstream_error(provider, response, timeouts).await)
}

/// The whole body of a successful response.
pub(crate) async fn body(provider: &str, response: reqwest::Response, timeouts: &Timeouts) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(timeouts.response, response.bytes()).await {
        Err(_) => Err(timeout(provider)),
        Ok(Err(err)) => Err(transport_error(provider, &err)),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

/// The body as SSE frames. Ends with an `Err` if the connection breaks, goes silent past the idle timeout,
/// or stops in the middle of a frame. Dropping the stream closes the upstream connection.
pub(crate) fn frames(
    provider: String,
    response: reqwest::Response,
    idle: Duration,
) -> BoxStream<'static, Result<Frame, ApiError>> {
    let state = (response.bytes_stream().boxed(), SseParser::new(), provider, false);
    futures::stream::unfold(state, move |(mut body, mut parser, provider, done)| async move {
        if done {
            return None;
        }
        match tokio::time::timeout(idle, body.next()).await {
            Err(_) => {
                let err =
                    ApiError::new(ErrorKind::Timeout, format!("provider `{provider}` stopped sending the stream"));
                Some((vec![Err(err)], (body, parser, provider, true)))
            }
            Ok(Some(Ok(chunk))) => {
                let items = match parser.feed(&chunk) {
                    Ok(frames) => frames.into_iter().map(Ok).collect(),
                    Err(err) => vec![Err(bad_stream(&provider, &err))],
                };
                let failed = items.iter().any(Result::is_err);
                Some((items, (body, parser, provider, failed)))
            }
            Ok(Some(Err(err))) => {
                let err = transport_error(&provider, &err);
                Some((vec![Err(err)], (body, parser, provider, true)))
            }
            Ok(None) => {
                let tail = match parser.finish() {
                    Ok(last) => last.into_iter().map(Ok).collect(),
                    Err(err) => vec![Err(bad_stream(&provider, &err))],
                };
                Some((tail, (body, parser, provider, true)))
            }
        }
    })
    .flat_map(futures::stream::iter)
    .boxed()
}

fn bad_stream(provider: &str, err: &dyn std::fmt::Display) -> ApiError {
    ApiError::new(ErrorKind::BadGateway, format!("provider `{provider}` sent a broken stream: {err}"))
}

fn timeout(provider: &str) -> ApiError {
    ApiError::new(ErrorKind::Timeout, format!("provider `{provider}` did not answer in time"))
}

/// Connection-level failures. reqwest's messages can contain the URL, which holds no secret (keys travel in
/// headers), but are still reduced to what the client needs.
fn transport_error(provider: &str, err: &reqwest::Error) -> ApiError {
    if err.is_timeout() {
        return timeout(provider);
    }
    if err.is_connect() {
        return ApiError::new(ErrorKind::BadGateway, format!("could not connect to provider `{provider}`"));
    }
    ApiError::new(ErrorKind::BadGateway, format!("the connection to provider `{provider}` failed"))
}

/// A non-2xx answer: its status picks the kind, its `Retry-After` is kept, and the message inside its error
/// body (either API's shape) is passed on because it explains what the client did wrong.
async fn upstream_error(provider: &str, response: reqwest::Response, timeouts: &Timeouts) -> ApiError {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let body = tokio::time::timeout(timeouts.response, response.bytes()).await.ok().and_then(Result::ok);
    let message = body
        .as_deref()
        .and_then(|b| serde_json::from_slice::<Value>(b).ok())
        .and_then(|v| v.pointer("/error/message").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| format!("provider `{provider}` answered HTTP {status}"));
    ApiError { kind: ErrorKind::from_status(status), message, retry_after }
}
