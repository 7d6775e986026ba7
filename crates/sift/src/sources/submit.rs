//! The submitter: one thread per listener that takes decoded items from its receivers
//! (UDP threads, TCP connections) through a bounded queue and runs them through
//! [`Ingest::submit`](crate::ingest::Ingest::submit).
//!
//! Receivers never wait on the pipeline or the WAL's fsync themselves: a UDP socket keeps
//! being drained while a batch is being stored, and queued chunks that arrived meanwhile are
//! merged into one submission, so one WAL record and one fsync cover many reads.
//!
//! The queue is bounded by chunks and by bytes of decoded events ([`QUEUE_CHUNKS`],
//! [`QUEUE_BYTES`]), so tiny frames, which decode to many small events, cannot fill memory:
//! a TCP receiver reserves room before it decodes what it read ([`Submitter::reserve`]) and
//! waits for it (so it stops reading, and the sender feels TCP back-pressure); a UDP receiver
//! cannot make a sender wait, so a full queue hands its chunk back to hold a while, then drop
//! and count as `queue_full`.
//!
//! The same holds when the store refuses events (a full disk, a full backlog): the TCP
//! submitter tries them again until the store takes them, its queue fills meanwhile, and the
//! senders wait; the UDP submitters drop them, counted by reason (`disk_full`, `store_behind`).
//! On stop, a waiting submission is dropped and counted, so a stop never hangs on a full disk.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use sift_core::{Event, Source};
use tracing::error;

use crate::ingest::Ingest;
use crate::observe::queue::{Receiver, Refused, Reservation, Sender};
use crate::observe::{DropReason, Policy, Registry, Weigh};
use crate::pipeline::Rejection;

/// Decoded items from one read: events or why an item is not one, with what they weigh.
#[derive(Default)]
pub struct Chunk {
    items: Vec<Result<Event, Rejection>>,
    bytes: usize,
}

