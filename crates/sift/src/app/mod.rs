//! The server's lifecycle. [`start`] opens the data directory, builds every part from the
//! configuration and starts every task and thread on listeners bound beforehand (so `sift
//! serve` can fail early on a port in use and announce real addresses); the [`Running`] it
//! returns owns them all, and [`Running::shutdown`] stops them in order with one shutdown
//! token: HTTP stops accepting and every stream (tails) ends with a final message, the
//! listeners stop reading and hand over what they hold, then a last flush writes the backlog.
//!
//! [`AppState`] is what request handlers share. Its fields are private: a handler takes the
//! part it uses (`State<Arc<Ingest>>`, `State<Arc<Rules>>`, ...) through axum's `FromRef`.

mod listeners;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::extract::FromRef;
use sift_core::Batch;
use sift_store::{FsyncPolicy, MinFree, Retention, StateDb, Store, StoreOptions};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

pub use listeners::Listeners;

use crate::api::{self, Authenticator, Intake, Queries};
use crate::config::{Config, RetentionConfig, WalFsync};
use crate::flusher::{FlushPolicy, Flusher};
use crate::ingest::Ingest;
use crate::observe::{ConnectionStats, Gauge, IntakeFigures, LogLimiter, Observer, QueryStats, Registry, Stats};
use crate::pipeline::rules::{RuleStorage, Rules};
use crate::tls::Tls;

/// What every request handler shares; each takes only the part it uses.
#[derive(Clone, FromRef)]
pub struct AppState {
    ingest: Arc<Ingest>,
    auth: Arc<Authenticator>,
    /// Channels and tokens: what survives a restart and is not an event.
    state_db: Arc<StateDb>,
    rules: Arc<Rules>,
    limits: Arc<api::Limits>,
    sites: Arc<api::Sites>,
    /// The HTTP listener's connections, opened and closed by reason.
    http_connections: Arc<ConnectionStats>,
    stats: Arc<Stats>,
    /// Every bounded queue's figures.
    registry: Arc<Registry>,
    api_log: Arc<LogLimiter>,
    observer: Observer,
    /// The query slots (`query.max_concurrent`) and what scans need.
    queries: Arc<api::Queries>,
    /// HTTP ingest: request bodies held and decodes running, within their bounds.
    intake: Arc<Intake>,
    ready: Readiness,
    shutdown: Shutdown,
}

/// Whether the server can answer queries yet (`/readyz`).
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// The one shutdown signal every task and stream watches.
#[derive(Clone, Default)]
pub struct Shutdown(CancellationToken);

impl Shutdown {
    /// Completes once the server is stopping.
    pub async fn stopping(&self) {
        self.0.cancelled().await
    }

    pub fn is_stopping(&self) -> bool {
        self.0.is_cancelled()
    }

    fn stop(&self) {
        self.0.cancel();
    }
}

impl AppState {
    /// Opens the data directory (or, with `storage.memory_only`, keeps everything in memory)
    /// and builds the parts; returns the durable store too, for the flusher.
    pub fn open(config: &Config) -> anyhow::Result<(AppState, Option<Arc<Store>>)> {
        let (state_db, store) = if config.storage.memory_only {
            (StateDb::in_memory()?, None)
        } else {
            sift_store::private::create_dir_all(&config.data_dir)
                .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
            // The store first: it locks the data directory against a second server.
            let store = open_store(config)?;
            (StateDb::open(&config.data_dir.join(STATE_DB_FILE))?, Some(store))
        };
        let (store, replayed) = match store {
            Some((store, replayed)) => (Some(Arc::new(store)), replayed),
            None => (None, Vec::new()),
        };
        let state_db = Arc::new(state_db);
        let rules = Arc::new(Rules::open(config.classify.clone(), RuleStorage::new(Arc::clone(&state_db)))?);
        let stats = Arc::new(Stats::default());
        let registry = Arc::new(Registry::default());
        let ingest = Arc::new(Ingest::new(
            config,
            store.clone(),
            replayed,
            rules.set(),
            Arc::clone(&stats),
            Arc::clone(&registry),
        ));
        let http_connections = Arc::new(ConnectionStats::default());
        let query_stats = Arc::new(QueryStats::default());
        let queries = Arc::new(Queries::new(
            Arc::clone(&ingest),
            config.query.max_concurrent,
            config.query.timeout,
            Arc::clone(&query_stats),
        ));
        let intake = Arc::new(Intake::new(Arc::clone(&ingest), config));
        let intake_figures: Gauge<IntakeFigures> = {
            let intake = Arc::clone(&intake);
            Arc::new(move || intake.figures())
        };
        let observer = Observer::new(
            Arc::clone(&ingest),
            Arc::clone(&registry),
            Arc::clone(&http_connections),
            query_stats,
            intake_figures,
        );
        let state = AppState {
            ingest,
            auth: Arc::new(Authenticator::new(config.auth.users.clone())),
            state_db,
            rules,
            limits: Arc::new(api::Limits::from(config)),
            sites: Arc::new(api::Sites::new(&config.http)),
            http_connections,
            stats,
            registry,
            api_log: Arc::new(LogLimiter::default()),
            observer,
            queries,
            intake,
            ready: Readiness::default(),
            shutdown: Shutdown::default(),
        };
        Ok((state, store))
    }
}

