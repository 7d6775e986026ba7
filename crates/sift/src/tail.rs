//! Live tails: the last N matching events from the ring, then every new matching event from
//! the bus, without duplicates or gaps between the two, and an in-band count of what was lost
//! when the tail's reader fell behind.
//!
//! What a tail holds is bounded twice over. Its backlog is copied from the ring up to
//! [`TailLimits::max_bytes`] (the newest matches first), and all tails' backlogs together up
//! to [`BacklogBytes`] (`tail.max_total_bytes`). Its queue of live batches holds at most
//! `max_bytes` of them (beyond it the newest batches are lost and reported), and only batches
//! the ring still holds (the bus takes out the ones it evicts), so live batches cost nothing
//! beyond the ring's memory, however many readers stall.
//!
//! The tail subscribes to the bus before it takes the ring snapshot for its backlog, so no
//! batch falls between them; batches already in the snapshot (sequence number at or below
//! the snapshot's) are skipped when they also arrive from the bus.
//!
//! Live batches are matched without holding up the runtime's worker: at most [`MATCH_BUDGET`]
//! events at a time before the task yields, or, for a query that may be slow
//! (`Query::may_be_slow`: a regex can cost milliseconds per event), on the blocking pool, a
//! batch at a time, stopped when the tail is dropped. A live event is yielded as its place in
//! the shared batch, never copied, and [`Tail::ready`] hands over whatever is ready without
//! waiting, so that a reader can encode many events into one write.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sift_core::query::Query;
use sift_core::{Batch, Event};
use sift_store::{CancelOnDrop, Expiry, Interrupt, Interrupted, Ring};
use tokio::task::JoinHandle;

use crate::bus::{Bus, QueueSpec, Subscription};
use crate::observe::Policy;

/// How much one tail may hold.
#[derive(Debug, Clone, Copy)]
pub struct TailLimits {
    /// Batches waiting for the reader (`tail.queue`).
    pub queue: usize,
    /// Bytes of backlog copies, and apart, of waiting batches (`tail.max_bytes`).
    pub max_bytes: usize,
}

/// The bytes of backlog copies every open tail holds together, within
/// `tail.max_total_bytes`: a tail opened while others hold it all gets a shorter backlog (or
/// none), never more memory.
#[derive(Debug)]
pub struct BacklogBytes {
    max: usize,
    held: AtomicUsize,
}

impl BacklogBytes {
    pub fn new(max: usize) -> Arc<BacklogBytes> {
        Arc::new(BacklogBytes { max, held: AtomicUsize::new(0) })
    }

    /// Bytes of backlog copies held now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// As much of `want` as is left, held until the charge is dropped.
    fn charge(self: &Arc<Self>, want: usize) -> Charge {
        let mut held = self.held.load(Ordering::Relaxed);
        loop {
            let bytes = want.min(self.max.saturating_sub(held));
            match self.held.compare_exchange_weak(held, held + bytes, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Charge { budget: Arc::clone(self), bytes },
                Err(now) => held = now,
            }
        }
    }
}

/// Bytes of [`BacklogBytes`] one tail holds, given back when dropped.
struct Charge {
    budget: Arc<BacklogBytes>,
    bytes: usize,
}

