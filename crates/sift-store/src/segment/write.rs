//! Writing segments: events sorted by `(time, id)`, split by UTC hour, each hour into Parquet
//! files of at most two row groups (written in parallel), each under a temporary name, synced,
//! renamed into place and its directory synced (docs/adr/0008-flush-rounds-and-parallel-files.md).
//! Each row group's n-gram filter is written right after it, and the key-value metadata says
//! where.

use std::borrow::Borrow;
use std::fs::{self, File, OpenOptions, Permissions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use rayon::prelude::*;
use sift_core::{Event, Timestamp};

use super::encode::encode;
use super::ngram::{NgramBuilder, encode_blocks};
use super::schema::{NGRAM_BLOCK_ROWS, ROW_GROUP_ROWS, SCHEMA_VERSION, schema, writer_properties};
use super::{SegmentError, SegmentMeta, key};
use crate::private;

/// Row groups per file at most.
const FILE_ROW_GROUPS: usize = 2;

/// How segments are written. The defaults are what sift uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Rows per row group.
    pub row_group_rows: usize,
    /// Whether to write n-gram filters for needle searches.
    pub ngram_filter: bool,
    /// Rows per n-gram filter: a row group of `row_group_rows` has that many over this filters.
    pub ngram_block_rows: usize,
    /// The highest WAL LSN of the flush writing the events, stored as `sift.wal_through`.
    pub wal_through: Option<u64>,
}

impl Default for WriteOptions {
    fn default() -> WriteOptions {
        WriteOptions {
            row_group_rows: ROW_GROUP_ROWS,
            ngram_filter: true,
            ngram_block_rows: NGRAM_BLOCK_ROWS,
            wal_through: None,
        }
    }
}

/// Writes `events` (in any order; owned or borrowed, so that a flush writes the pending
/// batches' events without copying them) to segments under `dir` (the `segments` directory),
/// files per UTC hour of their `time` of at most two row groups each, and returns them oldest
/// first. Nothing is written for no
/// events. This is blocking file I/O and CPU work: call it off the async runtime.
pub fn write_segment<E: Borrow<Event> + Sync>(
    dir: &Path,
    events: &[E],
    class: &str,
) -> Result<Vec<SegmentMeta>, SegmentError> {
    write_segment_with(dir, events, class, WriteOptions::default())
}

/// [`write_segment`] with explicit options.
pub fn write_segment_with<E: Borrow<Event> + Sync>(
    dir: &Path,
    events: &[E],
    class: &str,
    options: WriteOptions,
) -> Result<Vec<SegmentMeta>, SegmentError> {
    write_segments(dir, &[(class, events)], options)
}

/// Writes the events of several retention classes at once (every file of every class in
/// parallel) and returns the files in the order of `classes`, each class's oldest first.
///
/// All or nothing: when one file fails, the files this call added are deleted again before
/// the error is returned, so that a flush tried again later does not leave a first copy of
/// its events behind, to be found twice once the directory is listed at the next start.
/// A file that replaced one of the same name (a round written again after a crash) is kept:
/// its content is the same.
pub fn write_segments<E: Borrow<Event> + Sync>(
    dir: &Path,
    classes: &[(&str, &[E])],
    options: WriteOptions,
) -> Result<Vec<SegmentMeta>, SegmentError> {
    let mut classes_events = Vec::with_capacity(classes.len());
    for &(class, events) in classes {
        if class.is_empty() || !class.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(SegmentError::InvalidClass(class.to_owned()));
        }
        let events: Vec<&Event> = events.iter().map(Borrow::borrow).collect();
        let mut order: Vec<u32> = (0..events.len() as u32).collect();
        let key = |i: u32| (events[i as usize].time, events[i as usize].id);
        // Batches mostly arrive in order: checking is much cheaper than sorting.
        if !order.is_sorted_by_key(|&i| key(i)) {
            order.sort_unstable_by_key(|&i| key(i));
        }
        classes_events.push((class, events, order));
    }
    let files: Vec<(&str, &[&Event], &[u32])> = classes_events
        .iter()
        .flat_map(|(class, events, order)| {
            order
                .chunk_by(|&a, &b| hour(events[a as usize].time) == hour(events[b as usize].time))
                .flat_map(|hour| split_into_files(hour, options.row_group_rows))
                .map(move |rows| (*class, events.as_slice(), rows))
        })
        .collect();
    let mut written: Vec<Result<Written, SegmentError>> =
        files.into_par_iter().map(|(class, events, rows)| write_file(dir, events, rows, class, options)).collect();
    let Some(failed) = written.iter().position(Result::is_err) else {
        return Ok(written.into_iter().flatten().map(|file| file.meta).collect());
    };
    let error = written.swap_remove(failed);
    // Best effort: a file that cannot be deleted either is what this prevents anyway.
    for file in written.into_iter().flatten().filter(|file| !file.replaced) {
        let _ = fs::remove_file(&file.meta.path);
    }
    error.map(|_| Vec::new())
}

