//! The durable store: every accepted batch goes to the write-ahead log before it is
//! acknowledged, waits as "pending" until a flush writes it into Parquet segments, and is then
//! released from the WAL. Queries see pending batches and segments as one set: a flush swaps
//! the flushed batches for their segments under one lock, so no event is seen twice or missed
//! across it.
//!
//! # The backlog
//!
//! The newest pending batches are held in memory while the ring holds them too, up to
//! `max_in_memory` events; the oldest are spilled and read back from the WAL when a flush or
//! a query needs them (see `pending`). So ingest runs ahead of the segments by up to
//! `max_backlog_bytes` of WAL, and the flusher can write segments at low priority, with the
//! CPU that ingest leaves. Only past that bound does `append` wait for a flush
//! (docs/adr/0009-wal-backlog.md).
//!
//! # Order of a write and of a flush
//!
//! An append holds the *gate* shared while it writes the WAL and adds its batch to pending;
//! a flush holds it exclusively only while it takes the pending batches. So every batch whose
//! WAL record has an LSN at or below the highest LSN taken is in the flush, and releasing the
//! WAL through that LSN never drops an event that is not yet in a segment.
//!
//! # Recovery
//!
//! On open, batches found in the WAL become pending again (the newest go back to the ring;
//! the others are spilled as they are read, so a large backlog never sits decoded in memory),
//! and the flusher writes them later, so a restart does not wait for Parquet. Each segment
//! records the highest LSN of the round that wrote it (`wal_through`). A crash between a
//! round's segment renames and its WAL release leaves that round's records in both; so the
//! files naming a `wal_through` after the WAL's release checkpoint are deleted and the
//! replayed records through the highest of them (exactly the set those rounds took) are
//! written again at once, so that no event is stored twice (docs/adr/0006-replay-into-pending.md).
//! The WAL writes its checkpoint before it deletes a file, so a round whose records are
//! partly deleted is never replayed (docs/adr/0003-wal-format.md).
//! A round that fails while the process runs deletes the files it had written
//! ([`segment::write_segments`]), for the same reason.

mod compact;
mod pending;
#[cfg(test)]
mod tests;
mod view;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use sift_core::{Batch, Event, Timestamp};
use ulid::Ulid;

use crate::dir_lock::{DirLock, LockError};
use crate::interrupt::Interrupted;
use crate::private;
use crate::retention::{MinFree, Retention};
use crate::ring::RingFront;
use crate::segment::{self, SegmentError, SegmentMeta, WriteOptions};
use crate::wal::{FsyncPolicy, Lsn, Wal, WalError, WalOptions};
use pending::{Pending, PendingBatch};

pub use compact::{Compacted, Lease};
pub use view::View;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error("the write-ahead log failed: {0}")]
    Wal(#[from] WalError),
    #[error("a segment failed: {0}")]
    Segment(SegmentError),
    /// A scan stopped before its end: its deadline passed, or nobody waits for it any more.
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
    #[error("cannot create {path}: {source}")]
    Create { path: PathBuf, source: std::io::Error },
    #[error("cannot delete {path}: {source}")]
    Remove { path: PathBuf, source: std::io::Error },
    #[error(
        "{pending} events ({bytes} bytes of WAL, the most allowed is {max}) are waiting to be written \
         into segments and none could be written for {waited:?}"
    )]
    Behind { pending: usize, bytes: u64, max: u64, waited: Duration },
}

/// An append the store refused, with its events handed back: a caller that can make its
/// sender wait (syslog over TCP) tries them again instead of losing them.
#[derive(thiserror::Error)]
#[error("{error}")]
pub struct Refused {
    pub error: StoreError,
    pub events: Vec<Event>,
}

impl std::fmt::Debug for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refused").field("error", &self.error).field("events", &self.events.len()).finish()
    }
}