/// Reads the configuration again, for SIGHUP.
pub type Reload = Box<dyn Fn() -> anyhow::Result<Config> + Send + Sync>;

/// The listeners' addresses, as bound.
#[derive(Debug, Clone, Copy)]
pub struct Addresses {
    pub http: SocketAddr,
    pub syslog: SocketAddr,
    /// Syslog over TLS, when a certificate is configured.
    pub syslog_tls: Option<SocketAddr>,
    pub popcorn: SocketAddr,
}

/// The running server: every task and thread, stopped by [`Running::shutdown`].
pub struct Running {
    state: AppState,
    addresses: Addresses,
    http: JoinHandle<anyhow::Result<()>>,
    sources: crate::sources::Running,
    flusher: Option<Flusher>,
    hangup: Option<JoinHandle<()>>,
}

/// How long a stop waits for HTTP requests in flight before it cuts them off.
const HTTP_STOP_GRACE: Duration = Duration::from_secs(10);

/// Starts the server on bound listeners. Call it within the async runtime. With `reload`,
/// SIGHUP reads the configuration again and puts its classification rules in force; the
/// handler is installed before this returns (until then a SIGHUP would end the process).
pub fn start(config: Config, listeners: Listeners, reload: Option<Reload>) -> anyhow::Result<Running> {
    let addresses = listeners.addresses()?;
    let tls = config.http.tls.as_ref().map(Tls::new).transpose().context("cannot set up TLS")?;
    warn_in_clear(&config);
    let (state, store) = AppState::open(&config)?;
    let flusher = match store {
        Some(store) => Some(
            Flusher::start(store, flush_policy(&config), config.retention.check_interval, config.storage.compact)
                .context("cannot start the flusher thread")?,
        ),
        None => None,
    };
    let hangup = match reload {
        Some(reload) => Some(reload_on_hangup(reload, Arc::clone(&state.rules), tls.clone())?),
        None => None,
    };
    let Listeners { http, sources } = listeners;
    let sources = sources.start(&config, Arc::clone(&state.ingest), &state.registry, tls.as_ref())?;
    let http = tokio::net::TcpListener::from_std(http).context("cannot serve HTTP")?;
    let (router, limits) = (api::router(state.clone()), api::ConnectionLimits::from(&config.http));
    let (connections, stopping) = (Arc::clone(&state.http_connections), state.shutdown.0.clone());
    let http = tokio::spawn(async move {
        api::serve(router, limits, connections, http, tls, stopping.cancelled_owned())
            .await
            .context("HTTP server failed")
    });
    state.ready.set();
    Ok(Running { state, addresses, http, sources, flusher, hangup })
}

impl Running {
    pub fn addresses(&self) -> Addresses {
        self.addresses
    }

    /// Serves until `signal` completes (or the HTTP server fails), then stops.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> anyhow::Result<()> {
        let failed = tokio::select! {
            () = signal => None,
            served = &mut self.http => Some(served),
        };
        if let Some(served) = failed {
            self.stop_rest().await;
            return served.context("the HTTP server task failed")?;
        }
        self.shutdown().await
    }

    /// Stops everything in order: HTTP (requests in flight finish, streams end with a final
    /// message), the listeners (what they read is submitted), then the last flush.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        self.state.shutdown.stop();
        self.state.ingest.close_streams();
        let served = match tokio::time::timeout(HTTP_STOP_GRACE, &mut self.http).await {
            Ok(served) => served.context("the HTTP server task failed")?,
            Err(_) => {
                warn!(seconds = HTTP_STOP_GRACE.as_secs(), "HTTP requests still running at stop were cut off");
                self.http.abort();
                Ok(())
            }
        };
        self.stop_rest().await;
        served
    }

    async fn stop_rest(self) {
        self.state.shutdown.stop();
        if let Some(hangup) = &self.hangup {
            hangup.abort();
        }
        self.sources.stop().await;
        if let Some(flusher) = self.flusher
            && tokio::task::spawn_blocking(move || flusher.stop()).await.is_err()
        {
            error!("the last flush failed");
        }
        info!("stopped");
    }
}

