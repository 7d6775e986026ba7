//! Observing sift itself: its logging, its counters of what it received, accepted and
//! rejected, and the hosts and apps it has seen.

mod log_limit;
mod logging;
mod protocols;
mod stats;

pub use log_limit::LogLimiter;
pub use logging::{init_client_logging, init_server_logging};
pub use protocols::{ProtocolSnapshot, ProtocolStats};
pub use stats::{NodeStat, Nodes, Stats, StatsSnapshot};
