//! `bivio-mock-upstream`: the mock as a process, for tests written in other languages.
//!
//! Prints exactly one line, `listening on http://ADDR`, once bound (so a test harness can read
//! the port), then serves until killed. Logs go to stderr via `RUST_LOG`.

use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::Context as _;
use bivio_mock_upstream::{MockOptions, MockUpstream};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Scripted Anthropic / OpenAI-compatible upstream for bivio's tests")]
struct Args {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Require this API key (x-api-key or Authorization: Bearer) on API requests.
    #[arg(long, env = "BIVIO_MOCK_REQUIRE_KEY")]
    require_key: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let mock = MockUpstream::bind(args.listen, MockOptions { require_key: args.require_key }).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{}", mock.addr()).context("writing to stdout")?;
    stdout.flush().context("flushing stdout")?;
    drop(stdout);
    mock.wait().await
}
