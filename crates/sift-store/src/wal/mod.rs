//! The write-ahead log: every accepted batch is appended here, durably, before sift
//! acknowledges it (DESIGN.md section 7), and replayed on start until the Parquet segments
//! hold it. `docs/adr/0003-wal-format.md` records why it is built this way.
//!
//! One writer thread owns the open file. [`Wal::append`] encodes its batch in the caller's
//! thread, hands the record to the writer through a bounded channel and waits for the answer.
//! The writer takes every record waiting, writes them with one `write`, and with
//! [`FsyncPolicy::Batch`] makes them durable with one `fdatasync` before it answers them all
//! (group commit). LSNs are given by the writer in file order: increasing across restarts,
//! but not always consecutive (the LSNs of failed appends are not reused).
//!
//! # On disk
//!
//! The directory holds `NNNNNNNNNNNN.wal` files, named by the first LSN they hold (or will
//! hold), and `released`, the checkpoint of [`Wal::release_through`]. All integers are
//! little-endian.
//!
//! ```text
//! file       = header record*
//! header     = "SIFTWAL\0"  version:u32 (1)  reserved:u32 (0)              16 bytes
//! record     = "SWR1"  len:u32  crc:u32  payload{len}
//! payload    = lsn:u64  batch                    (batch: crate::codec, self-versioned)
//! crc        = CRC32C of magic, len and payload (the 12 header bytes but the crc itself)
//! released   = slot slot                        (a sift before slots wrote one alone)
//! slot       = "SIFTREL\0"  lsn:u64  crc:u32 (CRC32C of the 16 bytes before it)
//! ```
//!
//! The checkpoint is the highest LSN of its valid slots. A release overwrites the other slot
//! in place and syncs it before it deletes any file (see `checkpoint`).
//!
//! A file is written to its end and rotated (a new file named by the next LSN) once it is
//! past [`WalOptions::segment_bytes`] after a write; records never span files.
//!
//! # Recovery
//!
//! [`Wal::open`] reads the files in LSN order and returns every batch after the released LSN.
//! Reading a file stops at its first record that is cut short (torn: the file ends inside it),
//! has no magic, an impossible length, a wrong CRC, an LSN not after the previous one, or a
//! batch that does not decode. The file is cut there and the cut reported in [`Replay`]; the
//! later files are still read. Nothing after a bad record in the same file is trusted, because
//! its length may be what is damaged, and searching for the next magic could take a forged
//! record from inside a logged message for a real one. A cut that is not a torn tail is
//! damage rather than a crash, so the bytes cut are first saved beside the file
//! (`NNNNNNNNNNNN.wal.OFFSET.corrupt`) for a person to look at.
//!
//! # Durability
//!
//! - [`FsyncPolicy::Always`]: each record is written and synced on its own.
//! - [`FsyncPolicy::Batch`] (the default): every record waiting is written, then one sync;
//!   an acknowledged append survives `kill -9` and power loss.
//! - [`FsyncPolicy::Interval`]: records are acknowledged once written and synced at most
//!   every interval: an acknowledged append survives `kill -9` (the kernel holds it), but up
//!   to one interval of them can be lost on power loss.
//!
//! A write or sync that fails (a full disk, an I/O error) fails every append of its group
//! with [`WalError::Full`] or [`WalError::Io`]; the writer cuts the file back to its last
//! good record, keeps running, and the next appends succeed once the cause is gone. If the
//! file cannot be cut, the writer starts a new file before it writes again, so a half record
//! is never followed by good ones; whole records of that failed group may then be replayed
//! (delivery is at least once: their senders were told to try again).
//!
//! Replay also returns records that were flushed to segments but not yet released when the
//! process stopped; the flusher skips them by LSN. One [`Wal`] at a time may own a
//! directory: nothing locks it.
//!
//! # Reading a record back
//!
//! Every appended or replayed record comes with its [`RecordAt`]: the file and offset it
//! lies at. [`read_record`] reads it back, checking its CRC again, so that the store need not
//! keep in memory every batch that waits for the segments (docs/adr/0009-wal-backlog.md).
//! A `RecordAt` holds the file open: it stays readable after a release deletes the file.

mod checkpoint;
mod crc;
mod format;
mod open;
#[cfg(test)]
mod tests;
mod writer;

