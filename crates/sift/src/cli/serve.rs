//! `sift serve`: load the configuration, bind the listeners, print one `listening <what> on
//! <addr>` line per listener, and run until SIGINT or SIGTERM. SIGHUP reloads the
//! classification rules from the configuration file without losing events.

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

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = load(&args)?;
    crate::observe::init_server_logging(&config.log);
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
    raise_open_files_limit(config.syslog.max_connections);
    let http = TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", config.http.listen))?;
    let listeners = Listeners::bind(&config)?;
    let state = Arc::new(AppState::open(config)?);
    let flusher = match &state.ingest.store {
        Some(store) => Some(
            Flusher::start(Arc::clone(store), flush_policy(&state.config), state.config.retention.check_interval)
                .context("cannot start the flusher thread")?,
        ),
        None => None,
    };
    reload_on_hangup(args, Arc::clone(&state))?;
    let (syslog, popcorn) = (listeners.syslog_addr()?, listeners.popcorn_addr()?);
    let sources = listeners.start(Arc::clone(&state))?;
    announce("syslog", syslog)?;
    announce("popcorn", popcorn)?;
    // Last: scripts and tests take this line to mean every listener is up.
    announce("http", http.local_addr().context("listener has no address")?)?;
    app::run(state, http, shutdown_signal()).await?;
    sources.stop().await;
    if let Some(flusher) = flusher {
        tokio::task::spawn_blocking(move || flusher.stop()).await.context("the last flush failed")?;
    }
    info!("stopped");
    Ok(())
}

/// Each syslog TCP connection is an open file: raise the soft limit on open files to the
/// hard limit (often 1,024 against 500,000), so `syslog.max_connections` can be reached, and
/// say so when even the hard limit is too low.
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
        warn!(limit = hard, wanted, "the open files limit is below syslog.max_connections; raise it (ulimit -n)");
    }
}

#[cfg(not(unix))]
fn raise_open_files_limit(_connections: usize) {}

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

/// On SIGHUP, reads the configuration again and replaces the classification rules. Other
/// settings need a restart; a configuration with errors is reported and the rules in force stay.
///
/// The handler is installed before this returns (and so before the `listening` line is
/// printed): until then a SIGHUP would end the process.
#[cfg(unix)]
fn reload_on_hangup(args: ServeArgs, state: Arc<AppState>) -> anyhow::Result<()> {
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
                    // The file's rules replace any set through the API, here and after a restart.
                    if let Err(error) = state.state_db.clear_rules() {
                        error!(%error, "rules not reloaded: the rules stored through the API could not be cleared");
                        continue;
                    }
                    let count = config.classify.len();
                    state.ingest.pipeline.set_rules(config.classify);
                    info!(rules = count, "reloaded classification rules on SIGHUP");
                }
                Ok(Err(error)) => error!("configuration not reloaded, the rules in force stay: {error:#}"),
                Err(error) => error!(%error, "configuration reload failed"),
            }
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn reload_on_hangup(_args: ServeArgs, _state: Arc<AppState>) -> anyhow::Result<()> {
    Ok(())
}

fn flush_policy(config: &Config) -> FlushPolicy {
    FlushPolicy { events: config.storage.flush_events, after: config.storage.flush_interval }
}
