use std::sync::Arc;

use sift_core::query::{FieldSet, Query};
use sift_core::{Batch, Event, Source, Timestamp};

use super::*;
use crate::search::{Cursor, TimeRange};

fn event(n: u64) -> Event {
    let time = Timestamp::from_micros(1_767_225_600_000_000 + n as i64 * 1_000_000);
    let mut event = Event::new(Source::HttpJson, time, format!("event {n}"));
    event.id = ulid::Ulid::from_parts(time.as_millis() as u64, u128::from(n));
    event
}

fn open(dir: &std::path::Path) -> (Store, Opened) {
    open_with(dir, Retention::default())
}

fn open_with(dir: &std::path::Path, retention: Retention) -> (Store, Opened) {
    open_with_options(StoreOptions {
        dir: dir.to_path_buf(),
        fsync: FsyncPolicy::Batch,
        retention,
        max_pending: 1_000_000,
        flush_events: 1_000_000,
    })
}

fn open_with_options(options: StoreOptions) -> (Store, Opened) {
    Store::open(options).unwrap()
}

fn append(store: &Store, range: std::ops::Range<u64>) {
    let mut seq = 0;
    store
        .append(range.map(event).collect(), |events| {
            seq += 1;
            Arc::new(Batch { seq, events })
        })
        .unwrap();
}

fn replayed_events(opened: &Opened) -> usize {
    opened.replayed.iter().map(|b| b.events.len()).sum()
}

fn all_messages(store: &Store) -> Vec<String> {
    let view = store.view();
    let mut found = Vec::new();
    let mut before = None;
    loop {
        let page = view.search(&Query::all(), TimeRange::default(), before, 7).unwrap();
        let Some(last) = page.last() else { break };
        before = Some(Cursor::of(last));
        found.extend(page.into_iter().map(|e| e.message));
    }
    found
}

#[test]
fn pending_and_segments_are_one_set_across_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    append(&store, 0..10);
    append(&store, 10..20);
    assert_eq!(store.view().count(&Query::all(), TimeRange::default()).unwrap(), 20);
    let flushed = store.flush().unwrap();
    assert_eq!(flushed.events, 20);
    append(&store, 20..25);
    assert_eq!(store.pending().0, 5);
    assert_eq!(store.view().count(&Query::all(), TimeRange::default()).unwrap(), 25);
    let expected: Vec<String> = (0..25).rev().map(|n| format!("event {n}")).collect();
    assert_eq!(all_messages(&store), expected, "newest first, no duplicates, no gaps");
    let count = store
        .view()
        .fold(&Query::all(), FieldSet::NONE, TimeRange::default(), || 0u64, |n, _| *n += 1, |a, b| a + b)
        .unwrap();
    assert_eq!(count, 25);
}

#[test]
fn events_in_the_wal_are_replayed_into_pending_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = open(dir.path());
        append(&store, 0..30);
        store.flush().unwrap();
        append(&store, 30..50);
        // Dropped without a flush: the last 20 are only in the WAL, as after a crash.
    }
    let (store, opened) = open(dir.path());
    assert_eq!(replayed_events(&opened), 20);
    assert_eq!(opened.replayed.iter().map(|b| b.seq).collect::<Vec<_>>(), [1], "numbered from 1 for the ring");
    assert!(Arc::ptr_eq(&opened.replayed[0], &store.lock_tiers().pending[0].1), "the ring gets the pending batch");
    assert_eq!(store.pending().0, 20, "replayed events wait for the flusher");
    assert_eq!(store.view().count(&Query::all(), TimeRange::default()).unwrap(), 50);
    assert_eq!(store.flush().unwrap().events, 20);
    drop(store);
    let (store, opened) = open(dir.path());
    assert!(opened.replayed.is_empty(), "released after the flush");
    assert_eq!(all_messages(&store).len(), 50);
}