impl Chunk {
    pub fn push(&mut self, item: Result<Event, Rejection>) {
        self.bytes += weight_of(&item);
        self.items.push(item);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Weigh for Chunk {
    fn weight(&self) -> usize {
        self.bytes
    }
}

/// What an item holds in memory: an event's estimate, or a rejection and its message.
fn weight_of(item: &Result<Event, Rejection>) -> usize {
    match item {
        Ok(event) => event.approx_bytes(),
        Err(rejection) => std::mem::size_of::<Rejection>() + rejection.message.len(),
    }
}

/// Chunks waiting per listener.
pub const QUEUE_CHUNKS: usize = 256;
/// Bytes of decoded events waiting per listener (by [`Event::approx_bytes`]).
pub const QUEUE_BYTES: usize = 16 << 20;
/// A submission grows by merging queued chunks up to about this many items.
const MERGE_ITEMS: usize = 8192;

#[derive(Clone)]
pub struct Submitter {
    source: Source,
    queue: Sender<Chunk>,
    ingest: Arc<Ingest>,
}

/// The submitter's thread; joined on stop, once every sender is gone and the queue drained.
pub struct SubmitterThread(std::thread::JoinHandle<()>);

impl Submitter {
    /// `waits_until`: for a source whose senders can be made to wait, the flag that ends
    /// the waiting (set on stop); `None` drops what the store refuses. The queue is registered
    /// as `<source>.submit`.
    pub fn start(
        ingest: Arc<Ingest>,
        registry: &Registry,
        source: Source,
        waits_until: Option<Arc<AtomicBool>>,
    ) -> std::io::Result<(Submitter, SubmitterThread)> {
        let policy = if waits_until.is_some() { Policy::Wait } else { Policy::HandBack };
        let name = format!("{}.submit", source.name());
        let (queue, receiver) = registry.queue(&name, QUEUE_CHUNKS, QUEUE_BYTES, policy);
        let worker = Arc::clone(&ingest);
        let thread = std::thread::Builder::new()
            .name(format!("sift-{}", source.name()))
            .spawn(move || submit_all(&worker, source, receiver, waits_until.as_deref()))?;
        Ok((Submitter { source, queue, ingest }, SubmitterThread(thread)))
    }

    /// Waits for room for a chunk of about `bytes` (decoded), to be filled and sent through
    /// the reservation: for senders that can be slowed down (TCP) and decode only once there
    /// is room. `None` while stopping.
    pub async fn reserve(&self, bytes: usize) -> Option<ChunkRoom> {
        self.queue.reserve(bytes).await.map(|room| ChunkRoom { room, submitter: self.clone() })
    }

    /// Queues a chunk if there is room, else hands it back (for UDP, which holds it a while
    /// and merges the next reads into it). A chunk sent while stopping is dropped and counted.
    pub fn try_send(&self, chunk: Chunk) -> Result<(), Chunk> {
        if chunk.is_empty() {
            return Ok(());
        }
        match self.queue.offer(chunk) {
            Ok(_) => Ok(()),
            Err(Refused::Full(chunk)) => Err(chunk),
            Err(Refused::Closed(chunk)) => {
                self.count_dropped(DropReason::ShuttingDown, chunk.len() as u64);
                Ok(())
            }
        }
    }

    /// Drops and counts a chunk there was no room for.
    pub fn drop_full(&self, chunk: Chunk) {
        self.queue.count_dropped(1);
        self.count_dropped(DropReason::QueueFull, chunk.len() as u64);
    }

    fn count_dropped(&self, reason: DropReason, items: u64) {
        self.ingest.reject_dropped(self.source, reason, items);
    }
}

/// Room held in a submitter's queue for one chunk, until it is sent.
pub struct ChunkRoom {
    room: Reservation<Chunk>,
    submitter: Submitter,
}

impl ChunkRoom {
    /// Queues the chunk in the room held for it; dropped and counted if the submitter stopped.
    pub fn send(self, chunk: Chunk) {
        if chunk.is_empty() {
            return;
        }
        if let Err(chunk) = self.room.send(chunk) {
            self.submitter.count_dropped(DropReason::ShuttingDown, chunk.len() as u64);
        }
    }
}

impl SubmitterThread {
    pub fn join(self) {
        if self.0.join().is_err() {
            error!("a submitter thread panicked");
        }
    }
}

fn submit_all(ingest: &Ingest, source: Source, mut queue: Receiver<Chunk>, waits_until: Option<&AtomicBool>) {
    let mut chunks = Vec::new();
    while let Some(chunk) = queue.blocking_recv() {
        let mut len = chunk.len();
        chunks.push(chunk);
        while len < MERGE_ITEMS {
            match queue.try_recv() {
                Some(more) => {
                    len += more.len();
                    chunks.push(more);
                }
                None => break,
            }
        }
        let items = Items::new(chunks.drain(..), len);
        // A refused submission is counted and logged by `submit`: the protocol has no way
        // to tell the sender.
        let _ = match waits_until {
            Some(stop) => ingest.submit_waiting(source, items, stop),
            None => ingest.submit(source, items),
        };
    }
}

/// The items of several chunks in order, as one submission: the chunks are read in turn
/// rather than appended into one vector, which moved every event (hundreds of bytes each)
/// once more and grew the vector by reallocating.
struct Items<C: Iterator<Item = Chunk>> {
    chunks: C,
    current: std::vec::IntoIter<Result<Event, Rejection>>,
    left: usize,
}

impl<C: Iterator<Item = Chunk>> Items<C> {
    /// `len`: the chunks' items together.
    fn new(chunks: C, len: usize) -> Items<C> {
        Items { chunks, current: Vec::new().into_iter(), left: len }
    }
}

impl<C: Iterator<Item = Chunk>> Iterator for Items<C> {
    type Item = Result<Event, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.current.next() {
                self.left -= 1;
                return Some(item);
            }
            self.current = self.chunks.next()?.items.into_iter();
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<C: Iterator<Item = Chunk>> ExactSizeIterator for Items<C> {}

#[cfg(test)]
mod tests {
    use sift_core::{Event, Source, Timestamp};

    use super::{Chunk, Items};
    use crate::pipeline::Rejection;

    #[test]
    fn items_of_several_chunks_in_order_with_their_count() {
        let event = |message: &str| Ok(Event::new(Source::SyslogTcp, Timestamp(0), message));
        let mut first = Chunk::default();
        first.push(event("a"));
        first.push(Err(Rejection::new("bad_pri", "x".to_owned())));
        let mut second = Chunk::default();
        second.push(event("b"));
        let chunks = vec![first, Chunk::default(), second];
        let items = Items::new(chunks.into_iter(), 3);
        assert_eq!(items.len(), 3);
        let shown: Vec<String> = items
            .map(|item| match item {
                Ok(event) => event.message,
                Err(rejection) => format!("rejected {}", rejection.reason),
            })
            .collect();
        assert_eq!(shown, ["a", "rejected bad_pri", "b"]);
    }
}
