//! Client-visible errors and their rendering in each API's shape.
//!
//! Every failure the gateway reports ends up as an [`ApiError`]: a kind (which fixes the HTTP status and
//! both APIs' error type names) and a message that is safe to show (no secrets, no upstream bodies).

use serde_json::{Value, json};

/// The error categories both APIs know, each with one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    Authentication,
    Permission,
    NotFound,
    RequestTooLarge,
    RateLimit,
    /// The upstream or the gateway failed (500).
    Api,
    /// The upstream is unreachable or answered garbage (502).
    BadGateway,
    /// No backend can take the request now (503).
    Unavailable,
    /// The upstream did not answer in time (504).
    Timeout,
    /// The upstream is overloaded (529, Anthropic's own status).
    Overloaded,
}

impl ErrorKind {
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::Permission => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::RequestTooLarge => 413,
            ErrorKind::RateLimit => 429,
            ErrorKind::Api => 500,
            ErrorKind::BadGateway => 502,
            ErrorKind::Unavailable => 503,
            ErrorKind::Timeout => 504,
            ErrorKind::Overloaded => 529,
        }
    }

    /// Anthropic's `error.type`.
    pub fn anthropic_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::Permission => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::RequestTooLarge => "request_too_large",
            ErrorKind::RateLimit => "rate_limit_error",
            ErrorKind::Api | ErrorKind::BadGateway => "api_error",
            ErrorKind::Unavailable | ErrorKind::Overloaded => "overloaded_error",
            ErrorKind::Timeout => "timeout_error",
        }
    }

    /// OpenAI's `error.type`.
    pub fn openai_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::RequestTooLarge => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::Permission => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::RateLimit => "rate_limit_exceeded",
            ErrorKind::Api | ErrorKind::BadGateway => "api_error",
            ErrorKind::Unavailable | ErrorKind::Overloaded => "overloaded_error",
            ErrorKind::Timeout => "timeout",
        }
    }

    /// A stable label for metrics and the ledger.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Authentication => "authentication",
            ErrorKind::Permission => "permission",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RequestTooLarge => "request_too_large",
            ErrorKind::RateLimit => "rate_limit",
            ErrorKind::Api => "api",
            ErrorKind::BadGateway => "bad_gateway",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Overloaded => "overloaded",
        }
    }

    /// The kind an upstream HTTP status means.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            400 | 422 => ErrorKind::InvalidRequest,
            401 => ErrorKind::Authentication,
            403 => ErrorKind::Permission,
            404 => ErrorKind::NotFound,
            408 | 504 => ErrorKind::Timeout,
            413 => ErrorKind::RequestTooLarge,
            429 => ErrorKind::RateLimit,
            502 => ErrorKind::BadGateway,
            503 => ErrorKind::Unavailable,
            529 => ErrorKind::Overloaded,
            _ => ErrorKind::Api,
        }
    }

    /// The kind an Anthropic or OpenAI `error.type` string means (for errors inside streams).
    pub fn from_type_name(name: &str) -> ErrorKind {
        match name {
            "invalid_request_error" => ErrorKind::InvalidRequest,
            "authentication_error" => ErrorKind::Authentication,
            "permission_error" => ErrorKind::Permission,
            "not_found_error" => ErrorKind::NotFound,
            "request_too_large" => ErrorKind::RequestTooLarge,
            "rate_limit_error" | "rate_limit_exceeded" => ErrorKind::RateLimit,
            "overloaded_error" => ErrorKind::Overloaded,
            "timeout_error" | "timeout" => ErrorKind::Timeout,
            _ => ErrorKind::Api,
        }
    }
}

/// An error as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    /// Seconds the client should wait before retrying (rate limits, overload).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ApiError {
        ApiError { kind, message: message.into(), retry_after: None }
    }

    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::InvalidRequest, message)
    }

    /// Anthropic's error body.
    pub fn anthropic_body(&self, request_id: &str) -> Value {
        json!({
            "type": "error",
            "error": { "type": self.kind.anthropic_type(), "message": self.message },
            "request_id": request_id,
        })
    }

    /// OpenAI's error body.
    pub fn openai_body(&self) -> Value {
        json!({
            "error": {
                "message": self.message,
                "type": self.kind.openai_type(),
                "param": null,
                "code": self.kind.label(),
            }
        })
    }
}
