//! bivio's HTTP gateway. [`app`] builds the axum router over an [`AppState`]; handlers are thin: read the
//! body (bounded), hand it to [`pipeline`], return what it renders.

pub mod config;
mod egress;
mod observe;
pub mod pipeline;
mod respond;
mod routes;

use std::sync::Arc;

pub use config::Config;
pub use routes::app;

/// Shared, read-only state of a running gateway.
#[derive(Debug, Clone)]
pub struct AppState {
    pub config: Arc<Config>,
}

impl AppState {
    pub fn new(config: Config) -> AppState {
        AppState { config: Arc::new(config) }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; in-flight requests finish first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown).await
}