impl From<SegmentError> for StoreError {
    fn from(error: SegmentError) -> StoreError {
        match error {
            SegmentError::Interrupted(interrupted) => StoreError::Interrupted(interrupted),
            other => StoreError::Segment(other),
        }
    }
}

impl StoreError {
    /// Why a scan stopped before its end, when that is what happened.
    pub fn interrupted(&self) -> Option<Interrupted> {
        match self {
            StoreError::Interrupted(interrupted) => Some(*interrupted),
            _ => None,
        }
    }

    /// Whether the disk is full (the client may retry once space returns).
    pub fn is_full(&self) -> bool {
        matches!(self, StoreError::Wal(WalError::Full { .. }))
    }

    /// Whether segments are being written slower than events arrive (retry later).
    pub fn is_behind(&self) -> bool {
        matches!(self, StoreError::Behind { .. })
    }
}

pub struct StoreOptions {
    /// The data directory: the WAL goes in `wal/`, segments in `segments/`.
    pub dir: PathBuf,
    pub fsync: FsyncPolicy,
    pub retention: Retention,
    /// Most pending events (in the WAL, not yet in segments) held in memory: older ones are
    /// read back from the WAL when needed.
    pub max_in_memory: usize,
    /// Most bytes of WAL records waiting for the segments: past it, `append` waits for a
    /// flush (back-pressure on the writers), and after [`BEHIND_WAIT`] refuses with
    /// [`StoreError::Behind`].
    pub max_backlog_bytes: u64,
    /// Most events one round of a flush writes: a flush of a larger backlog writes it oldest
    /// first in rounds of this many, and each round makes room among the pending events as
    /// soon as its segments are in place, so that writers waiting for room go on while the
    /// next round is encoded instead of waiting for the whole backlog.
    pub flush_events: usize,
    /// Most bytes of WAL records one round takes (at least one batch): what a round holds in
    /// memory (its spilled batches read back, its columns, its encoded pages) grows with its
    /// events' bytes, not their count.
    pub flush_bytes: u64,
    /// Tests only: the size past which a WAL file is rotated.
    #[cfg(test)]
    pub(crate) wal_file_bytes: u64,
    /// Tests only: a failpoint in the WAL's writes, syncs and releases.
    #[cfg(test)]
    pub(crate) wal_fault_hook: Option<crate::wal::FaultHook>,
    /// Tests only: a hook at each step of a merge, where a test stops it as a crash would.
    #[cfg(test)]
    pub(crate) merge_hook: Option<compact::MergeHook>,
}

/// How long `append` waits for room in the backlog before it refuses.
pub const BEHIND_WAIT: Duration = Duration::from_secs(10);

/// What a retention pass deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub files: usize,
    pub bytes: u64,
    /// Of those, deleted because the store was over `max_bytes`.
    pub over_size: usize,
    /// Of those, deleted because less than `min_free` was free on the file system.
    pub under_floor: usize,
    /// The bytes still missing below `min_free` after the pass (0: the floor holds): what
    /// the segments could not give back (other files fill the disk, or the WAL does).
    pub short_of_floor: u64,
}

/// The space of the file system that holds `path`: its size and what is free to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace {
    pub size: u64,
    pub free: u64,
}

impl DiskSpace {
    pub fn of(path: &Path) -> std::io::Result<DiskSpace> {
        let stat = rustix::fs::statvfs(path)?;
        Ok(DiskSpace {
            size: stat.f_blocks.saturating_mul(stat.f_frsize),
            free: stat.f_bavail.saturating_mul(stat.f_frsize),
        })
    }
}

/// What opening the store found.
#[derive(Debug, Default)]
pub struct Opened {
    /// The newest batches replayed from the WAL (pending again, and held in memory), oldest
    /// first, with rising numbers, for the ring ([`crate::Ring::restore`]): the pending
    /// batches themselves, shared, not copies.
    pub replayed: Vec<Arc<Batch>>,
    /// Events replayed, those held in memory and those left in the WAL alike.
    pub replayed_events: usize,
    /// Bytes of torn or corrupt WAL tails cut off.
    pub wal_truncated_bytes: u64,
    pub segments: usize,
    /// Segment files that could not be read, with why (left on disk, not used).
    pub broken_segments: Vec<String>,
}

