//! A point-in-time view of the ring and the scans that answer searches, counts and tail
//! backlogs. Scans split the batches across the machine's cores (rayon), and stop early with
//! [`Interrupted`] when the snapshot's [`Interrupt`] fires.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use rayon::prelude::*;
use sift_core::query::Query;
use sift_core::{Batch, Event};

use crate::interrupt::{Interrupt, Interrupted};
use crate::retention::Expiry;
use crate::search::{Cursor, TimeRange};

/// Batches held by the ring at one moment, each with the number of its evicted front events.
pub struct Snapshot {
    batches: Vec<(Arc<Batch>, usize)>,
    last_seq: u64,
    events: usize,
    /// Events past their retention are skipped by every scan.
    expiry: Option<Arc<Expiry>>,
    /// When scans stop before their end.
    interrupt: Interrupt,
}

/// An event in a top-k heap, ordered by its search key only.
struct Ranked<'a>(Cursor, &'a Event);

impl PartialEq for Ranked<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Ranked<'_> {}
impl PartialOrd for Ranked<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

/// Batches smaller than this are scanned together, so tiny batches don't cost a task each.
const MIN_EVENTS_PER_TASK: usize = 8192;

impl Snapshot {
    pub(super) fn new(batches: Vec<(Arc<Batch>, usize)>, last_seq: u64, events: usize) -> Snapshot {
        Snapshot { batches, last_seq, events, expiry: None, interrupt: Interrupt::never() }
    }

    /// The same snapshot, hiding the events `expiry` says are past their retention.
    pub fn with_expiry(mut self, expiry: Arc<Expiry>) -> Snapshot {
        self.expiry = Some(expiry);
        self
    }

    /// The same snapshot, whose scans stop with [`Interrupted`] when `interrupt` fires.
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> Snapshot {
        self.interrupt = interrupt;
        self
    }

    fn live(&self, event: &Event) -> bool {
        self.expiry.as_ref().is_none_or(|expiry| !expiry.is_expired(event))
    }

    /// A snapshot of whole batches held elsewhere (the store's unflushed batches), to search
    /// them as the ring is searched.
    pub fn of_batches(batches: Vec<Arc<Batch>>) -> Snapshot {
        let events = batches.iter().map(|b| b.events.len()).sum();
        let last_seq = batches.iter().map(|b| b.seq).max().unwrap_or(0);
        let batches = batches.into_iter().map(|b| (b, 0)).collect();
        Snapshot { batches, last_seq, events, expiry: None, interrupt: Interrupt::never() }
    }

    /// The sequence number of the newest batch in the snapshot: every batch with a higher
    /// number arrived after it was taken.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// How many events the snapshot holds.
    pub fn len(&self) -> usize {
        self.events
    }

    pub fn is_empty(&self) -> bool {
        self.events == 0
    }

    /// Every event, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Event> {
        self.batches.iter().flat_map(|(batch, skip)| batch.events[*skip..].iter())
    }

    /// Up to `limit` events matching `query` in `range`, strictly older than `before` when
    /// given, newest first by `(time, id)`.
    pub fn search(
        &self,
        query: &Query,
        range: TimeRange,
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<Event>, Interrupted> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let keep = |event: &Event| {
            range.contains(event.time)
                && before.is_none_or(|b| Cursor::of(event) < b)
                && query.matches(event)
                && self.live(event)
        };
        let top = self
            .tasks()
            .par_iter()
            .map(|task| {
                let mut heap = BinaryHeap::with_capacity(limit + 1);
                let mut every = self.interrupt.every();
                for event in task.iter().flat_map(|(batch, skip)| batch.events[*skip..].iter()) {
                    every.tick(event)?;
                    if heap.len() == limit
                        && let Some(Reverse(Ranked(min, _))) = heap.peek()
                        && Cursor::of(event) <= *min
                    {
                        continue;
                    }
                    if keep(event) {
                        heap.push(Reverse(Ranked(Cursor::of(event), event)));
                        if heap.len() > limit {
                            heap.pop();
                        }
                    }
                }
                Ok(heap)
            })
            .try_reduce(BinaryHeap::new, |mut a, b| {
                for item in b {
                    a.push(item);
                    if a.len() > limit {
                        a.pop();
                    }
                }
                Ok(a)
            })?;
        let mut found: Vec<Ranked> = top.into_iter().map(|Reverse(item)| item).collect();
        found.sort_unstable_by_key(|ranked| std::cmp::Reverse(ranked.0));
        Ok(found.into_iter().map(|Ranked(_, event)| event.clone()).collect())
    }

    /// How many events match `query` in `range`.
    pub fn count(&self, query: &Query, range: TimeRange) -> Result<u64, Interrupted> {
        self.fold(query, range, || 0u64, |n, _| *n += 1, |a, b| a + b)
    }

    /// Folds every event matching `query` in `range` into per-task states made by `start`
    /// (`add` one event at a time), then merges the states: the shape of an aggregation that
    /// runs on both cores.
    pub fn fold<S: Send>(
        &self,
        query: &Query,
        range: TimeRange,
        start: impl Fn() -> S + Sync + Send,
        add: impl Fn(&mut S, &Event) + Sync + Send,
        merge: impl Fn(S, S) -> S + Sync + Send,
    ) -> Result<S, Interrupted> {
        self.tasks()
            .par_iter()
            .map(|task| {
                let mut state = start();
                let mut every = self.interrupt.every();
                for event in task.iter().flat_map(|(batch, skip)| batch.events[*skip..].iter()) {
                    every.tick(event)?;
                    if range.contains(event.time) && query.matches(event) && self.live(event) {
                        add(&mut state, event);
                    }
                }
                Ok(state)
            })
            .try_reduce(&start, |a, b| Ok(merge(a, b)))
    }

    /// The last `n` events to arrive that match `query`, oldest first: a tail's backlog.
    pub fn latest(&self, query: &Query, n: usize) -> Result<Vec<Event>, Interrupted> {
        self.latest_within(query, n, usize::MAX)
    }

    /// [`Snapshot::latest`], stopping before the copies would pass `max_bytes` (by
    /// [`Event::approx_bytes`]; the newest match is always taken).
    pub fn latest_within(&self, query: &Query, n: usize, max_bytes: usize) -> Result<Vec<Event>, Interrupted> {
        let mut found = Vec::new();
        let mut bytes = 0usize;
        let mut every = self.interrupt.every();
        for event in self.iter().rev() {
            if found.len() == n {
                break;
            }
            every.tick(event)?;
            if query.matches(event) && self.live(event) {
                bytes = bytes.saturating_add(event.approx_bytes());
                if !found.is_empty() && bytes > max_bytes {
                    break;
                }
                found.push(event.clone());
            }
        }
        found.reverse();
        Ok(found)
    }

    /// Groups of consecutive batches of at least `MIN_EVENTS_PER_TASK` events each.
    fn tasks(&self) -> Vec<&[(Arc<Batch>, usize)]> {
        let mut tasks = Vec::new();
        let mut start = 0;
        let mut events = 0;
        for (i, (batch, skip)) in self.batches.iter().enumerate() {
            events += batch.events.len() - skip;
            if events >= MIN_EVENTS_PER_TASK {
                tasks.push(&self.batches[start..=i]);
                start = i + 1;
                events = 0;
            }
        }
        if start < self.batches.len() {
            tasks.push(&self.batches[start..]);
        }
        tasks
    }
}