/// On SIGHUP, reads the configuration again and puts the file's classification rules and TLS
/// certificate in force (the certificate for connections from then on). Other settings need
/// a restart; a configuration with errors (a certificate that does not load) is reported and
/// the rules and certificate in force stay.
#[cfg(unix)]
fn reload_on_hangup(reload: Reload, rules: Arc<Rules>, tls: Option<Tls>) -> anyhow::Result<JoinHandle<()>> {
    let mut hangup =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).context("cannot watch SIGHUP")?;
    let reload = Arc::new(reload);
    Ok(tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            let (reload, rules, tls) = (Arc::clone(&reload), Arc::clone(&rules), tls.clone());
            let reloaded = tokio::task::spawn_blocking(move || {
                let config = reload()?;
                reload_certificate(tls.as_ref(), &config);
                rules.reload_from_file(config.classify).map_err(anyhow::Error::from)
            })
            .await;
            match reloaded {
                Ok(Ok(count)) => info!(rules = count, "reloaded classification rules on SIGHUP"),
                Ok(Err(error)) => {
                    error!("configuration not reloaded, the rules and certificate in force stay: {error:#}")
                }
                Err(error) => error!(%error, "configuration reload failed"),
            }
        }
    }))
}

#[cfg(not(unix))]
fn reload_on_hangup(_reload: Reload, _rules: Arc<Rules>, _tls: Option<Tls>) -> anyhow::Result<JoinHandle<()>> {
    Ok(tokio::spawn(async {}))
}

/// Serves the reloaded configuration's certificate from now on. Turning TLS on or off needs
/// a restart (the listeners would change).
fn reload_certificate(tls: Option<&Tls>, config: &Config) {
    match (tls, &config.http.tls) {
        (Some(tls), Some(files)) => {
            tls.replace(files);
            info!(cert = %files.cert.display(), "reloaded the TLS certificate on SIGHUP");
        }
        (None, None) => {}
        (Some(_), None) => warn!("http.tls_cert is no longer set: TLS stays on until a restart"),
        (None, Some(_)) => warn!("http.tls_cert is now set: TLS starts with the next restart"),
    }
}

/// Says at start which listeners take passwords, tokens or logs in clear beyond loopback.
fn warn_in_clear(config: &Config) {
    let http = config.http.listen;
    if !http.ip().is_loopback() && config.http.tls.is_none() {
        warn!(
            addr = %http,
            "HTTP listens beyond loopback without TLS: passwords, tokens and logs travel in clear; set http.tls_cert and http.tls_key"
        );
    }
    let syslog = config.syslog.listen;
    if !syslog.ip().is_loopback() {
        warn!(
            addr = %syslog,
            "syslog listens beyond loopback without TLS: logs travel in clear; send them over TLS to syslog.tls_listen"
        );
    }
    let popcorn = config.popcorn.listen;
    if !popcorn.ip().is_loopback() {
        warn!(addr = %popcorn, "Popcorn listens beyond loopback, and UDP has no TLS: logs travel in clear");
    }
}

fn flush_policy(config: &Config) -> FlushPolicy {
    FlushPolicy { events: config.storage.flush_events, after: config.storage.flush_interval }
}

/// The retention rules of the configuration, as the store applies them (without a floor of
/// free space: the durable store adds `storage.min_free`).
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
        min_free: MinFree::None,
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
    let retention = Retention { min_free: config.storage.min_free, ..retention(&config.retention) };
    let (store, opened) = Store::open(StoreOptions {
        dir: config.data_dir.clone(),
        fsync,
        retention,
        max_in_memory: config.storage.flush_events.saturating_mul(PENDING_FLUSHES),
        max_backlog_bytes: config.storage.max_backlog as u64,
        flush_events: config.storage.flush_events,
        flush_bytes: config.storage.flush_bytes as u64,
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
