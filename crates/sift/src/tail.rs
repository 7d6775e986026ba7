//! Live tails: the last N matching events from the ring, then every new matching event from
//! the bus, without duplicates or gaps between the two, and an in-band count of what was lost
//! when the tail's reader fell behind.
//!
//! What a tail holds is bounded by [`TailLimits::max_bytes`] twice over: its backlog is copied
//! from the ring up to that many bytes (the newest matches first), and its queue of live
//! batches holds at most that many bytes (beyond it the newest batches are lost and
//! reported). A stalled reader therefore costs at most twice that bound, whatever it asks for.
//!
//! The tail subscribes to the bus before it takes the ring snapshot for its backlog, so no
//! batch falls between them; batches already in the snapshot (sequence number at or below
//! the snapshot's) are skipped when they also arrive from the bus.
//!
//! Live batches are matched without holding up the runtime's worker: event by event with a
//! cooperative yield when the task has used its budget, or, for a query that may be slow
//! (`Query::may_be_slow`: a regex can cost milliseconds per event), on the blocking pool, a
//! batch at a time, stopped when the tail is dropped.

use std::collections::VecDeque;
use std::sync::Arc;

use sift_core::query::Query;
use sift_core::{Batch, Event};
use sift_store::{CancelOnDrop, Expiry, Interrupt, Interrupted, Ring};

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

/// What a tail yields, in order: the backlog's events, one `Ready`, then live events and,
/// when the reader fell behind, `Dropped` with the number of events it never saw.
#[derive(Debug, Clone, PartialEq)]
pub enum TailItem {
    Event(Box<Event>),
    Ready,
    Dropped(u64),
}

pub struct Tail {
    query: Query,
    backlog: VecDeque<Event>,
    ready_sent: bool,
    subscription: Subscription,
    /// Batches up to this sequence number were in the backlog's snapshot.
    seen_seq: u64,
    /// The live batch being read, and which of its events are still to look at.
    current: Option<(Arc<Batch>, Positions)>,
    /// Stops the matching of a batch off the runtime when the tail is dropped.
    stop: Interrupt,
    _stop_on_drop: CancelOnDrop,
}

/// The events of a live batch still to look at.
enum Positions {
    /// Every event from this index on, tested here.
    From(usize),
    /// The indices of the events that matched, tested off the runtime.
    Matched(std::vec::IntoIter<usize>),
}

impl Tail {
    /// Opens a tail with up to `backlog` recent matching events, as [`TailLimits`] bound it.
    /// Events past their retention (per `expiry`) are left out of the backlog, and the scan for
    /// it stops when `interrupt` fires.
    pub fn open(
        ring: &Ring,
        bus: &Bus,
        expiry: Option<Arc<Expiry>>,
        query: Query,
        backlog: usize,
        limits: TailLimits,
        interrupt: Interrupt,
    ) -> Result<Tail, Interrupted> {
        let spec =
            QueueSpec { name: "tail", batches: limits.queue, bytes: limits.max_bytes, policy: Policy::LoseNewest };
        let subscription = bus.subscribe(spec);
        let snapshot = match expiry {
            Some(expiry) => ring.snapshot().with_expiry(expiry),
            None => ring.snapshot(),
        };
        let snapshot = snapshot.with_interrupt(interrupt);
        let backlog = snapshot.latest_within(&query, backlog, limits.max_bytes)?.into();
        let (stop, stop_on_drop) = Interrupt::new(None);
        Ok(Tail {
            query,
            backlog,
            ready_sent: false,
            subscription,
            seen_seq: snapshot.last_seq(),
            current: None,
            stop,
            _stop_on_drop: stop_on_drop,
        })
    }

