//! Ingest: the one path every source's events take into the server. Decoded items go
//! through the pipeline; accepted events are written to the ring (so a search right after
//! the acknowledgment sees them) and then published on the bus to live consumers.
//! Rejections are counted by source and reason and logged at most once a second per reason.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sift_core::query::Query;
use sift_core::{Batch, Event, Source, Timestamp};
use sift_store::{
    Backlog, Interrupt, Interrupted, Recovered, Retention, Ring, RingLimits, RingStats, Store, StoreError, View,
};
use tracing::{error, warn};

use crate::bus::Bus;
use crate::config::Config;
use crate::observe::{DropReason, LogLimiter, ProtocolStats, Registry, Stats};
use crate::pipeline::rules::RuleSet;
use crate::pipeline::{Pipeline, Rejection};
use crate::tail::{BacklogBytes, Tail, TailLimits};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a waiting submission waits between tries while the disk is full.
const RETRY_FULL_DISK: Duration = Duration::from_secs(1);

pub struct Ingest {
    pipeline: Pipeline,
    ring: Ring,
    /// The durable store; `None` with `storage.memory_only`, when the ring is the only store.
    store: Option<Arc<Store>>,
    /// Retention applies to the ring too: expired events are not returned from it.
    retention: Arc<Retention>,
    bus: Bus,
    stats: Arc<Stats>,
    log: LogLimiter,
    /// One permit per live tail (`tail.max_clients`).
    tails: Arc<Semaphore>,
    max_tails: usize,
    tail_limits: TailLimits,
    /// What every tail's backlog copies hold together.
    tail_backlogs: Arc<BacklogBytes>,
}

/// Why a tail was not opened.
#[derive(Debug)]
pub enum OpenTailError {
    /// `tail.max_clients` tails are open already (this many).
    TooMany(usize),
    /// The scan for its backlog was stopped.
    Interrupted(Interrupted),
}

/// What the ring, the store and the tails hold now, for `/api/v1/stats`.
#[derive(Debug, Clone)]
pub struct Figures {
    pub ring: RingStats,
    pub ring_limits: RingLimits,
    /// `None` with `storage.memory_only`.
    pub store: Option<StoreFigures>,
    pub tail_subscribers: usize,
    pub tail_dropped: u64,
}

#[derive(Debug, Clone)]
pub struct StoreFigures {
    pub backlog: Backlog,
    pub segments: usize,
    pub segment_bytes: u64,
    pub recovered: Recovered,
}

/// Why a submission could not be stored: nothing of it was acknowledged or kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error(
        "the disk holding the data directory is full: nothing from this request was stored; retry once space is freed"
    )]
    DiskFull,
    #[error(
        "sift is writing segments slower than events arrive and its backlog (storage.max_backlog) is full: \
         nothing from this request was stored; retry shortly"
    )]
    StoreBehind,
    #[error("the store could not write these events: nothing from this request was stored; the server log says why")]
    StorageError,
}

impl Unavailable {
    /// What the refused events are counted as.
    pub fn reason(self) -> DropReason {
        match self {
            Unavailable::DiskFull => DropReason::DiskFull,
            Unavailable::StoreBehind => DropReason::StoreBehind,
            Unavailable::StorageError => DropReason::StorageError,
        }
    }

    fn of(error: &StoreError) -> Unavailable {
        if error.is_full() {
            Unavailable::DiskFull
        } else if error.is_behind() {
            Unavailable::StoreBehind
        } else {
            Unavailable::StorageError
        }
    }
}

/// The outcome of one submission.
#[derive(Debug, Default)]
pub struct Report {
    pub accepted: usize,
    /// Rejected items with their index in the submission.
    pub rejected: Vec<(usize, Rejection)>,
}

