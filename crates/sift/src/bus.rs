//! The bus: fans every published batch out to its subscribers (live tails now; drains and
//! metrics later) without ever waiting for one.
//!
//! Each subscriber has its own queue, made by the [`Registry`] and bounded by batches and by
//! bytes, with the policy the subscriber chose for when it is full: a tail loses the newest
//! batch ([`Policy::LoseNewest`]), a drain will lose the oldest ([`Policy::DisplaceOldest`]).
//! Either way the loss is counted for that subscriber alone, which reports it in-band (a tail's
//! `dropped` event), and in the queue's figures. The batch itself is shared (`Arc`), never
//! copied. Alert counting must never lose an event, so it is not a subscriber: it runs on the
//! ingest path.
//!
//! A subscriber may follow the ring (live tails do): a batch the ring has evicted is then
//! taken out of its queue, counted as lost, when the next batch is published. So a reader that
//! stalls never holds a batch the ring has let go, and all the tails' queues together cost no
//! memory beyond the ring's, however many they are.
//!
//! When the server stops, [`Bus::close`] ends every subscription: `recv` then returns `None`
//! once the batches already queued are read.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use sift_core::Batch;
use sift_store::RingFront;

use crate::observe::queue::{Receiver, Refused, Sender};
use crate::observe::{Policy, Registry, Weigh};

/// The fan-out point after the ring.
pub struct Bus {
    registry: Arc<Registry>,
    subscribers: Mutex<Vec<Subscriber>>,
    closed: AtomicBool,
    /// Events lost by all subscribers together since start.
    dropped_total: AtomicU64,
    /// The ring's front, for the subscribers that follow the ring.
    ring_front: Option<RingFront>,
}

struct Subscriber {
    queue: Sender<Published>,
    dropped: Arc<Mutex<Dropped>>,
    follows_ring: bool,
}

/// A batch with its weight, reckoned once per publish, not once per subscriber.
#[derive(Clone)]
struct Published {
    batch: Arc<Batch>,
    bytes: usize,
}

impl Weigh for Published {
    fn weight(&self) -> usize {
        self.bytes
    }
}

/// Events a subscriber lost, and the newest batch among them: the subscriber reports the
/// loss before the first later batch it receives, so the report comes in the right place.
#[derive(Debug, Default, Clone, Copy)]
struct Dropped {
    events: u64,
    last_seq: u64,
}

/// How a subscriber's queue is bounded and what it does when full.
#[derive(Debug, Clone, Copy)]
pub struct QueueSpec {
    /// The name its figures are registered under (shared by every subscriber of one kind).
    pub name: &'static str,
    pub batches: usize,
    pub bytes: usize,
    pub policy: Policy,
    /// Whether batches the ring has evicted leave the queue (see the module's documentation).
    pub follows_ring: bool,
}

/// One consumer's end of the bus. Dropping it unsubscribes.
pub struct Subscription {
    queue: Receiver<Published>,
    dropped: Arc<Mutex<Dropped>>,
}

impl Bus {
    /// A bus after the ring whose front is `ring_front`; without one, no subscriber follows
    /// the ring.
    pub fn new(registry: Arc<Registry>, ring_front: Option<RingFront>) -> Bus {
        Bus {
            registry,
            subscribers: Mutex::default(),
            closed: AtomicBool::new(false),
            dropped_total: AtomicU64::new(0),
            ring_front,
        }
    }

    /// A new subscriber with a queue as `spec` says; on a closed bus, one that ends at once.
    pub fn subscribe(&self, spec: QueueSpec) -> Subscription {
        let (tx, rx) = self.registry.queue(spec.name, spec.batches, spec.bytes, spec.policy);
        let dropped = Arc::new(Mutex::new(Dropped::default()));
        if !self.closed.load(Ordering::Acquire) {
            let follows_ring = spec.follows_ring;
            self.lock().push(Subscriber { queue: tx, dropped: Arc::clone(&dropped), follows_ring });
        }
        Subscription { queue: rx, dropped }
    }

    /// Offers the batch to every subscriber; never waits.
    pub fn publish(&self, batch: &Arc<Batch>) {
        let mut subscribers = self.lock();
        if subscribers.is_empty() {
            return;
        }
        let published =
            Published { batch: Arc::clone(batch), bytes: batch.events.iter().map(|e| e.approx_bytes()).sum() };
        subscribers.retain(|subscriber| {
            if let Some(front) = self.ring_front.as_ref().filter(|_| subscriber.follows_ring) {
                let (mut lost, mut last_seq) = (0, 0);
                subscriber.queue.discard_front_while(|evicted| {
                    let gone = !front.holds(evicted.batch.seq);
                    if gone {
                        lost += evicted.batch.events.len() as u64;
                        last_seq = evicted.batch.seq;
                    }
                    gone
                });
                self.count_lost(subscriber, lost, last_seq);
            }
            match subscriber.queue.offer(published.clone()) {
                Ok(0) => true,
                Ok(_) => {
                    // Whichever batch was lost, it was this size or an older one: for a tail,
                    // the newest (this one); the loss is reported before the next batch it reads.
                    self.count_lost(subscriber, batch.events.len() as u64, batch.seq);
                    true
                }
                Err(Refused::Full(_)) => true,
                Err(Refused::Closed(_)) => false,
            }
        });
    }

