//! sift-store: where events are kept and queried.
//!
//! # Layout
//!
//! - [`ring`]: the latest events in memory, bounded by count and bytes; the backlog for live
//!   tails and the fastest path for recent queries.
//! - [`segment`]: immutable, time-partitioned Parquet files of events on disk, readable by any
//!   Parquet reader, with the same counts and newest-first searches as the ring.
//! - [`search`]: the order results come in (newest first) and the cursors that page through them.

pub mod ring;
pub mod search;
pub mod segment;

pub use ring::{Ring, RingLimits, RingStats, Snapshot};
pub use search::{Cursor, InvalidCursor, TimeRange};
pub use segment::{Listing, ScanStats, SegmentError, SegmentMeta, list_segments, write_segment};
