//! `sift serve`: load the configuration, bind the listeners, print one `listening <what> on
//! <addr>` line per listener, and run until SIGINT or SIGTERM. SIGHUP reloads the
//! classification rules and the TLS certificate from the configuration file without losing
//! events.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tracing::{error, info, warn};

use super::ServeArgs;
use crate::app::{self, AppState};
use crate::config::{self, Config};
use crate::flusher::{FlushPolicy, Flusher};
use crate::sources::Listeners;
use crate::tls::Tls;

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = load(&args)?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    runtime.block_on(serve(args, config))?;
    Ok(ExitCode::SUCCESS)
}

fn load(args: &ServeArgs) -> anyhow::Result<Config> {
    let overrides = config::Overrides {
        data_dir: args.data_dir.clone(),
        http: args.http.clone(),
        syslog: args.syslog.clone(),
        popcorn: args.popcorn.clone(),
        memory_only: args.memory_only,
    };
    Ok(config::load(args.config.as_deref(), config::process_env(), &overrides)?)
}

async fn serve(args: ServeArgs, config: Config) -> anyhow::Result<()> {
    raise_open_files_limit(config.syslog.max_connections + config.http.max_connections);
    let tls = config.http.tls.as_ref().map(Tls::new).transpose().context("cannot set up TLS")?;
    let http = TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", config.http.listen))?;
    let listeners = Listeners::bind(&config)?;
    warn_in_clear(&config);
    let state = Arc::new(AppState::open(config)?);
    let flusher = match &state.ingest.store {
        Some(store) => Some(
            Flusher::start(Arc::clone(store), flush_policy(&state.config), state.config.retention.check_interval)
                .context("cannot start the flusher thread")?,
        ),
        None => None,
    };
    reload_on_hangup(args, Arc::clone(&state), tls.clone())?;
    let (syslog, popcorn) = (listeners.syslog_addr()?, listeners.popcorn_addr()?);
    let syslog_tls = listeners.syslog_tls_addr()?;
    let sources = listeners.start(Arc::clone(&state), tls.as_ref())?;
    announce("syslog", syslog)?;
    if let Some(addr) = syslog_tls {
        announce("syslog-tls", addr)?;
    }
    announce("popcorn", popcorn)?;
    // Last: scripts and tests take this line to mean every listener is up (HTTPS too).
    announce("http", http.local_addr().context("listener has no address")?)?;
    app::run(state, http, tls, shutdown_signal()).await?;
    sources.stop().await;
    if let Some(flusher) = flusher {
        tokio::task::spawn_blocking(move || flusher.stop()).await.context("the last flush failed")?;
    }
    info!("stopped");
    Ok(())
}

/// Each HTTP and syslog TCP connection is an open file: raise the soft limit on open files to
/// the hard limit (often 1,024 against 500,000), so `http.max_connections` and
/// `syslog.max_connections` can be reached, and say so when even the hard limit is too low.
#[cfg(unix)]
fn raise_open_files_limit(connections: usize) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else { return };
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_err() {
        warn!(soft, hard, "cannot raise the limit on open files");
    }
    // Listeners, the WAL, segments being read and a margin.
    let wanted = connections as u64 + 256;
    if hard < wanted {
        warn!(
            limit = hard,
            wanted,
            "the open files limit is below http.max_connections plus syslog.max_connections; raise it (ulimit -n)"
        );
    }
}

#[cfg(not(unix))]
fn raise_open_files_limit(_connections: usize) {}

/// Warns about each listener beyond loopback that carries passwords, tokens or logs in clear.
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

/// Prints `listening <what> on <addr>` on stdout, where scripts and tests read the address.
fn announce(what: &str, addr: std::net::SocketAddr) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening {what} on {addr}")?;
    stdout.flush()?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                warn!(%error, "cannot watch SIGTERM");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    info!("shutting down");
}

/// On SIGHUP, reads the configuration again and replaces the classification rules and the
/// TLS certificate (for connections from then on). Other settings need a restart; a
/// configuration with errors (a certificate that does not load) is reported and the rules
/// and certificate in force stay.
///
/// The handler is installed before this returns (and so before the `listening` line is
/// printed): until then a SIGHUP would end the process.
#[cfg(unix)]
fn reload_on_hangup(args: ServeArgs, state: Arc<AppState>, tls: Option<Tls>) -> anyhow::Result<()> {
    let mut hangup =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).context("cannot watch SIGHUP")?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            let reloaded = tokio::task::spawn_blocking({
                let args = args.clone();
                move || load(&args)
            })
            .await;
            match reloaded {
                Ok(Ok(config)) => {
                    reload_certificate(tls.as_ref(), &config);
                    // The file's rules replace any set through the API, here and after a restart.
                    if let Err(error) = state.state_db.clear_rules() {
                        error!(%error, "rules not reloaded: the rules stored through the API could not be cleared");
                        continue;
                    }
                    let count = config.classify.len();
                    state.ingest.pipeline.set_rules(config.classify);
                    info!(rules = count, "reloaded classification rules on SIGHUP");
                }
                Ok(Err(error)) => {
                    error!("configuration not reloaded, the rules and certificate in force stay: {error:#}")
                }
                Err(error) => error!(%error, "configuration reload failed"),
            }
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn reload_on_hangup(_args: ServeArgs, _state: Arc<AppState>, _tls: Option<Tls>) -> anyhow::Result<()> {
    Ok(())
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

fn flush_policy(config: &Config) -> FlushPolicy {
    FlushPolicy { events: config.storage.flush_events, after: config.storage.flush_interval }
}
