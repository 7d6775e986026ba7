//! sift-store: where events are kept and queried.
//!
//! # Layout
//!
//! - [`ring`]: the latest events in memory, bounded by count and bytes; the backlog for live
//!   tails and the fastest path for recent queries.
//! - [`dir_lock`]: one process at a time keeps its data in a directory.
//! - [`private`]: every file and directory sift makes is its own user's alone (`0600`, `0700`).
//! - [`codec`]: the compact binary encoding of a batch of events, as the WAL stores it.
//! - [`wal`]: the write-ahead log: every accepted batch is durable before it is acknowledged,
//!   and replayed on start until the segments hold it.
//! - [`segment`]: immutable, time-partitioned Parquet files of events on disk, readable by any
//!   Parquet reader, with the same counts and newest-first searches as the ring.
//! - [`store`]: the durable store: WAL, pending batches and segments as one set, flushed together.
//! - [`retention`]: retention classes (per channel, per severity, default) and their cutoffs.
//! - [`search`]: the order results come in (newest first) and the cursors that page through them.
//! - [`interrupt`]: a scan's deadline and cancellation, which every scan looks at as it goes.
//! - [`state`]: the state database (SQLite): rules edited at run time, channels and tokens.

pub mod codec;
pub mod dir_lock;
pub mod interrupt;
pub mod private;
pub mod retention;
pub mod ring;
pub mod search;
pub mod segment;
pub mod state;
pub mod store;
pub mod wal;

/// The server's allocator, in the tests too: the ring's accounting is checked against it.
#[cfg(test)]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub use dir_lock::{DirLock, LockError};
pub use interrupt::{CancelOnDrop, Interrupt, Interrupted};
pub use retention::{Expiry, MinFree, Retention};
pub use ring::{Ring, RingFront, RingLimits, RingStats, Snapshot};
pub use search::{Cursor, InvalidCursor, TimeRange};
pub use segment::{Listing, ScanStats, SegmentError, SegmentMeta, list_segments, write_segment};
pub use state::{Channel, StateDb, StateError, StateKey, Token};
pub use store::{
    Backlog, Compacted, Deleted, DiskSpace, Flushed, Recovered, Refused, Store, StoreError, StoreOptions, View,
};
pub use wal::{Appended, Encoded, FsyncPolicy, Lsn, RecordAt, Replay, Replayed, Wal, WalError, WalOptions, WalStats};
