//! bivio's HTTP gateway. [`app`] builds the axum router over an [`AppState`]; handlers are thin: read the
//! body (bounded), hand it to [`pipeline`], return what it renders.

pub mod config;
mod egress;
pub mod metrics;
mod observe;
pub mod pipeline;
pub mod privacy;
mod respond;
mod restore;
mod routes;
pub mod routing;

use std::sync::Arc;

pub use config::Config;
pub use routes::app;

/// Shared state of a running gateway: the config, where records go, and the metrics.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub ledger: bivio_ledger::LedgerWriter,
    pub metrics: Arc<metrics::Metrics>,
}

impl AppState {
    pub fn new(config: Config, ledger: bivio_ledger::LedgerWriter) -> Result<AppState, prometheus::Error> {
        Ok(AppState { config: Arc::new(config), ledger, metrics: Arc::new(metrics::Metrics::new()?) })
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Nagle's algorithm would hold a streamed frame back until the client acknowledges the previous one
    // (~40 ms with delayed ACKs): every SSE frame must leave as soon as it is written.
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "could not set TCP_NODELAY");
        }
    });
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}
