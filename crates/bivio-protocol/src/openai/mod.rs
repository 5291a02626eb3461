//! OpenAI's Chat Completions API on the wire.

mod passthrough;
mod request;
mod response;
mod stream_decode;
mod stream_encode;

pub use passthrough::prepare_passthrough;
pub use request::{encode_request, parse_request};
pub use response::{parse_response, parse_usage, render_response};
pub use stream_decode::{ChunkUsage, StreamDecoder};
pub use stream_encode::{StreamEncoder, done_frame, error_frame, usage_chunk};
