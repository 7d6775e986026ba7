use std::sync::Arc;

use sift_core::query::{FieldSet, Query};
use sift_core::{Batch, Event, Source, Timestamp};

use super::*;
use crate::search::{Cursor, TimeRange};

mod compact;
mod crash;
mod tally;

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
    open_with_options(StoreOptions { retention, ..options(dir) })
}

/// Large bounds: nothing spilled, no writer waits, one round per flush.
fn options(dir: &std::path::Path) -> StoreOptions {
    StoreOptions {
        dir: dir.to_path_buf(),
        fsync: FsyncPolicy::Batch,
        retention: Retention::default(),
        max_in_memory: 1_000_000,
        max_backlog_bytes: u64::MAX,
        flush_events: 1_000_000,
        flush_bytes: u64::MAX,
        wal_file_bytes: 64 << 20,
        wal_fault_hook: None,
        merge_hook: None,
    }
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
    opened.replayed_events
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
    assert!(
        Arc::ptr_eq(&opened.replayed[0], &store.lock_tiers().pending.view().0[0]),
        "the ring gets the pending batch"
    );
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
    let small_rounds = |dir: &std::path::Path| StoreOptions { max_in_memory: 1_000, flush_events: 25, ..options(dir) };
    let (store, _) = open_with_options(small_rounds(dir.path()));
    for first in (0..40).step_by(10) {
        append(&store, first..first + 10);
    }
    // Whole batches: 30 events (the round reaches 25 inside the third batch), then 10.
    assert_eq!(store.flush().unwrap(), Flushed { events: 40, files: 2, damaged: 0 });
    assert_eq!(store.pending().0, 0);
    let expected: Vec<String> = (0..40).rev().map(|n| format!("event {n}")).collect();
    assert_eq!(all_messages(&store), expected);
    drop(store);
    let (store, opened) = open_with_options(small_rounds(dir.path()));
    assert!(opened.replayed.is_empty(), "both rounds released the WAL");
    assert_eq!(store.segment_stats().0, 2);
    assert_eq!(all_messages(&store), expected);
}

/// A round takes whole batches up to `flush_bytes` of WAL records (at least one), whatever
/// `flush_events` allows: a round's memory grows with its bytes.
#[test]
fn a_flush_round_is_bounded_in_bytes_of_wal() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    for n in 0..5 {
        append(&store, n * 10..n * 10 + 10);
    }
    let record = store.backlog().wal_bytes / 5;
    let mut tiers = store.lock_tiers();
    let (round, _) = tiers.pending.oldest(Lsn::MAX, usize::MAX, 2 * record + record / 2).unwrap();
    assert_eq!(round.len(), 2, "two records fit, the third does not");
    let (round, _) = tiers.pending.oldest(Lsn::MAX, usize::MAX, 1).unwrap();
    assert_eq!(round.len(), 1, "at least one batch, however large");
    let (round, _) = tiers.pending.oldest(Lsn::MAX, 20, u64::MAX).unwrap();
    assert_eq!(round.len(), 2, "and still at most flush_events");
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
        let (round, through) = store.lock_tiers().pending.oldest(Lsn::MAX, 1, u64::MAX).unwrap();
        let batches = pending::load(&round).unwrap();
        assert_eq!(batches.len(), 1);
        let events: Vec<&Event> = batches[0].events.iter().collect();
        let options = WriteOptions { wal_through: Some(through), ..WriteOptions::default() };
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
        let (round, through) =
            std::mem::take(&mut store.lock_tiers().pending).oldest(Lsn::MAX, usize::MAX, u64::MAX).unwrap();
        let batches = pending::load(&round).unwrap();
        let events: Vec<&Event> = batches.iter().flat_map(|b| b.events.iter()).collect();
        let options = WriteOptions { wal_through: Some(through), ..WriteOptions::default() };
        segment::write_segment_with(store.segments_dir(), &events, "default", options).unwrap();
        append(&store, 40..45);
    }
    // Restarted with smaller flush rounds: the interrupted flush is still rewritten whole.
    let (store, opened) = open_with_options(StoreOptions { flush_events: 5, ..options(dir.path()) });
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

