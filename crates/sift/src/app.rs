//! The server as a library function: given a configuration, a bound HTTP listener and a
//! shutdown signal, run until the signal fires. Tests start it on port 0; `sift serve` starts
//! it on the configured addresses.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::api::{self, Authenticator, Intake};
use crate::config::Config;
use crate::config::{RetentionConfig, WalFsync};
use crate::ingest::Ingest;
use crate::observe::LogLimiter;
use crate::pipeline::classify::{RawRule, Rule};
use sift_core::Batch;
use sift_store::{FsyncPolicy, Retention, StateDb, Store, StoreOptions};
use tracing::{info, warn};

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
    /// The request bodies of HTTP ingest held and decoded at once.
    pub intake: Intake,
}

impl AppState {
    /// Opens the data directory (or, with `storage.memory_only`, keeps everything in memory)
    /// and sets up the parts. Rules stored through the API replace the file's rules.
    pub fn open(config: Config) -> anyhow::Result<AppState> {
        let (state_db, store) = if config.storage.memory_only {
            (StateDb::in_memory()?, None)
        } else {
            std::fs::create_dir_all(&config.data_dir)
                .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
            // The store first: it locks the data directory against a second server.
            let store = open_store(&config)?;
            (StateDb::open(&config.data_dir.join(STATE_DB_FILE))?, Some(store))
        };
        let (store, replayed) = match store {
            Some((store, replayed)) => (Some(Arc::new(store)), replayed),
            None => (None, Vec::new()),
        };
        let ingest = Ingest::new(&config, store);
        // The latest stored events go back into the ring, for tails' backlogs: the very
        // batches pending in the store, shared (a restart after a crash may bring back a million).
        ingest.ring.restore(replayed);
        if let Some(rules) = stored_rules(&state_db)? {
            info!(rules = rules.len(), "using the classification rules stored through the API");
            ingest.pipeline.set_rules(rules);
        }
        let auth = Authenticator::new(config.auth.users.clone());
        let intake = Intake::new(config.http.max_inflight_bytes);
        Ok(AppState {
            config,
            ingest,
            state_db,
            auth,
            api_log: LogLimiter::default(),
            ready: AtomicBool::new(false),
            intake,
        })
    }
}

/// The retention rules of the configuration, as the store applies them.
pub fn retention(config: &RetentionConfig) -> Retention {
    let mut by_severity = [None; 8];
    for (severity, age) in &config.by_severity {
        by_severity[usize::from(severity.syslog())] = Some(*age);
    }
    Retention {
        default: config.default,
        by_severity,
        by_channel: config.by_channel.iter().cloned().collect(),
        max_bytes: config.max_bytes as u64,
    }
}

/// Pending events held in memory, in flushes' worth: older ones are read back from the WAL.
const PENDING_FLUSHES: usize = 4;

/// Opens the durable store in the data directory, replaying its WAL; returns the replayed
/// events too.
fn open_store(config: &Config) -> anyhow::Result<(Store, Vec<Arc<Batch>>)> {
    let fsync = match config.storage.wal_fsync {
        WalFsync::Always => FsyncPolicy::Always,
        WalFsync::Batch => FsyncPolicy::Batch,
        WalFsync::Interval => FsyncPolicy::Interval(config.storage.wal_fsync_interval),
    };
    let started = std::time::Instant::now();
    let retention = retention(&config.retention);
    let (store, opened) = Store::open(StoreOptions {
        dir: config.data_dir.clone(),
        fsync,
        retention,
        max_in_memory: config.storage.flush_events.saturating_mul(PENDING_FLUSHES),
        max_backlog_bytes: config.storage.max_backlog as u64,
        flush_events: config.storage.flush_events,
    })
    .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))?;
    if opened.wal_truncated_bytes > 0 {
        warn!(bytes = opened.wal_truncated_bytes, "cut a torn or corrupt tail off the write-ahead log");
    }
    for broken in &opened.broken_segments {
        warn!(error = %broken, "a segment file cannot be read and is left out");
    }
    info!(
        replayed = opened.replayed_events,
        segments = opened.segments,
        seconds = started.elapsed().as_secs_f64(),
        "opened the store"
    );
    Ok((store, opened.replayed))
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