impl Charge {
    /// Gives back what is held beyond `bytes`.
    fn keep(&mut self, bytes: usize) {
        if bytes < self.bytes {
            self.budget.held.fetch_sub(self.bytes - bytes, Ordering::AcqRel);
            self.bytes = bytes;
        }
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// What a tail yields, in order: the backlog's events, one `Ready`, then live events and,
/// when the reader fell behind, `Dropped` with the number of events it never saw.
#[derive(Debug, Clone, PartialEq)]
pub enum TailItem {
    Event(TailEvent),
    Ready,
    Dropped(u64),
}

/// An event a tail yields: a copy from the backlog, or a place in a live batch, which the
/// reader encodes from where it lies instead of copying it.
#[derive(Debug, Clone)]
pub enum TailEvent {
    Copied(Box<Event>),
    Live(Arc<Batch>, usize),
}

impl TailEvent {
    pub fn get(&self) -> &Event {
        match self {
            TailEvent::Copied(event) => event,
            TailEvent::Live(batch, index) => &batch.events[*index],
        }
    }
}

impl PartialEq for TailEvent {
    fn eq(&self, other: &TailEvent) -> bool {
        self.get() == other.get()
    }
}

/// Most live events matched in one go on the runtime's worker before the task yields: tens
/// of microseconds of the usual field and word matching.
pub const MATCH_BUDGET: usize = 1024;

pub struct Tail {
    query: Query,
    backlog: VecDeque<Event>,
    /// What the backlog's copies hold of every tail's [`BacklogBytes`], until it is sent.
    backlog_charge: Option<Charge>,
    ready_sent: bool,
    subscription: Subscription,
    /// Batches up to this sequence number were in the backlog's snapshot.
    seen_seq: u64,
    /// The live batch being read, and which of its events are still to look at.
    current: Option<(Arc<Batch>, Positions)>,
    /// A batch being matched off the runtime, kept here so that `next` can be dropped and
    /// called again (for a keep-alive) without losing it.
    matching: Option<(Arc<Batch>, Matching)>,
    /// Stops the matching of a batch off the runtime when the tail is dropped.
    stop: Interrupt,
    _stop_on_drop: CancelOnDrop,
}

/// The indices of a batch's matching events, being found off the runtime (`None` if stopped).
type Matching = JoinHandle<Option<Vec<usize>>>;

/// The events of a live batch still to look at.
enum Positions {
    /// Every event from this index on, tested here.
    From(usize),
    /// The indices of the events that matched, tested off the runtime.
    Matched(std::vec::IntoIter<usize>),
}

impl Tail {
    /// Opens a tail with up to `backlog` recent matching events, as [`TailLimits`] bound it and
    /// as much as is left of `backlogs` allows. Events past their retention (per `expiry`) are
    /// left out of the backlog, and the scan for it stops when `interrupt` fires.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        ring: &Ring,
        bus: &Bus,
        expiry: Option<Arc<Expiry>>,
        query: Query,
        backlog: usize,
        limits: TailLimits,
        backlogs: &Arc<BacklogBytes>,
        interrupt: Interrupt,
    ) -> Result<Tail, Interrupted> {
        let spec = QueueSpec {
            name: "tail",
            batches: limits.queue,
            bytes: limits.max_bytes,
            policy: Policy::LoseNewest,
            follows_ring: true,
        };
        let subscription = bus.subscribe(spec);
        let snapshot = match expiry {
            Some(expiry) => ring.snapshot().with_expiry(expiry),
            None => ring.snapshot(),
        };
        let snapshot = snapshot.with_interrupt(interrupt);
        let mut charge = backlogs.charge(limits.max_bytes);
        let backlog: VecDeque<Event> = match charge.bytes {
            0 => VecDeque::new(),
            bytes => snapshot.latest_within(&query, backlog, bytes)?.into(),
        };
        charge.keep(backlog.iter().map(Event::approx_bytes).sum());
        let (stop, stop_on_drop) = Interrupt::new(None);
        Ok(Tail {
            query,
            backlog,
            backlog_charge: Some(charge),
            ready_sent: false,
            subscription,
            seen_seq: snapshot.last_seq(),
            current: None,
            matching: None,
            stop,
            _stop_on_drop: stop_on_drop,
        })
    }

    /// The next item, waiting for live events; `None` when the server shuts the bus down.
    /// Cancel-safe: dropped before it returns, it loses nothing.
    pub async fn next(&mut self) -> Option<TailItem> {
        loop {
            let mut budget = MATCH_BUDGET;
            if let Some(item) = self.ready(&mut budget) {
                return Some(item);
            }
            if budget == 0 {
                // Matched a budget's worth without a hit: let the worker's other tasks run.
                tokio::task::yield_now().await;
                continue;
            }
            if let Some((_, handle)) = &mut self.matching {
                let hits = handle.await.ok().flatten();
                let (batch, _) = self.matching.take()?;
                self.current = Some((batch, Positions::Matched(hits?.into_iter())));
                continue;
            }
            let batch = self.subscription.recv().await?;
            if let Some(item) = self.take(batch) {
                return Some(item);
            }
        }
    }

    /// The next item if one is ready without waiting, matching at most `budget` live events to
    /// find it (and taking what it matched from `budget`). `None` when nothing is ready: the
    /// budget ran out, a batch is being matched off the runtime, or no batch is waiting.
    pub fn ready(&mut self, budget: &mut usize) -> Option<TailItem> {
        if let Some(event) = self.backlog.pop_front() {
            return Some(TailItem::Event(TailEvent::Copied(Box::new(event))));
        }
        self.backlog_charge = None;
        if !self.ready_sent {
            self.ready_sent = true;
            return Some(TailItem::Ready);
        }
        loop {
            if let Some((batch, positions)) = &mut self.current {
                match positions {
                    Positions::From(index) => {
                        while *index < batch.events.len() {
                            if *budget == 0 {
                                return None;
                            }
                            *budget -= 1;
                            let at = *index;
                            *index += 1;
                            if self.query.matches(&batch.events[at]) {
                                return Some(TailItem::Event(TailEvent::Live(Arc::clone(batch), at)));
                            }
                        }
                    }
                    Positions::Matched(hits) => {
                        if let Some(at) = hits.next() {
                            return Some(TailItem::Event(TailEvent::Live(Arc::clone(batch), at)));
                        }
                    }
                }
                self.current = None;
            }
            if self.matching.is_some() {
                return None;
            }
            match self.subscription.try_recv() {
                Some(batch) => {
                    if let Some(item) = self.take(batch) {
                        return Some(item);
                    }
                }
                None => {
                    // Caught up: report any loss before waiting for more.
                    let dropped = self.subscription.take_dropped(u64::MAX);
                    return (dropped > 0).then_some(TailItem::Dropped(dropped));
                }
            }
        }
    }

    /// Takes a batch from the bus: skips it if the backlog had it, else makes it the current
    /// one (or starts matching it off the runtime); the loss before it, if any, comes first.
    fn take(&mut self, batch: Arc<Batch>) -> Option<TailItem> {
        let dropped = self.subscription.take_dropped(batch.seq);
        if batch.seq > self.seen_seq {
            if self.query.may_be_slow() {
                let handle = matched_off_runtime(&self.query, &batch, &self.stop);
                self.matching = Some((batch, handle));
            } else {
                self.current = Some((batch, Positions::From(0)));
            }
        }
        (dropped > 0).then_some(TailItem::Dropped(dropped))
    }
}

/// Finds the indices of the events of `batch` that match `query` on the blocking pool; `None`
/// when `stop` fired first (the tail was dropped).
fn matched_off_runtime(query: &Query, batch: &Arc<Batch>, stop: &Interrupt) -> Matching {
    let (query, batch, stop) = (query.clone(), Arc::clone(batch), stop.clone());
    tokio::task::spawn_blocking(move || {
        let mut hits = Vec::new();
        for (i, event) in batch.events.iter().enumerate() {
            stop.check().ok()?;
            if query.matches(event) {
                hits.push(i);
            }
        }
        Some(hits)
    })
}

#[cfg(test)]
mod tests {
    use sift_core::{Source, Timestamp};
    use sift_store::RingLimits;

