//! The flusher's choices, with a real store and a room that says what the test wants.

use std::sync::Arc;
use std::time::Duration;

use sift_core::{Batch, Event, Source, Timestamp};
use sift_store::{FsyncPolicy, Retention, Store, StoreOptions};

use super::room::{FlusherThreads, Room};
use super::{Compaction, FlushPolicy, Pools, compact, look};

/// Cores left over, one reading per call, then the last reading again.
struct Script(Vec<f64>);

impl Room for Script {
    fn left_over(&mut self) -> Option<f64> {
        if self.0.len() > 1 { Some(self.0.remove(0)) } else { self.0.first().copied() }
    }
}

/// Rounds of 10 events; writers would wait past `max_backlog_bytes` of WAL.
fn store(dir: &std::path::Path, max_backlog_bytes: u64) -> Store {
    let options = StoreOptions {
        dir: dir.to_path_buf(),
        fsync: FsyncPolicy::Batch,
        retention: Retention::default(),
        max_in_memory: 1_000_000,
        max_backlog_bytes,
        flush_events: 10,
        flush_bytes: u64::MAX,
    };
    Store::open(options).unwrap().0
}

/// Four batches of 10 events.
fn append_40(store: &Store) {
    for batch in 0..4 {
        let events = (0..10)
            .map(|n| Event::new(Source::HttpJson, Timestamp::from_micros(1_767_225_600_000_000 + batch * 10 + n), "x"))
            .collect();
        store.append(events, |events| Arc::new(Batch { seq: 0, events })).unwrap();
    }
}

fn pools() -> Pools {
    Pools::new(&FlusherThreads::default()).unwrap()
}

/// A store with no bound on its backlog, holding four batches of 10 pending events.
fn backlog_of_40(dir: &std::path::Path) -> (Store, Pools) {
    let store = store(dir, u64::MAX);
    append_40(&store);
    (store, pools())
}

const POLICY: FlushPolicy = FlushPolicy { events: 10, after: Duration::from_secs(3600) };

#[test]
fn segments_wait_while_the_cores_are_busy_and_are_written_once_they_have_room() {
    let dir = tempfile::tempdir().unwrap();
    let (store, pools) = backlog_of_40(dir.path());
    look(&store, &pools, POLICY, &mut Script(vec![0.2]));
    assert_eq!(store.pending().0, 40, "a fifth of a core left over: nothing written");
    look(&store, &pools, POLICY, &mut Script(vec![1.5]));
    assert_eq!(store.pending().0, 0, "room: the whole backlog written");
}

#[test]
fn a_flush_stops_between_rounds_when_the_cores_get_busy() {
    let dir = tempfile::tempdir().unwrap();
    let (store, pools) = backlog_of_40(dir.path());
    // Room at the look and after the first round, none after the second.
    look(&store, &pools, POLICY, &mut Script(vec![1.0, 1.0, 0.1]));
    assert_eq!(store.pending().0, 20, "two rounds of 10 written, the rest waits");
}

#[test]
fn a_pressing_backlog_is_written_until_it_no_longer_presses_however_busy_the_cores_are() {
    let dir = tempfile::tempdir().unwrap();
    let wal_bytes = {
        let store = store(dir.path(), u64::MAX);
        append_40(&store);
        store.backlog().wal_bytes
    };
    // Opened again (the 40 events replayed) with a backlog just large enough for them:
    // pressing from three quarters of it.
    let store = store(dir.path(), wal_bytes + 1);
    assert!(store.backlog_is_pressing());
    look(&store, &pools(), POLICY, &mut Script(vec![0.0]));
    // Two rounds of 10 bring it under three quarters; the rest waits for room.
    assert_eq!(store.pending().0, 20);
    assert!(!store.backlog_is_pressing());
}

#[test]
fn a_backlog_whose_oldest_event_has_waited_the_flush_interval_is_written_however_busy_the_cores_are() {
    let dir = tempfile::tempdir().unwrap();
    let (store, pools) = backlog_of_40(dir.path());
    let waited = FlushPolicy { events: 1000, after: Duration::ZERO };
    look(&store, &pools, waited, &mut Script(vec![0.0]));
    assert_eq!(store.pending().0, 0, "all four rounds written, none of the room readings consulted");
}

#[test]
fn an_unknown_room_counts_as_room() {
    struct Unknown;
    impl Room for Unknown {
        fn left_over(&mut self) -> Option<f64> {
            None
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let (store, pools) = backlog_of_40(dir.path());
    look(&store, &pools, POLICY, &mut Unknown);
    assert_eq!(store.pending().0, 0);
}

/// Four batches of 10 events, each with an id of its own (`Event::new` gives events of
/// the same millisecond the same id, and files are named after their first).
fn append_40_distinct(store: &Store, first: u64) {
    for batch in 0..4u64 {
        let events = (0..10u64)
            .map(|n| {
                let n = first + batch * 10 + n;
                let time = Timestamp::from_micros(1_767_225_600_000_000 + n as i64);
                Event {
                    id: ulid::Ulid::from_parts(time.as_millis() as u64, u128::from(n)),
                    ..Event::new(Source::HttpJson, time, "x")
                }
            })
            .collect();
        store.append(events, |events| Arc::new(Batch { seq: 0, events })).unwrap();
    }
}

/// Four files of one hour and class, flushed a round at a time, nothing pending.
fn four_files(dir: &std::path::Path) -> (Store, Pools) {
    let store = store(dir, u64::MAX);
    append_40_distinct(&store, 0);
    let pools = pools();
    look(&store, &pools, POLICY, &mut Script(vec![1.0]));
    assert_eq!((store.pending().0, store.segment_stats().0), (0, 4));
    (store, pools)
}

#[test]
fn a_closed_hour_s_files_are_merged_once_the_cores_have_room() {
    let dir = tempfile::tempdir().unwrap();
    let (store, pools) = four_files(dir.path());
    let mut work = Compaction::default();
    compact(&store, &pools, POLICY, false, &mut Script(vec![1.0]), &mut work);
    assert_eq!(store.segment_stats().0, 4, "the cores were busy at the look: nothing merged");
    compact(&store, &pools, POLICY, true, &mut Script(vec![1.0]), &mut work);
    assert_eq!(store.segment_stats().0, 1, "room: the hour is one file");
    assert_eq!(store.view().count(&sift_core::query::Query::all(), Default::default()).unwrap(), 40);
}

#[test]
fn a_due_flush_comes_before_a_merge() {
    let dir = tempfile::tempdir().unwrap();
    let (store, pools) = four_files(dir.path());
    append_40_distinct(&store, 40);
    let mut work = Compaction::default();
    compact(&store, &pools, POLICY, true, &mut Script(vec![1.0]), &mut work);
    assert_eq!(store.segment_stats().0, 4, "40 events pending, a flush is due: nothing merged");
    look(&store, &pools, POLICY, &mut Script(vec![1.0]));
    compact(&store, &pools, POLICY, true, &mut Script(vec![1.0]), &mut work);
    assert_eq!(store.segment_stats().0, 1, "flushed, then merged: the eight files are one");
}