    /// The next item, waiting for live events; `None` when the server shuts the bus down.
    pub async fn next(&mut self) -> Option<TailItem> {
        if let Some(event) = self.backlog.pop_front() {
            return Some(TailItem::Event(Box::new(event)));
        }
        if !self.ready_sent {
            self.ready_sent = true;
            return Some(TailItem::Ready);
        }
        loop {
            if let Some((batch, positions)) = &mut self.current {
                match positions {
                    Positions::From(index) => {
                        while let Some(event) = batch.events.get(*index) {
                            *index += 1;
                            if self.query.matches(event) {
                                return Some(TailItem::Event(Box::new(event.clone())));
                            }
                            tokio::task::coop::consume_budget().await;
                        }
                    }
                    Positions::Matched(hits) => {
                        if let Some(event) = hits.next().and_then(|i| batch.events.get(i)) {
                            return Some(TailItem::Event(Box::new(event.clone())));
                        }
                    }
                }
                self.current = None;
            }
            let batch = match self.subscription.try_recv() {
                Some(batch) => batch,
                None => {
                    // Caught up: report any loss before waiting for more.
                    let dropped = self.subscription.take_dropped(u64::MAX);
                    if dropped > 0 {
                        return Some(TailItem::Dropped(dropped));
                    }
                    self.subscription.recv().await?
                }
            };
            let dropped = self.subscription.take_dropped(batch.seq);
            if batch.seq > self.seen_seq {
                let positions = if self.query.may_be_slow() {
                    Positions::Matched(matched_off_runtime(&self.query, &batch, &self.stop).await?.into_iter())
                } else {
                    Positions::From(0)
                };
                self.current = Some((batch, positions));
            }
            if dropped > 0 {
                return Some(TailItem::Dropped(dropped));
            }
        }
    }
}

/// The indices of the events of `batch` that match `query`, found on the blocking pool; `None`
/// when `stop` fired first (the tail was dropped).
async fn matched_off_runtime(query: &Query, batch: &Arc<Batch>, stop: &Interrupt) -> Option<Vec<usize>> {
    let (query, batch, stop) = (query.clone(), Arc::clone(batch), stop.clone());
    let matched = tokio::task::spawn_blocking(move || {
        let mut hits = Vec::new();
        for (i, event) in batch.events.iter().enumerate() {
            stop.check().ok()?;
            if query.matches(event) {
                hits.push(i);
            }
        }
        Some(hits)
    });
    matched.await.ok().flatten()
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
            Some(TailItem::Event(e)) => item(&e.message),
            Some(other) => other,
            None => panic!("tail ended"),
        }
    }

    fn item(message: &str) -> TailItem {
        TailItem::Event(Box::new(Event::new(Source::Internal, Timestamp(0), message)))
    }

    fn limits(queue: usize) -> TailLimits {
        TailLimits { queue, max_bytes: usize::MAX }
    }

    #[tokio::test]
    async fn backlog_then_ready_then_live_without_duplicates() {
        let ring = Ring::new(RingLimits { max_events: 100, max_bytes: usize::MAX });
        let bus = Bus::new(Arc::default());
        publish(&ring, &bus, vec![event("one"), event("two"), event("three")]);
        let mut tail = Tail::open(&ring, &bus, None, Query::all(), 2, limits(8), Interrupt::never()).unwrap();
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
        let bus = Bus::new(Arc::default());
        let needle = format!("{}X", "a".repeat(20));
        for (src, slow) in [(r"message:/\w{20}X/", true), (needle.as_str(), false)] {
            let query = Query::parse(src).unwrap();
            assert_eq!(query.may_be_slow(), slow, "{src}");
            let mut tail = Tail::open(&ring, &bus, None, query, 0, limits(8), Interrupt::never()).unwrap();
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
        let bus = Bus::new(Arc::default());
        let mut tail = Tail::open(&ring, &bus, None, Query::all(), 0, limits(1), Interrupt::never()).unwrap();
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
        let bus = Bus::new(Arc::default());
        let big = |m: &str| event(&format!("{m}{}", "x".repeat(10_000)));
        publish(&ring, &bus, vec![big("a"), big("b"), big("c")]);
        let one = ring.snapshot().iter().next().map(Event::approx_bytes).unwrap();
        let limits = TailLimits { queue: 8, max_bytes: one * 2 + 1 };
        let mut tail = Tail::open(&ring, &bus, None, Query::all(), 3, limits, Interrupt::never()).unwrap();
        let Some(TailItem::Event(first)) = tail.next().await else { panic!("an event first") };
        assert!(first.message.starts_with('b'), "the newest two that fit, oldest first");
        let Some(TailItem::Event(second)) = tail.next().await else { panic!("a second event") };
        assert!(second.message.starts_with('c'));
        assert_eq!(tail.next().await, Some(TailItem::Ready));
    }
}
