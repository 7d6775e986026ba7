//! Opening a segment for one query: its footer (with the offset index, so that reading a few
//! rows skips the pages around them), the row groups that survive pruning by time, by the
//! search cursor and by the n-gram filter, and reading the rows of one row group.

use std::fs::File;
use std::io::ErrorKind;
use std::ops::{ControlFlow, Range};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
};
use parquet::file::metadata::{PageIndexPolicy, RowGroupMetaData};
use parquet::file::reader::ChunkReader;
use parquet::file::statistics::Statistics;
use sift_core::Timestamp;

use super::list::find;
use super::ngram::decode_blocks;
use super::plan::Plan;
use super::schema::{Column, Columns};
use super::{ScanStats, SegmentError, SegmentMeta, key};
use crate::search::{Cursor, TimeRange};

/// Rows per record batch read.
const BATCH_ROWS: usize = 8192;

/// The counters of one scan, shared by the threads that run it.
#[derive(Default)]
pub(super) struct Counters {
    files_opened: AtomicU64,
    row_groups: AtomicU64,
    row_groups_read: AtomicU64,
    rows_tested: AtomicU64,
}

impl Counters {
    pub(super) fn rows_tested(&self, n: u64) {
        self.rows_tested.fetch_add(n, Ordering::Relaxed);
    }

    pub(super) fn row_group_read(&self) {
        self.row_groups_read.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> ScanStats {
        ScanStats {
            files_opened: self.files_opened.load(Ordering::Relaxed),
            row_groups: self.row_groups.load(Ordering::Relaxed),
            row_groups_read: self.row_groups_read.load(Ordering::Relaxed),
            rows_tested: self.rows_tested.load(Ordering::Relaxed),
        }
    }
}

/// A segment opened for a query.
pub(super) struct Opened {
    pub path: PathBuf,
    metadata: ArrowReaderMetadata,
    /// The row groups that may hold matching rows, in file order (oldest first).
    pub groups: Vec<Group>,
}

/// A row group that survived pruning.
#[derive(Debug, Clone)]
pub(super) struct Group {
    pub index: usize,
    pub rows: usize,
    pub max_time: Timestamp,
    /// Whether every row's time is inside the range, so rows need no time test.
    pub within: bool,
    /// The rows that may match, ascending, when the n-gram filters ruled some out.
    pub ranges: Option<Vec<Range<usize>>>,
}

impl Group {
    /// The rows to read in the first pass.
    pub(super) fn selection(&self) -> Option<RowSelection> {
        self.ranges.as_ref().map(|ranges| RowSelection::from_consecutive_ranges(ranges.iter().cloned(), self.rows))
    }
}

/// Whether a segment's time span may hold events in `range` older than `before`.
pub(super) fn overlaps(meta: &SegmentMeta, range: TimeRange, before: Option<Cursor>) -> bool {
    range.since.is_none_or(|s| meta.max_time >= s)
        && range.until.is_none_or(|u| meta.min_time < u)
        && before.is_none_or(|b| meta.min_time <= b.time)
}

/// Opens the segment and prunes its row groups; `None` if the file is gone (deleted by
/// retention since the caller listed it) or no row group may match.
pub(super) fn open(
    meta: &SegmentMeta,
    plan: &Plan,
    range: TimeRange,
    before: Option<Cursor>,
    counters: &Counters,
) -> Result<Option<Opened>, SegmentError> {
    let path = &meta.path;
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SegmentError::io(path)(e)),
    };
    counters.files_opened.fetch_add(1, Ordering::Relaxed);
    let options = ArrowReaderOptions::new()
        .with_column_index_policy(PageIndexPolicy::Skip)
        .with_offset_index_policy(PageIndexPolicy::Optional);
    let metadata = ArrowReaderMetadata::load(&file, options).map_err(SegmentError::parquet(path))?;
    let parquet = metadata.metadata().clone();
    let time_leaf = parquet
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.name() == Column::Time.name())
        .ok_or_else(|| SegmentError::invalid(path, "no time column"))?;
    counters.row_groups.fetch_add(parquet.num_row_groups() as u64, Ordering::Relaxed);
    let mut groups: Vec<Group> = parquet
        .row_groups()
        .iter()
        .enumerate()
        .filter_map(|(index, rg)| {
            let (min, max) = time_span(rg, time_leaf)?;
            let keep = range.since.is_none_or(|s| max >= s)
                && range.until.is_none_or(|u| min < u)
                && before.is_none_or(|b| min <= b.time);
            let within = range.contains(min) && range.contains(max);
            keep.then_some(Group { index, rows: rg.num_rows() as usize, max_time: max, within, ranges: None })
        })
        .collect();
    if !plan.needles.is_empty() && !groups.is_empty() {
        let kv = parquet.file_metadata().key_value_metadata().map_or(&[][..], Vec::as_slice);
        if let Some((block_rows, places)) =
            find(kv, key::NGRAM).and_then(|v| filter_places(v, parquet.num_row_groups()))
        {
            for group in &mut groups {
                let (offset, len) = places[group.index];
                let Some(filters) = file.get_bytes(offset, len).ok().and_then(|bytes| decode_blocks(&bytes)) else {
                    continue;
                };
                if filters.len() != group.rows.div_ceil(block_rows) {
                    continue;
                }
                let mut ranges: Vec<Range<usize>> = Vec::new();
                for (block, filter) in filters.iter().enumerate() {
                    if plan.needles.iter().all(|needle| filter.may_contain(needle)) {
                        let rows = block * block_rows..((block + 1) * block_rows).min(group.rows);
                        match ranges.last_mut() {
                            Some(last) if last.end == rows.start => last.end = rows.end,
                            _ => ranges.push(rows),
                        }
                    }
                }
                let all = ranges.len() == 1 && ranges[0] == (0..group.rows);
                group.ranges = (!all).then_some(ranges);
            }
            groups.retain(|group| group.ranges.as_ref().is_none_or(|ranges| !ranges.is_empty()));
        }
    }
    if groups.is_empty() {
        return Ok(None);
    }
    Ok(Some(Opened { path: path.clone(), metadata, groups }))
}

