//! Anthropic's Messages API on the wire.

mod passthrough;
mod request;
mod response;
mod stream;

pub use passthrough::prepare_passthrough;
pub use request::{DEFAULT_MAX_TOKENS, encode_request, parse_request};
pub use response::{parse_response, parse_usage, render_response};
pub use stream::{StreamDecoder, StreamEncoder, error_frame};
