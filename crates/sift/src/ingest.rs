//! Ingest: the one path every source's events take into the server. Decoded items go
//! through the pipeline; accepted events are written to the ring (so a search right after
//! the acknowledgment sees them) and then published on the bus to live consumers.
//! Rejections are counted by source and reason and logged at most once a second per reason.

use sift_core::{Event, Source};
use sift_store::{Ring, RingLimits};
use tracing::warn;

use crate::bus::Bus;
use crate::config::Config;
use crate::observe::{LogLimiter, Stats};
use crate::pipeline::{Pipeline, Rejection};

pub struct Ingest {
    pub pipeline: Pipeline,
    pub ring: Ring,
    pub bus: Bus,
    pub stats: Stats,
    log: LogLimiter,
}

/// The outcome of one submission.
#[derive(Debug, Default)]
pub struct Report {
    pub accepted: usize,
    /// Rejected items with their index in the submission.
    pub rejected: Vec<(usize, Rejection)>,
}

impl Ingest {
    pub fn new(config: &Config) -> Ingest {
        Ingest {
            pipeline: Pipeline::new(config.pipeline.clone(), config.alerts.clone(), config.classify.clone()),
            ring: Ring::new(RingLimits { max_events: config.ring.max_events, max_bytes: config.ring.max_bytes }),
            bus: Bus::new(),
            stats: Stats::default(),
            log: LogLimiter::default(),
        }
    }

    /// Runs a decoded submission through the pipeline into the ring and onto the bus.
    /// CPU-bound: call it off the async runtime's worker threads for large batches.
    pub fn submit(&self, source: Source, items: impl ExactSizeIterator<Item = Result<Event, Rejection>>) -> Report {
        let processed = self.pipeline.process(items);
        for (index, rejection) in &processed.rejected {
            self.stats.record_rejected(source, rejection.reason, 1);
            if self.log.allow(rejection.reason) {
                warn!(source = source.name(), reason = rejection.reason, index, error = %rejection, "rejected event");
            }
        }
        self.stats.record_accepted(&processed.accepted);
        let accepted = processed.accepted.len();
        if accepted > 0 {
            let batch = self.ring.push(processed.accepted);
            self.bus.publish(&batch);
        }
        Report { accepted, rejected: processed.rejected }
    }

    /// Counts a submission rejected as a whole (for example a body over the size limit).
    pub fn reject_whole(&self, source: Source, rejection: &Rejection) {
        self.stats.record_rejected(source, rejection.reason, 1);
        if self.log.allow(rejection.reason) {
            warn!(source = source.name(), reason = rejection.reason, error = %rejection, "rejected request");
        }
    }
}
