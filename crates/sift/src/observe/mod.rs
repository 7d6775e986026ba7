//! Observing sift itself: its logging, its counters of what it received, accepted and
//! rejected, the hosts and apps it has seen, and the queries it stopped.

mod log_limit;
mod protocols;
mod queries;
mod stats;

pub use log_limit::LogLimiter;
pub use protocols::{ProtocolSnapshot, ProtocolStats};
pub use queries::{QueriesSnapshot, QueryStats};
pub use stats::{NodeStat, Nodes, Stats, StatsSnapshot};

/// Logs to stderr; `SIFT_LOG` (an `EnvFilter` directive) overrides the level.
pub fn init_logging(server: bool) {
    let default = if server { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SIFT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