impl Ingest {
    /// The ingest path over `store` (or the ring alone), classifying with `rules`; `replayed`
    /// are the batches the store brought back from its WAL, which go back into the ring (the
    /// very batches pending in the store, shared) for tails' backlogs.
    pub fn new(
        config: &Config,
        store: Option<Arc<Store>>,
        replayed: Vec<Arc<Batch>>,
        rules: Arc<RuleSet>,
        stats: Arc<Stats>,
        registry: Arc<Registry>,
    ) -> Ingest {
        let ring = Ring::new(RingLimits { max_events: config.ring.max_events, max_bytes: config.ring.max_bytes });
        if let Some(store) = &store {
            // Pending batches stay in memory only while the ring holds them.
            store.follow_ring(ring.front());
        }
        ring.restore(replayed);
        // Tails follow the ring, so that their queues never hold a batch it let go.
        let bus = Bus::new(registry, Some(ring.front()));
        Ingest {
            pipeline: Pipeline::new(config.pipeline.clone(), config.alerts.clone(), rules),
            ring,
            retention: Arc::new(crate::app::retention(&config.retention)),
            store,
            bus,
            stats,
            log: LogLimiter::default(),
            tails: Arc::new(Semaphore::new(config.tail.max_clients)),
            max_tails: config.tail.max_clients,
            tail_limits: TailLimits { queue: config.tail.queue, max_bytes: config.tail.max_bytes },
            tail_backlogs: BacklogBytes::new(config.tail.max_total_bytes),
        }
    }

    /// The counters this path keeps.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The counters per protocol, for sources to count what only they see (connections,
    /// truncated frames).
    pub fn protocols(&self) -> &ProtocolStats {
        &self.stats.protocols
    }

    /// Checks one event against the pipeline's limits exactly as a submission will, for a
    /// source that must refuse a whole request for one bad item (Logplex).
    pub fn validate(&self, event: &mut Event) -> Result<(), Rejection> {
        self.pipeline.validate(event)
    }

    /// Opens a live tail: up to `backlog` recent matching events, then live ones, bounded as
    /// `[tail]` says; refused past `tail.max_clients` open tails. Takes a ring snapshot: call
    /// it off the async runtime's workers.
    pub fn open_tail(
        &self,
        query: Query,
        backlog: usize,
        interrupt: Interrupt,
    ) -> Result<(Tail, OwnedSemaphorePermit), OpenTailError> {
        let permit = Arc::clone(&self.tails).try_acquire_owned().map_err(|_| OpenTailError::TooMany(self.max_tails))?;
        let expiry = Arc::new(self.retention.expiry(Timestamp::now()));
        let tail = Tail::open(
            &self.ring,
            &self.bus,
            Some(expiry),
            query,
            backlog,
            self.tail_limits,
            &self.tail_backlogs,
            interrupt,
        )
        .map_err(OpenTailError::Interrupted)?;
        Ok((tail, permit))
    }

    /// Ends every live stream: the server is stopping.
    pub fn close_streams(&self) {
        self.bus.close();
    }

    /// What the ring, the store and the tails hold now.
    pub fn figures(&self) -> Figures {
        Figures {
            ring: self.ring.stats(),
            ring_limits: self.ring.limits(),
            store: self.store.as_ref().map(|store| {
                let (segments, segment_bytes) = store.segment_stats();
                StoreFigures { backlog: store.backlog(), segments, segment_bytes, recovered: store.recovered() }
            }),
            tail_subscribers: self.bus.subscribers(),
            tail_dropped: self.bus.dropped_total(),
        }
    }

    /// Counts `n` items of a submission rejected as malformed before they reached
    /// [`Ingest::submit`] (a Logplex body with one bad frame refuses them all).
    pub fn reject_malformed(&self, source: Source, reason: &'static str, n: u64) {
        self.stats.protocols.received(source, n);
        self.stats.record_malformed(source, reason, n);
    }

    /// Counts `n` valid items sift did not take before they reached [`Ingest::submit`].
    pub fn reject_dropped(&self, source: Source, reason: DropReason, n: u64) {
        self.stats.protocols.received(source, n);
        self.stats.record_dropped(source, reason, n);
    }

    /// Runs a decoded submission through the pipeline into the ring and onto the bus.
    /// CPU-bound: call it off the async runtime's worker threads for large batches.
    /// With a durable store, returns only once the accepted events are in the WAL; if they
    /// cannot be written, none of them is kept and the whole submission is `Unavailable`.
    pub fn submit(
        &self,
        source: Source,
        items: impl ExactSizeIterator<Item = Result<Event, Rejection>>,
    ) -> Result<Report, Unavailable> {
        self.submit_with(source, items, None)
    }

