//! A query's view of the stored events: the ring alone (`--memory-only`), or the durable
//! store's pending batches (held in memory, or spilled and read back from the WAL) plus its
//! segments, answering searches, counts and aggregations the same way. Every scan of a view
//! stops with [`StoreError::Interrupted`] once the view's [`Interrupt`] fires (see
//! [`View::with_interrupt`]).

use std::sync::Arc;

use std::collections::BTreeMap;

use sift_core::query::{FieldSet, Query, Tally};
use sift_core::{Batch, Event, Timestamp};

use super::StoreError;
use super::compact::Lease;
use super::pending::{self, PendingBatch};
use crate::interrupt::Interrupt;
use crate::retention::{Expiry, Retention};
use crate::ring::Snapshot;
use crate::search::{Cursor, TimeRange};
use crate::segment::{self, Columns, SegmentMeta};

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
        /// When scans stop before their end; `pending` holds it too.
        interrupt: Interrupt,
        /// Keeps the segment files of `classes` on disk while the view lives, even once a
        /// compaction has merged them into another.
        lease: Arc<Lease>,
    },
}

impl View {
    pub(super) fn durable(
        pending: Vec<Arc<Batch>>,
        spilled: Vec<PendingBatch>,
        segments: Arc<Vec<SegmentMeta>>,
        retention: Arc<Retention>,
        expiry: Arc<Expiry>,
        lease: Arc<Lease>,
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
        View::Durable { pending, spilled, expiry, classes, interrupt: Interrupt::never(), lease }
    }