#[test]
fn r_crash_before_a_release_is_rewritten_whole_even_when_its_files_would_now_differ() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = open(dir.path());
        append(&store, 0..30);
        // The round's files as a crashed flush left them: cut in two, where a rewrite now
        // makes one file (retention may have expired events since, or rows been cut otherwise).
        let (round, through) = store.lock_tiers().pending.oldest(Lsn::MAX, usize::MAX, u64::MAX).unwrap();
        let batches = pending::load(&round).unwrap();
        let events: Vec<&Event> = batches.iter().flat_map(|b| b.events.iter()).collect();
        let options = WriteOptions { wal_through: Some(through), ..WriteOptions::default() };
        segment::write_segment_with(store.segments_dir(), &events[..15], "default", options).unwrap();
        segment::write_segment_with(store.segments_dir(), &events[15..], "default", options).unwrap();
    }
    let (store, _) = open(dir.path());
    assert_eq!(store.segment_stats().0, 1, "the crashed round's two files gave way to the rewrite's one");
    let expected: Vec<String> = (0..30).rev().map(|n| format!("event {n}")).collect();
    assert_eq!(all_messages(&store), expected, "no duplicates, no gaps");
    drop(store);
    let (store, _) = open(dir.path());
    assert_eq!(all_messages(&store), expected, "nothing left behind to be listed at the next start");
}

#[test]
fn r_a_wal_deleted_by_hand_never_costs_the_segments_that_name_its_old_lsns() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = open(dir.path());
        append(&store, 0..10);
        append(&store, 10..20);
        store.flush().unwrap();
    }
    // Numbering begins again at 1, below the LSN the segment names.
    std::fs::remove_dir_all(dir.path().join("wal")).unwrap();
    {
        let (store, _) = open(dir.path());
        append(&store, 20..30);
    }
    let (store, _) = open(dir.path());
    let expected: Vec<String> = (0..30).rev().map(|n| format!("event {n}")).collect();
    assert_eq!(all_messages(&store), expected, "the old segment kept, the new events stored once");
}

#[test]
fn a_round_that_fails_leaves_no_file_behind_and_its_retry_stores_each_event_once() {
    use sift_core::Severity;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_with(dir.path(), debug_for(10));
    // Two classes in two hours; the `default` hour's folder cannot be made (a file is there).
    let (debug, info) = (aged(1, Severity::Debug, 1), aged(2, Severity::Info, 3));
    let blocker = store.segments_dir().join(segment::partition(info.time));
    std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    std::fs::write(&blocker, b"in the way").unwrap();
    store.append(vec![debug, info], |events| Arc::new(Batch { seq: 1, events })).unwrap();
    assert!(store.flush().is_err(), "the default class cannot be written");
    assert_eq!(parquet_files(store.segments_dir()), 0, "the debug file of the failed round was deleted");
    assert_eq!(store.view().count(&Query::all(), TimeRange::default()).unwrap(), 2, "both still pending");

    std::fs::remove_file(&blocker).unwrap();
    assert_eq!(store.flush().unwrap().events, 2);
    assert_eq!(parquet_files(store.segments_dir()), 2);
    drop(store);
    let (store, opened) = open_with(dir.path(), debug_for(10));
    assert!(opened.replayed.is_empty());
    let mut found = all_messages(&store);
    found.sort();
    assert_eq!(found, ["aged 1", "aged 2"]);
}

fn parquet_files(dir: &std::path::Path) -> usize {
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            count += parquet_files(&path);
        } else if path.extension().is_some_and(|e| e == "parquet") {
            count += 1;
        }
    }
    count
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

/// A store with three segments of 50 events each, 5, 4 and 3 hours old.
fn three_segments_an_hour_apart(dir: &std::path::Path) -> Store {
    let (store, _) = open(dir);
    for hour in [5, 4, 3] {
        store
            .append((0..50).map(|n| aged(n, sift_core::Severity::Info, hour)).collect(), |events| {
                Arc::new(Batch { seq: 1, events })
            })
            .unwrap();
        store.flush().unwrap();
    }
    store
}

#[test]
fn over_max_bytes_the_oldest_segments_go_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_segments_an_hour_apart(dir.path());
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

