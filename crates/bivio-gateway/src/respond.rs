//! Building HTTP responses in the client's API shape: JSON bodies, errors with the right status and
//! `Retry-After`, and SSE bodies. Every response carries the request id.

use axum::body::Body;
use axum::response::Response;
use bivio_protocol::{Api, ApiError};
use bytes::Bytes;
use futures::Stream;
use http::{HeaderValue, StatusCode, header};

use crate::routing::Labels;

/// Header names bivio sets on every response.
pub const REQUEST_ID: &str = "request-id";
pub const X_REQUEST_ID: &str = "x-request-id";
pub const X_BIVIO_CATEGORY: &str = "x-bivio-category";
pub const X_BIVIO_ROUTE: &str = "x-bivio-route";
pub const X_BIVIO_REASON: &str = "x-bivio-reason";

pub fn json(status: StatusCode, body: Bytes, request_id: &str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    with_request_id(response, request_id)
}

/// An error rendered for `api`'s clients.
pub fn error(api: Api, err: &ApiError, request_id: &str) -> Response {
    let body = match api {
        Api::Anthropic => err.anthropic_body(request_id),
        Api::OpenAi => err.openai_body(),
    };
    let status = StatusCode::from_u16(err.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json(status, Bytes::from(body.to_string()), request_id);
    if let Some(seconds) = err.retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if api == Api::Anthropic && err.kind.status() == 529 {
        // The Anthropic SDK treats 529 as retryable; saying so explicitly helps other clients too.
        response.headers_mut().insert("x-should-retry", HeaderValue::from_static("true"));
    }
    response
}

/// A `text/event-stream` response whose body is `frames`, sent as they are produced.
pub fn sse<S>(frames: S, request_id: &str) -> Response
where
    S: Stream<Item = Result<Bytes, std::convert::Infallible>> + Send + 'static,
{
    let mut response = Response::new(Body::from_stream(frames));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx-style proxies in front of bivio not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    with_request_id(response, request_id)
}

fn with_request_id(mut response: Response, request_id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert(REQUEST_ID, value.clone());
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    response
}

/// The routing headers: what kind of work the request was, where it went, and why.
pub fn with_route_headers(mut response: Response, labels: &Labels) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (X_BIVIO_CATEGORY, labels.category.as_str()),
        (X_BIVIO_ROUTE, labels.route.as_str()),
        (X_BIVIO_REASON, &labels.reasons.join("; ")),
    ] {
        if let Ok(value) = HeaderValue::from_str(&header_safe(value)) {
            headers.insert(name, value);
        }
    }
    response
}

/// Header values must be visible ASCII: anything else (an accented word in a configured rule's reason) is
/// percent-encoded, so nothing is lost and the header stays valid.
fn header_safe(value: &str) -> std::borrow::Cow<'_, str> {
    if value.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'%') {
        return value.into();
    }
    let mut out = String::with_capacity(value.len() + 8);
    for byte in value.bytes() {
        if (0x20..0x7f).contains(&byte) && byte != b'%' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out.into()
}

/// The API a request that matched no chat route most likely speaks, to shape its error.
pub fn guess_api(headers: &http::HeaderMap, path: &str) -> Api {
    if headers.contains_key("anthropic-version")
        || headers.contains_key("x-api-key")
        || path.starts_with("/v1/messages")
    {
        Api::Anthropic
    } else {
        Api::OpenAi
    }
}