use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use sift_core::Event;

use crate::codec::{self, CodecError};
use format::{BATCH_OFFSET, Frame, RECORD_HEADER_LEN, Unsealed};
pub use format::{Corruption, MAX_PAYLOAD};

/// The sequence number of an appended batch: increasing, also across restarts.
pub type Lsn = u64;

/// When appended records are made durable with `fdatasync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FsyncPolicy {
    /// One sync per record.
    Always,
    /// One sync per group of records waiting together (group commit).
    #[default]
    Batch,
    /// At most one sync per interval; appends are answered once written.
    Interval(Duration),
}

/// Where a record lies in the WAL, to read its batch back with [`read_record`].
#[derive(Clone)]
pub struct RecordAt {
    /// The file, open for reading: it stays readable after the file is deleted.
    file: Arc<WalFile>,
    offset: u64,
    len: u32,
}

/// A WAL file open for reading and writing, with its path for errors.
pub(crate) struct WalFile {
    pub file: File,
    pub path: PathBuf,
}

impl RecordAt {
    /// The record's size in the file, framing included.
    pub fn bytes(&self) -> u64 {
        u64::from(self.len)
    }
}

impl fmt::Debug for RecordAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}+{}", self.file.path.display(), self.offset, self.len)
    }
}

/// An appended record: its LSN and where it lies.
#[derive(Debug, Clone)]
pub struct Appended {
    pub lsn: Lsn,
    pub at: RecordAt,
}

/// A batch encoded as a WAL record by [`Wal::encode`], to append with [`Wal::write`].
pub struct Encoded {
    record: Unsealed,
    events: usize,
}

/// A record found by [`Wal::open_with`]: its LSN, where it lies and its batch.
pub struct Replayed {
    pub lsn: Lsn,
    pub at: RecordAt,
    pub events: Vec<Event>,
}

/// Reads back the batch of a record appended or replayed earlier, checking its CRC again.
pub fn read_record(at: &RecordAt) -> Result<Vec<Event>, WalError> {
    let path = &at.file.path;
    let damaged = |corruption| WalError::Damaged { path: path.clone(), offset: at.offset, corruption };
    let mut bytes = vec![0; at.len as usize];
    at.file.file.read_exact_at(&mut bytes, at.offset).map_err(|e| WalError::io(Op::Read, path, e))?;
    let (start, end) = match format::read_frame(&bytes, 0) {
        Frame::Record { batch, .. } => batch,
        Frame::Corrupt(corruption) => return Err(damaged(corruption)),
        // Shorter than the record it was: its length field changed.
        Frame::End | Frame::Torn => return Err(damaged(Corruption::BadLength)),
    };
    codec::decode_batch(&bytes[start..end]).map_err(|error| damaged(Corruption::BadBatch(error)))
}

/// What the writer thread is about to do, as a [`FaultHook`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoOp {
    Write {
        bytes: usize,
    },
    Sync,
    /// Cutting the file back after a failed write or sync.
    Truncate,
    /// A release writing its checkpoint.
    Checkpoint,
    /// A release deleting the files it released.
    Delete,
}

/// Called before every write and sync of the writer thread, and before each step of a
/// release; an error is taken as the operation's own error. A failed write first writes half
/// its bytes, as a write that runs out of space does; a failed release step stops the release
/// there, leaving the disk as a crash at that point would. For tests of the error paths.
pub type FaultHook = Arc<dyn Fn(IoOp) -> io::Result<()> + Send + Sync>;

#[derive(Clone)]
pub struct WalOptions {
    pub dir: PathBuf,
    pub fsync: FsyncPolicy,
    /// A file is rotated once it is past this size (default 64 MiB).
    pub segment_bytes: u64,
    pub fault_hook: Option<FaultHook>,
}

impl WalOptions {
    pub fn new(dir: impl Into<PathBuf>) -> WalOptions {
        WalOptions { dir: dir.into(), fsync: FsyncPolicy::Batch, segment_bytes: 64 << 20, fault_hook: None }
    }
}

impl fmt::Debug for WalOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalOptions")
            .field("dir", &self.dir)
            .field("fsync", &self.fsync)
            .field("segment_bytes", &self.segment_bytes)
            .field("fault_hook", &self.fault_hook.is_some())
            .finish()
    }
}

