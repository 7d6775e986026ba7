//! Compaction: the files one retention class has for one closed hour, merged into one
//! (docs/adr/0016-segment-compaction.md). A quiet server flushes every `storage.flush_interval`,
//! up to 120 small files per hour and class; merged, an hour is one file, or a few of at most
//! [`MERGED_ROWS`] rows each.
//!
//! A merge reads its inputs a few hundred rows at a time and merges them by `(time, id)` into
//! row groups of [`ROW_GROUP_ROWS`], each with its n-gram filters, as a flush writes them: the
//! merged file is searched like any other, and what a merge holds in memory is bounded by its
//! row group and [`READ_ROWS`] per input, whatever the hour holds.
//!
//! The merged file is named `<class>-<min id>-<hash of its inputs' names>.parquet`, never the
//! name of an input, and names its inputs in `sift.merged_from`. It is written under a
//! temporary name, synced and renamed like every segment; its inputs are deleted after that.
//! So after a crash the listing at start either finds the temporary file (deleted: the inputs
//! are all there) or the merged file (its inputs still there are deleted): every event is in
//! exactly one file either way.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::fs::{self, File};
use std::path::Path;

use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::KeyValue;
use sift_core::{Event, Timestamp};
use ulid::Ulid;

use super::decode::{Rows, blank_event};
use super::schema::{ROW_GROUP_ROWS, SCHEMA_VERSION};
use super::write::{FileWriter, hour, sync_dir};
use super::{SegmentError, SegmentMeta, WriteOptions, key};

/// Most rows of a merged file (16 row groups). Files this large are not merged again, and an
/// hour of more events is merged into several files.
pub const MERGED_ROWS: u64 = 16 * ROW_GROUP_ROWS as u64;

/// Most files merged at once: the rows each holds while the merge runs are bounded by it.
pub const MAX_INPUTS: usize = 256;

/// Rows read from each input at a time.
const READ_ROWS: usize = 256;

/// How long after its end an hour counts as closed: events of an hour still arrive for a
/// while after it ends (the last flush of it, senders that buffer). A later one makes one more
/// file, which the next compaction merges with the rest.
pub const CLOSED_AFTER_MICROS: i64 = 10 * 60 * 1_000_000;

/// Where a merge is, for tests that stop it there as a crash would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeStep {
    /// A row group of the merged file is written, under its temporary name.
    Writing,
    /// The merged file is complete under its temporary name, synced, not yet renamed.
    Written,
    /// The merged file is in place; its inputs are all still there.
    Renamed,
}

/// The groups of files to merge now, each one retention class's files of one closed hour
/// (closed [`CLOSED_AFTER_MICROS`] before `now`), oldest first. Files a flush wrote whose WAL
/// records are not released yet (`wal_through` after `released`) are left alone: a restart
/// may still delete and rewrite them (docs/adr/0006-replay-into-pending.md). So are full
/// files ([`MERGED_ROWS`]). Each group holds at least two files, at most [`MAX_INPUTS`], and
/// at most [`MERGED_ROWS`] rows; files are grouped by their time, so that merged files of one
/// hour overlap in time as little as the events allow.
pub fn compaction_plan(segments: &[SegmentMeta], now: Timestamp, released: u64) -> Vec<Vec<SegmentMeta>> {
    let open_hour = hour(Timestamp(now.as_micros().saturating_sub(CLOSED_AFTER_MICROS)));
    let mut hours: BTreeMap<(i64, &str), Vec<&SegmentMeta>> = BTreeMap::new();
    for segment in segments {
        let at = hour(segment.min_time);
        let mergeable = at < open_hour
            && hour(segment.max_time) == at
            && segment.rows < MERGED_ROWS
            && segment.wal_through.is_none_or(|through| through <= released);
        if mergeable {
            hours.entry((at, &segment.class)).or_default().push(segment);
        }
    }
    let mut groups = Vec::new();
    for (_, mut files) in hours {
        files.sort_by(|a, b| (a.min_time, &a.path).cmp(&(b.min_time, &b.path)));
        let mut group: Vec<SegmentMeta> = Vec::new();
        let mut rows = 0;
        for file in files {
            if group.len() == MAX_INPUTS || rows + file.rows > MERGED_ROWS {
                if group.len() > 1 {
                    groups.push(std::mem::take(&mut group));
                }
                group.clear();
                rows = 0;
            }
            rows += file.rows;
            group.push(file.clone());
        }
        if group.len() > 1 {
            groups.push(group);
        }
    }
    groups
}