/// Below `min_free`, the oldest segments go first, as many as bring the free space back to
/// the floor; a floor the segments cannot reach deletes them all and says what is missing.
#[test]
fn below_min_free_the_oldest_segments_go_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = three_segments_an_hour_apart(dir.path());
    let oldest_bytes = store.lock_tiers().segments.iter().min_by_key(|s| s.max_time).unwrap().bytes;
    drop(store);
    let floor = Retention { min_free: MinFree::Bytes(1_000_000), ..Retention::default() };
    let (store, _) = open_with(dir.path(), floor);
    let enough = DiskSpace { size: 10_000_000, free: 1_000_000 };
    assert_eq!(store.enforce_retention_in(Timestamp::now(), Some(enough)), Deleted::default(), "at the floor");
    // Short of the floor by no more than the oldest file: that file goes, and only it.
    let short = DiskSpace { size: 10_000_000, free: 1_000_000 - oldest_bytes };
    let deleted = store.enforce_retention_in(Timestamp::now(), Some(short));
    assert_eq!((deleted.files, deleted.under_floor, deleted.over_size, deleted.short_of_floor), (1, 1, 0, 0));
    let view = store.view();
    let oldest = view.search(&Query::all(), TimeRange::default(), None, 1000).unwrap().pop().unwrap();
    assert!(oldest.time.0 > Timestamp::now().0 - 5 * 3_600_000_000 + 3_000_000_000, "the 5-hours-old file went");
    drop(view);
    // A full disk of other files: every segment goes, and the pass says what is still missing.
    let full = DiskSpace { size: 10_000_000, free: 0 };
    let deleted = store.enforce_retention_in(Timestamp::now(), Some(full));
    assert_eq!((deleted.files, deleted.under_floor), (2, 2));
    assert!(deleted.short_of_floor > 0 && deleted.short_of_floor < 1_000_000, "{deleted:?}");
    assert_eq!(store.segment_stats(), (0, 0));
    // A share of the file system's size.
    assert_eq!(MinFree::Percent(10.0).bytes(10_000_000), 1_000_000);
}

#[test]
fn writers_wait_at_max_backlog_until_a_flush_makes_room() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        max_in_memory: 1_000,
        // Any one record fills it.
        max_backlog_bytes: 1,
        flush_events: 10,
        ..options(dir.path())
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
    // The writer is held back while the backlog is full (it would have answered at once).
    assert!(appended.recv_timeout(std::time::Duration::from_millis(300)).is_err());
    assert_eq!(store.flush().unwrap().events, 10);
    appended.recv_timeout(std::time::Duration::from_secs(10)).expect("the flush made room");
    writer.join().unwrap();
    assert_eq!(all_messages(&store).len(), 15);
}

fn open_spilling(dir: &std::path::Path, max_in_memory: usize) -> (Store, Opened) {
    open_with_options(StoreOptions { max_in_memory, ..options(dir) })
}

fn count_by_fold(view: &View, range: TimeRange) -> u64 {
    view.fold(&Query::all(), FieldSet::NONE, range, || 0u64, |n, _| *n += 1, |a, b| a + b).unwrap()
}

#[test]
fn spilled_batches_are_read_back_by_queries_and_by_the_flush() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_spilling(dir.path(), 10);
    for first in (0..50).step_by(10) {
        append(&store, first..first + 10);
    }
    let backlog = store.backlog();
    assert_eq!((backlog.events, backlog.in_memory), (50, 10), "only the newest batch stays in memory");
    assert!(backlog.wal_bytes > 0);
    let expected: Vec<String> = (0..50).rev().map(|n| format!("event {n}")).collect();
    assert_eq!(all_messages(&store), expected, "spilled and held batches, newest first, no gaps");
    let view = store.view();
    assert_eq!(view.count(&Query::all(), TimeRange::default()).unwrap(), 50);
    assert_eq!(count_by_fold(&view, TimeRange::default()), 50);
    // Events 12..17 lie in a spilled batch: a range over them reads it back, and only it.
    let range = TimeRange { since: Some(event(12).time), until: Some(event(17).time) };
    assert_eq!(view.count(&Query::all(), range).unwrap(), 5);
    assert_eq!(count_by_fold(&view, range), 5);
    let found = view.search(&Query::parse("\"event 13\"").unwrap(), range, None, 10).unwrap();
    assert_eq!(found.iter().map(|e| e.message.as_str()).collect::<Vec<_>>(), ["event 13"]);

    assert_eq!(store.flush().unwrap().events, 50, "the flush reads the spilled batches back");
    assert_eq!(store.backlog(), Backlog::default());
    assert_eq!(all_messages(&store), expected);
    drop(store);
    let (store, opened) = open_spilling(dir.path(), 10);
    assert_eq!(opened.replayed_events, 0, "released after the flush");
    assert_eq!(all_messages(&store), expected);
}