/// Events waiting for a flush (see [`Store::backlog`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    pub events: usize,
    pub in_memory: usize,
    pub wal_bytes: u64,
    /// Since start, events lost because their spilled WAL record no longer read back.
    pub damaged_events: u64,
}

/// What the open found damaged and left out (see [`Store::recovered`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovered {
    /// Bytes of a torn or corrupt WAL tail cut off.
    pub wal_truncated_bytes: u64,
    /// `.parquet` files that are not readable segments, left on disk and not used.
    pub broken_segments: usize,
}

/// What a flush did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    pub events: usize,
    pub files: usize,
    /// Events of spilled batches whose WAL records no longer read back: lost, and left out.
    pub damaged: usize,
}

impl Flushed {
    /// Adds what another round did.
    pub fn add(&mut self, round: Flushed) {
        self.events += round.events;
        self.files += round.files;
        self.damaged += round.damaged;
    }
}

pub struct Store {
    /// Held while the store is open: no other process uses this data directory.
    _lock: DirLock,
    wal: Wal,
    segments_dir: PathBuf,
    retention: Arc<Retention>,
    gate: RwLock<()>,
    tiers: Mutex<Tiers>,
    /// Signalled when a flush makes room in the backlog.
    room: Condvar,
    max_in_memory: usize,
    max_backlog_bytes: u64,
    flush_events: usize,
    flush_bytes: u64,
    /// One flush at a time.
    flushing: Mutex<()>,
    damaged_events: AtomicU64,
    recovered: Recovered,
    /// Tests only (always `None` otherwise): see [`StoreOptions`].
    merge_hook: Option<compact::MergeHook>,
}

#[derive(Default)]
struct Tiers {
    pending: Pending,
    segments: Arc<Vec<SegmentMeta>>,
    /// What views taken now hold, so that the files a compaction merges stay while they live.
    lease: Arc<Lease>,
    /// Files merged away, waiting for the views that may read them to go.
    retired: Vec<compact::Retired>,
}

impl Store {
    /// Opens the WAL and the segments under `options.dir`, replays the WAL into pending (see
    /// the module docs on recovery), and returns the replayed batches for the ring.
    pub fn open(options: StoreOptions) -> Result<(Store, Opened), StoreError> {
        let segments_dir = options.dir.join("segments");
        for dir in [&options.dir, &segments_dir] {
            private::create_dir_all(dir).map_err(|source| StoreError::Create { path: dir.clone(), source })?;
        }
        let lock = DirLock::acquire(&options.dir)?;
        let listing = segment::list_segments(&segments_dir)?;
        let mut wal_options = WalOptions::new(options.dir.join("wal"));
        wal_options.fsync = options.fsync;
        #[cfg(test)]
        {
            wal_options.segment_bytes = options.wal_file_bytes;
            wal_options.fault_hook = options.wal_fault_hook.clone();
        }
        let max_in_memory = options.max_in_memory.max(1);
        // The oldest replayed batches are spilled as the replay goes, past `max_in_memory`.
        let mut replayed = Pending::default();
        let mut seq = 0;
        let (wal, replay) = Wal::open_with(wal_options, |record| {
            seq += 1;
            let batch = Arc::new(Batch { seq, events: record.events });
            replayed.push(PendingBatch::new(record.lsn, record.at, batch), max_in_memory);
        })?;
        let opened = Opened {
            replayed: replayed.view().0,
            replayed_events: replayed.events,
            wal_truncated_bytes: replay.truncated_bytes,
            segments: listing.segments.len(),
            broken_segments: listing.broken.iter().map(ToString::to_string).collect(),
        };
        let store = Store {
            _lock: lock,
            wal,
            segments_dir,
            retention: Arc::new(options.retention),
            gate: RwLock::new(()),
            tiers: Mutex::new(Tiers { segments: Arc::new(listing.segments), pending: replayed, ..Tiers::default() }),
            room: Condvar::new(),
            max_in_memory,
            max_backlog_bytes: options.max_backlog_bytes.max(1),
            flush_events: options.flush_events.max(1),
            flush_bytes: options.flush_bytes.max(1),
            flushing: Mutex::new(()),
            damaged_events: AtomicU64::new(0),
            recovered: Recovered {
                wal_truncated_bytes: opened.wal_truncated_bytes,
                broken_segments: opened.broken_segments.len(),
            },
            #[cfg(test)]
            merge_hook: options.merge_hook,
            #[cfg(not(test))]
            merge_hook: None,
        };
        store.rewrite_unreleased_rounds(replay.released_through)?;
        Ok((store, opened))
    }

