//! Observing sift itself: its logging, its counters of what it received, accepted and
//! rejected, the hosts and apps it has seen, every bounded queue with its figures, and the
//! queries it stopped.

mod connections;
mod log_limit;
mod logging;
mod protocols;
mod queries;
pub mod queue;
mod reasons;
mod snapshot;
mod stats;

pub use connections::{ConnectionSnapshot, ConnectionStats};
pub use log_limit::LogLimiter;
pub use logging::{init_client_logging, init_server_logging};
pub use protocols::{ProtocolSnapshot, ProtocolStats};
pub use queries::{QueriesSnapshot, QueryStats};
pub use queue::{Policy, QueueFigures, Registry, Weigh};
pub use reasons::{CloseReason, DropReason};
pub use snapshot::{Gauge, IntakeFigures, Observer, Snapshot};
pub use stats::{NodeStat, Nodes, Stats, StatsSnapshot};