/// A file written into place, and whether it replaced one of the same name.
struct Written {
    meta: SegmentMeta,
    replaced: bool,
}

/// The rows of one hour cut into files of at most [`FILE_ROW_GROUPS`] row groups, which are
/// written at once on every core (a file is encoded by one thread, its n-gram filters by one
/// more), so that a flush does not leave a core idle while writers wait for it. Cut by
/// position alone, so the same events always make the same files, and a rewrite after a crash
/// replaces them.
fn split_into_files(rows: &[u32], row_group_rows: usize) -> impl Iterator<Item = &[u32]> {
    rows.chunks(FILE_ROW_GROUPS * row_group_rows.max(1))
}

/// Hours since the epoch.
pub(super) fn hour(time: Timestamp) -> i64 {
    time.as_micros().div_euclid(3_600_000_000)
}

/// The partition directory of an hour: `YYYY-MM-DD/HH`.
pub(crate) fn partition(time: Timestamp) -> PathBuf {
    let hours = hour(time);
    let (year, month, day) = civil_from_days(hours.div_euclid(24));
    PathBuf::from(format!("{year:04}-{month:02}-{day:02}")).join(format!("{:02}", hours.rem_euclid(24)))
}

/// The proleptic Gregorian date of a day number since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Writes the events `rows` (sorted, all in one hour) to one file.
fn write_file(
    dir: &Path,
    events: &[&Event],
    rows: &[u32],
    class: &str,
    options: WriteOptions,
) -> Result<Written, SegmentError> {
    let first = &events[rows[0] as usize];
    let last = &events[rows[rows.len() - 1] as usize];
    let min_id = rows.iter().map(|&i| events[i as usize].id).min().unwrap_or(first.id);
    let max_id = rows.iter().map(|&i| events[i as usize].id).max().unwrap_or(first.id);
    let folder = dir.join(partition(first.time));
    create_dirs(dir, &folder)?;
    let name = format!("{class}-{min_id}.parquet");
    let path = folder.join(&name);
    let temp = folder.join(format!(".{name}.tmp"));
    let kv = |k: &str, v: String| KeyValue::new(k.to_owned(), v);
    let mut metadata = vec![
        kv(key::SCHEMA_VERSION, SCHEMA_VERSION.to_owned()),
        kv(key::CLASS, class.to_owned()),
        kv(key::MIN_TIME, first.time.as_micros().to_string()),
        kv(key::MAX_TIME, last.time.as_micros().to_string()),
        kv(key::MIN_ID, min_id.to_string()),
        kv(key::MAX_ID, max_id.to_string()),
    ];
    if let Some(lsn) = options.wal_through {
        metadata.push(kv(key::WAL_THROUGH, lsn.to_string()));
    }
    let written = write_temp(&temp, events, rows, metadata, options);
    if let Err(error) = written {
        let _ = fs::remove_file(&temp);
        return Err(error);
    }
    // Only the flusher writes here, one round at a time: nothing else adds this name meanwhile.
    let replaced = path.exists();
    fs::rename(&temp, &path).map_err(SegmentError::io(&path))?;
    let finished = sync_dir(&folder).and_then(|()| fs::metadata(&path).map_err(SegmentError::io(&path)));
    let bytes = match finished {
        Ok(metadata) => metadata.len(),
        Err(error) => {
            if !replaced {
                let _ = fs::remove_file(&path);
            }
            return Err(error);
        }
    };
    let meta = SegmentMeta {
        path,
        min_time: first.time,
        max_time: last.time,
        min_id,
        max_id,
        rows: rows.len() as u64,
        bytes,
        class: class.to_owned(),
        wal_through: options.wal_through,
    };
    Ok(Written { meta, replaced })
}