    /// [`Ingest::submit`] for a source that can make its senders wait (syslog over TCP,
    /// whose connections are not read while this waits): events the store refuses for want
    /// of disk space, or because its backlog is full, are tried again until it takes them,
    /// or until `stop` is set (then they are dropped and counted, as `submit` does at once).
    pub fn submit_waiting(
        &self,
        source: Source,
        items: impl ExactSizeIterator<Item = Result<Event, Rejection>>,
        stop: &AtomicBool,
    ) -> Result<Report, Unavailable> {
        self.submit_with(source, items, Some(stop))
    }

    fn submit_with(
        &self,
        source: Source,
        items: impl ExactSizeIterator<Item = Result<Event, Rejection>>,
        stop: Option<&AtomicBool>,
    ) -> Result<Report, Unavailable> {
        self.stats.protocols.received(source, items.len() as u64);
        let processed = self.pipeline.process(items);
        for (index, rejection) in &processed.rejected {
            self.stats.record_malformed(source, rejection.reason, 1);
            if self.log.allow(rejection.reason) {
                warn!(source = source.name(), reason = rejection.reason, index, error = %rejection, "rejected event");
            }
        }
        let accepted = processed.accepted.len();
        if accepted > 0 {
            let batch = match &self.store {
                None => {
                    self.stats.record_accepted(&processed.accepted);
                    self.ring.push(processed.accepted)
                }
                Some(store) => self.store(store, source, processed.accepted, stop)?,
            };
            self.stats.protocols.accepted(source, accepted as u64);
            self.bus.publish(&batch);
        }
        Ok(Report { accepted, rejected: processed.rejected })
    }

    /// Appends accepted events to the durable store. Refused for want of disk space or
    /// because the backlog is full, they are tried again (every second) while `stop` is given
    /// and not set; otherwise they are counted as dropped and the submission is `Unavailable`.
    fn store(
        &self,
        store: &Store,
        source: Source,
        mut events: Vec<Event>,
        stop: Option<&AtomicBool>,
    ) -> Result<Arc<Batch>, Unavailable> {
        let count = events.len();
        // Work per event outside the store's gate, which `publish` runs under.
        let bytes = Ring::weigh(&events);
        loop {
            let appended = store.append(events, |events| self.ring.push_weighed(events, bytes));
            let refused = match appended {
                Ok(batch) => {
                    self.stats.record_accepted(&batch.events);
                    return Ok(batch);
                }
                Err(refused) => refused,
            };
            let transient = refused.error.is_full() || refused.error.is_behind();
            if !transient || stop.is_none_or(|stop| stop.load(Ordering::Relaxed)) {
                return Err(self.unavailable(source, count, &refused.error));
            }
            if self.log.allow("waiting_for_store") {
                warn!(source = source.name(), events = count, error = %refused.error, "waiting for the store to take events; their senders are held back meanwhile");
            }
            if refused.error.is_full() {
                // A backlog that is full has already waited for room.
                std::thread::sleep(RETRY_FULL_DISK);
            }
            events = refused.events;
        }
    }

    /// Counts and logs a submission the store refused.
    fn unavailable(&self, source: Source, events: usize, error: &StoreError) -> Unavailable {
        let unavailable = Unavailable::of(error);
        let reason = unavailable.reason();
        self.stats.record_dropped(source, reason, events as u64);
        if self.log.allow(reason.as_str()) {
            error!(source = source.name(), events, %error, "events not stored");
        }
        unavailable
    }

    /// The stored events as one set: the durable store's, or the ring's with `--memory-only`.
    pub fn view(&self) -> View {
        match &self.store {
            Some(store) => store.view(),
            None => View::Memory(self.ring.snapshot().with_expiry(Arc::new(self.retention.expiry(Timestamp::now())))),
        }
    }

    /// Counts a submission rejected as a whole (for example a body over the size limit).
    pub fn reject_whole(&self, source: Source, rejection: &Rejection) {
        self.stats.protocols.received(source, 1);
        self.stats.record_malformed(source, rejection.reason, 1);
        if self.log.allow(rejection.reason) {
            warn!(source = source.name(), reason = rejection.reason, error = %rejection, "rejected request");
        }
    }
}