/// A row group's time span from its statistics; without statistics, everything.
fn time_span(rg: &RowGroupMetaData, leaf: usize) -> Option<(Timestamp, Timestamp)> {
    if rg.num_rows() == 0 {
        return None;
    }
    match rg.column(leaf).statistics() {
        Some(Statistics::Int64(stats)) => match (stats.min_opt(), stats.max_opt()) {
            (Some(&min), Some(&max)) => Some((Timestamp(min), Timestamp(max))),
            _ => Some((Timestamp::MIN, Timestamp::MAX)),
        },
        _ => Some((Timestamp::MIN, Timestamp::MAX)),
    }
}

/// `block_rows:offset+len,...`, one place per row group; `None` unless it is exactly that.
fn filter_places(value: &str, row_groups: usize) -> Option<(usize, Vec<(u64, usize)>)> {
    let (block_rows, places) = value.split_once(':')?;
    let block_rows: usize = block_rows.parse().ok().filter(|&n| n > 0)?;
    let places: Vec<(u64, usize)> = places
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|place| {
            let (offset, len) = place.split_once('+')?;
            Some((offset.parse().ok()?, len.parse().ok()?))
        })
        .collect::<Option<_>>()?;
    (places.len() == row_groups).then_some((block_rows, places))
}

impl Opened {
    /// Reads `columns` of row group `group`, only the rows in `selection` if given, and hands
    /// each batch to `each` until it breaks.
    pub(super) fn read(
        &self,
        group: &Group,
        columns: Columns,
        selection: Option<RowSelection>,
        each: &mut dyn FnMut(&RecordBatch) -> Result<ControlFlow<()>, SegmentError>,
    ) -> Result<(), SegmentError> {
        let path = &self.path;
        let file = File::open(path).map_err(SegmentError::io(path))?;
        let schema = self.metadata.parquet_schema();
        let mask = ProjectionMask::roots(schema, columns.iter().map(Column::index));
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.metadata.clone())
            .with_row_groups(vec![group.index])
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS);
        if let Some(selection) = selection {
            builder = builder.with_row_selection(selection);
        }
        let reader = builder.build().map_err(SegmentError::parquet(path))?;
        for batch in reader {
            let batch = batch.map_err(|e| SegmentError::parquet(path)(e.into()))?;
            if each(&batch)?.is_break() {
                break;
            }
        }
        Ok(())
    }
}
