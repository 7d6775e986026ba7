//! `sift serve`: load the configuration, bind the listeners, print one `listening <what> on
//! <addr>` line per listener, and run until SIGINT or SIGTERM. SIGHUP reloads the
//! classification rules and the TLS certificate from the configuration file without losing
//! events.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use tracing::{info, warn};

use super::ServeArgs;
use crate::app;
use crate::config::{self, Config};

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
    raise_open_files_limit(config.syslog.max_connections + config.http.max_connections);
    let listeners = app::Listeners::bind(&config)?;
    let running = app::start(config, listeners, Some(Box::new(move || load(&args))))?;
    let addresses = running.addresses();
    announce("syslog", addresses.syslog)?;
    if let Some(addr) = addresses.syslog_tls {
        announce("syslog-tls", addr)?;
    }
    announce("popcorn", addresses.popcorn)?;
    // Last: scripts and tests take this line to mean every listener is up.
    announce("http", addresses.http)?;
    running.run_until(shutdown_signal()).await
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
