//! Compaction: each closed hour's files of one class merged into one, crash-safe, with queries
//! that see every event exactly once before, during and after a merge.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sift_core::Severity;

use super::*;
use crate::segment::MergeStep;
use crate::wal::{FaultHook, IoOp};

/// 2026-01-01T00:00:00Z.
const START: i64 = 1_767_225_600_000_000;
const HOUR: i64 = 3_600_000_000;
/// An event every 30 s for three hours.
const EVENTS: u64 = 3 * 120;

/// Event `n`, at `n` times 30 s; every third is a debug event, stored in a class of its own.
fn event_at(n: u64) -> Event {
    let time = Timestamp::from_micros(START + n as i64 * 30_000_000);
    let mut event = Event::new(Source::HttpJson, time, format!("event {n}"));
    event.id = ulid::Ulid::from_parts(time.as_millis() as u64, u128::from(n));
    if n.is_multiple_of(3) {
        event.severity = Severity::Debug;
    }
    event
}

/// Debug events in their own class (`debug`), the others in `default`.
fn two_classes(dir: &Path) -> StoreOptions {
    let mut by_severity = [None; 8];
    by_severity[usize::from(Severity::Debug.syslog())] = Some(Duration::from_secs(100 * 365 * 86_400));
    StoreOptions { retention: Retention { by_severity, ..Retention::default() }, ..options(dir) }
}

/// Events `range`, flushed 10 at a time as a quiet server flushes: two files per flush.
fn fill(store: &Store, range: std::ops::Range<u64>) {
    for first in range.step_by(10) {
        let events = (first..first + 10).map(event_at).collect();
        store.append(events, |events| Arc::new(Batch { seq: 0, events })).unwrap();
        store.flush().unwrap();
    }
}

/// Every file under the segments directory, temporary ones included.
fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() { walk(&path, found) } else { found.push(path) }
        }
    }
    let mut found = Vec::new();
    walk(&dir.join("segments"), &mut found);
    found
}

fn expected() -> Vec<String> {
    (0..EVENTS).rev().map(|n| format!("event {n}")).collect()
}

fn messages(view: &View) -> Vec<String> {
    let mut found = Vec::new();
    let mut before = None;
    loop {
        let page = view.search(&Query::all(), TimeRange::default(), before, 50).unwrap();
        let Some(last) = page.last() else { break };
        before = Some(Cursor::of(last));
        found.extend(page.into_iter().map(|e| e.message));
    }
    found
}

fn count(view: &View, query: &str) -> u64 {
    view.count(&Query::parse(query).unwrap(), TimeRange::default()).unwrap()
}

/// What a user sees: every event once, newest first, and a needle found where it is.
fn assert_every_event_once(view: &View, what: &str) {
    assert_eq!(count(view, "*"), EVENTS, "{what}: count");
    assert_eq!(count(view, "\"event 123\""), 1, "{what}: a needle");
    assert_eq!(count(view, "severity:debug"), EVENTS / 3, "{what}: one class");
    assert_eq!(messages(view), expected(), "{what}: no duplicates, no gaps");
}

fn compact_all(store: &Store, now: Timestamp) -> usize {
    let plan = store.compaction_plan(now);
    for group in &plan {
        let compacted = store.compact(group).unwrap().expect("the group is in the view");
        assert_eq!(compacted.inputs, group.len());
    }
    plan.len()
}

#[test]
fn each_closed_hour_of_each_class_becomes_one_file_and_every_event_stays_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_with_options(two_classes(dir.path()));
    fill(&store, 0..EVENTS);
    assert_eq!(files(dir.path()).len(), 3 * 24, "12 flushes an hour, two classes each");
    // Five minutes into the third hour, the first two are closed.
    let now = Timestamp::from_micros(START + 2 * HOUR + 15 * 60_000_000);
    let plan = store.compaction_plan(now);
    assert_eq!(plan.iter().map(Vec::len).collect::<Vec<_>>(), [12; 4], "two hours, two classes");
    assert_eq!(compact_all(&store, now), 4);
    assert_eq!(files(dir.path()).len(), 24 + 4, "the open hour is left as it is");
    assert_every_event_once(&store.view(), "after merging two hours");
    assert!(store.compaction_plan(now).is_empty(), "a merged hour is merged once");
    drop(store);

    let (store, opened) = open_with_options(two_classes(dir.path()));
    assert_eq!(opened.segments, 28);
    assert_every_event_once(&store.view(), "after a restart");
    assert_eq!(compact_all(&store, Timestamp::now()), 2, "the third hour, once closed");
    assert_eq!(files(dir.path()).len(), 6);
    assert_every_event_once(&store.view(), "after merging every hour");
    // A late event for a merged hour makes one more file, merged with the rest next time.
    let late = Event { id: ulid::Ulid::from_parts(0, 1), message: "late".into(), ..event_at(1) };
    store.append(vec![late], |events| Arc::new(Batch { seq: 0, events })).unwrap();
    store.flush().unwrap();
    assert_eq!(files(dir.path()).len(), 7);
    assert_eq!(compact_all(&store, Timestamp::now()), 1);
    assert_eq!(files(dir.path()).len(), 6);
    assert_eq!(count(&store.view(), "late"), 1);
    assert_eq!(count(&store.view(), "*"), EVENTS + 1);
}