/// What [`Wal::open`] found.
#[derive(Debug, Default)]
pub struct Replay {
    /// Every batch not yet released, in LSN order (empty from [`Wal::open_with`], which hands
    /// them to its sink instead).
    pub batches: Vec<(Lsn, Vec<Event>)>,
    /// Bytes cut from the ends of files.
    pub truncated_bytes: u64,
    /// Files that held damage other than a torn tail.
    pub corrupt_files: Vec<PathBuf>,
    /// Every cut, torn tails included.
    pub truncations: Vec<Truncation>,
    /// The LSN the checkpoint releases through (0: none).
    pub released_through: Lsn,
    /// The checkpoint file was there but unreadable: released records may be replayed again.
    pub checkpoint_damaged: bool,
    /// WAL files read, and their bytes.
    pub files: usize,
    pub bytes_read: u64,
}

impl Replay {
    pub fn events(&self) -> usize {
        self.batches.iter().map(|(_, events)| events.len()).sum()
    }
}

/// A file cut back to its last good record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    pub path: PathBuf,
    /// Where the file now ends.
    pub offset: u64,
    pub bytes: u64,
    /// `None`: the file ended inside a record (a torn tail).
    pub corruption: Option<Corruption>,
    /// Where the cut bytes of a corrupt file were saved, if they could be.
    pub saved_to: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WalStats {
    pub files: usize,
    pub bytes: u64,
    /// Appends waiting for the writer thread, or waiting to join its queue of 1024.
    pub queued: u64,
    pub appended_batches: u64,
    pub appended_events: u64,
    pub fsyncs: u64,
    /// Writes and syncs that failed (their appends failed too, except under `Interval`).
    pub io_errors: u64,
    /// Files cut back to their last good record, at open and after failed writes.
    pub truncations: u64,
    /// The newest acknowledged LSN.
    pub last_lsn: Lsn,
    pub released_through: Lsn,
}

/// The file operation that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Open,
    Read,
    Write,
    Sync,
    Truncate,
    Create,
    Delete,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Open => "open",
            Op::Read => "read",
            Op::Write => "write",
            Op::Sync => "sync",
            Op::Truncate => "truncate",
            Op::Create => "create",
            Op::Delete => "delete",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("no space left for the WAL ({op} of {path} failed): the batch was not stored")]
    Full { op: Op, path: PathBuf },
    #[error("WAL {op} of {path} failed ({kind}): the batch was not stored")]
    Io {
        op: Op,
        path: PathBuf,
        kind: io::ErrorKind,
        #[source]
        source: Arc<io::Error>,
    },
    #[error("the batch is {bytes} bytes encoded, over the WAL record limit of {MAX_PAYLOAD}")]
    TooLarge { bytes: usize },
    #[error("cannot release through LSN {lsn}: the newest appended is {last}")]
    ReleaseAhead { lsn: Lsn, last: Lsn },
    #[error("{path} is in WAL format {version}, newer than this sift knows: refusing to touch it")]
    NewerFormat { path: PathBuf, version: u32 },
    #[error("{path} holds a batch in a newer format than this sift knows: refusing to touch it")]
    NewerBatch { path: PathBuf, source: CodecError },
    #[error("the WAL writer thread is gone")]
    Closed,
    #[error("the WAL record at {path}:{offset} no longer reads back: {corruption}")]
    Damaged { path: PathBuf, offset: u64, corruption: Corruption },
}

impl WalError {
    fn io(op: Op, path: &Path, error: io::Error) -> WalError {
        let path = path.to_path_buf();
        match error.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => WalError::Full { op, path },
            kind => WalError::Io { op, path, kind, source: Arc::new(error) },
        }
    }

    /// The same error for another waiter of a failed group.
    fn duplicate(&self) -> WalError {
        match self {
            WalError::Full { op, path } => WalError::Full { op: *op, path: path.clone() },
            WalError::Io { op, path, kind, source } => {
                WalError::Io { op: *op, path: path.clone(), kind: *kind, source: Arc::clone(source) }
            }
            WalError::TooLarge { bytes } => WalError::TooLarge { bytes: *bytes },
            WalError::ReleaseAhead { lsn, last } => WalError::ReleaseAhead { lsn: *lsn, last: *last },
            WalError::NewerFormat { path, version } => WalError::NewerFormat { path: path.clone(), version: *version },
            WalError::NewerBatch { path, source } => WalError::NewerBatch { path: path.clone(), source: *source },
            WalError::Closed => WalError::Closed,
            WalError::Damaged { path, offset, corruption } => {
                WalError::Damaged { path: path.clone(), offset: *offset, corruption: *corruption }
            }
        }
    }
}