    /// A crash between a round's segment renames and its WAL release leaves that round's
    /// events in both (and so does a release that failed, in an earlier round, while the
    /// process went on). Their records are still pending, so the files of every round not
    /// released (those that name a `wal_through` after the WAL's checkpoint) are deleted and
    /// the rounds written again, whole, as one. Not cut again by `flush_events`, which may
    /// have changed; whatever files it makes now (retention may have expired some events
    /// since), none is left from before to be read twice. The WAL writes its checkpoint
    /// before it deletes any file, so a round's records are all replayed or none is.
    fn rewrite_unreleased_rounds(&self, released: Lsn) -> Result<(), StoreError> {
        let unreleased = |segment: &SegmentMeta| segment.wal_through.filter(|&through| through > released);
        let Some(through) = self.lock_tiers().segments.iter().filter_map(unreleased).max() else {
            return Ok(());
        };
        let round = self.lock_tiers().pending.oldest(through, usize::MAX, u64::MAX);
        let Some((batches, round_through)) = round else { return Ok(()) };
        // Only files whose first and last events are in the round are its own. Others can
        // name the same LSN when the WAL was deleted by hand and numbering began again: those
        // hold events stored nowhere else, and stay (a damaged record's events, likewise).
        let mut ids: HashSet<Ulid> = HashSet::new();
        for batch in batches.iter().filter_map(|batch| batch.load().ok()) {
            ids.extend(batch.events.iter().map(|event| event.id));
        }
        let stale: Vec<SegmentMeta> = {
            let mut tiers = self.lock_tiers();
            let (stale, kept) = tiers
                .segments
                .iter()
                .cloned()
                .partition(|s| unreleased(s).is_some() && ids.contains(&s.min_id) && ids.contains(&s.max_id));
            tiers.segments = Arc::new(kept);
            stale
        };
        for segment in stale {
            match std::fs::remove_file(&segment.path) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    return Err(StoreError::Remove { path: segment.path, source: error });
                }
                _ => {}
            }
        }
        self.write_round(&batches, round_through).map(drop)
    }

    /// From now on, holds a pending batch in memory only while `ring` holds it (the ring
    /// that `append`'s `publish` puts batches in, and [`Opened::replayed`] goes back to).
    pub fn follow_ring(&self, ring: RingFront) {
        self.lock_tiers().pending.follow(ring);
    }

    /// Makes a batch durable, then hands it to `publish` (which puts it in the ring and
    /// returns it with its sequence number) and keeps it pending until the next flush.
    /// Returns once the WAL record is durable per the fsync policy: then it may be acknowledged.
    /// Refused, the events come back with the reason.
    ///
    /// The work per event (encoding the record, its checksum, its time range) is done before
    /// the gate is taken: a flush waits for the gate, and appends wait behind a waiting
    /// flush, so nothing under it may grow with the size of a batch. `publish` runs under
    /// the gate too: it must do no work per event either (see [`crate::Ring::push_weighed`]).
    pub fn append(
        &self,
        events: Vec<Event>,
        publish: impl FnOnce(Vec<Event>) -> Arc<Batch>,
    ) -> Result<Arc<Batch>, Refused> {
        let encoded = match Wal::encode(&events) {
            Ok(encoded) => encoded,
            Err(error) => return Err(Refused { error: error.into(), events }),
        };
        let times = pending::time_range(&events);
        // Before the gate: a flush needs the gate to make room.
        if let Err(error) = self.wait_for_room() {
            return Err(Refused { error, events });
        }
        let _gate = self.gate.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let appended = match self.wal.write(encoded) {
            Ok(appended) => appended,
            Err(error) => return Err(Refused { error: error.into(), events }),
        };
        let batch = publish(events);
        let pending = PendingBatch::with_times(appended.lsn, appended.at, Arc::clone(&batch), times);
        let mut tiers = self.lock_tiers();
        tiers.pending.push(pending, self.max_in_memory);
        tiers.pending.spill_let_go();
        drop(tiers);
        Ok(batch)
    }

    /// Waits while the backlog is at `max_backlog_bytes`: ingest faster than segments can be
    /// written for that long must slow down rather than fill the disk.
    fn wait_for_room(&self) -> Result<(), StoreError> {
        let mut tiers = self.lock_tiers();
        if tiers.pending.bytes < self.max_backlog_bytes {
            return Ok(());
        }
        let began = Instant::now();
        while tiers.pending.bytes >= self.max_backlog_bytes {
            let left = BEHIND_WAIT.saturating_sub(began.elapsed());
            if left.is_zero() {
                let (pending, bytes, max) = (tiers.pending.events, tiers.pending.bytes, self.max_backlog_bytes);
                return Err(StoreError::Behind { pending, bytes, max, waited: BEHIND_WAIT });
            }
            tiers = self.room.wait_timeout(tiers, left).unwrap_or_else(|poisoned| poisoned.into_inner()).0;
        }
        Ok(())
    }

    /// Writes every pending batch into segments and releases it from the WAL, oldest first,
    /// in rounds of at most `flush_events` events and `flush_bytes` of WAL records (whole
    /// batches; at least one per round).
    /// Batches appended while it runs wait for the next flush.
    pub fn flush(&self) -> Result<Flushed, StoreError> {
        let mut flushed = Flushed::default();
        let Some(until) = self.flush_mark() else { return Ok(flushed) };
        while let Some(round) = self.flush_round(until)? {
            flushed.add(round);
        }
        Ok(flushed)
    }

    /// The highest LSN pending now, or `None` when nothing is: rounds through it
    /// ([`Store::flush_round`]) write everything accepted so far.
    pub fn flush_mark(&self) -> Option<Lsn> {
        // The gate: every batch whose WAL record is at or below the mark is pending now.
        let _gate = self.gate.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.lock_tiers().pending.highest_lsn()
    }

    /// Writes the oldest round of pending batches at or below `until` (a [`Store::flush_mark`])
    /// into segments and releases it from the WAL; `None` when no pending batch is left there.
    /// A flusher that writes one round at a time can choose, round by round, how urgently.
    pub fn flush_round(&self, until: Lsn) -> Result<Option<Flushed>, StoreError> {
        let _one = self.flushing.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Taken in a statement of its own: the lock must not be held while the round is written.
        let oldest = self.lock_tiers().pending.oldest(until, self.flush_events, self.flush_bytes);
        let Some((batches, through)) = oldest else { return Ok(None) };
        self.write_round(&batches, through).map(Some)
    }

    /// Whether the backlog is past three quarters of `max_backlog_bytes`: segments should be
    /// written now, before writers have to wait for them.
    pub fn backlog_is_pressing(&self) -> bool {
        self.lock_tiers().pending.bytes >= self.max_backlog_bytes / 4 * 3
    }

    /// Writes one round's batches into segments, swaps them for their segments in the view,
    /// and releases the WAL through `through`.
    fn write_round(&self, pending: &[PendingBatch], through: Lsn) -> Result<Flushed, StoreError> {
        // Spilled batches are read back from the WAL. One whose record no longer reads back
        // (damaged on disk since it was written) cannot be recovered: it is left out and
        // counted, rather than holding up every later round while the backlog fills.
        let loaded: Vec<_> = pending.par_iter().map(PendingBatch::load).collect();
        let mut batches = Vec::with_capacity(loaded.len());
        let mut damaged = 0;
        for (waiting, read) in pending.iter().zip(loaded) {
            match read {
                Ok(batch) => batches.push(batch),
                Err(WalError::Damaged { .. }) => damaged += waiting.events,
                Err(error) => return Err(error.into()),
            }
        }
        // One set of files per retention class, so that a whole file expires at once; events
        // already past their retention are not written at all.
        let expiry = self.retention.expiry(Timestamp::now());
        // The events are borrowed from the pending batches, never copied.
        let mut classes: BTreeMap<Cow<'static, str>, Vec<&Event>> = BTreeMap::new();
        for event in batches.iter().flat_map(|b| b.events.iter()).filter(|e| !expiry.is_expired(e)) {
            classes.entry(self.retention.class_of(event)).or_default().push(event);
        }
        let events = classes.values().map(Vec::len).sum();
        let classes: Vec<(&str, &[&Event])> = classes.iter().map(|(class, members)| (&**class, &members[..])).collect();
        let options = WriteOptions { wal_through: Some(through), ..WriteOptions::default() };
        // All classes at once, or none: a failed round leaves no file behind to be found twice.
        let written = segment::write_segments(&self.segments_dir, &classes, options)?;
        let flushed = Flushed { events, files: written.len(), damaged };
        {
            let mut tiers = self.lock_tiers();
            tiers.pending.release_through(through);
            self.room.notify_all();
            let mut segments: Vec<SegmentMeta> = tiers.segments.as_ref().clone();
            segments.retain(|known| !written.iter().any(|new| new.path == known.path));
            segments.extend(written);
            segments.sort_by(|a, b| (a.min_time, &a.path).cmp(&(b.min_time, &b.path)));
            tiers.segments = Arc::new(segments);
        }
        // Counted once the round has left the pending batches: a round that fails before that
        // is tried again, and would count its damaged batches twice.
        self.damaged_events.fetch_add(damaged as u64, Ordering::Relaxed);
        self.wal.release_through(through)?;
        Ok(flushed)
    }

    /// Deletes the segments whose every event is past its class's retention at `now`, then,
    /// while the segments are over `max_bytes` or the file system has less than `min_free`
    /// free, the oldest. A deleted file leaves the view before it leaves the disk, so no query
    /// reads it afterwards.
    pub fn enforce_retention(&self, now: Timestamp) -> Deleted {
        // Unknown space (the call failed) asks for nothing: retention by age and size goes on.
        let space = match self.retention.min_free {
            MinFree::None => None,
            _ => DiskSpace::of(&self.segments_dir).ok(),
        };
        self.enforce_retention_in(now, space)
    }

    /// [`Store::enforce_retention`] with the file system's space as found (or as a test says).
    pub fn enforce_retention_in(&self, now: Timestamp, space: Option<DiskSpace>) -> Deleted {
        let expiry = self.retention.expiry(now);
        // What must go besides expired files: the bytes over `max_bytes`, or those that bring
        // the free space back to the floor, whichever is more.
        let floor = space.map_or(0, |space| self.retention.min_free.bytes(space.size));
        let below_floor = space.map_or(0, |space| floor.saturating_sub(space.free));
        let mut freed_for_floor = 0;
        let doomed: Vec<(SegmentMeta, bool)> = {
            let mut tiers = self.lock_tiers();
            let mut keep: Vec<SegmentMeta> = Vec::with_capacity(tiers.segments.len());
            let mut doomed = Vec::new();
            for segment in tiers.segments.iter() {
                if segment.max_time < expiry.cutoff_of_class(&self.retention, &segment.class) {
                    freed_for_floor += segment.bytes;
                    doomed.push((segment.clone(), false));
                } else {
                    keep.push(segment.clone());
                }
            }
            if self.retention.max_bytes > 0 || freed_for_floor < below_floor {
                let mut total: u64 = keep.iter().map(|s| s.bytes).sum();
                keep.sort_by_key(|s| std::cmp::Reverse((s.max_time, s.path.clone())));
                let over_size = |total: u64| self.retention.max_bytes > 0 && total > self.retention.max_bytes;
                while over_size(total) || freed_for_floor < below_floor {
                    let Some(oldest) = keep.pop() else { break };
                    total -= oldest.bytes;
                    freed_for_floor += oldest.bytes;
                    // Said to be for the floor only when `max_bytes` would have kept it.
                    let for_floor = !over_size(total + oldest.bytes);
                    doomed.push((oldest, for_floor));
                }
                keep.sort_by(|a, b| (a.min_time, &a.path).cmp(&(b.min_time, &b.path)));
            }
            if !doomed.is_empty() {
                tiers.segments = Arc::new(keep);
            }
            doomed
        };
        let mut deleted = Deleted { short_of_floor: below_floor.saturating_sub(freed_for_floor), ..Deleted::default() };
        for (segment, for_floor) in doomed {
            let expired = segment.max_time < expiry.cutoff_of_class(&self.retention, &segment.class);
            match std::fs::remove_file(&segment.path) {
                Ok(()) => {
                    deleted.files += 1;
                    deleted.bytes += segment.bytes;
                    deleted.over_size += usize::from(!expired && !for_floor);
                    deleted.under_floor += usize::from(!expired && for_floor);
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                // Left on disk but out of the view: a restart's listing finds it again and the
                // next pass retries.
                Err(_) => {}
            }
        }
        deleted
    }

    /// What the open cut off or left out, for the server's statistics.
    pub fn recovered(&self) -> Recovered {
        self.recovered
    }

    pub fn retention(&self) -> &Arc<Retention> {
        &self.retention
    }

    /// How many events wait for a flush, and since when.
    pub fn pending(&self) -> (usize, Option<Instant>) {
        let tiers = self.lock_tiers();
        (tiers.pending.events, tiers.pending.since)
    }

    /// The backlog: events waiting for a flush, those of them held in memory, and the bytes
    /// of their WAL records.
    pub fn backlog(&self) -> Backlog {
        let tiers = self.lock_tiers();
        Backlog {
            events: tiers.pending.events,
            in_memory: tiers.pending.in_memory,
            wal_bytes: tiers.pending.bytes,
            damaged_events: self.damaged_events.load(Ordering::Relaxed),
        }
    }

    /// The stored events as one set, to query without holding any lock.
    pub fn view(&self) -> View {
        let expiry = Arc::new(self.retention.expiry(Timestamp::now()));
        let tiers = self.lock_tiers();
        let (in_memory, spilled) = tiers.pending.view();
        let (segments, lease) = (Arc::clone(&tiers.segments), Arc::clone(&tiers.lease));
        View::durable(in_memory, spilled, segments, Arc::clone(&self.retention), expiry, lease)
    }

    /// Segment files and their total size.
    pub fn segment_stats(&self) -> (usize, u64) {
        let tiers = self.lock_tiers();
        (tiers.segments.len(), tiers.segments.iter().map(|s| s.bytes).sum())
    }

    pub fn segments_dir(&self) -> &Path {
        &self.segments_dir
    }

    fn lock_tiers(&self) -> MutexGuard<'_, Tiers> {
        self.tiers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
