use std::sync::Arc;

use sift_core::query::Query;
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
    Store::open(StoreOptions { dir: dir.to_path_buf(), fsync: FsyncPolicy::Batch }).unwrap()
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
    let count = store.view().fold(&Query::all(), TimeRange::default(), || 0u64, |n, _| *n += 1, |a, b| a + b).unwrap();
    assert_eq!(count, 25);
}

#[test]
fn events_in_the_wal_are_replayed_into_segments_on_open() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = open(dir.path());
        append(&store, 0..30);
        store.flush().unwrap();
        append(&store, 30..50);
        // Dropped without a flush: the last 20 are only in the WAL, as after a crash.
    }
    let (store, opened) = open(dir.path());
    assert_eq!(opened.replayed.len(), 20);
    assert_eq!(store.pending().0, 0, "replayed events are flushed on open");
    assert_eq!(store.view().count(&Query::all(), TimeRange::default()).unwrap(), 50);
    drop(store);
    let (store, opened) = open(dir.path());
    assert!(opened.replayed.is_empty(), "released after the flush");
    assert_eq!(all_messages(&store).len(), 50);
}
