//! Every figure sift keeps about itself at one moment, as plain data: what `/api/v1/stats`
//! renders now and `/metrics` will render later, from the one [`Snapshot`] type so the two can
//! never disagree. [`Observer`] takes it from the parts that keep the figures.

use std::sync::Arc;

use sift_core::{Source, Timestamp};

use super::{
    ConnectionSnapshot, ConnectionStats, Nodes, ProtocolSnapshot, QueriesSnapshot, QueryStats, QueueFigures, Registry,
    StatsSnapshot,
};
use crate::ingest::{Figures, Ingest};

/// Every figure at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub taken: Timestamp,
    /// Events by severity, rejections by source and reason, API requests refused by reason.
    pub events: StatsSnapshot,
    /// The hosts and apps seen.
    pub nodes: Nodes,
    /// Per protocol (every source but `internal`): received, accepted, malformed, dropped.
    pub protocols: Vec<(Source, ProtocolSnapshot)>,
    /// The HTTP listener's connections.
    pub http: ConnectionSnapshot,
    /// The ring, the durable store and the tails.
    pub ingest: Figures,
    /// Every bounded queue by name.
    pub queues: Vec<QueueFigures>,
    /// Queries running now, and those stopped at `query.timeout` or because their client left.
    pub queries: QueriesSnapshot,
    /// HTTP ingest's request bodies held and decodes running.
    pub intake: IntakeFigures,
}

/// What HTTP ingest holds at once, against its bounds.
#[derive(Debug, Clone, Copy, Default)]
pub struct IntakeFigures {
    pub inflight_bytes: usize,
    pub max_inflight_bytes: usize,
    pub decodes: usize,
    pub max_decodes: usize,
    /// Bytes of events reserved by the requests decoding and storing now.
    pub decoding_bytes: usize,
    pub max_decoding_bytes: usize,
}

/// Reads figures kept by a part that `observe` does not know (HTTP ingest's).
pub type Gauge<T> = Arc<dyn Fn() -> T + Send + Sync>;

/// Where the figures are kept: what takes a [`Snapshot`].
#[derive(Clone)]
pub struct Observer {
    ingest: Arc<Ingest>,
    registry: Arc<Registry>,
    connections: Arc<ConnectionStats>,
    queries: Arc<QueryStats>,
    intake: Gauge<IntakeFigures>,
}

impl Observer {
    pub fn new(
        ingest: Arc<Ingest>,
        registry: Arc<Registry>,
        connections: Arc<ConnectionStats>,
        queries: Arc<QueryStats>,
        intake: Gauge<IntakeFigures>,
    ) -> Observer {
        Observer { ingest, registry, connections, queries, intake }
    }

    pub fn snapshot(&self) -> Snapshot {
        let stats = self.ingest.stats();
        let protocols = Source::ALL
            .into_iter()
            .filter(|source| *source != Source::Internal)
            .map(|source| (source, self.ingest.protocols().snapshot(source)))
            .collect();
        Snapshot {
            taken: Timestamp::now(),
            events: stats.snapshot(),
            nodes: stats.nodes(),
            protocols,
            http: self.connections.snapshot(),
            ingest: self.ingest.figures(),
            queues: self.registry.figures(),
            queries: self.queries.snapshot(),
            intake: (self.intake)(),
        }
    }
}