#[test]
fn a_batch_the_ring_has_let_go_is_spilled_whoever_else_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let ring = crate::Ring::new(crate::RingLimits { max_events: 30, max_bytes: usize::MAX });
    store.follow_ring(ring.front());
    // Another consumer of the batches (a tail, a drain) that holds every one: what it holds
    // is its own memory, not a reason for pending to keep a batch the ring has let go.
    let mut consumer = Vec::new();
    for first in (0..30).step_by(10) {
        consumer.push(store.append((first..first + 10).map(event).collect(), |events| ring.push(events)).unwrap());
    }
    assert_eq!(store.backlog().in_memory, 30, "all three are in the ring");
    consumer.push(store.append((30..40).map(event).collect(), |events| ring.push(events)).unwrap());
    assert_eq!((store.backlog().events, store.backlog().in_memory), (40, 30), "the evicted batch is spilled");
    let expected: Vec<String> = (0..40).rev().map(|n| format!("event {n}")).collect();
    assert_eq!(all_messages(&store), expected, "a spilled batch is still found");
    assert_eq!(store.flush().unwrap().events, 40);
    assert_eq!(all_messages(&store), expected);
}

#[test]
fn a_replay_spills_past_max_in_memory_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, _) = open(dir.path());
        for first in (0..50).step_by(10) {
            append(&store, first..first + 10);
        }
        // Dropped without a flush, as after a crash.
    }
    let (store, opened) = open_spilling(dir.path(), 20);
    assert_eq!(opened.replayed_events, 50);
    let for_the_ring: Vec<u64> = opened.replayed.iter().map(|b| b.seq).collect();
    assert_eq!(for_the_ring, [4, 5], "the ring gets the newest batches held in memory, numbers rising");
    assert_eq!(store.backlog().in_memory, 20);
    let expected: Vec<String> = (0..50).rev().map(|n| format!("event {n}")).collect();
    assert_eq!(all_messages(&store), expected);
    assert_eq!(store.flush().unwrap().events, 50);
    assert_eq!(all_messages(&store), expected);
}

#[test]
fn a_spilled_record_damaged_on_disk_is_an_error_for_queries_and_is_counted_and_left_out_by_the_flush() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_spilling(dir.path(), 10);
    append(&store, 0..10);
    append(&store, 10..20);
    damage_first_record(dir.path());
    let error = store.view().search(&Query::all(), TimeRange::default(), None, 100).unwrap_err();
    assert!(error.to_string().contains("no longer reads back: checksum mismatch"), "{error}");
    // The flush writes what reads back, leaves the damaged batch out and counts it, rather
    // than holding up every later flush.
    assert_eq!(store.flush().unwrap(), Flushed { events: 10, files: 1, damaged: 10 });
    assert_eq!(store.backlog(), Backlog { damaged_events: 10, ..Backlog::default() });
    let expected: Vec<String> = (10..20).rev().map(|n| format!("event {n}")).collect();
    assert_eq!(all_messages(&store), expected);
}

/// Flips a byte inside the first record's batch of the store's WAL file (these tests write one).
fn damage_first_record(dir: &std::path::Path) {
    let wal_file = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|e| e == "wal"))
        .unwrap();
    let mut bytes = std::fs::read(&wal_file).unwrap();
    bytes[16 + 40] ^= 0xFF;
    std::fs::write(&wal_file, &bytes).unwrap();
}

#[test]
fn a_count_of_everything_takes_spilled_batches_from_their_summaries_and_reads_back_only_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_spilling(dir.path(), 10);
    for first in (0..30).step_by(10) {
        append(&store, first..first + 10);
    }
    // The first batch (events 0..10, spilled) no longer reads back: whatever still reads it
    // fails, which shows what is read.
    damage_first_record(dir.path());
    let view = store.view();
    assert_eq!(view.count(&Query::all(), TimeRange::default()).unwrap(), 30, "no batch read back");
    let after_the_first = TimeRange { since: Some(event(10).time), until: None };
    assert_eq!(view.count(&Query::all(), after_the_first).unwrap(), 20);
    let inside_the_second = TimeRange { since: Some(event(12).time), until: Some(event(17).time) };
    assert_eq!(view.count(&Query::all(), inside_the_second).unwrap(), 5, "the second batch read back");
    let into_the_first = TimeRange { since: Some(event(5).time), until: None };
    assert!(view.count(&Query::all(), into_the_first).is_err(), "a range that cuts the first batch reads it");
    let filtered = Query::parse("event").unwrap();
    assert!(view.count(&filtered, TimeRange::default()).is_err(), "a filter reads every batch");
}

