//! The server as a library function: given a configuration, a bound HTTP listener and a
//! shutdown signal, run until the signal fires. Tests start it on port 0; `sift serve` starts
//! it on the configured addresses.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::api::{self, Authenticator};
use crate::config::Config;
use crate::ingest::Ingest;
use crate::observe::LogLimiter;

/// What every request handler shares.
pub struct AppState {
    pub config: Config,
    pub ingest: Ingest,
    pub auth: Authenticator,
    /// Rate limit for logging rejected requests.
    pub api_log: LogLimiter,
    /// Set once the server can answer queries (after start-up work).
    pub ready: AtomicBool,
}

impl AppState {
    pub fn new(config: Config) -> AppState {
        let ingest = Ingest::new(&config);
        let auth = Authenticator::new(config.auth.users.clone());
        AppState { config, ingest, auth, api_log: LogLimiter::default(), ready: AtomicBool::new(false) }
    }
}

/// Serves HTTP on `listener` until `shutdown` completes, then finishes open requests.
pub async fn run(
    state: Arc<AppState>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let router = api::router(Arc::clone(&state));
    state.ready.store(true, Ordering::Release);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await.context("HTTP server failed")?;
    Ok(())
}
