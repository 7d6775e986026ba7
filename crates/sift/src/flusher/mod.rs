//! The flusher: a thread that moves pending events from the WAL into Parquet segments when
//! enough have gathered or the oldest has waited long enough, and once more on a clean stop,
//! and that deletes expired segments every `retention.check_interval`. Segments are built and
//! deleted here, off the async runtime.
//!
//! Segments are encoded on every core by the flusher's own pools, not by the global pool that
//! queries use, so a query does not wait behind a flush's jobs. A round is written by the
//! `sift-segment-N` threads, which run at the lowest CPU priority (`SCHED_IDLE`), and only
//! while the machine has at least half a core left over (`room`): while ingest or a query
//! wants the cores they get them, and the backlog waits in the WAL. Once the backlog passes
//! three quarters of `storage.max_backlog` (a long burst, or other work on the machine that
//! leaves no idle CPU), rounds are written by the `sift-catchup-N` threads at normal
//! priority whatever the room, before writers have to wait; and so is the last flush of a
//! clean stop.
//!
//! When no flush is due, the flusher merges each closed hour's files of a retention class
//! into one (`storage.compact`, docs/adr/0016-segment-compaction.md): it plans every
//! [`COMPACT_EVERY`], then merges a group of files at a time in the idle pool while the cores
//! have room, and stops between two groups as soon as a flush is due, so that it never holds
//! pending events back.

mod room;

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::collections::VecDeque;

use sift_core::Timestamp;

use sift_store::{Flushed, SegmentMeta, Store};
use tracing::{debug, error, info, warn};

use room::{FlusherThreads, MIN_ROOM, ProcRoom, Room};

/// When to flush: once `events` are pending, or once the oldest pending event has waited
/// `after` (`storage.flush_events`, `storage.flush_interval`).
#[derive(Debug, Clone, Copy)]
pub struct FlushPolicy {
    pub events: usize,
    pub after: Duration,
}

/// How often the thread looks.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// How often the thread looks for hours to compact.
const COMPACT_EVERY: Duration = Duration::from_secs(60);

/// Most time one look spends merging, so that a stop is never kept waiting for long.
const COMPACT_FOR: Duration = Duration::from_secs(1);

