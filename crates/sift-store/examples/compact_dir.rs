//! Compacts a data directory as the server's flusher does (every closed hour's files of each
//! retention class merged into one), on one thread, and prints what it did and what it cost.
//!
//!     cargo run --release -p sift-store --example compact_dir -- DATA_DIR

use std::path::PathBuf;
use std::time::Instant;

use sift_core::Timestamp;
use sift_store::{FsyncPolicy, Retention, Store, StoreOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: compact_dir DATA_DIR")?);
    let options = StoreOptions {
        dir,
        fsync: FsyncPolicy::Batch,
        retention: Retention::default(),
        max_in_memory: 1_000_000,
        max_backlog_bytes: 4 << 30,
        flush_events: 250_000,
        flush_bytes: 4 << 20,
    };
    let (store, _) = Store::open(options)?;
    let before = store.segment_stats();
    let began = Instant::now();
    let plan = store.compaction_plan(Timestamp::now());
    let groups = plan.len();
    for group in plan {
        store.compact(&group)?;
    }
    let after = store.segment_stats();
    println!(
        "{} files ({} bytes) into {} files ({} bytes), {groups} merges, {:.1} s",
        before.0,
        before.1,
        after.0,
        after.1,
        began.elapsed().as_secs_f64()
    );
    Ok(())
}
