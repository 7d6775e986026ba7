//! The flusher: a thread that moves pending events from the WAL into Parquet segments when
//! enough have gathered or the oldest has waited long enough, and once more on a clean stop,
//! and that deletes expired segments every `retention.check_interval`. Segments are built and
//! deleted here, off the async runtime.
//!
//! Segments are encoded on every core by the flusher's own pool (`sift-segment-N` threads),
//! not by the global pool that queries use, so a query does not wait behind a flush's jobs.
//! The flusher and its pool run at the lowest CPU priority (nice 19): while ingest or a query
//! wants the cores they get them, and the backlog waits in the WAL (bounded by
//! `storage.max_backlog`, past which writers wait for the flusher and so leave it the CPU).

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sift_core::Timestamp;

use sift_store::Store;
use tracing::{error, info};

/// When to flush: once `events` are pending, or once the oldest pending event has waited
/// `after` (`storage.flush_events`, `storage.flush_interval`).
#[derive(Debug, Clone, Copy)]
pub struct FlushPolicy {
    pub events: usize,
    pub after: Duration,
}

/// How often the thread looks.
const CHECK_EVERY: Duration = Duration::from_millis(250);

pub struct Flusher {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Flusher {
    pub fn start(store: Arc<Store>, policy: FlushPolicy, retention_every: Duration) -> std::io::Result<Flusher> {
        let (stop, stopped) = mpsc::channel();
        let pool = rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("sift-segment-{i}"))
            .start_handler(|_| lowest_priority())
            .build()
            .map_err(std::io::Error::other)?;
        let thread = std::thread::Builder::new().name("sift-flusher".into()).spawn(move || {
            lowest_priority();
            run(&store, &pool, policy, retention_every, &stopped);
        })?;
        Ok(Flusher { stop, thread })
    }

    /// Stops the thread after a last flush (a clean stop leaves nothing to replay).
    pub fn stop(self) {
        let _ = self.stop.send(());
        if self.thread.join().is_err() {
            error!("the flusher thread panicked");
        }
    }
}

/// Flushes and enforces retention until told to stop (or the sender is gone), looking every
/// [`CHECK_EVERY`]; then flushes once more.
fn run(
    store: &Store,
    pool: &rayon::ThreadPool,
    policy: FlushPolicy,
    retention_every: Duration,
    stopped: &mpsc::Receiver<()>,
) {
    let mut retention_checked = Instant::now();
    enforce_retention(store);
    // Until told to stop (or the sender is gone), look every CHECK_EVERY.
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECK_EVERY) {
        let (events, since) = store.pending();
        if events >= policy.events || since.is_some_and(|s| s.elapsed() >= policy.after) {
            flush(store, pool);
        }
        if retention_checked.elapsed() >= retention_every {
            retention_checked = Instant::now();
            enforce_retention(store);
        }
    }
    flush(store, pool);
}

/// Gives the calling thread the lowest CPU priority: Linux's `SCHED_IDLE` policy, which runs
/// it only when no other thread wants the core and lets any other thread that wakes take the
/// core from it at once (a nice value only weighs shares: a thread at nice 19 still ran out
/// its time slices while ingest waited, and took a third of the cores under load). On Linux
/// scheduling policies are per thread: pid 0 is the calling thread.
fn lowest_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param that outlives the call, which only reads it.
    let result = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    if result != 0 {
        // Not fatal: segments are then written at normal priority, as ingest is.
        tracing::warn!(error = %std::io::Error::last_os_error(), "cannot lower the flusher's CPU priority");
    }
}

fn enforce_retention(store: &Store) {
    let deleted = store.enforce_retention(Timestamp::now());
    if deleted.files > 0 {
        info!(files = deleted.files, bytes = deleted.bytes, over_size = deleted.over_size, "deleted expired segments");
    }
}

fn flush(store: &Store, pool: &rayon::ThreadPool) {
    let began = Instant::now();
    // Segments are encoded in the flusher's pool, not the global one that queries use.
    match pool.install(|| store.flush()) {
        Ok(flushed) if flushed.events > 0 => {
            let ms = began.elapsed().as_millis() as u64;
            info!(events = flushed.events, files = flushed.files, ms, "flushed events into segments");
        }
        Ok(_) => {}
        // The events stay pending and in the WAL; the next round tries again.
        Err(error) => error!(%error, "flush into segments failed; will retry"),
    }
}
