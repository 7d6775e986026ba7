//! The pending batches: accepted and in the WAL, not yet in segments. The newest are held in
//! memory (the same batches the ring holds); once the ring has evicted them, or past
//! `max_in_memory` events, the oldest are *spilled*: only where their WAL record lies is
//! kept, with their event count and time range, and a flush or a query reads them back from
//! the WAL. So a backlog costs WAL disk, not memory, and ingest can run ahead of the
//! segments (docs/adr/0009-wal-backlog.md).

use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use sift_core::{Batch, Event, Timestamp};

use crate::ring::RingFront;
use crate::search::TimeRange;
use crate::wal::{self, Lsn, RecordAt, WalError};

/// One pending batch.
#[derive(Clone)]
pub struct PendingBatch {
    pub lsn: Lsn,
    pub at: RecordAt,
    pub events: usize,
    /// Its oldest and newest event times, so that a query can pass over a spilled batch.
    pub times: (Timestamp, Timestamp),
    /// The batch itself, or `None` once spilled.
    pub batch: Option<Arc<Batch>>,
}

impl PendingBatch {
    pub fn new(lsn: Lsn, at: RecordAt, batch: Arc<Batch>) -> PendingBatch {
        let times = time_range(&batch.events);
        PendingBatch::with_times(lsn, at, batch, times)
    }

    /// As [`PendingBatch::new`], with the batch's [`time_range`] found beforehand.
    pub fn with_times(lsn: Lsn, at: RecordAt, batch: Arc<Batch>, times: (Timestamp, Timestamp)) -> PendingBatch {
        PendingBatch { lsn, at, events: batch.events.len(), times, batch: Some(batch) }
    }

    /// The batch, from memory or read back from the WAL (numbered 0: it is not the ring's).
    pub fn load(&self) -> Result<Arc<Batch>, WalError> {
        match &self.batch {
            Some(batch) => Ok(Arc::clone(batch)),
            None => Ok(Arc::new(Batch { seq: 0, events: wal::read_record(&self.at)? })),
        }
    }
}

/// The oldest and newest times of `events`.
pub(super) fn time_range(events: &[Event]) -> (Timestamp, Timestamp) {
    let mut times = events.iter().map(|e| e.time);
    let first = times.next().unwrap_or_default();
    times.fold((first, first), |(min, max), t| (min.min(t), max.max(t)))
}

/// The batches of `pending`, in memory or read back from the WAL on every core.
pub(super) fn load(pending: &[PendingBatch]) -> Result<Vec<Arc<Batch>>, WalError> {
    pending.par_iter().map(PendingBatch::load).collect()
}

/// The pending batches and their totals.
#[derive(Default)]
pub(super) struct Pending {
    batches: Vec<PendingBatch>,
    pub events: usize,
    pub in_memory: usize,
    /// Their WAL records' bytes.
    pub bytes: u64,
    /// When the oldest pending batch arrived.
    pub since: Option<Instant>,
    /// Every batch before this index is spilled: where spilling goes on from.
    spilled_to: usize,
    /// The ring whose batches these are, once the store follows one.
    ring: Option<RingFront>,
}

impl Pending {
    /// Adds a batch, then spills the oldest held in memory while more than `max_in_memory`
    /// events are.
    pub fn push(&mut self, batch: PendingBatch, max_in_memory: usize) {
        self.events += batch.events;
        self.bytes += batch.at.bytes();
        if batch.batch.is_some() {
            self.in_memory += batch.events;
        }
        self.since.get_or_insert_with(Instant::now);
        self.batches.push(batch);
        while self.in_memory > max_in_memory && self.spilled_to < self.batches.len() {
            let oldest = &mut self.batches[self.spilled_to];
            if oldest.batch.take().is_some() {
                self.in_memory -= oldest.events;
            }
            self.spilled_to += 1;
        }
    }

    /// Holds batches in memory only while `ring` holds them, from now on.
    pub fn follow(&mut self, ring: RingFront) {
        self.ring = Some(ring);
    }