#[test]
fn a_count_of_everything_reads_back_spilled_batches_that_may_hold_expired_events() {
    use sift_core::Severity;
    let dir = tempfile::tempdir().unwrap();
    let (store, _) =
        open_with_options(StoreOptions { max_in_memory: 2, retention: debug_for(1), ..options(dir.path()) });
    let batch = |events: Vec<Event>| store.append(events, |events| Arc::new(Batch { seq: 0, events })).unwrap();
    batch(vec![aged(1, Severity::Debug, 3), aged(2, Severity::Error, 3)]);
    batch(vec![aged(3, Severity::Debug, 0), aged(4, Severity::Error, 0)]);
    batch(vec![aged(5, Severity::Info, 0), aged(6, Severity::Info, 0)]);
    assert_eq!(store.backlog().in_memory, 2, "the two older batches are spilled");
    assert_eq!(
        store.view().count(&Query::all(), TimeRange::default()).unwrap(),
        5,
        "the debug event of three hours ago has expired; the error of the same age is kept"
    );
}

#[test]
fn rounds_written_one_at_a_time_stop_at_the_mark() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_with_options(StoreOptions { max_in_memory: 1_000, flush_events: 10, ..options(dir.path()) });
    for first in (0..30).step_by(10) {
        append(&store, first..first + 10);
    }
    let mark = store.flush_mark().unwrap();
    append(&store, 30..40);
    for _ in 0..3 {
        assert_eq!(store.flush_round(mark).unwrap().map(|round| round.events), Some(10));
    }
    assert_eq!(store.flush_round(mark).unwrap(), None, "the batch after the mark waits for the next flush");
    assert_eq!(store.pending().0, 10);
    assert_eq!(all_messages(&store).len(), 40);
}

#[test]
fn the_backlog_presses_from_three_quarters_of_max_backlog() {
    let record_bytes = {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = open(dir.path());
        append(&store, 10..20);
        store.backlog().wal_bytes
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_with_options(StoreOptions {
        max_in_memory: 1_000,
        max_backlog_bytes: 4 * record_bytes,
        flush_events: 10,
        ..options(dir.path())
    });
    append(&store, 10..20);
    append(&store, 20..30);
    assert!(!store.backlog_is_pressing(), "half full");
    append(&store, 30..40);
    assert_eq!(store.backlog().wal_bytes, 3 * record_bytes);
    assert!(store.backlog_is_pressing(), "three quarters full");
    store.flush().unwrap();
    assert!(!store.backlog_is_pressing());
}

#[test]
fn r_every_file_and_directory_sift_makes_is_its_owners_alone_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    // The widest umask: without modes of its own, everything would be readable by anyone.
    // Process-wide, but no other test looks at modes, and each is private to its owner.
    // SAFETY: umask only sets the process's file mode creation mask.
    let before = unsafe { libc::umask(0) };
    {
        let (store, _) = open_with_options(StoreOptions { wal_file_bytes: 1024, ..options(&dir) });
        for first in (0..100).step_by(10) {
            append(&store, first..first + 10);
        }
        store.flush().unwrap();
        drop(crate::StateDb::open(&dir.join("state.db")).unwrap());
    }
    // SAFETY: as above.
    unsafe { libc::umask(before) };
    let mut seen = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(path) = stack.pop() {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        let name = path.strip_prefix(&dir).unwrap().display().to_string();
        if path.is_dir() {
            assert_eq!(mode, 0o700, "directory {name:?}");
            stack.extend(std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
        } else {
            assert_eq!(mode, 0o600, "file {name:?}");
        }
        seen.push(name);
    }
    seen.sort();
    for made in ["lock", "state.db", "wal", "wal/released", "segments"] {
        assert!(seen.iter().any(|name| name == made), "{made} was made: {seen:?}");
    }
    assert!(seen.iter().any(|name| name.ends_with(".parquet")), "{seen:?}");
    assert!(seen.iter().any(|name| name.ends_with(".wal")), "{seen:?}");
}
