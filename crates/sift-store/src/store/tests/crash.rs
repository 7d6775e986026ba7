//! Crashes in the middle of a WAL release, made with a failpoint: the release stops before
//! one of its steps, the store is dropped there (as `kill -9` leaves the disk), and a restart
//! must hold each acknowledged event exactly once.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::wal::{FaultHook, IoOp};

/// A failpoint that fails `step` of every release while it is armed.
fn failpoint(step: IoOp) -> (FaultHook, Arc<AtomicBool>) {
    let armed = Arc::new(AtomicBool::new(false));
    let hook: FaultHook = {
        let armed = Arc::clone(&armed);
        Arc::new(move |op| {
            if op == step && armed.load(Ordering::SeqCst) {
                Err(io::Error::other("the process died here"))
            } else {
                Ok(())
            }
        })
    };
    (hook, armed)
}

/// WAL files of 4 KiB: a round of 2,000 events spans about a dozen of them.
fn small_wal_files(dir: &std::path::Path, hook: FaultHook) -> StoreOptions {
    StoreOptions { wal_file_bytes: 4096, wal_fault_hook: Some(hook), ..options(dir) }
}

fn wal_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().extension().is_some_and(|e| e == "wal"))
        .count()
}

fn count(store: &Store) -> u64 {
    store.view().count(&Query::all(), TimeRange::default()).unwrap()
}

/// The restart holds events 0..n, each once, and so does the one after its flush.
fn assert_exactly_once_after_restart(dir: &std::path::Path, n: u64, what: &str) {
    let expected: Vec<String> = (0..n).rev().map(|n| format!("event {n}")).collect();
    let (store, _) = open(dir);
    assert_eq!(count(&store), n, "{what}: {n} acknowledged");
    assert_eq!(all_messages(&store), expected, "{what}: no duplicates, no gaps");
    store.flush().unwrap();
    drop(store);
    let (store, opened) = open(dir);
    assert!(opened.replayed.is_empty(), "{what}: released after the flush");
    assert_eq!(all_messages(&store), expected, "{what}: the same after the next restart");
}

#[test]
fn r_a_crash_in_the_middle_of_a_release_spanning_wal_files_stores_each_event_once() {
    for step in [IoOp::Checkpoint, IoOp::Delete] {
        let dir = tempfile::tempdir().unwrap();
        let (hook, armed) = failpoint(step);
        {
            let (store, _) = open_with_options(small_wal_files(dir.path(), hook));
            for first in (0..2_000).step_by(10) {
                append(&store, first..first + 10);
            }
            assert!(wal_files(dir.path()) > 2, "the round spans several WAL files");
            armed.store(true, Ordering::SeqCst);
            let stopped = store.flush();
            assert!(stopped.is_err(), "the release stops before {step:?}");
            // Dropped here: nothing more reaches the disk, as after `kill -9`.
        }
        assert_exactly_once_after_restart(dir.path(), 2_000, &format!("a crash before {step:?}"));
    }
}

#[test]
fn r_a_release_that_failed_then_a_crash_after_the_next_round_stores_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, armed) = failpoint(IoOp::Checkpoint);
    {
        let (store, _) = open_with_options(StoreOptions { flush_events: 1_000, ..small_wal_files(dir.path(), hook) });
        // Late events in the second round: rewritten together, the rounds make a file
        // named after the second's oldest event, not the one the first round made.
        for first in (1_000..2_000).chain(0..1_000).step_by(10) {
            append(&store, first..first + 10);
        }
        armed.store(true, Ordering::SeqCst);
        // The first round's segments are in place, its release fails and the process goes
        // on; the second round is written, and the process dies in its release.
        assert!(store.flush().is_err(), "the first round's release fails");
        assert_eq!(store.pending().0, 1_000, "the first round left the pending events");
        assert!(store.flush().is_err(), "the second round's release fails");
    }
    assert_exactly_once_after_restart(dir.path(), 2_000, "two unreleased rounds");
}