pub struct Flusher {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Flusher {
    pub fn start(
        store: Arc<Store>,
        policy: FlushPolicy,
        retention_every: Duration,
        compact: bool,
    ) -> std::io::Result<Flusher> {
        let (stop, stopped) = mpsc::channel();
        let threads = FlusherThreads::default();
        let pools = Pools::new(&threads)?;
        let thread = std::thread::Builder::new().name("sift-flusher".into()).spawn(move || {
            let mut room = ProcRoom::new(threads);
            let mut compaction = compact.then(Compaction::default);
            run(&store, &pools, policy, retention_every, &stopped, &mut room, compaction.as_mut());
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
    pools: &Pools,
    policy: FlushPolicy,
    retention_every: Duration,
    stopped: &mpsc::Receiver<()>,
    room: &mut impl Room,
    mut compaction: Option<&mut Compaction>,
) {
    let mut retention_checked = Instant::now();
    enforce_retention(store);
    // Until told to stop (or the sender is gone), look every CHECK_EVERY.
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECK_EVERY) {
        let had_room = look(store, pools, policy, room);
        if retention_checked.elapsed() >= retention_every {
            retention_checked = Instant::now();
            enforce_retention(store);
        }
        if let Some(compaction) = compaction.as_deref_mut() {
            compact(store, pools, policy, had_room, room, compaction);
        }
    }
    flush(store, pools, Urgency::Now, room);
    // Files merged away that no view reads any more; the rest are deleted at the next start.
    store.delete_retired();
}

/// One look: flushes once enough events are pending and the cores have room (or the backlog
/// presses), or once the oldest has waited `policy.after`, room or not: a burst shorter than
/// that is written into segments after it has passed, and under load that never lets up,
/// segments are still at most that far behind. Returns whether the cores had room.
fn look(store: &Store, pools: &Pools, policy: FlushPolicy, room: &mut impl Room) -> bool {
    // Read at every look, so that it says what happened since the last.
    let has_room = has_room(room);
    let (events, since) = store.pending();
    if since.is_some_and(|s| s.elapsed() >= policy.after) {
        flush(store, pools, Urgency::Waited, room);
    } else if events >= policy.events && (has_room || store.backlog_is_pressing()) {
        flush(store, pools, Urgency::WhenRoom, room);
    }
    has_room
}

/// Whether a flush is due: as many events are pending as start one, or the oldest has waited
/// `policy.after`.
fn flush_due(store: &Store, policy: FlushPolicy) -> bool {
    let (events, since) = store.pending();
    events >= policy.events || since.is_some_and(|s| s.elapsed() >= policy.after)
}

/// What the flusher has left to compact.
#[derive(Default)]
struct Compaction {
    /// Groups of files to merge, oldest first.
    plan: VecDeque<Vec<SegmentMeta>>,
    planned: Option<Instant>,
}

/// Merges planned groups of files in the idle pool for up to [`COMPACT_FOR`], while no flush
/// is due and the cores have room (`had_room` at the look before, then read after each
/// group); plans again every [`COMPACT_EVERY`] once the plan is done.
fn compact(
    store: &Store,
    pools: &Pools,
    policy: FlushPolicy,
    had_room: bool,
    room: &mut impl Room,
    work: &mut Compaction,
) {
    store.delete_retired();
    if work.plan.is_empty() && work.planned.is_none_or(|at| at.elapsed() >= COMPACT_EVERY) {
        work.plan = store.compaction_plan(Timestamp::now()).into();
        work.planned = Some(Instant::now());
    }
    let began = Instant::now();
    let mut has_room_now = had_room;
    while let Some(group) = work.plan.front() {
        if flush_due(store, policy) {
            // The flush will add files to the hours planned: plan again after it, so that
            // they are merged with the rest rather than a pass later.
            work.plan.clear();
            work.planned = None;
            return;
        }
        if began.elapsed() >= COMPACT_FOR || !has_room_now {
            return;
        }
        match pools.idle.install(|| store.compact(group)) {
            Ok(Some(merged)) => {
                let (inputs, rows, before, after) =
                    (merged.inputs, merged.rows, merged.bytes_before, merged.bytes_after);
                debug!(inputs, rows, before, after, "merged segment files");
            }
            Ok(None) => {}
            // The files stay as they are; the next plan tries again.
            Err(error) => error!(%error, "merging segment files failed"),
        }
        work.plan.pop_front();
        has_room_now = has_room(room);
    }
}

/// Whether at least [`MIN_ROOM`] cores were left over since the last reading (or that is not
/// known).
fn has_room(room: &mut impl Room) -> bool {
    room.left_over().is_none_or(|cores| cores >= MIN_ROOM)
}

/// The threads that write segments: at idle priority, and at normal priority to catch up.
struct Pools {
    idle: rayon::ThreadPool,
    catch_up: rayon::ThreadPool,
}

impl Pools {
    /// Both pools; the idle pool's threads registered in `threads`, so that their CPU time
    /// counts as room (they would have given it up). The catch-up pool's does not: it
    /// competes with ingest.
    fn new(threads: &FlusherThreads) -> std::io::Result<Pools> {
        let idle_threads = threads.clone();
        Ok(Pools {
            idle: rayon::ThreadPoolBuilder::new()
                .thread_name(|i| format!("sift-segment-{i}"))
                .start_handler(move |_| {
                    idle_threads.register_current();
                    lowest_priority();
                })
                .build()
                .map_err(std::io::Error::other)?,
            catch_up: rayon::ThreadPoolBuilder::new()
                .thread_name(|i| format!("sift-catchup-{i}"))
                .build()
                .map_err(std::io::Error::other)?,
        })
    }
}

/// How a flush goes on; whatever it is, rounds run at normal priority while the backlog is
/// pressing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Urgency {
    /// At idle priority while the cores have room.
    WhenRoom,
    /// At idle priority, room or not: the oldest event has waited `storage.flush_interval`.
    Waited,
    /// At normal priority (a clean stop).
    Now,
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
        warn!(error = %std::io::Error::last_os_error(), "cannot lower the flusher's CPU priority");
    }
}

/// One retention pass. Deleting segments for want of free space (`storage.min_free`), or
/// finding too little free space even without them, is worth a warning: once a pass, at most
/// every `retention.check_interval`.
fn enforce_retention(store: &Store) {
    let deleted = store.enforce_retention(Timestamp::now());
    if deleted.under_floor > 0 {
        warn!(
            files = deleted.under_floor,
            short_bytes = deleted.short_of_floor,
            "less than storage.min_free is free on the data directory's file system: deleted the oldest segments"
        );
    } else if deleted.short_of_floor > 0 {
        warn!(
            short_bytes = deleted.short_of_floor,
            "less than storage.min_free is free on the data directory's file system, and no segment is left to delete"
        );
    }
    if deleted.files > 0 {
        info!(
            files = deleted.files,
            bytes = deleted.bytes,
            over_size = deleted.over_size,
            under_floor = deleted.under_floor,
            "deleted expired segments"
        );
    }
}

/// Writes everything pending now into segments, a round at a time, each round in the pool
/// its urgency and the backlog call for; stops early, leaving the rest pending, when the
/// cores no longer have room.
fn flush(store: &Store, pools: &Pools, urgency: Urgency, room: &mut impl Room) {
    let Some(until) = store.flush_mark() else { return };
    let began = Instant::now();
    let mut flushed = Flushed::default();
    for round in 0.. {
        let pressing = urgency == Urgency::Now || store.backlog_is_pressing();
        // The first round's room was read by the look; each later one's over the round before.
        if round > 0 && urgency == Urgency::WhenRoom && !pressing && !has_room(room) {
            debug!(left = store.pending().0, "the cores are busy: the rest of the backlog waits in the WAL");
            break;
        }
        let pool = if pressing { &pools.catch_up } else { &pools.idle };
        match pool.install(|| store.flush_round(until)) {
            Ok(Some(round)) => flushed.add(round),
            Ok(None) => break,
            // The events stay pending and in the WAL; the next look tries again.
            Err(error) => {
                error!(%error, "flush into segments failed; will retry");
                break;
            }
        }
    }
    if flushed.damaged > 0 {
        error!(
            events = flushed.damaged,
            "pending events lost: their write-ahead log records no longer read back (damaged on disk); \
             written into segments without them"
        );
    }
    if flushed.events > 0 {
        let ms = began.elapsed().as_millis() as u64;
        info!(events = flushed.events, files = flushed.files, ms, "flushed events into segments");
    }
}

#[cfg(test)]
mod tests;