    /// The same view, whose scans stop with [`StoreError::Interrupted`] once `interrupt` fires.
    pub fn with_interrupt(self, interrupt: Interrupt) -> View {
        match self {
            View::Memory(snapshot) => View::Memory(snapshot.with_interrupt(interrupt)),
            View::Durable { pending, spilled, expiry, classes, interrupt: _, lease } => {
                let pending = pending.with_interrupt(interrupt.clone());
                View::Durable { pending, spilled, expiry, classes, interrupt, lease }
            }
        }
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
            View::Memory(snapshot) => Ok(snapshot.search(query, range, before, limit)?),
            View::Durable { pending, spilled, expiry, classes, interrupt, .. } => {
                let mut events = pending.search(query, range, before, limit)?;
                for snapshot in spilled_snapshots(spilled, range, expiry, interrupt) {
                    events.extend(snapshot?.search(query, range, before, limit)?);
                }
                for (cutoff, segments) in classes {
                    events.extend(segment::search(segments, query, kept(range, *cutoff), before, limit, interrupt)?);
                }
                events.sort_unstable_by_key(|e| std::cmp::Reverse(Cursor::of(e)));
                events.truncate(limit);
                Ok(events)
            }
        }
    }

    pub fn count(&self, query: &Query, range: TimeRange) -> Result<u64, StoreError> {
        match self {
            View::Memory(snapshot) => Ok(snapshot.count(query, range)?),
            View::Durable { pending, spilled, expiry, classes, interrupt, .. } => {
                let mut n = pending.count(query, range)?;
                let (counted, to_read) = counted_from_summaries(spilled, query, range, expiry);
                n += counted;
                for snapshot in spilled_snapshots(&to_read, range, expiry, interrupt) {
                    n += snapshot?.count(query, range)?;
                }
                for (cutoff, segments) in classes {
                    n += segment::count(segments, query, kept(range, *cutoff), interrupt)?;
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
        let columns = Columns::for_fields(fields);
        self.fold_tiers(query, range, &start, &add, &merge, |segments, range, interrupt| {
            segment::aggregate(segments, query, range, columns, interrupt, &start, &add, &merge)
        })
    }

    /// [`View::fold`] for an aggregation that only counts events per key
    /// ([`PipedQuery::tally`](sift_core::query::PipedQuery::tally)): `add_n(state, event, n)`
    /// must do what `n` events that agree with `event` on the fields of `tally.by` and on its
    /// time bucket would, and may read only those fields (and `time`). Segments are then
    /// counted by column ([`segment::tally`]) instead of event by event.
    pub fn tally<S: Send>(
        &self,
        query: &Query,
        tally: Tally,
        range: TimeRange,
        start: impl Fn() -> S + Sync + Send,
        add_n: impl Fn(&mut S, &Event, u64) + Sync + Send,
        merge: impl Fn(S, S) -> S + Sync + Send,
    ) -> Result<S, StoreError> {
        let add = |state: &mut S, event: &Event| add_n(state, event, 1);
        self.fold_tiers(query, range, &start, &add, &merge, |segments, range, interrupt| {
            segment::tally(segments, query, range, tally, interrupt, &start, &add_n, &merge)
        })
    }

    /// Folds the tiers in memory and in the WAL event by event, and each retention class's
    /// segments with `segments` (given the range the class still keeps), then merges them.
    fn fold_tiers<S: Send>(
        &self,
        query: &Query,
        range: TimeRange,
        start: &(impl Fn() -> S + Sync + Send),
        add: &(impl Fn(&mut S, &Event) + Sync + Send),
        merge: &(impl Fn(S, S) -> S + Sync + Send),
        segments: impl Fn(&[SegmentMeta], TimeRange, &Interrupt) -> Result<S, segment::SegmentError>,
    ) -> Result<S, StoreError> {
        match self {
            View::Memory(snapshot) => Ok(snapshot.fold(query, range, start, add, merge)?),
            View::Durable { pending, spilled, expiry, classes, interrupt, .. } => {
                let mut state = pending.fold(query, range, start, add, merge)?;
                for snapshot in spilled_snapshots(spilled, range, expiry, interrupt) {
                    state = merge(state, snapshot?.fold(query, range, start, add, merge)?);
                }
                for (cutoff, classed) in classes {
                    state = merge(state, segments(classed, kept(range, *cutoff), interrupt)?);
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
/// number at a time, each lot as a snapshot under the view's retention and interrupt (also
/// looked at between two lots).
fn spilled_snapshots<'a>(
    spilled: &'a [PendingBatch],
    range: TimeRange,
    expiry: &'a Arc<Expiry>,
    interrupt: &'a Interrupt,
) -> impl Iterator<Item = Result<Snapshot, StoreError>> + 'a {
    pending::read_back(spilled, range).map(|batches| {
        interrupt.check()?;
        let snapshot = Snapshot::of_batches(batches?).with_expiry(Arc::clone(expiry));
        Ok(snapshot.with_interrupt(interrupt.clone()))
    })
}

#[cfg(test)]
mod tests {
    use sift_core::Source;

    use super::*;
    use crate::interrupt::Interrupted;
    use crate::store::{Store, StoreOptions};
    use crate::wal::FsyncPolicy;

    fn event(n: u64) -> Event {
        let time = Timestamp::from_micros(1_767_225_600_000_000 + n as i64 * 1_000);
        let mut event = Event::new(Source::HttpJson, time, format!("event {n}"));
        event.id = ulid::Ulid::from_parts(time.as_millis() as u64, u128::from(n));
        event
    }

    /// Every tier of a durable view (segments, pending batches read back from the WAL, pending
    /// batches in memory) stops a scan whose interrupt fired, with the reason.
    #[test]
    fn every_tier_stops_an_interrupted_scan() {
        let dir = tempfile::tempdir().unwrap();
        let options = StoreOptions {
            dir: dir.path().to_path_buf(),
            fsync: FsyncPolicy::Batch,
            retention: Retention::default(),
            max_in_memory: 2_000,
            max_backlog_bytes: u64::MAX,
            flush_events: 1_000_000,
            flush_bytes: u64::MAX,
            wal_file_bytes: 64 << 20,
            wal_fault_hook: None,
            merge_hook: None,
        };
        let (store, _) = Store::open(options).unwrap();
        let mut seq = 0;
        let mut append = |range: std::ops::Range<u64>| {
            let batch = |events| {
                seq += 1;
                Arc::new(Batch { seq, events })
            };
            store.append(range.map(event).collect(), batch).unwrap()
        };
        append(0..3_000);
        store.flush().unwrap();
        append(3_000..6_000);
        // Held as the ring would hold it, so that it stays in memory; the batch before it is
        // spilled.
        let _held = append(6_000..8_000);
        let backlog = store.backlog();
        assert_eq!((backlog.events, backlog.in_memory), (5_000, 2_000));
        let query = Query::parse("-nothing").unwrap();
        let tiers = [
            (TimeRange { since: None, until: Some(event(3_000).time) }, "segments"),
            (TimeRange { since: Some(event(3_000).time), until: Some(event(6_000).time) }, "spilled"),
            (TimeRange { since: Some(event(6_000).time), until: None }, "in memory"),
        ];
        for (range, tier) in tiers {
            assert_eq!(store.view().count(&query, range).unwrap(), if tier == "in memory" { 2_000 } else { 3_000 });
            let (cancelled, guard) = Interrupt::new(None);
            drop(guard);
            let (timed_out, _guard) = Interrupt::new(Some(std::time::Instant::now()));
            for (interrupt, why) in [(cancelled, Interrupted::Cancelled), (timed_out, Interrupted::TimedOut)] {
                let view = store.view().with_interrupt(interrupt);
                let stopped = |result: Result<u64, StoreError>| result.err().and_then(|e| e.interrupted());
                assert_eq!(stopped(view.count(&query, range)), Some(why), "count, {tier}");
                let searched = view.search(&query, range, None, 10).map(|events| events.len() as u64);
                assert_eq!(stopped(searched), Some(why), "search, {tier}");
                let folded = view.fold(&query, FieldSet::NONE, range, || 0, |n, _| *n += 1, |a, b| a + b);
                assert_eq!(stopped(folded), Some(why), "fold, {tier}");
            }
        }
    }
}
