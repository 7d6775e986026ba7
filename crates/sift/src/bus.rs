//! The bus: fans every published batch out to its subscribers (live tails now; drains,
//! alerts and metrics later) without ever waiting for one.
//!
//! Each subscriber has its own bounded queue of batches. Publishing tries each queue once;
//! a full queue loses the batch for that subscriber only, and the loss is added to the
//! subscriber's drop counter, which the subscriber reports in-band (a tail's `dropped` event).
//! The batch itself is shared (`Arc`), never copied.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use sift_core::Batch;
use tokio::sync::mpsc;

/// The fan-out point after the ring.
#[derive(Default)]
pub struct Bus {
    subscribers: Mutex<Vec<Sender>>,
    /// Events lost by all subscribers together since start.
    dropped_total: AtomicU64,
}

struct Sender {
    queue: mpsc::Sender<Arc<Batch>>,
    dropped: Arc<Mutex<Dropped>>,
}

/// Events a subscriber lost, and the newest batch among them: the subscriber reports the
/// loss before the first later batch it receives, so the report comes in the right place.
#[derive(Debug, Default, Clone, Copy)]
struct Dropped {
    events: u64,
    last_seq: u64,
}

/// One consumer's end of the bus. Dropping it unsubscribes.
pub struct Subscription {
    queue: mpsc::Receiver<Arc<Batch>>,
    dropped: Arc<Mutex<Dropped>>,
}

impl Bus {
    pub fn new() -> Bus {
        Bus::default()
    }

    /// A new subscriber whose queue holds at most `capacity` batches.
    pub fn subscribe(&self, capacity: usize) -> Subscription {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(Mutex::new(Dropped::default()));
        self.lock().push(Sender { queue: tx, dropped: Arc::clone(&dropped) });
        Subscription { queue: rx, dropped }
    }

    /// Offers the batch to every subscriber; never waits.
    pub fn publish(&self, batch: &Arc<Batch>) {
        let mut subscribers = self.lock();
        subscribers.retain(|subscriber| match subscriber.queue.try_send(Arc::clone(batch)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                let lost = batch.events.len() as u64;
                let mut dropped = subscriber.dropped.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                dropped.events += lost;
                dropped.last_seq = dropped.last_seq.max(batch.seq);
                self.dropped_total.fetch_add(lost, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
    }

    pub fn subscribers(&self) -> usize {
        self.lock().len()
    }

    pub fn dropped_total(&self) -> u64 {
        self.dropped_total.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Sender>> {
        self.subscribers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Subscription {
    /// The next batch, or `None` once the bus is gone.
    pub async fn recv(&mut self) -> Option<Arc<Batch>> {
        self.queue.recv().await
    }

    /// A batch that is already waiting, if any.
    pub fn try_recv(&mut self) -> Option<Arc<Batch>> {
        self.queue.try_recv().ok()
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

    #[tokio::test]
    async fn a_full_subscriber_loses_batches_and_counts_them_without_blocking_others() {
        let bus = Bus::new();
        let mut slow = bus.subscribe(1);
        let mut fast = bus.subscribe(8);
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
    async fn dropping_a_subscription_unsubscribes() {
        let bus = Bus::new();
        let subscription = bus.subscribe(1);
        assert_eq!(bus.subscribers(), 1);
        drop(subscription);
        bus.publish(&batch(1, 1));
        assert_eq!(bus.subscribers(), 0);
    }
}
