//! The writer thread: it owns the open file, gives LSNs, writes every waiting record with one
//! vectored write (the records are not copied together first), syncs as the policy says,
//! answers the appends (handing each its record's buffer back, to encode its next batch in),
//! rotates files, and undoes the writes of a group that failed.

use std::io::{self, IoSlice, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::Instant;

use super::format::{self, FILE_HEADER_LEN, Unsealed};
use super::open::{self, Active};
use super::{
    Appended, FaultHook, FileEntry, FsyncPolicy, IoOp, Lsn, Op, RecordAt, Shared, WalError, WalFile, WalOptions, lock,
};

/// An append waiting for the writer.
pub(super) struct Request {
    pub record: Unsealed,
    pub events: usize,
    /// The outcome, and the record's buffer back for the appending thread to reuse.
    pub reply: SyncSender<(Result<Appended, WalError>, Vec<u8>)>,
}

/// The most bytes one group writes: enough to amortize a sync over many appends, little
/// enough to bound the copy.
const MAX_GROUP_BYTES: usize = 16 << 20;

pub(super) struct Writer {
    shared: Arc<Shared>,
    policy: FsyncPolicy,
    segment_bytes: u64,
    hook: Option<FaultHook>,
    /// Shared with the [`RecordAt`]s of its records, which read it back.
    file: Arc<WalFile>,
    /// The name of the file: its first LSN.
    first: Lsn,
    /// The end of the last good record: what is kept of the file.
    len: u64,
    /// The file may hold bytes past `len` that could not be cut: start a new file before
    /// writing again.
    damaged: bool,
    next_lsn: Lsn,
    /// Under `Interval`: records written but not yet synced since then.
    unsynced_since: Option<Instant>,
}

impl Writer {
    pub(super) fn new(options: WalOptions, shared: Arc<Shared>, active: Active, next_lsn: Lsn) -> Writer {
        Writer {
            shared,
            policy: options.fsync,
            segment_bytes: options.segment_bytes,
            hook: options.fault_hook,
            file: Arc::new(active.file),
            first: active.first,
            len: active.len,
            damaged: false,
            next_lsn,
            unsynced_since: None,
        }
    }

    /// Serves appends until every sender is gone, then syncs what is left.
    pub(super) fn run(mut self, requests: Receiver<Request>) {
        let mut group = Vec::new();
        while let Some(first) = self.next_request(&requests) {
            self.shared.queued.fetch_sub(1, Ordering::Relaxed);
            let mut bytes = first.record.bytes.len();
            group.push(first);
            while bytes < MAX_GROUP_BYTES {
                let Ok(request) = requests.try_recv() else { break };
                self.shared.queued.fetch_sub(1, Ordering::Relaxed);
                bytes += request.record.bytes.len();
                group.push(request);
            }
            if self.policy == FsyncPolicy::Always {
                for request in group.drain(..) {
                    self.commit(vec![request]);
                }
            } else {
                self.commit(std::mem::take(&mut group));
            }
        }
        if self.unsynced_since.is_some() {
            let _ = self.sync();
        }
    }

    /// The next request; under `Interval`, syncs when the interval is up while waiting.
    fn next_request(&mut self, requests: &Receiver<Request>) -> Option<Request> {
        loop {
            let (FsyncPolicy::Interval(interval), Some(since)) = (self.policy, self.unsynced_since) else {
                return requests.recv().ok();
            };
            let wait = interval.saturating_sub(since.elapsed());
            match requests.recv_timeout(wait) {
                Ok(request) => return Some(request),
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.sync();
                }
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Writes a group, makes it durable as the policy says, and answers it.
    fn commit(&mut self, mut group: Vec<Request>) {
        let first_lsn = self.next_lsn;
        let result = self.write_group(&mut group, first_lsn);
        // LSNs of a failed group are not given again: a record that was written but could
        // not be cut away may still be replayed, and must not share its LSN with another.
        self.next_lsn += group.len() as u64;
        let events: usize = group.iter().map(|request| request.events).sum();
        match result {
            Ok(places) => {
                let shared = &*self.shared;
                shared.appended_batches.fetch_add(group.len() as u64, Ordering::Relaxed);
                shared.appended_events.fetch_add(events as u64, Ordering::Relaxed);
                shared.last_lsn.store(self.next_lsn - 1, Ordering::Release);
                for ((lsn, request), at) in (first_lsn..).zip(group).zip(places) {
                    let _ = request.reply.send((Ok(Appended { lsn, at }), request.record.bytes));
                }
                if self.len >= self.segment_bytes {
                    // On failure the current file simply grows until a later rotation works.
                    let _ = self.rotate();
                }
            }
            Err(error) => {
                for request in group {
                    let _ = request.reply.send((Err(error.duplicate()), request.record.bytes));
                }
            }
        }
    }

    /// Writes a group and returns where each of its records lies.
    fn write_group(&mut self, group: &mut [Request], first_lsn: Lsn) -> Result<Vec<RecordAt>, WalError> {
        if self.damaged {
            self.rotate()?;
        }
        let mut places = Vec::with_capacity(group.len());
        let mut written = 0;
        for (lsn, request) in (first_lsn..).zip(group.iter_mut()) {
            format::seal(&mut request.record, lsn);
            let len = request.record.bytes.len() as u32;
            places.push(RecordAt { file: Arc::clone(&self.file), offset: self.len + written, len });
            written += u64::from(len);
        }
        if let Err(error) = self.write_records(group) {
            self.undo();
            return Err(error);
        }
        match self.policy {
            FsyncPolicy::Interval(interval) => {
                self.len += written;
                let since = *self.unsynced_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= interval {
                    // The appends are answered either way: they were promised only the write.
                    let _ = self.sync();
                }
            }
            FsyncPolicy::Always | FsyncPolicy::Batch => {
                if let Err(error) = self.sync() {
                    self.undo();
                    return Err(error);
                }
                self.len += written;
            }
        }
        let mut files = lock(&self.shared.files);
        if let Some(active) = files.last_mut() {
            active.bytes = self.len;
        }
        Ok(places)
    }

    /// Writes the group's records, in order, with as few `writev` calls as the kernel allows.
    fn write_records(&mut self, group: &[Request]) -> Result<(), WalError> {
        let records: Vec<&[u8]> = group.iter().map(|request| request.record.bytes.as_slice()).collect();
        let bytes = records.iter().map(|record| record.len()).sum();
        if let Some(Err(error)) = self.hook.as_ref().map(|hook| hook(IoOp::Write { bytes })) {
            // As a write that runs out of space does: part of the bytes reach the file.
            let _ = (&self.file.file).write_all(&records.concat()[..bytes / 2]);
            return Err(self.write_failed(error));
        }
        let mut slices: Vec<IoSlice<'_>> = records.iter().map(|record| IoSlice::new(record)).collect();
        let mut left = slices.as_mut_slice();
        while !left.is_empty() {
            match (&self.file.file).write_vectored(left) {
                Ok(0) => return Err(self.write_failed(io::ErrorKind::WriteZero.into())),
                Ok(n) => IoSlice::advance_slices(&mut left, n),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(self.write_failed(error)),
            }
        }
        Ok(())
    }

    fn write_failed(&self, error: io::Error) -> WalError {
        self.shared.io_errors.fetch_add(1, Ordering::Relaxed);
        WalError::io(Op::Write, &self.path(), error)
    }

    fn sync(&mut self) -> Result<(), WalError> {
        let result = match &self.hook {
            Some(hook) => hook(IoOp::Sync).and_then(|()| self.file.file.sync_data()),
            None => self.file.file.sync_data(),
        };
        match result {
            Ok(()) => {
                self.shared.fsyncs.fetch_add(1, Ordering::Relaxed);
                self.unsynced_since = None;
                Ok(())
            }
            Err(error) => {
                self.shared.io_errors.fetch_add(1, Ordering::Relaxed);
                if self.unsynced_since.is_some() {
                    // Under `Interval`: try again after another interval, not at once.
                    self.unsynced_since = Some(Instant::now());
                }
                Err(WalError::io(Op::Sync, &self.path(), error))
            }
        }
    }

    /// Cuts the file back to its last good record after a failed write or sync; if that
    /// fails too, the next write starts a new file.
    fn undo(&mut self) {
        let len = self.len;
        let hooked = self.hook.as_ref().map_or(Ok(()), |hook| hook(IoOp::Truncate));
        let file = &self.file.file;
        let cut = hooked.and_then(|()| file.set_len(len)).and_then(|()| (&*file).seek(SeekFrom::Start(len)));
        match cut {
            Ok(_) => {
                self.shared.truncations.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => self.damaged = true,
        }
    }

    /// Starts the next file, named by the next LSN. Under `Interval` the old file is synced
    /// first, so that the switch does not hide unsynced records from the next sync.
    fn rotate(&mut self) -> Result<(), WalError> {
        if self.unsynced_since.is_some() {
            self.sync()?;
        }
        if self.next_lsn == self.first && !self.damaged {
            return Ok(()); // nothing written to this file yet
        }
        let file = open::create_file(&self.shared.dir, self.next_lsn).inspect_err(|_| {
            self.shared.io_errors.fetch_add(1, Ordering::Relaxed);
        })?;
        self.file = Arc::new(file);
        self.first = self.next_lsn;
        self.len = FILE_HEADER_LEN as u64;
        self.damaged = false;
        lock(&self.shared.files).push(FileEntry { first: self.first, bytes: self.len });
        Ok(())
    }

    fn path(&self) -> PathBuf {
        self.file.path.clone()
    }
}
