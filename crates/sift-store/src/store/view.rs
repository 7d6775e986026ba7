//! A query's view of the stored events: the ring alone (`--memory-only`), or the durable
//! store's pending batches plus its segments, answering searches, counts and aggregations
//! the same way.

use std::sync::Arc;

use sift_core::query::Query;
use sift_core::{Batch, Event};

use super::StoreError;
use crate::ring::Snapshot;
use crate::search::{Cursor, TimeRange};
use crate::segment::{self, Columns, SegmentMeta};

pub enum View {
    Memory(Snapshot),
    Durable { pending: Snapshot, segments: Arc<Vec<SegmentMeta>> },
}

impl View {
    pub(super) fn durable(pending: Vec<Arc<Batch>>, segments: Arc<Vec<SegmentMeta>>) -> View {
        View::Durable { pending: Snapshot::of_batches(pending), segments }
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
            View::Durable { pending, segments } => {
                let mut events = pending.search(query, range, before, limit);
                events.extend(segment::search(segments, query, range, before, limit)?);
                events.sort_unstable_by_key(|e| std::cmp::Reverse(Cursor::of(e)));
                events.truncate(limit);
                Ok(events)
            }
        }
    }

    pub fn count(&self, query: &Query, range: TimeRange) -> Result<u64, StoreError> {
        match self {
            View::Memory(snapshot) => Ok(snapshot.count(query, range)),
            View::Durable { pending, segments } => {
                Ok(pending.count(query, range) + segment::count(segments, query, range)?)
            }
        }
    }

    /// Folds every matching event into per-task states and merges them (see `Snapshot::fold`).
    pub fn fold<S: Send>(
        &self,
        query: &Query,
        range: TimeRange,
        start: impl Fn() -> S + Sync + Send,
        add: impl Fn(&mut S, &Event) + Sync + Send,
        merge: impl Fn(S, S) -> S + Sync + Send,
    ) -> Result<S, StoreError> {
        match self {
            View::Memory(snapshot) => Ok(snapshot.fold(query, range, start, add, merge)),
            View::Durable { pending, segments } => {
                let in_memory = pending.fold(query, range, &start, &add, &merge);
                let on_disk = segment::aggregate(segments, query, range, Columns::ALL, &start, &add, &merge)?;
                Ok(merge(in_memory, on_disk))
            }
        }
    }
}
