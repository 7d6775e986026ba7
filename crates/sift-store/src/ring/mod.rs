//! The ring: the latest events in memory, bounded by count and by (estimated) bytes.
//!
//! Events arrive in batches and stay in them: the ring is a queue of shared batches, and the
//! oldest events are evicted from the front (a partly evicted batch is skipped into). Readers
//! take a [`Snapshot`] (a list of batch pointers, taken under a short lock) and scan it without
//! holding any lock, so a long query never blocks ingest.
//!
//! As it evicts, the ring publishes the sequence number of the oldest batch it still holds
//! ([`RingFront`]): the durable store keeps a pending batch in memory only while the ring
//! holds it (docs/adr/0009-wal-backlog.md), whoever else (a tail, a drain) holds it too.

mod snapshot;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use sift_core::event::{allocation, vec_bytes};
use sift_core::{Batch, Event};

pub use snapshot::Snapshot;

/// A batch's own allocation: the `Arc` around it, its two counts, its number and its vector.
const BATCH_BYTES: usize = allocation(2 * std::mem::size_of::<usize>() + std::mem::size_of::<Batch>());

/// How much the ring holds at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingLimits {
    pub max_events: usize,
    pub max_bytes: usize,
}

/// What the ring holds now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RingStats {
    pub events: usize,
    pub bytes: usize,
    /// Events pushed out by newer ones since start.
    pub evicted: u64,
    /// The sequence number of the newest batch.
    pub last_seq: u64,
}

pub struct Ring {
    limits: RingLimits,
    inner: Mutex<Inner>,
    front: RingFront,
}

/// Which batches the ring holds: those numbered from its front on (a batch partly evicted
/// is still held), never one below. The ring moves it as it evicts; a reader asks it without
/// taking the ring's lock. It only rises.
#[derive(Debug, Clone)]
pub struct RingFront(Arc<AtomicU64>);

impl RingFront {
    /// Whether the ring still holds the batch numbered `seq` (wholly or in part), or has not
    /// been given it yet.
    pub fn holds(&self, seq: u64) -> bool {
        seq >= self.0.load(Ordering::Acquire)
    }
}

#[derive(Default)]
struct Inner {
    /// Each batch with the bytes it still counts for.
    batches: VecDeque<(Arc<Batch>, usize)>,
    /// Events of the front batch that are already evicted.
    front_skip: usize,
    events: usize,
    bytes: usize,
    evicted: u64,
    last_seq: u64,
}

impl Ring {
    pub fn new(limits: RingLimits) -> Ring {
        Ring { limits, inner: Mutex::new(Inner::default()), front: RingFront(Arc::new(AtomicU64::new(1))) }
    }

    /// The oldest batch the ring holds, as it moves.
    pub fn front(&self) -> RingFront {
        self.front.clone()
    }

    pub fn limits(&self) -> RingLimits {
        self.limits
    }

    /// Appends events as the next batch, evicting the oldest events beyond the limits, and
    /// returns the batch with its sequence number for the consumers after the ring.
    pub fn push(&self, events: Vec<Event>) -> Arc<Batch> {
        let bytes = Ring::weigh(&events);
        self.push_weighed(events, bytes)
    }

    /// The bytes the ring counts `events` for: what they hold in memory as the allocator
    /// hands it out ([`Event::heap_bytes`]), with the vector that holds them at its capacity and
    /// the batch around it (docs/adr/0017-memory-accounting.md). Work per event, for a caller
    /// to do before it takes a lock that others wait on, and hand to [`Ring::push_weighed`].
    pub fn weigh(events: &Vec<Event>) -> usize {
        BATCH_BYTES + vec_bytes::<Event>(events.capacity()) + events.iter().map(Event::heap_bytes).sum::<usize>()
    }

