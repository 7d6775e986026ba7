//! sift's own log, on standard error.
//!
//! `sift serve` sets it up from its configuration (`[log] level` and `format`), once the
//! configuration has loaded (an error loading it is printed by `main` as any error is): the
//! level is `[log] level` (or `SIFT_LOG_LEVEL`) when set, else `RUST_LOG` when set, else
//! `info`; the format is text, or JSON with one object per line. The client commands log
//! only warnings and errors, or what `RUST_LOG` asks for. Text is coloured only when standard
//! error is a terminal and `NO_COLOR` is unset, so a log written to a file or a journal holds
//! no escape sequences.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// The log of a client command: `RUST_LOG`, else warnings and errors, as coloured text on a
/// terminal.
pub fn init_client_logging() {
    let (filter, problem) = filter_from_rust_log("warn");
    init(filter, LogFormat::Text);
    if let Some(problem) = problem {
        tracing::warn!("{problem}");
    }
}

/// The log of `sift serve`, as its configuration says.
pub fn init_server_logging(config: &LogConfig) {
    let (filter, problem) = match &config.level {
        // Checked when the configuration was compiled.
        Some(level) => (EnvFilter::builder().parse_lossy(level), None),
        None => filter_from_rust_log("info"),
    };
    init(filter, config.format);
    if let Some(problem) = problem {
        tracing::warn!("{problem}");
    }
}

/// The filter `RUST_LOG` gives, or `default` when it is unset, empty or does not parse (with
/// the reason to log once logging is up).
fn filter_from_rust_log(default: &str) -> (EnvFilter, Option<String>) {
    let Some(value) = std::env::var("RUST_LOG").ok().filter(|value| !value.trim().is_empty()) else {
        return (EnvFilter::new(default), None);
    };
    match EnvFilter::builder().parse(&value) {
        Ok(filter) => (filter, None),
        Err(error) => (EnvFilter::new(default), Some(format!("RUST_LOG ignored, logging at {default}: {error}"))),
    }
}

fn init(filter: EnvFilter, format: LogFormat) {
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second set-up (tests in one process) keeps the first; nothing to report.
    let _ = match format {
        LogFormat::Text => builder.with_ansi(colour()).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Whether text lines are coloured: only on a terminal, and not when `NO_COLOR` is set.
fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}