    /// Spills the oldest batches held in memory that the ring no longer holds: keeping them
    /// would cost memory that the ring's limits (`ring.max_events`, `ring.max_bytes`) do not
    /// count. So a durable server holds no more pending events in memory than a ring-only
    /// one holds events. Without a ring to follow, `max_in_memory` alone bounds them.
    pub fn spill_let_go(&mut self) {
        let Some(ring) = &self.ring else { return };
        while let Some(oldest) = self.batches.get_mut(self.spilled_to) {
            match &oldest.batch {
                Some(held) if ring.holds(held.seq) => break,
                Some(_) => {
                    oldest.batch = None;
                    self.in_memory -= oldest.events;
                }
                None => {}
            }
            self.spilled_to += 1;
        }
    }

    pub fn highest_lsn(&self) -> Option<Lsn> {
        self.batches.iter().map(|b| b.lsn).max()
    }

    /// The oldest batches at or below `until`, up to `max_events` events and `max_bytes` of
    /// WAL records (at least one batch), and the highest LSN among them. Every pending batch
    /// at or below that LSN is among them, so releasing the WAL through it drops nothing that
    /// is not in a segment.
    pub fn oldest(&mut self, until: Lsn, max_events: usize, max_bytes: u64) -> Option<(Vec<PendingBatch>, Lsn)> {
        // Concurrent appends may have added their batches out of LSN order.
        self.batches.sort_unstable_by_key(|b| b.lsn);
        self.spilled_to = 0;
        let mut events = 0;
        let mut bytes = 0;
        let mut through = None;
        let mut taken = Vec::new();
        for batch in &self.batches {
            let full = events >= max_events || bytes + batch.at.bytes() > max_bytes;
            if batch.lsn > until || (full && through.is_some()) {
                break;
            }
            events += batch.events;
            bytes += batch.at.bytes();
            through = Some(batch.lsn);
            taken.push(batch.clone());
        }
        through.map(|through| (taken, through))
    }

    /// Drops the batches through `lsn`, now in segments.
    pub fn release_through(&mut self, lsn: Lsn) {
        self.batches.retain(|b| b.lsn > lsn);
        self.spilled_to = 0;
        self.events = self.batches.iter().map(|b| b.events).sum();
        self.in_memory = self.batches.iter().filter(|b| b.batch.is_some()).map(|b| b.events).sum();
        self.bytes = self.batches.iter().map(|b| b.at.bytes()).sum();
        if self.batches.is_empty() {
            self.since = None;
        }
    }

    /// The batches held in memory, and the spilled ones, as a query sees them.
    pub fn view(&self) -> (Vec<Arc<Batch>>, Vec<PendingBatch>) {
        let mut in_memory = Vec::new();
        let mut spilled = Vec::new();
        for batch in &self.batches {
            match &batch.batch {
                Some(held) => in_memory.push(Arc::clone(held)),
                None => spilled.push(batch.clone()),
            }
        }
        (in_memory, spilled)
    }
}

/// The most events of spilled batches a query reads back at once.
const EVENTS_PER_READ: usize = 256 * 1024;

/// Spilled batches that may hold events in `range`, read back from the WAL a bounded number
/// of events at a time, so that a query over a large backlog never holds it all decoded.
pub(super) fn read_back(
    spilled: &[PendingBatch],
    range: TimeRange,
) -> impl Iterator<Item = Result<Vec<Arc<Batch>>, WalError>> + '_ {
    let mut wanted = spilled.iter().filter(move |b| overlaps(b.times, range));
    std::iter::from_fn(move || {
        let mut chunk = Vec::new();
        let mut events = 0;
        while events < EVENTS_PER_READ {
            let Some(batch) = wanted.next() else { break };
            events += batch.events;
            chunk.push(batch.clone());
        }
        (!chunk.is_empty()).then(|| load(&chunk))
    })
}

/// Whether every event timed between `times.0` and `times.1` (inclusive) is in `range`.
pub(super) fn within(times: (Timestamp, Timestamp), range: TimeRange) -> bool {
    range.contains(times.0) && range.contains(times.1)
}

/// Whether events timed between `times.0` and `times.1` (inclusive) can be in `range`.
fn overlaps(times: (Timestamp, Timestamp), range: TimeRange) -> bool {
    range.since.is_none_or(|since| times.1 >= since) && range.until.is_none_or(|until| times.0 < until)
}