/// A crash after a flush renamed its segments but before it released the WAL: the flush's
/// records are replayed and rewritten into the same files, and the later records wait.
#[test]
fn a_backlog_is_flushed_oldest_first_in_rounds_of_flush_events() {
    let dir = tempfile::tempdir().unwrap();
    let options = |dir: &std::path::Path| StoreOptions {
        dir: dir.to_path_buf(),
        fsync: FsyncPolicy::Batch,
        retention: Retention::default(),
        max_pending: 1_000,
        flush_events: 25,
    };
    let (store, _) = open_with_options(options(dir.path()));
    for first in (0..40).step_by(10) {
        append(&store, first..first + 10);
    }
    // Whole batches: 30 events (the round reaches 25 inside the third batch), then 10.
    assert_eq!(store.flush().unwrap(), Flushed { events: 40, files: 2 });
    assert_eq!(store.pending().0, 0);
    let expected: Vec<String> = (0..40).rev().map(|n| format!("event {n}")).collect();
    assert_eq!(all_messages(&store), expected);
    drop(store);
    let (store, opened) = open_with_options(options(dir.path()));
    assert!(opened.replayed.is_empty(), "both rounds released the WAL");
    assert_eq!(store.segment_stats().0, 2);
    assert_eq!(all_messages(&store), expected);
}

#[test]
fn r_crash_in_a_later_round_rewrites_only_that_round() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = open(dir.path());
        append(&store, 0..10);
        assert_eq!(store.flush().unwrap().events, 10, "an earlier round, written and released");
        append(&store, 10..20);
        append(&store, 20..30);
        // The next round (the oldest pending batch) written, without its release.
        let round = {
            let mut tiers = store.lock_tiers();
            tiers.pending.sort_unstable_by_key(|(lsn, _)| *lsn);
            tiers.pending.remove(0)
        };
        let events: Vec<&Event> = round.1.events.iter().collect();
        let options = WriteOptions { wal_through: Some(round.0), ..WriteOptions::default() };
        segment::write_segment_with(store.segments_dir(), &events, "default", options).unwrap();
    }
    let (store, opened) = open(dir.path());
    assert_eq!(replayed_events(&opened), 20, "both unreleased batches come back");
    assert_eq!(store.pending().0, 10, "the interrupted round was written again, the later batch waits");
    assert_eq!(store.segment_stats().0, 2, "the rewrite replaced the round's file");
    let expected: Vec<String> = (0..30).rev().map(|n| format!("event {n}")).collect();
    assert_eq!(all_messages(&store), expected, "no duplicates, no gaps");
}

#[test]
fn r_crash_between_segment_rename_and_wal_release_stores_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = open(dir.path());
        append(&store, 0..30);
        append(&store, 30..40);
        // What a flush writes, without its release.
        let pending = std::mem::take(&mut store.lock_tiers().pending);
        let through = pending.iter().map(|(lsn, _)| *lsn).max();
        let events: Vec<&Event> = pending.iter().flat_map(|(_, b)| b.events.iter()).collect();
        let options = WriteOptions { wal_through: through, ..WriteOptions::default() };
        segment::write_segment_with(store.segments_dir(), &events, "default", options).unwrap();
        append(&store, 40..45);
    }
    // Restarted with smaller flush rounds: the interrupted flush is still rewritten whole.
    let (store, opened) = open_with_options(StoreOptions {
        dir: dir.path().to_path_buf(),
        fsync: FsyncPolicy::Batch,
        retention: Retention::default(),
        max_pending: 1_000_000,
        flush_events: 5,
    });
    assert_eq!(replayed_events(&opened), 45);
    assert_eq!(store.pending().0, 5, "only the records after the interrupted flush wait");
    assert_eq!(store.segment_stats().0, 1, "the rewrite replaced the file");
    let expected: Vec<String> = (0..45).rev().map(|n| format!("event {n}")).collect();
    assert_eq!(all_messages(&store), expected, "newest first, no duplicates, no gaps");
    store.flush().unwrap();
    drop(store);
    let (store, opened) = open(dir.path());
    assert!(opened.replayed.is_empty());
    assert_eq!(all_messages(&store), expected);
}

