//! Segments: immutable Apache Parquet files of events, the durable tier below the WAL
//! (DESIGN.md section 7, ADR 0004). Any Parquet reader (DuckDB, pyarrow, Spark) reads them as
//! they are: `SELECT * FROM 'segments/**/*.parquet'`.
//!
//! # Layout
//!
//! ```text
//! segments/YYYY-MM-DD/HH/<class>-<min id>.parquet
//! ```
//!
//! One file holds the events of one retention class (`debug`, `default`, ...) whose `time`
//! falls in one UTC hour, sorted by `(time, id)`, named after the smallest ULID it holds. Writing
//! the same events again (a WAL replayed after a crash between the segment's rename and the WAL's
//! truncation) writes the same name and replaces the file instead of duplicating the events.
//! A file is written under a hidden temporary name (`.<name>.tmp`), synced, renamed, and its
//! directory synced, so a final name never holds half a file.
//!
//! Once an hour is over, a compaction merges each class's files of it into one
//! (`<class>-<min id>-<hash>.parquet`, or a few of at most [`MERGED_ROWS`] rows), so that a
//! server holds a few files per hour and class however often it flushed
//! (docs/adr/0016-segment-compaction.md).
//!
//! # Schema
//!
//! One column per event field, named as in DESIGN.md section 3 (see [`Column`]): `id` (the
//! 26-character ULID, delta-encoded), `time` and `received_at` (timestamps in µs, UTC), the strings
//! (dictionary-encoded where values repeat: `channel`, `source`, `host`, `app`, `version`,
//! `type`, `severity_name`), `severity` (the syslog number, 0 emergency … 7 debug, so that
//! `severity <= 3` means "error or worse" in SQL too) beside `severity_name`, `facility`,
//! `line`, the lists `tags`, `topics`, `identities`, and `fields` as JSON text (null when
//! empty). zstd, row groups of [`ROW_GROUP_ROWS`] rows with statistics, and key-value metadata:
//! `sift.schema_version`, `sift.class`, `sift.min_time`, `sift.max_time` (µs), `sift.min_id`,
//! `sift.max_id`, `sift.ngram`: the rows per n-gram filter block and where each row
//! group's filters lie in the file (`8192:<offset>+<length>,...`), for a file written by
//! a flush, `sift.wal_through`: the highest WAL LSN of that flush, and for a file written by a
//! compaction, `sift.merged_from`: the names of the files it merged (`compact`).
//!
//! # Reading
//!
//! A scan prunes segments by their time span, row groups by their `time` statistics and, for
//! needle searches, blocks of rows by their n-gram filters (`ngram`); it then reads only the
//! columns the query reads (`plan`), tests each row with `Query::matches`, and reads the
//! remaining columns of the matching rows only. Row groups of all the segments are scanned on
//! every core (rayon).

mod compact;
mod decode;
mod encode;
mod list;
mod ngram;
mod open;
mod plan;
mod scan;
mod schema;
mod tally;
mod write;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use sift_core::Timestamp;
use ulid::Ulid;

pub use compact::{CLOSED_AFTER_MICROS, MAX_INPUTS, MERGED_ROWS, MergeStep, compaction_plan, merge};
pub use list::{Listing, list_segments};
pub use scan::{ScanStats, aggregate, count, count_with_stats, scan_segment, search, search_with_stats};
pub use schema::{Column, Columns, NGRAM_BLOCK_ROWS, ROW_GROUP_ROWS, SCHEMA_VERSION, schema};
pub use tally::tally;
#[cfg(test)]
pub(crate) use write::partition;
pub use write::{WriteOptions, write_segment, write_segment_with, write_segments};

/// A finished segment file, as its footer describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentMeta {
    pub path: PathBuf,
    /// The earliest and latest event `time` in the file.
    pub min_time: Timestamp,
    pub max_time: Timestamp,
    /// The smallest and largest event id in the file.
    pub min_id: Ulid,
    pub max_id: Ulid,
    pub rows: u64,
    /// The file's size.
    pub bytes: u64,
    /// The retention class: `[a-z0-9_]+`, e.g. `debug` or `default`.
    pub class: String,
    /// The highest WAL LSN of the flush that wrote the file (`sift.wal_through`), when a
    /// flush wrote it: a restart rewrites that flush if the WAL still holds it.
    pub wal_through: Option<u64>,
}

/// What went wrong with a segment, and which file.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Parquet { path: PathBuf, source: parquet::errors::ParquetError },
    #[error("{path}: not a sift segment: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("invalid retention class {0:?}: expected lowercase letters, digits and `_`")]
    InvalidClass(String),
    /// A scan stopped before its end (see [`Interrupt`](crate::Interrupt)).
    #[error(transparent)]
    Interrupted(#[from] crate::interrupt::Interrupted),
}

impl SegmentError {
    fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SegmentError {
        let path = path.into();
        move |source| SegmentError::Io { path, source }
    }

    fn parquet(path: impl Into<PathBuf>) -> impl FnOnce(parquet::errors::ParquetError) -> SegmentError {
        let path = path.into();
        move |source| SegmentError::Parquet { path, source }
    }

    fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> SegmentError {
        SegmentError::Invalid { path: path.into(), reason: reason.into() }
    }
}

/// The key-value metadata keys of a segment.
mod key {
    pub const SCHEMA_VERSION: &str = "sift.schema_version";
    pub const CLASS: &str = "sift.class";
    pub const MIN_TIME: &str = "sift.min_time";
    pub const MAX_TIME: &str = "sift.max_time";
    pub const MIN_ID: &str = "sift.min_id";
    pub const MAX_ID: &str = "sift.max_id";
    pub const NGRAM: &str = "sift.ngram";
    pub const WAL_THROUGH: &str = "sift.wal_through";
    pub const MERGED_FROM: &str = "sift.merged_from";
}
