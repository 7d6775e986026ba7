//! The submitter: one thread per listener that takes decoded items from its receivers
//! (UDP threads, TCP connections) through a bounded queue and runs them through
//! [`Ingest::submit`](crate::ingest::Ingest::submit).
//!
//! Receivers never wait on the pipeline or the WAL's fsync themselves: a UDP socket keeps
//! being drained while a batch is being stored, and queued chunks that arrived meanwhile are
//! merged into one submission, so one WAL record and one fsync cover many reads. TCP
//! receivers wait for room in the queue (and so stop reading: the sender feels TCP
//! back-pressure); UDP receivers cannot make a sender wait, so they drop a chunk when the
//! queue is full and count it as `queue_full`.
//!
//! The same holds when the store refuses events (a full disk, a full backlog): the TCP
//! submitter tries them again until the store takes them, its queue fills meanwhile, and the
//! senders wait; the UDP submitters drop them, counted by reason (`disk_full`, `store_behind`).
//! On stop, a waiting submission is dropped and counted, so a stop never hangs on a full disk.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use sift_core::{Event, Source};
use tokio::sync::mpsc;
use tracing::error;

use crate::ingest::Ingest;
use crate::pipeline::Rejection;

/// Decoded items from one read: events or why an item is not one.
pub type Chunk = Vec<Result<Event, Rejection>>;

/// Chunks waiting per listener. A chunk is one read (up to a few hundred datagrams or a
/// read buffer of TCP frames), so this bounds memory at a few MB per listener.
const QUEUE_CHUNKS: usize = 256;
/// A submission grows by merging queued chunks up to about this many items.
const MERGE_ITEMS: usize = 8192;

#[derive(Clone)]
pub struct Submitter {
    source: Source,
    queue: mpsc::Sender<Chunk>,
    ingest: Arc<Ingest>,
}

/// The submitter's thread; joined on stop, once every sender is gone and the queue drained.
pub struct SubmitterThread(std::thread::JoinHandle<()>);

impl Submitter {
    /// `waits_until`: for a source whose senders can be made to wait, the flag that ends
    /// the waiting (set on stop); `None` drops what the store refuses.
    pub fn start(
        ingest: Arc<Ingest>,
        source: Source,
        waits_until: Option<Arc<AtomicBool>>,
    ) -> std::io::Result<(Submitter, SubmitterThread)> {
        let (queue, receiver) = mpsc::channel(QUEUE_CHUNKS);
        let worker = Arc::clone(&ingest);
        let thread = std::thread::Builder::new()
            .name(format!("sift-{}", source.name()))
            .spawn(move || submit_all(&worker, source, receiver, waits_until.as_deref()))?;
        Ok((Submitter { source, queue, ingest }, SubmitterThread(thread)))
    }

    /// Queues a chunk, waiting for room: for senders that can be slowed down (TCP).
    pub async fn send(&self, chunk: Chunk) {
        if chunk.is_empty() {
            return;
        }
        let len = chunk.len() as u64;
        if self.queue.send(chunk).await.is_err() {
            self.count_dropped("shutting_down", len);
        }
    }

    /// Queues a chunk if there is room, else hands it back (for UDP, which holds it a while
    /// and merges the next reads into it). A chunk sent while stopping is dropped and counted.
    pub fn try_send(&self, chunk: Chunk) -> Result<(), Chunk> {
        if chunk.is_empty() {
            return Ok(());
        }
        let len = chunk.len() as u64;
        match self.queue.try_send(chunk) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(chunk)) => Err(chunk),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.count_dropped("shutting_down", len);
                Ok(())
            }
        }
    }

    /// Drops and counts a chunk there was no room for.
    pub fn drop_full(&self, chunk: Chunk) {
        self.count_dropped("queue_full", chunk.len() as u64);
    }

    fn count_dropped(&self, reason: &'static str, items: u64) {
        self.ingest.reject_dropped(self.source, reason, items);
    }
}

impl SubmitterThread {
    pub fn join(self) {
        if self.0.join().is_err() {
            error!("a submitter thread panicked");
        }
    }
}

fn submit_all(ingest: &Ingest, source: Source, mut queue: mpsc::Receiver<Chunk>, waits_until: Option<&AtomicBool>) {
    while let Some(mut items) = queue.blocking_recv() {
        while items.len() < MERGE_ITEMS {
            match queue.try_recv() {
                Ok(more) => items.extend(more),
                Err(_) => break,
            }
        }
        // A refused submission is counted and logged by `submit`: the protocol has no way
        // to tell the sender.
        let _ = match waits_until {
            Some(stop) => ingest.submit_waiting(source, items.into_iter(), stop),
            None => ingest.submit(source, items.into_iter()),
        };
    }
}
