//! Opening the WAL directory: reading the checkpoint, replaying every file in LSN order with
//! large reads and parallel decoding, cutting damaged tails, and the file operations the
//! writer and [`super::Wal::release_through`] share (creating and deleting files).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use sift_core::Event;

use super::checkpoint::Checkpoint;
use super::format::{self, BATCH_OFFSET, Corruption, FILE_HEADER_LEN, Frame, Header};
use super::{FileEntry, Lsn, Op, RecordAt, Replay, Replayed, Truncation, WalError, WalFile};
use crate::codec::{self, CodecErrorKind};
use crate::private;

/// What [`recover`] hands to the writer and to the caller.
pub(super) struct Recovered {
    pub replay: Replay,
    pub checkpoint: Checkpoint,
    pub files: Vec<FileEntry>,
    pub active: Active,
    pub next_lsn: Lsn,
}

/// The file appends go to, positioned at its end.
pub(super) struct Active {
    pub file: WalFile,
    pub first: Lsn,
    pub len: u64,
}

/// Replays the WAL in `dir`, handing every record not yet released to `sink`, oldest first.
pub(super) fn recover(dir: &Path, mut sink: impl FnMut(Replayed)) -> Result<Recovered, WalError> {
    private::create_dir_all(dir).map_err(|e| WalError::io(Op::Create, dir, e))?;
    let mut replay = Replay::default();
    let (checkpoint, damaged) = Checkpoint::open(dir)?;
    (replay.released_through, replay.checkpoint_damaged) = (checkpoint.through, damaged);
    let listed = list(dir)?;

    // Files that hold only released records (a deletion that did not reach the disk) are
    // deleted without being read. Never the newest.
    let released = replay.released_through;
    let doomed = listed.windows(2).take_while(|pair| pair[1] - 1 <= released).count();
    delete_files(dir, &listed[..doomed]).map_err(|(_, error)| error)?;

    let mut files = Vec::new();
    let mut last_lsn = 0;
    for &first in &listed[doomed..] {
        let path = format::file_path(dir, first);
        let bytes = fs::read(&path).map_err(|e| WalError::io(Op::Read, &path, e))?;
        replay.files += 1;
        replay.bytes_read += bytes.len() as u64;
        let read = read_file(&path, &bytes, first, last_lsn, released)?;
        last_lsn = read.last_lsn.unwrap_or(last_lsn);
        if !read.batches.is_empty() {
            let file = Arc::new(open_file(&path)?);
            for (lsn, (offset, len), events) in read.batches {
                sink(Replayed { lsn, at: RecordAt { file: Arc::clone(&file), offset, len }, events });
            }
        }
        let mut len = bytes.len() as u64;
        if let Some((offset, corruption)) = read.damage {
            let truncation = cut(&path, &bytes, offset, corruption)?;
            replay.truncated_bytes += truncation.bytes;
            if corruption.is_some() {
                replay.corrupt_files.push(path.clone());
            }
            replay.truncations.push(truncation);
            len = (offset as u64).max(FILE_HEADER_LEN as u64);
        }
        files.push(FileEntry { first, bytes: len });
    }

    let newest_name = files.last().map_or(0, |file| file.first);
    let next_lsn = (last_lsn + 1).max(newest_name).max(released + 1);
    let active = match files.last() {
        Some(newest) => {
            let path = format::file_path(dir, newest.first);
            let file = open_file(&path)?;
            (&file.file).seek(SeekFrom::Start(newest.bytes)).map_err(|e| WalError::io(Op::Open, &path, e))?;
            Active { file, first: newest.first, len: newest.bytes }
        }
        None => {
            let file = create_file(dir, next_lsn)?;
            files.push(FileEntry { first: next_lsn, bytes: FILE_HEADER_LEN as u64 });
            Active { file, first: next_lsn, len: FILE_HEADER_LEN as u64 }
        }
    };
    Ok(Recovered { replay, checkpoint, files, active, next_lsn })
}

/// Opens a WAL file to append to and read back from.
fn open_file(path: &Path) -> Result<WalFile, WalError> {
    let file = OpenOptions::new().read(true).write(true).open(path).map_err(|e| WalError::io(Op::Open, path, e))?;
    Ok(WalFile { file, path: path.to_path_buf() })
}

/// The good records of one file, and where and why it must be cut.
struct FileRead {
    /// LSN, the record's offset and length in the file, and its batch.
    batches: Vec<(Lsn, (u64, u32), Vec<Event>)>,
    last_lsn: Option<Lsn>,
    /// The offset of the first bad byte, and the damage (`None`: a torn tail).
    damage: Option<(usize, Option<Corruption>)>,
}