    fn count_lost(&self, subscriber: &Subscriber, events: u64, seq: u64) {
        if events == 0 {
            return;
        }
        let mut dropped = subscriber.dropped.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        dropped.events += events;
        dropped.last_seq = dropped.last_seq.max(seq);
        self.dropped_total.fetch_add(events, Ordering::Relaxed);
    }

    /// Ends every subscription (once its queued batches are read) and refuses new ones.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.lock().clear();
    }

    pub fn subscribers(&self) -> usize {
        self.lock().len()
    }

    pub fn dropped_total(&self) -> u64 {
        self.dropped_total.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Subscriber>> {
        self.subscribers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Subscription {
    /// The next batch, or `None` once the bus is closed and the queue read.
    pub async fn recv(&mut self) -> Option<Arc<Batch>> {
        self.queue.recv().await.map(|published| published.batch)
    }

    /// A batch that is already waiting, if any.
    pub fn try_recv(&mut self) -> Option<Arc<Batch>> {
        self.queue.try_recv().map(|published| published.batch)
    }

    /// Events lost in batches older than `before_seq` since the last report, resetting the
    /// count; 0 when nothing was lost or the losses are newer (pass `u64::MAX` for all).
    pub fn take_dropped(&self, before_seq: u64) -> u64 {
        let mut dropped = self.dropped.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if dropped.events == 0 || dropped.last_seq >= before_seq {
            return 0;
        }
        std::mem::take(&mut dropped.events)
    }

    /// Batches waiting in this subscriber's queue.
    pub fn depth(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(seq: u64, events: usize) -> Arc<Batch> {
        let event = sift_core::Event::new(sift_core::Source::Internal, sift_core::Timestamp(0), "x");
        Arc::new(Batch { seq, events: vec![event; events] })
    }

    fn tail_queue(batches: usize) -> QueueSpec {
        QueueSpec { name: "tail", batches, bytes: usize::MAX, policy: Policy::LoseNewest, follows_ring: true }
    }

    #[tokio::test]
    async fn a_full_subscriber_loses_batches_and_counts_them_without_blocking_others() {
        let bus = Bus::new(Arc::default(), None);
        let mut slow = bus.subscribe(tail_queue(1));
        let mut fast = bus.subscribe(tail_queue(8));
        bus.publish(&batch(1, 2));
        bus.publish(&batch(2, 3));
        bus.publish(&batch(3, 5));
        assert_eq!(slow.recv().await.map(|b| b.seq), Some(1));
        assert_eq!(slow.take_dropped(3), 0, "batch 3 itself was lost: not older than it");
        assert_eq!(slow.take_dropped(4), 8);
        assert_eq!(slow.take_dropped(u64::MAX), 0);
        for seq in 1..=3 {
            assert_eq!(fast.recv().await.map(|b| b.seq), Some(seq));
        }
        assert_eq!(fast.take_dropped(u64::MAX), 0);
        assert_eq!(bus.dropped_total(), 8);
    }

    #[tokio::test]
    async fn a_subscriber_is_bounded_by_bytes_too() {
        let registry = Arc::new(Registry::default());
        let bus = Bus::new(Arc::clone(&registry), None);
        let one = batch(1, 10);
        let bytes: usize = one.events.iter().map(|e| e.approx_bytes()).sum();
        let mut tail = bus.subscribe(QueueSpec {
            name: "tail",
            batches: 100,
            bytes: bytes * 2,
            policy: Policy::LoseNewest,
            follows_ring: true,
        });
        for seq in 1..=5 {
            bus.publish(&batch(seq, 10));
        }
        assert_eq!(registry.figures()[0].depth_bytes, bytes * 2);
        assert_eq!(tail.take_dropped(u64::MAX), 30);
        assert_eq!(tail.recv().await.map(|b| b.seq), Some(1));
    }

    #[tokio::test]
    async fn dropping_a_subscription_unsubscribes_and_closing_ends_the_others() {
        let bus = Bus::new(Arc::default(), None);
        let subscription = bus.subscribe(tail_queue(1));
        let mut other = bus.subscribe(tail_queue(4));
        assert_eq!(bus.subscribers(), 2);
        drop(subscription);
        bus.publish(&batch(1, 1));
        assert_eq!(bus.subscribers(), 1);
        bus.close();
        assert_eq!(other.recv().await.map(|b| b.seq), Some(1), "what was queued is still read");
        assert_eq!(other.recv().await.map(|b| b.seq), None);
        assert!(bus.subscribe(tail_queue(1)).recv().await.is_none(), "a closed bus takes no one new");
    }

    #[tokio::test]
    async fn a_subscriber_that_follows_the_ring_never_holds_what_it_evicted() {
        use sift_store::{Ring, RingLimits};
        let registry = Arc::new(Registry::default());
        let ring = Ring::new(RingLimits { max_events: 4, max_bytes: usize::MAX });
        let bus = Bus::new(Arc::clone(&registry), Some(ring.front()));
        let mut stalled = bus.subscribe(tail_queue(100));
        let event = sift_core::Event::new(sift_core::Source::Internal, sift_core::Timestamp(0), "x");
        for _ in 0..5 {
            bus.publish(&ring.push(vec![event.clone(), event.clone()]));
        }
        assert_eq!(registry.figures()[0].depth, 2, "only the two batches the ring holds wait");
        assert_eq!(stalled.take_dropped(4), 6, "the three it evicted are reported lost, before batch 4");
        assert_eq!(stalled.recv().await.map(|b| b.seq), Some(4));
        assert_eq!(registry.figures()[0].dropped, 3);
    }
}
