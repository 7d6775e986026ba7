//! Live tails: the last N matching events from the ring, then every new matching event from
//! the bus, without duplicates or gaps between the two, and an in-band count of what was lost
//! when the tail's reader fell behind.
//!
//! The tail subscribes to the bus before it takes the ring snapshot for its backlog, so no
//! batch falls between them; batches already in the snapshot (sequence number at or below
//! the snapshot's) are skipped when they also arrive from the bus.

use std::collections::VecDeque;
use std::sync::Arc;

use sift_core::query::Query;
use sift_core::{Batch, Event};
use sift_store::{Expiry, Interrupt, Interrupted, Ring};

use crate::bus::{Bus, Subscription};

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
    current: Option<(Arc<Batch>, usize)>,
}

impl Tail {
    /// Opens a tail with up to `backlog` recent matching events; `queue` bounds the batches
    /// waiting for this tail's reader.
    /// Events past their retention (per `expiry`) are left out of the backlog, and the scan for
    /// it stops when `interrupt` fires.
    pub fn open(
        ring: &Ring,
        bus: &Bus,
        expiry: Option<Arc<Expiry>>,
        query: Query,
        backlog: usize,
        queue: usize,
        interrupt: Interrupt,
    ) -> Result<Tail, Interrupted> {
        let subscription = bus.subscribe(queue);
        let snapshot = match expiry {
            Some(expiry) => ring.snapshot().with_expiry(expiry),
            None => ring.snapshot(),
        };
        let snapshot = snapshot.with_interrupt(interrupt);
        let backlog = snapshot.latest(&query, backlog)?.into();
        Ok(Tail { query, backlog, ready_sent: false, subscription, seen_seq: snapshot.last_seq(), current: None })
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
            if let Some((batch, index)) = &mut self.current {
                while let Some(event) = batch.events.get(*index) {
                    *index += 1;
                    if self.query.matches(event) {
                        return Some(TailItem::Event(Box::new(event.clone())));
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
                self.current = Some((batch, 0));
            }
            if dropped > 0 {
                return Some(TailItem::Dropped(dropped));
            }
        }
    }
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

    #[tokio::test]
    async fn backlog_then_ready_then_live_without_duplicates() {
        let ring = Ring::new(RingLimits { max_events: 100, max_bytes: usize::MAX });
        let bus = Bus::new();
        publish(&ring, &bus, vec![event("one"), event("two"), event("three")]);
        let mut tail = Tail::open(&ring, &bus, None, Query::all(), 2, 8, Interrupt::never()).unwrap();
        publish(&ring, &bus, vec![event("four")]);
        assert_eq!(message(&mut tail).await, item("two"));
        assert_eq!(message(&mut tail).await, item("three"));
        assert_eq!(message(&mut tail).await, TailItem::Ready);
        assert_eq!(message(&mut tail).await, item("four"));
    }

    #[tokio::test]
    async fn a_tail_that_falls_behind_is_told_how_many_it_missed() {
        let ring = Ring::new(RingLimits { max_events: 100, max_bytes: usize::MAX });
        let bus = Bus::new();
        let mut tail = Tail::open(&ring, &bus, None, Query::all(), 0, 1, Interrupt::never()).unwrap();
        assert_eq!(message(&mut tail).await, TailItem::Ready);
        publish(&ring, &bus, vec![event("kept")]);
        publish(&ring, &bus, vec![event("lost"), event("lost too")]);
        assert_eq!(message(&mut tail).await, item("kept"));
        assert_eq!(message(&mut tail).await, TailItem::Dropped(2));
        publish(&ring, &bus, vec![event("after")]);
        assert_eq!(message(&mut tail).await, item("after"));
    }
}