fn read_file(path: &Path, bytes: &[u8], first: Lsn, previous: Lsn, released: Lsn) -> Result<FileRead, WalError> {
    let mut read = FileRead { batches: Vec::new(), last_lsn: None, damage: None };
    match format::check_file_header(bytes) {
        Header::Valid => {}
        Header::Torn => read.damage = Some((0, None)),
        Header::Invalid => read.damage = Some((0, Some(Corruption::BadFileHeader))),
        Header::Newer(version) => return Err(WalError::NewerFormat { path: path.to_path_buf(), version }),
    }
    if read.damage.is_some() {
        return Ok(read);
    }

    // Frame and check every record first (fast: CRC32C runs at memory speed), then decode the
    // batches on every core.
    let mut records: Vec<(Lsn, (usize, usize))> = Vec::new();
    let mut pos = FILE_HEADER_LEN;
    let mut previous = previous;
    loop {
        match format::read_frame(bytes, pos) {
            Frame::Record { lsn, batch, end } => {
                if lsn <= previous || lsn < first {
                    read.damage = Some((pos, Some(Corruption::LsnOutOfOrder)));
                    break;
                }
                records.push((lsn, batch));
                previous = lsn;
                pos = end;
            }
            Frame::End => break,
            Frame::Torn => {
                read.damage = Some((pos, None));
                break;
            }
            Frame::Corrupt(corruption) => {
                read.damage = Some((pos, Some(corruption)));
                break;
            }
        }
    }

    let decoded: Vec<_> = records
        .par_iter()
        .map(
            |&(lsn, (start, end))| {
                if lsn <= released { Ok(Vec::new()) } else { codec::decode_batch(&bytes[start..end]) }
            },
        )
        .collect();
    for ((lsn, (start, end)), batch) in records.into_iter().zip(decoded) {
        match batch {
            Ok(events) => {
                read.last_lsn = Some(lsn);
                if lsn > released {
                    let offset = start - BATCH_OFFSET;
                    read.batches.push((lsn, (offset as u64, (end - offset) as u32), events));
                }
            }
            Err(error) if matches!(error.kind, CodecErrorKind::UnknownVersion(_)) => {
                return Err(WalError::NewerBatch { path: path.to_path_buf(), source: error });
            }
            Err(error) => {
                read.damage = Some((start - BATCH_OFFSET, Some(Corruption::BadBatch(error))));
                break;
            }
        }
    }
    Ok(read)
}

/// Cuts a file at `offset` (rewriting its header if the cut goes into it), after saving the
/// bytes cut from a corrupt file beside it.
fn cut(path: &Path, bytes: &[u8], offset: usize, corruption: Option<Corruption>) -> Result<Truncation, WalError> {
    let cut_bytes = bytes.get(offset..).unwrap_or_default();
    let saved_to = match corruption {
        Some(_) if !cut_bytes.is_empty() => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let saved = path.with_file_name(format!("{name}.{offset}.corrupt"));
            private::write(&saved, cut_bytes).ok().map(|()| saved)
        }
        _ => None,
    };
    let io = |op, e| WalError::io(op, path, e);
    let mut file = OpenOptions::new().write(true).open(path).map_err(|e| io(Op::Open, e))?;
    if offset < FILE_HEADER_LEN {
        file.set_len(0).map_err(|e| io(Op::Truncate, e))?;
        file.write_all(&format::file_header()).map_err(|e| io(Op::Write, e))?;
    } else {
        file.set_len(offset as u64).map_err(|e| io(Op::Truncate, e))?;
    }
    file.sync_data().map_err(|e| io(Op::Sync, e))?;
    Ok(Truncation {
        path: path.to_path_buf(),
        offset: offset.max(FILE_HEADER_LEN) as u64,
        bytes: cut_bytes.len() as u64,
        corruption,
        saved_to,
    })
}

/// The first LSNs of the WAL files in `dir`, in order.
fn list(dir: &Path) -> Result<Vec<Lsn>, WalError> {
    let entries = fs::read_dir(dir).map_err(|e| WalError::io(Op::Read, dir, e))?;
    let mut firsts = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| WalError::io(Op::Read, dir, e))?;
        let name = entry.file_name();
        // LSNs start at 1: a file named 0 is not one of ours.
        if let Some(first) = name.to_str().and_then(format::parse_file_name).filter(|&first| first > 0) {
            firsts.push(first);
        }
    }
    firsts.sort_unstable();
    Ok(firsts)
}

/// Creates the file whose first record will be `first`, with its header, durably.
pub(super) fn create_file(dir: &Path, first: Lsn) -> Result<WalFile, WalError> {
    let path = format::file_path(dir, first);
    let io = |op, e| WalError::io(op, &path, e);
    let mut file = private::create_file(OpenOptions::new().read(true).write(true).truncate(true), &path)
        .map_err(|e| io(Op::Create, e))?;
    let written = file.write_all(&format::file_header()).map_err(|e| io(Op::Write, e));
    if let Err(error) = written.and_then(|()| file.sync_data().map_err(|e| io(Op::Sync, e))) {
        drop(file);
        let _ = fs::remove_file(&path);
        return Err(error);
    }
    sync_dir(dir)?;
    Ok(WalFile { file, path })
}

/// Deletes the files that start at `firsts`, in order; on an error, says how many went.
pub(super) fn delete_files(dir: &Path, firsts: &[Lsn]) -> Result<(), (usize, WalError)> {
    for (deleted, &first) in firsts.iter().enumerate() {
        let path = format::file_path(dir, first);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err((deleted, WalError::io(Op::Delete, &path, error))),
        }
    }
    if firsts.is_empty() { Ok(()) } else { sync_dir(dir).map_err(|error| (firsts.len(), error)) }
}

/// Makes the directory's entries (files created, renamed, deleted) durable.
pub(super) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| WalError::io(Op::Sync, dir, e))
}

#[cfg(test)]
pub(super) fn file_paths(dir: &Path) -> Vec<std::path::PathBuf> {
    list(dir).unwrap_or_default().into_iter().map(|first| format::file_path(dir, first)).collect()
}