/// The file's content, under its temporary name, synced to disk.
fn write_temp(
    temp: &Path,
    events: &[&Event],
    rows: &[u32],
    metadata: Vec<KeyValue>,
    options: WriteOptions,
) -> Result<(), SegmentError> {
    let mut writer = FileWriter::create(temp, metadata, options)?;
    for chunk in rows.chunks(options.row_group_rows.max(1)) {
        writer.write_group(events, chunk)?;
    }
    writer.finish()
}

/// A segment file being written under its temporary name, a row group at a time, each
/// followed by its n-gram filters: what a flush and a compaction write with.
pub(super) struct FileWriter<'a> {
    temp: &'a Path,
    file: File,
    writer: ArrowWriter<File>,
    options: WriteOptions,
    ngram: NgramBuilder,
    filters: Vec<String>,
}

impl<'a> FileWriter<'a> {
    /// Creates (or truncates) `temp`, with the key-value `metadata` to end it with.
    pub(super) fn create(
        temp: &'a Path,
        metadata: Vec<KeyValue>,
        options: WriteOptions,
    ) -> Result<FileWriter<'a>, SegmentError> {
        let file = private::create_file(OpenOptions::new().write(true).truncate(true), temp)
            .map_err(SegmentError::io(temp))?;
        let properties = writer_properties()
            .into_builder()
            .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
            .set_key_value_metadata(Some(metadata))
            .build();
        let sink = file.try_clone().map_err(SegmentError::io(temp))?;
        let writer = ArrowWriter::try_new(sink, schema(), Some(properties)).map_err(SegmentError::parquet(temp))?;
        Ok(FileWriter { temp, file, writer, options, ngram: NgramBuilder::new(), filters: Vec::new() })
    }

    /// Writes the events `rows` (sorted, at most `row_group_rows`) as one row group.
    pub(super) fn write_group(&mut self, events: &[&Event], rows: &[u32]) -> Result<(), SegmentError> {
        let FileWriter { temp, writer, options, ngram, .. } = self;
        let temp: &Path = temp;
        // The filters are built on another core while the row group is encoded and compressed.
        let (written, filter) = rayon::join(
            || -> Result<(), SegmentError> {
                let batch = encode(events, rows).map_err(|e| SegmentError::parquet(temp)(e.into()))?;
                writer.write(&batch).map_err(SegmentError::parquet(temp))?;
                writer.flush().map_err(SegmentError::parquet(temp))
            },
            || {
                options.ngram_filter.then(|| {
                    let blocks: Vec<_> = rows
                        .chunks(options.ngram_block_rows.max(1))
                        .map(|block| {
                            for &i in block {
                                ngram.add(&events[i as usize].message);
                            }
                            ngram.finish()
                        })
                        .collect();
                    encode_blocks(&blocks)
                })
            },
        );
        written?;
        if let Some(filter) = filter {
            let offset = self.writer.bytes_written();
            self.writer.write_all(&filter).map_err(SegmentError::io(temp))?;
            self.filters.push(format!("{offset}+{}", filter.len()));
        }
        Ok(())
    }

    /// Ends the file with its footer and syncs it.
    pub(super) fn finish(mut self) -> Result<(), SegmentError> {
        let temp = self.temp;
        if self.options.ngram_filter {
            let value = format!("{}:{}", self.options.ngram_block_rows.max(1), self.filters.join(","));
            self.writer.append_key_value_metadata(KeyValue::new(key::NGRAM.to_owned(), value));
        }
        self.writer.close().map_err(SegmentError::parquet(temp))?;
        self.file.sync_all().map_err(SegmentError::io(temp))
    }
}

/// Creates `folder` and the directories between it and `root`, syncing the parent of each one
/// created so that the new entries survive a crash.
fn create_dirs(root: &Path, folder: &Path) -> Result<(), SegmentError> {
    if folder.is_dir() {
        return Ok(());
    }
    if let Some(parent) = folder.parent()
        && folder != root
    {
        create_dirs(root, parent)?;
    }
    match fs::create_dir(folder) {
        Ok(()) => {
            fs::set_permissions(folder, Permissions::from_mode(private::DIR_MODE)).map_err(SegmentError::io(folder))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(SegmentError::io(folder)(e)),
    }
    match folder.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}

pub(super) fn sync_dir(dir: &Path) -> Result<(), SegmentError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(SegmentError::io(dir))
}
