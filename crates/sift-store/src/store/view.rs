//! A query's view of the stored events: the ring alone (`--memory-only`), or the durable
//! store's pending batches (held in memory, or spilled and read back from the WAL) plus its
//! segments, answering searches, counts and aggregations the same way.

use std::sync::Arc;

use std::collections::BTreeMap;

use sift_core::query::{FieldSet, Query};
use sift_core::{Batch, Event, Timestamp};

use super::StoreError;
use super::pending::{self, PendingBatch};
use crate::retention::{Expiry, Retention};
use crate::ring::Snapshot;
use crate::search::{Cursor, TimeRange};
use crate::segment::{self, Columns, SegmentMeta};
use crate::wal::WalError;

pub enum View {
    Memory(Snapshot),
    Durable {
        pending: Snapshot,
        /// Pending batches not held in memory, read back from the WAL by the queries that need
        /// them, and the retention they are read under.
        spilled: Vec<PendingBatch>,
        expiry: Arc<Expiry>,
        /// Segments grouped by retention class, each group with the time range its class
        /// still keeps (older events are expired even before their file is deleted).
        classes: Vec<(Timestamp, Vec<SegmentMeta>)>,
    },
}

impl View {
    pub(super) fn durable(
        pending: Vec<Arc<Batch>>,
        spilled: Vec<PendingBatch>,
        segments: Arc<Vec<SegmentMeta>>,
        retention: Arc<Retention>,
        expiry: Arc<Expiry>,
    ) -> View {
        let mut classes: BTreeMap<&str, Vec<SegmentMeta>> = BTreeMap::new();
        for segment in segments.iter() {
            classes.entry(&segment.class).or_default().push(segment.clone());
        }
        let classes = classes
            .into_iter()
            .map(|(class, segments)| (expiry.cutoff_of_class(&retention, class), segments))
            .collect();
        let pending = Snapshot::of_batches(pending).with_expiry(Arc::clone(&expiry));
        View::Durable { pending, spilled, expiry, classes }
    }

    /// Up to `limit` matching events older than `before`, newest first by `(time, id)`.
    pub fn search(
        &self,
        query: &Query,
        range: TimeRange,
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        match self {
            View::Memory(snapshot) => Ok(snapshot.search(query, range, before, limit)),
            View::Durable { pending, spilled, expiry, classes } => {
                let mut events = pending.search(query, range, before, limit);
                for snapshot in spilled_snapshots(spilled, range, expiry) {
                    events.extend(snapshot?.search(query, range, before, limit));
                }
                for (cutoff, segments) in classes {
                    events.extend(segment::search(segments, query, kept(range, *cutoff), before, limit)?);
                }
                events.sort_unstable_by_key(|e| std::cmp::Reverse(Cursor::of(e)));
                events.truncate(limit);
                Ok(events)
            }
        }
    }

    pub fn count(&self, query: &Query, range: TimeRange) -> Result<u64, StoreError> {
        match self {
            View::Memory(snapshot) => Ok(snapshot.count(query, range)),
            View::Durable { pending, spilled, expiry, classes } => {
                let mut n = pending.count(query, range);
                let (counted, to_read) = counted_from_summaries(spilled, query, range, expiry);
                n += counted;
                for snapshot in spilled_snapshots(&to_read, range, expiry) {
                    n += snapshot?.count(query, range);
                }
                for (cutoff, segments) in classes {
                    n += segment::count(segments, query, kept(range, *cutoff))?;
                }
                Ok(n)
            }
        }
    }

    /// Folds every matching event into per-task states and merges them (see `Snapshot::fold`).
    /// `add` may read only `fields` (and what `query` reads): events from segments hold
    /// placeholders in the others, so that an aggregation reads only its columns.
    pub fn fold<S: Send>(
        &self,
        query: &Query,
        fields: FieldSet,
        range: TimeRange,
        start: impl Fn() -> S + Sync + Send,
        add: impl Fn(&mut S, &Event) + Sync + Send,
        merge: impl Fn(S, S) -> S + Sync + Send,
    ) -> Result<S, StoreError> {
        match self {
            View::Memory(snapshot) => Ok(snapshot.fold(query, range, start, add, merge)),
            View::Durable { pending, spilled, expiry, classes } => {
                let mut state = pending.fold(query, range, &start, &add, &merge);
                for snapshot in spilled_snapshots(spilled, range, expiry) {
                    state = merge(state, snapshot?.fold(query, range, &start, &add, &merge));
                }
                let columns = Columns::for_fields(fields);
                for (cutoff, segments) in classes {
                    let on_disk =
                        segment::aggregate(segments, query, kept(range, *cutoff), columns, &start, &add, &merge)?;
                    state = merge(state, on_disk);
                }
                Ok(state)
            }
        }
    }
}

/// `range` without what a class no longer keeps.
fn kept(range: TimeRange, cutoff: Timestamp) -> TimeRange {
    TimeRange { since: Some(range.since.map_or(cutoff, |since| since.max(cutoff))), until: range.until }
}

/// Counts the spilled batches whose every event counts (the query matches all, the batch
/// lies wholly in `range`, and none of its events can have expired) from their event counts,
/// without reading them back: `count` of everything over a backlog of millions of events
/// would otherwise read the whole WAL. Returns that count and the batches left to read.
fn counted_from_summaries(
    spilled: &[PendingBatch],
    query: &Query,
    range: TimeRange,
    expiry: &Expiry,
) -> (u64, Vec<PendingBatch>) {
    if !query.is_all() {
        return (0, spilled.to_vec());
    }
    let kept_from = expiry.keeps_all_from();
    let (whole, to_read): (Vec<&PendingBatch>, Vec<&PendingBatch>) =
        spilled.iter().partition(|batch| batch.times.0 >= kept_from && pending::within(batch.times, range));
    (whole.iter().map(|batch| batch.events as u64).sum(), to_read.into_iter().cloned().collect())
}

/// The spilled batches that may hold events in `range`, read back from the WAL a bounded
/// number at a time, each lot as a snapshot under the view's retention.
fn spilled_snapshots<'a>(
    spilled: &'a [PendingBatch],
    range: TimeRange,
    expiry: &'a Arc<Expiry>,
) -> impl Iterator<Item = Result<Snapshot, WalError>> + 'a {
    pending::read_back(spilled, range).map(|batches| Ok(Snapshot::of_batches(batches?).with_expiry(Arc::clone(expiry))))
}