fn aged(n: u64, severity: sift_core::Severity, hours_ago: i64) -> Event {
    let now = Timestamp::now();
    let mut event = Event::new(Source::HttpJson, Timestamp(now.0 - hours_ago * 3_600_000_000), format!("aged {n}"));
    event.severity = severity;
    event.id = ulid::Ulid::new();
    event
}

fn debug_for(hours: u64) -> Retention {
    let mut retention = Retention::default();
    retention.by_severity[sift_core::Severity::Debug.syslog() as usize] =
        Some(std::time::Duration::from_secs(hours * 3600));
    retention
}

#[test]
fn expired_classes_are_hidden_then_their_files_deleted() {
    use sift_core::Severity;
    let dir = tempfile::tempdir().unwrap();
    {
        // Written while debug events were kept for 10 hours: a `debug` file and a `default` file.
        let (store, _) = open_with(dir.path(), debug_for(10));
        store
            .append(vec![aged(1, Severity::Debug, 3), aged(2, Severity::Error, 3)], |events| {
                Arc::new(Batch { seq: 1, events })
            })
            .unwrap();
        store.flush().unwrap();
        assert_eq!(store.segment_stats().0, 2);
    }
    let (store, _) = open_with(dir.path(), debug_for(1));
    let debug = Query::parse("severity:debug").unwrap();
    assert_eq!(store.view().count(&debug, TimeRange::default()).unwrap(), 0, "expired: hidden before deletion");
    assert_eq!(store.view().count(&Query::all(), TimeRange::default()).unwrap(), 1);
    let deleted = store.enforce_retention(Timestamp::now());
    assert_eq!(deleted.files, 1);
    assert_eq!(store.segment_stats().0, 1);
    assert_eq!(all_messages(&store), ["aged 2"]);
    // An expired event is not even written by a flush.
    store.append(vec![aged(3, Severity::Debug, 5)], |events| Arc::new(Batch { seq: 2, events })).unwrap();
    assert_eq!(store.view().count(&Query::all(), TimeRange::default()).unwrap(), 1);
    store.flush().unwrap();
    assert_eq!(store.segment_stats().0, 1);
}

#[test]
fn over_max_bytes_the_oldest_segments_go_first() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    for hour in [5, 4, 3] {
        store
            .append((0..50).map(|n| aged(n, sift_core::Severity::Info, hour)).collect(), |events| {
                Arc::new(Batch { seq: 1, events })
            })
            .unwrap();
        store.flush().unwrap();
    }
    let (files, bytes) = store.segment_stats();
    assert_eq!(files, 3);
    drop(store);
    let (store, _) = open_with(dir.path(), Retention { max_bytes: bytes - 1, ..Retention::default() });
    let deleted = store.enforce_retention(Timestamp::now());
    assert_eq!((deleted.files, deleted.over_size), (1, 1));
    let view = store.view();
    let oldest = view.search(&Query::all(), TimeRange::default(), None, 1000).unwrap().pop().unwrap();
    assert!(oldest.time.0 > Timestamp::now().0 - 5 * 3_600_000_000 + 3_000_000_000, "the 5-hours-old file went");
}

#[test]
fn writers_wait_at_max_pending_until_a_flush_makes_room() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        dir: dir.path().to_path_buf(),
        fsync: FsyncPolicy::Batch,
        retention: Retention::default(),
        max_pending: 10,
        flush_events: 10,
    };
    let (store, _) = open_with_options(options);
    let store = Arc::new(store);
    append(&store, 0..10);
    let (sent, appended) = std::sync::mpsc::channel();
    let writer = {
        let store = Arc::clone(&store);
        std::thread::spawn(move || {
            append(&store, 10..15);
            sent.send(()).unwrap();
        })
    };
    // The writer is held back while ten events wait (it would have answered at once).
    assert!(appended.recv_timeout(std::time::Duration::from_millis(300)).is_err());
    assert_eq!(store.flush().unwrap().events, 10);
    appended.recv_timeout(std::time::Duration::from_secs(10)).expect("the flush made room");
    writer.join().unwrap();
    assert_eq!(all_messages(&store).len(), 15);
}