/// The write-ahead log. `Send + Sync`: share it in an `Arc`.
pub struct Wal {
    requests: Option<SyncSender<writer::Request>>,
    writer: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

/// What the writer thread and the callers both see.
struct Shared {
    dir: PathBuf,
    /// The WAL files in LSN order; the last one is the one written.
    files: Mutex<Vec<FileEntry>>,
    /// Held through a whole release, so releases run one at a time.
    released: Mutex<checkpoint::Checkpoint>,
    last_lsn: AtomicU64,
    hook: Option<FaultHook>,
    queued: AtomicU64,
    appended_batches: AtomicU64,
    appended_events: AtomicU64,
    fsyncs: AtomicU64,
    io_errors: AtomicU64,
    truncations: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct FileEntry {
    first: Lsn,
    bytes: u64,
}

/// Records waiting for the writer at most; an append beyond them waits to send.
const QUEUE: usize = 1024;

/// The largest encoding buffer a thread keeps for its next append (a rare huge batch's is let go).
const KEPT_BUFFER_BYTES: usize = 4 << 20;

thread_local! {
    static ENCODE_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

impl Wal {
    /// Opens the WAL in `options.dir` (created if missing), replays what is not yet released,
    /// cuts damaged tails, and starts the writer thread.
    pub fn open(options: WalOptions) -> Result<(Wal, Replay), WalError> {
        let mut batches = Vec::new();
        let (wal, mut replay) = Wal::open_with(options, |replayed| batches.push((replayed.lsn, replayed.events)))?;
        replay.batches = batches;
        Ok((wal, replay))
    }

    /// As [`Wal::open`], but hands each replayed record to `sink`, oldest first, instead of
    /// gathering them in [`Replay::batches`]: a caller that keeps only some of them in memory
    /// never holds the whole WAL decoded.
    pub fn open_with(options: WalOptions, sink: impl FnMut(Replayed)) -> Result<(Wal, Replay), WalError> {
        let recovered = open::recover(&options.dir, sink)?;
        let shared = Arc::new(Shared {
            dir: options.dir.clone(),
            files: Mutex::new(recovered.files),
            released: Mutex::new(recovered.checkpoint),
            last_lsn: AtomicU64::new(recovered.next_lsn - 1),
            hook: options.fault_hook.clone(),
            queued: AtomicU64::new(0),
            appended_batches: AtomicU64::new(0),
            appended_events: AtomicU64::new(0),
            fsyncs: AtomicU64::new(0),
            io_errors: AtomicU64::new(0),
            truncations: AtomicU64::new(recovered.replay.truncations.len() as u64),
        });
        let (requests, receiver) = sync_channel(QUEUE);
        let writer = writer::Writer::new(options, Arc::clone(&shared), recovered.active, recovered.next_lsn);
        let handle = std::thread::Builder::new()
            .name("sift-wal".into())
            .spawn(move || writer.run(receiver))
            .map_err(|error| WalError::io(Op::Create, &shared.dir, error))?;
        Ok((Wal { requests: Some(requests), writer: Some(handle), shared }, recovered.replay))
    }

    /// Appends a batch and returns its LSN and place once it is durable as the policy says.
    pub fn append(&self, events: &[Event]) -> Result<Appended, WalError> {
        self.write(Wal::encode(events)?)
    }

    /// Encodes a batch as a record, with its checksum: the work per event of an append,
    /// which a caller does before it takes any lock that others wait on, then hands the
    /// record to [`Wal::write`].
    pub fn encode(events: &[Event]) -> Result<Encoded, WalError> {
        // Encoded into this thread's buffer of the last append, which the writer hands back:
        // a fresh buffer of a few hundred kilobytes for every batch cost page faults.
        let mut bytes = ENCODE_BUFFER.take();
        bytes.clear();
        bytes.resize(BATCH_OFFSET, 0);
        codec::encode_batch(events, &mut bytes);
        if bytes.len() - RECORD_HEADER_LEN > MAX_PAYLOAD {
            return Err(WalError::TooLarge { bytes: bytes.len() - BATCH_OFFSET });
        }
        let batch_crc = crc32c::crc32c(&bytes[BATCH_OFFSET..]);
        Ok(Encoded { record: Unsealed { bytes, batch_crc }, events: events.len() })
    }

    /// Appends an encoded batch and returns its LSN and place once it is durable as the
    /// policy says.
    pub fn write(&self, encoded: Encoded) -> Result<Appended, WalError> {
        let (reply, answer) = sync_channel(1);
        let request = writer::Request { record: encoded.record, events: encoded.events, reply };
        let requests = self.requests.as_ref().ok_or(WalError::Closed)?;
        self.shared.queued.fetch_add(1, Ordering::Relaxed);
        requests.send(request).map_err(|_| {
            self.shared.queued.fetch_sub(1, Ordering::Relaxed);
            WalError::Closed
        })?;
        let (result, bytes) = answer.recv().map_err(|_| WalError::Closed)?;
        if bytes.capacity() <= KEPT_BUFFER_BYTES {
            ENCODE_BUFFER.set(bytes);
        }
        result
    }

    /// Marks every record through `lsn` as safe elsewhere: it is not replayed any more, and
    /// the files that hold only such records are deleted (never the file being written).
    /// The release is durable when this returns.
    ///
    /// The checkpoint is written first: once it is durable no record through `lsn` is
    /// replayed, so the deletions may stop anywhere (a crash, an error) without leaving some
    /// records of a flush round deleted and others replayed, which a restart would store
    /// again. It is written in place, which needs no free space, so that a full disk still
    /// gets the deleted files' space back.
    pub fn release_through(&self, lsn: Lsn) -> Result<(), WalError> {
        let mut checkpoint = lock(&self.shared.released);
        if lsn <= checkpoint.through {
            return Ok(());
        }
        let last = self.shared.last_lsn.load(Ordering::Acquire);
        if lsn > last {
            return Err(WalError::ReleaseAhead { lsn, last });
        }
        let dir = &self.shared.dir;
        self.failpoint(IoOp::Checkpoint, Op::Write)?;
        checkpoint.write(dir, lsn)?;
        let doomed: Vec<Lsn> = {
            let files = lock(&self.shared.files);
            files
                .windows(2)
                .take_while(|pair| pair[1].first.saturating_sub(1) <= lsn)
                .map(|pair| pair[0].first)
                .collect()
        };
        self.failpoint(IoOp::Delete, Op::Delete)?;
        let result = open::delete_files(dir, &doomed);
        let deleted = match &result {
            Ok(()) => doomed.len(),
            Err((deleted, _)) => *deleted,
        };
        lock(&self.shared.files).retain(|file| !doomed[..deleted].contains(&file.first));
        result.map_err(|(_, error)| error)
    }

    /// The fault hook's answer for a step of a release (tests' crash points).
    fn failpoint(&self, step: IoOp, op: Op) -> Result<(), WalError> {
        let hooked = self.shared.hook.as_ref().map_or(Ok(()), |hook| hook(step));
        hooked.map_err(|error| WalError::io(op, &self.shared.dir, error))
    }

    pub fn stats(&self) -> WalStats {
        let shared = &*self.shared;
        let (files, bytes) = {
            let files = lock(&shared.files);
            (files.len(), files.iter().map(|file| file.bytes).sum())
        };
        WalStats {
            files,
            bytes,
            queued: shared.queued.load(Ordering::Relaxed),
            appended_batches: shared.appended_batches.load(Ordering::Relaxed),
            appended_events: shared.appended_events.load(Ordering::Relaxed),
            fsyncs: shared.fsyncs.load(Ordering::Relaxed),
            io_errors: shared.io_errors.load(Ordering::Relaxed),
            truncations: shared.truncations.load(Ordering::Relaxed),
            last_lsn: shared.last_lsn.load(Ordering::Acquire),
            released_through: lock(&shared.released).through,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }
}

impl Drop for Wal {
    /// Lets the writer finish what it was given (and sync it, under `Interval`), then joins it.
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under these locks is a single assignment or push: a panic elsewhere while
    // one was held leaves the data consistent.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