    use super::*;

    fn event(message: &str) -> Event {
        Event::new(Source::HttpJson, Timestamp::now(), message)
    }

    fn publish(ring: &Ring, bus: &Bus, events: Vec<Event>) {
        let batch = ring.push(events);
        bus.publish(&batch);
    }

    async fn message(tail: &mut Tail) -> TailItem {
        match tail.next().await {
            Some(TailItem::Event(e)) => item(&e.get().message),
            Some(other) => other,
            None => panic!("tail ended"),
        }
    }

    fn item(message: &str) -> TailItem {
        TailItem::Event(TailEvent::Copied(Box::new(Event::new(Source::Internal, Timestamp(0), message))))
    }

    fn limits(queue: usize) -> TailLimits {
        TailLimits { queue, max_bytes: usize::MAX }
    }

    fn unbounded() -> Arc<BacklogBytes> {
        BacklogBytes::new(usize::MAX)
    }

    #[tokio::test]
    async fn backlog_then_ready_then_live_without_duplicates() {
        let ring = Ring::new(RingLimits { max_events: 100, max_bytes: usize::MAX });
        let bus = Bus::new(Arc::default(), Some(ring.front()));
        publish(&ring, &bus, vec![event("one"), event("two"), event("three")]);
        let mut tail =
            Tail::open(&ring, &bus, None, Query::all(), 2, limits(8), &unbounded(), Interrupt::never()).unwrap();
        publish(&ring, &bus, vec![event("four")]);
        assert_eq!(message(&mut tail).await, item("two"));
        assert_eq!(message(&mut tail).await, item("three"));
        assert_eq!(message(&mut tail).await, TailItem::Ready);
        assert_eq!(message(&mut tail).await, item("four"));
    }