#[test]
fn a_view_taken_before_a_merge_reads_its_inputs_until_it_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_with_options(two_classes(dir.path()));
    fill(&store, 0..EVENTS);
    let before = store.view();
    assert_eq!(compact_all(&store, Timestamp::now()), 6);
    assert_every_event_once(&store.view(), "a view after the merges");
    assert_every_event_once(&before, "a view from before the merges");
    assert_eq!(files(dir.path()).len(), 72 + 6, "the inputs stay while a view may read them");
    assert_eq!(store.delete_retired(), 0);
    drop(before);
    assert_eq!(store.delete_retired(), 72);
    assert_eq!(files(dir.path()).len(), 6);
    assert_every_event_once(&store.view(), "once the inputs are gone");
}

#[test]
fn counts_and_searches_while_merges_run_see_every_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open_with_options(two_classes(dir.path()));
    fill(&store, 0..EVENTS);
    let done = AtomicBool::new(false);
    let looked = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut looked = 0;
            while !done.load(Ordering::SeqCst) || looked == 0 {
                let view = store.view();
                assert_eq!(count(&view, "*"), EVENTS, "count during the merges");
                assert_eq!(count(&view, "\"event 123\""), 1, "needle during the merges");
                looked += 1;
            }
            looked
        });
        compact_all(&store, Timestamp::now());
        done.store(true, Ordering::SeqCst);
        reader.join().unwrap()
    });
    assert!(looked > 0);
    assert_every_event_once(&store.view(), "after the merges");
    store.delete_retired();
    assert_eq!(files(dir.path()).len(), 6, "every input deleted once the views that read it are gone");
}

/// A hook that dies (panics, unwinding past every cleanup, as `kill -9` would skip it) at
/// `at` while armed.
fn dies_at(at: MergeStep) -> (crate::store::compact::MergeHook, Arc<AtomicBool>) {
    let armed = Arc::new(AtomicBool::new(false));
    let hook: crate::store::compact::MergeHook = {
        let armed = Arc::clone(&armed);
        Arc::new(move |step| {
            if step == at && armed.load(Ordering::SeqCst) {
                panic!("the process died here");
            }
        })
    };
    (hook, armed)
}

#[test]
fn a_merge_stopped_by_a_crash_is_undone_or_finished_at_start() {
    // (where it stops, files on disk after the restart: 72 flushed, one hour and class of 12 merged)
    for (at, after) in [(MergeStep::Writing, 72), (MergeStep::Written, 72), (MergeStep::Renamed, 72 - 12 + 1)] {
        let dir = tempfile::tempdir().unwrap();
        {
            let (hook, armed) = dies_at(at);
            let (store, _) = open_with_options(StoreOptions { merge_hook: Some(hook), ..two_classes(dir.path()) });
            fill(&store, 0..EVENTS);
            let plan = store.compaction_plan(Timestamp::now());
            armed.store(true, Ordering::SeqCst);
            let died = catch_unwind(AssertUnwindSafe(|| store.compact(&plan[0])));
            assert!(died.is_err(), "{at:?}: the merge died");
            let leftover = files(dir.path()).len();
            if at == MergeStep::Renamed {
                assert_eq!(leftover, 73, "the merged file beside all its inputs");
            } else {
                assert_eq!(leftover, 73, "{at:?}: a temporary file beside the inputs");
            }
            // Dropped here: nothing more reaches the disk, as after `kill -9`.
        }
        let (store, opened) = open_with_options(two_classes(dir.path()));
        assert_eq!(files(dir.path()).len(), after, "{at:?}: undone or finished");
        assert!(files(dir.path()).iter().all(|f| f.extension().is_some_and(|e| e == "parquet")), "{at:?}");
        assert_eq!(opened.segments, after);
        assert_every_event_once(&store.view(), &format!("after a crash at {at:?}"));
        compact_all(&store, Timestamp::now());
        assert_eq!(files(dir.path()).len(), 6, "{at:?}: the rest merged after the restart");
        assert_every_event_once(&store.view(), &format!("after a crash at {at:?} and the next merges"));
    }
}

#[test]
fn files_of_a_round_whose_wal_is_not_released_are_not_merged() {
    let dir = tempfile::tempdir().unwrap();
    let armed = Arc::new(AtomicBool::new(false));
    let hook: FaultHook = {
        let armed = Arc::clone(&armed);
        Arc::new(move |op| {
            if op == IoOp::Checkpoint && armed.load(Ordering::SeqCst) {
                Err(io::Error::other("the release fails"))
            } else {
                Ok(())
            }
        })
    };
    let (store, _) = open_with_options(StoreOptions { wal_fault_hook: Some(hook), ..two_classes(dir.path()) });
    fill(&store, 0..110);
    armed.store(true, Ordering::SeqCst);
    let events = (110..120).map(event_at).collect();
    store.append(events, |events| Arc::new(Batch { seq: 0, events })).unwrap();
    assert!(store.flush().is_err(), "the round's files are in place, its WAL records not released");
    let plan = store.compaction_plan(Timestamp::now());
    assert_eq!(plan.iter().map(Vec::len).collect::<Vec<_>>(), [11, 11], "the last round's two files wait");
    for group in &plan {
        store.compact(group).unwrap();
    }
    drop(store);
    // The restart rewrites the unreleased round; every event is there once.
    let (store, _) = open_with_options(two_classes(dir.path()));
    assert_eq!(count(&store.view(), "*"), 120);
    assert_eq!(compact_all(&store, Timestamp::now()), 2);
    assert_eq!(files(dir.path()).len(), 2);
    assert_eq!(count(&store.view(), "*"), 120);
}