/// Merges `inputs` (one class's files of one hour, in one directory) into one file beside
/// them, and returns it. The inputs are left in place: the caller deletes them once nothing
/// reads them. `step` is called at each [`MergeStep`] (tests stop there).
pub fn merge(inputs: &[SegmentMeta], step: &dyn Fn(MergeStep)) -> Result<SegmentMeta, SegmentError> {
    let first = inputs.first().ok_or_else(|| SegmentError::invalid("", "a merge of no files"))?;
    let folder = first.path.parent().ok_or_else(|| SegmentError::invalid(&first.path, "no directory"))?;
    let mut names = Vec::with_capacity(inputs.len());
    for input in inputs {
        let name = input.path.file_name().and_then(|n| n.to_str());
        if input.path.parent() != Some(folder)
            || input.class != first.class
            || hour(input.min_time) != hour(first.min_time)
        {
            return Err(SegmentError::invalid(
                &input.path,
                "not of the same class and hour as the files merged with it",
            ));
        }
        names.push(name.ok_or_else(|| SegmentError::invalid(&input.path, "not a segment name"))?);
    }
    names.sort_unstable();
    let min_time = inputs.iter().map(|s| s.min_time).min().unwrap_or(first.min_time);
    let max_time = inputs.iter().map(|s| s.max_time).max().unwrap_or(first.max_time);
    let min_id = inputs.iter().map(|s| s.min_id).min().unwrap_or(first.min_id);
    let max_id = inputs.iter().map(|s| s.max_id).max().unwrap_or(first.max_id);
    let rows: u64 = inputs.iter().map(|s| s.rows).sum();
    let merged_from = names.join(",");
    let class = &first.class;
    let name = format!("{class}-{min_id}-{:016x}.parquet", fnv1a(merged_from.as_bytes()));
    let path = folder.join(&name);
    let temp = folder.join(format!(".{name}.tmp"));
    let kv = |k: &str, v: String| KeyValue::new(k.to_owned(), v);
    let metadata = vec![
        kv(key::SCHEMA_VERSION, SCHEMA_VERSION.to_owned()),
        kv(key::CLASS, class.clone()),
        kv(key::MIN_TIME, min_time.as_micros().to_string()),
        kv(key::MAX_TIME, max_time.as_micros().to_string()),
        kv(key::MIN_ID, min_id.to_string()),
        kv(key::MAX_ID, max_id.to_string()),
        kv(key::MERGED_FROM, merged_from),
    ];
    match write_merged(&temp, inputs, metadata, step) {
        Ok(written) if written == rows => {}
        Ok(written) => {
            let _ = fs::remove_file(&temp);
            let reason = format!("the inputs held {written} rows, their footers say {rows}");
            return Err(SegmentError::invalid(&first.path, reason));
        }
        Err(error) => {
            let _ = fs::remove_file(&temp);
            return Err(error);
        }
    }
    step(MergeStep::Written);
    fs::rename(&temp, &path).map_err(SegmentError::io(&path))?;
    sync_dir(folder)?;
    step(MergeStep::Renamed);
    let bytes = fs::metadata(&path).map_err(SegmentError::io(&path))?.len();
    Ok(SegmentMeta { path, min_time, max_time, min_id, max_id, rows, bytes, class: class.clone(), wal_through: None })
}

/// Writes the inputs' rows in `(time, id)` order into `temp`; returns how many.
fn write_merged(
    temp: &Path,
    inputs: &[SegmentMeta],
    metadata: Vec<KeyValue>,
    step: &dyn Fn(MergeStep),
) -> Result<u64, SegmentError> {
    let mut readers = inputs.iter().map(|input| Input::open(&input.path)).collect::<Result<Vec<_>, _>>()?;
    let mut heads: BinaryHeap<Reverse<(Timestamp, Ulid, usize)>> = BinaryHeap::with_capacity(readers.len());
    for (i, reader) in readers.iter_mut().enumerate() {
        if let Some((time, id)) = reader.head()? {
            heads.push(Reverse((time, id, i)));
        }
    }
    let mut writer = FileWriter::create(temp, metadata, WriteOptions::default())?;
    let mut group: Vec<Event> = Vec::new();
    let mut written = 0;
    while let Some(Reverse((_, _, i))) = heads.pop() {
        let reader = &mut readers[i];
        group.extend(reader.events.pop_front());
        if let Some((time, id)) = reader.head()? {
            heads.push(Reverse((time, id, i)));
        }
        if group.len() == ROW_GROUP_ROWS || heads.is_empty() {
            let events: Vec<&Event> = group.iter().collect();
            let order: Vec<u32> = (0..events.len() as u32).collect();
            writer.write_group(&events, &order)?;
            written += group.len() as u64;
            group.clear();
            step(MergeStep::Writing);
        }
    }
    writer.finish()?;
    Ok(written)
}

/// One input of a merge: its rows read a batch at a time, oldest first.
struct Input<'a> {
    path: &'a Path,
    reader: ParquetRecordBatchReader,
    events: VecDeque<Event>,
}

impl<'a> Input<'a> {
    fn open(path: &'a Path) -> Result<Input<'a>, SegmentError> {
        let file = File::open(path).map_err(SegmentError::io(path))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|builder| builder.with_batch_size(READ_ROWS).build())
            .map_err(SegmentError::parquet(path))?;
        Ok(Input { path, reader, events: VecDeque::with_capacity(READ_ROWS) })
    }

    /// The key of the next event, reading the next batch when the last is used up.
    fn head(&mut self) -> Result<Option<(Timestamp, Ulid)>, SegmentError> {
        while self.events.is_empty() {
            let Some(batch) = self.reader.next() else { return Ok(None) };
            let batch = batch.map_err(|e| SegmentError::parquet(self.path)(e.into()))?;
            let rows = Rows::new(&batch).map_err(|e| SegmentError::invalid(self.path, e.0))?;
            for row in 0..batch.num_rows() {
                let mut event = blank_event();
                rows.fill(row, &mut event).map_err(|e| SegmentError::invalid(self.path, e.0))?;
                self.events.push_back(event);
            }
        }
        Ok(self.events.front().map(|event| (event.time, event.id)))
    }
}

/// FNV-1a, 64 bits: stable across versions and platforms, which file names need.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
