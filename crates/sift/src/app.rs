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
use crate::pipeline::classify::{RawRule, Rule};
use sift_store::StateDb;
use tracing::info;

/// What every request handler shares.
pub struct AppState {
    pub config: Config,
    pub ingest: Ingest,
    /// Rules edited at run time, channels, tokens: what survives a restart and is not an event.
    pub state_db: StateDb,
    pub auth: Authenticator,
    /// Rate limit for logging rejected requests.
    pub api_log: LogLimiter,
    /// Set once the server can answer queries (after start-up work).
    pub ready: AtomicBool,
}

impl AppState {
    /// Opens the data directory (or, with `storage.memory_only`, keeps everything in memory)
    /// and sets up the parts. Rules stored through the API replace the file's rules.
    pub fn open(config: Config) -> anyhow::Result<AppState> {
        let state_db = if config.storage.memory_only {
            StateDb::in_memory()?
        } else {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
            StateDb::open(&config.data_dir.join(STATE_DB_FILE))?
        };
        let ingest = Ingest::new(&config);
        if let Some(rules) = stored_rules(&state_db)? {
            info!(rules = rules.len(), "using the classification rules stored through the API");
            ingest.pipeline.set_rules(rules);
        }
        let auth = Authenticator::new(config.auth.users.clone());
        Ok(AppState { config, ingest, state_db, auth, api_log: LogLimiter::default(), ready: AtomicBool::new(false) })
    }
}

/// The state database's file name inside the data directory.
pub const STATE_DB_FILE: &str = "state.db";

/// Rules stored through `PUT /api/v1/rules`, compiled; `None` when the file's rules apply.
fn stored_rules(state_db: &StateDb) -> anyhow::Result<Option<Vec<Rule>>> {
    let Some(texts) = state_db.rules()? else { return Ok(None) };
    let mut rules = Vec::with_capacity(texts.len());
    for (index, text) in texts.iter().enumerate() {
        let raw: RawRule = serde_json::from_str(text)
            .with_context(|| format!("rule {index} stored in {STATE_DB_FILE} is not valid: {text}"))?;
        let rule = Rule::compile(raw, index).map_err(|errors| {
            let reasons: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.key, e.message)).collect();
            anyhow::anyhow!(
                "rule {index} stored in {STATE_DB_FILE} no longer compiles ({}); replace the rules with PUT /api/v1/rules or reload the file's rules with SIGHUP",
                reasons.join("; ")
            )
        })?;
        rules.push(rule);
    }
    Ok(Some(rules))
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