    /// Runs `tail.next()` beside a task that counts how often it runs on this one-threaded
    /// runtime, and returns the item with that count.
    async fn next_beside_a_ticker(tail: &mut Tail) -> (TailItem, u64) {
        let ticks = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = Arc::clone(&ticks);
        let ticker = tokio::spawn(async move {
            loop {
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        });
        let item = message(tail).await;
        ticker.abort();
        (item, ticks.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// A long batch never holds the runtime's thread until it is matched: a query that may be
    /// slow is matched on the blocking pool, another yields as the task's budget runs out.
    #[tokio::test(flavor = "current_thread")]
    async fn matching_a_long_batch_lets_other_tasks_run() {
        let ring = Ring::new(RingLimits { max_events: 100_000, max_bytes: usize::MAX });
        let bus = Bus::new(Arc::default(), Some(ring.front()));
        let needle = format!("{}X", "a".repeat(20));
        for (src, slow) in [(r"message:/\w{20}X/", true), (needle.as_str(), false)] {
            let query = Query::parse(src).unwrap();
            assert_eq!(query.may_be_slow(), slow, "{src}");
            let mut tail =
                Tail::open(&ring, &bus, None, query, 0, limits(8), &unbounded(), Interrupt::never()).unwrap();
            assert_eq!(message(&mut tail).await, TailItem::Ready);
            let mut events: Vec<Event> = (0..2_000).map(|_| event(&"word ".repeat(400))).collect();
            events.push(event(&needle));
            publish(&ring, &bus, events);
            let (item, ticks) = next_beside_a_ticker(&mut tail).await;
            assert_eq!(item, self::item(&needle), "{src}");
            assert!(ticks > 0, "{src}: the runtime's only thread was held while the batch was matched");
        }
    }

    #[tokio::test]
    async fn a_tail_that_falls_behind_is_told_how_many_it_missed() {
        let ring = Ring::new(RingLimits { max_events: 100, max_bytes: usize::MAX });
        let bus = Bus::new(Arc::default(), Some(ring.front()));
        let mut tail =
            Tail::open(&ring, &bus, None, Query::all(), 0, limits(1), &unbounded(), Interrupt::never()).unwrap();
        assert_eq!(message(&mut tail).await, TailItem::Ready);
        publish(&ring, &bus, vec![event("kept")]);
        publish(&ring, &bus, vec![event("lost"), event("lost too")]);
        assert_eq!(message(&mut tail).await, item("kept"));
        assert_eq!(message(&mut tail).await, TailItem::Dropped(2));
        publish(&ring, &bus, vec![event("after")]);
        assert_eq!(message(&mut tail).await, item("after"));
    }

    #[tokio::test]
    async fn a_backlog_is_cut_to_its_bytes_newest_first() {
        let ring = Ring::new(RingLimits { max_events: 100, max_bytes: usize::MAX });
        let bus = Bus::new(Arc::default(), Some(ring.front()));
        let big = |m: &str| event(&format!("{m}{}", "x".repeat(10_000)));
        publish(&ring, &bus, vec![big("a"), big("b"), big("c")]);
        let one = ring.snapshot().iter().next().map(Event::approx_bytes).unwrap();
        let limits = TailLimits { queue: 8, max_bytes: one * 2 + 1 };
        let mut tail =
            Tail::open(&ring, &bus, None, Query::all(), 3, limits, &unbounded(), Interrupt::never()).unwrap();
        let Some(TailItem::Event(first)) = tail.next().await else { panic!("an event first") };
        assert!(first.get().message.starts_with('b'), "the newest two that fit, oldest first");
        let Some(TailItem::Event(second)) = tail.next().await else { panic!("a second event") };
        assert!(second.get().message.starts_with('c'));
        assert_eq!(tail.next().await, Some(TailItem::Ready));
    }

    #[tokio::test]
    async fn backlogs_share_one_budget_given_back_once_sent() {
        let ring = Ring::new(RingLimits { max_events: 100, max_bytes: usize::MAX });
        let bus = Bus::new(Arc::default(), Some(ring.front()));
        publish(&ring, &bus, vec![event("a"), event("b"), event("c")]);
        let one = ring.snapshot().iter().next().map(Event::approx_bytes).unwrap();
        let backlogs = BacklogBytes::new(one * 2);
        let open = || Tail::open(&ring, &bus, None, Query::all(), 3, limits(8), &backlogs, Interrupt::never());
        let mut first = open().unwrap();
        assert_eq!(backlogs.held(), one * 2, "the first tail's backlog took the whole budget");
        let mut second = open().unwrap();
        assert_eq!(second.next().await, Some(TailItem::Ready), "nothing was left for a second backlog");
        for expected in ["b", "c"] {
            assert_eq!(message(&mut first).await, item(expected));
        }
        assert_eq!(message(&mut first).await, TailItem::Ready);
        assert_eq!(backlogs.held(), 0, "a sent backlog gives its bytes back");
        let mut third = open().unwrap();
        assert_eq!(message(&mut third).await, item("b"));
        drop(third);
        assert_eq!(backlogs.held(), 0, "so does a tail that ends");
    }
}