    /// [`Ring::push`] with the batch's bytes from [`Ring::weigh`]: no work per event but
    /// what eviction needs (a step per batch evicted), under the ring's lock.
    pub fn push_weighed(&self, events: Vec<Event>, bytes: usize) -> Arc<Batch> {
        let mut inner = self.lock();
        inner.last_seq += 1;
        let batch = Arc::new(Batch { seq: inner.last_seq, events });
        inner.hold(Arc::clone(&batch), bytes, self.limits);
        self.front.0.store(inner.front_seq(), Ordering::Release);
        batch
    }

    /// Puts back batches replayed at start, oldest first, keeping their sequence numbers
    /// (which must rise, and start after the newest batch held: the store numbers a replay
    /// from 1 for an empty ring), so that the ring shares them with the store's pending
    /// batches instead of holding copies.
    pub fn restore(&self, batches: impl IntoIterator<Item = Arc<Batch>>) {
        // Weighed before the lock: work per event.
        let weighed: Vec<(Arc<Batch>, usize)> = batches
            .into_iter()
            .map(|batch| {
                let bytes = Ring::weigh(&batch.events);
                (batch, bytes)
            })
            .collect();
        let mut inner = self.lock();
        for (batch, bytes) in weighed {
            debug_assert!(batch.seq > inner.last_seq, "restored batches keep rising sequence numbers");
            inner.last_seq = inner.last_seq.max(batch.seq);
            inner.hold(batch, bytes, self.limits);
        }
        self.front.0.store(inner.front_seq(), Ordering::Release);
    }

    /// A consistent view of the events held now, to scan without holding the ring's lock.
    pub fn snapshot(&self) -> Snapshot {
        let inner = self.lock();
        let mut batches = Vec::with_capacity(inner.batches.len());
        let mut skip = inner.front_skip;
        for (batch, _) in &inner.batches {
            batches.push((Arc::clone(batch), skip));
            skip = 0;
        }
        Snapshot::new(batches, inner.last_seq, inner.events)
    }

    pub fn stats(&self) -> RingStats {
        let inner = self.lock();
        RingStats { events: inner.events, bytes: inner.bytes, evicted: inner.evicted, last_seq: inner.last_seq }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the queue consistent (every mutation is a
        // single push or pop), so a poisoned lock is still safe to use.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    /// The number of the oldest batch held; past the newest when none is.
    fn front_seq(&self) -> u64 {
        self.batches.front().map_or(self.last_seq + 1, |(batch, _)| batch.seq)
    }

    /// Holds a batch of `bytes` (an empty one is not held), evicting beyond the limits.
    fn hold(&mut self, batch: Arc<Batch>, bytes: usize, limits: RingLimits) {
        let count = batch.events.len();
        if count == 0 {
            return;
        }
        self.batches.push_back((batch, bytes));
        self.events += count;
        self.bytes += bytes;
        self.evict(limits);
    }

    /// Evicts the oldest events until both limits hold, a batch (or the part of one) at a
    /// step. Evicted events count for their batch's average size (sizes are estimated once,
    /// when the batch arrives); a batch's last events take whatever it still counts for, so
    /// the total stays exact.
    fn evict(&mut self, limits: RingLimits) {
        while self.events > limits.max_events || (self.bytes > limits.max_bytes && self.events > 0) {
            let Some((front, remaining)) = self.batches.front_mut() else { break };
            let left = front.events.len() - self.front_skip;
            // Enough events for the count, and enough at the batch's average size for the bytes.
            let for_count = self.events.saturating_sub(limits.max_events);
            let over_bytes = self.bytes.saturating_sub(limits.max_bytes);
            let for_bytes = match over_bytes {
                0 => 0,
                _ if *remaining == 0 => left,
                over => (over as u128 * left as u128).div_ceil(*remaining as u128) as usize,
            };
            let evicted = for_count.max(for_bytes).clamp(1, left);
            let share = if evicted == left {
                *remaining
            } else {
                (*remaining as u128 * evicted as u128 / left as u128) as usize
            };
            *remaining -= share;
            self.bytes = self.bytes.saturating_sub(share);
            self.events -= evicted;
            self.evicted += evicted as u64;
            self.front_skip += evicted;
            if evicted == left {
                self.batches.pop_front();
                self.front_skip = 0;
            }
        }
    }
}
