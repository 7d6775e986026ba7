//! Failing writes and syncs through the fault hook: the appends of the failed group get the
//! error, the file keeps only good records, and appends work again once the fault is gone.

use std::fs;
use std::io;
use std::sync::atomic::AtomicUsize;

use super::*;

/// Which operations fail, switched by the test while the writer runs.
#[derive(Default)]
struct Faults {
    write: AtomicBool,
    sync: AtomicBool,
    truncate: AtomicBool,
    writes_failed: AtomicUsize,
}

impl Faults {
    fn hook(self: &Arc<Self>) -> FaultHook {
        let faults = Arc::clone(self);
        Arc::new(move |op| {
            let fail = match op {
                IoOp::Write { .. } => faults.write.load(Ordering::SeqCst),
                IoOp::Sync => faults.sync.load(Ordering::SeqCst),
                IoOp::Truncate => faults.truncate.load(Ordering::SeqCst),
                IoOp::Checkpoint | IoOp::Delete => false,
            };
            if !fail {
                return Ok(());
            }
            if matches!(op, IoOp::Write { .. }) {
                faults.writes_failed.fetch_add(1, Ordering::SeqCst);
            }
            Err(match op {
                IoOp::Sync => io::Error::other("injected sync failure"),
                _ => io::Error::from(io::ErrorKind::StorageFull),
            })
        })
    }
}

fn with_faults(dir: &Path) -> (WalOptions, Arc<Faults>) {
    let faults = Arc::new(Faults::default());
    let mut options = options(dir);
    options.fault_hook = Some(faults.hook());
    (options, faults)
}

fn file_len(options: &WalOptions) -> Vec<u64> {
    wal_files(options).iter().map(|path| fs::metadata(path).map(|m| m.len()).unwrap_or(0)).collect()
}

#[test]
fn a_full_disk_fails_the_append_cuts_the_half_record_and_appends_resume() {
    let dir = tempdir();
    let (options, faults) = with_faults(dir.path());
    let (wal, _) = open(&options);
    assert_eq!(append(&wal, &batch(0, 5)), 1);
    let before = file_len(&options);

    faults.write.store(true, Ordering::SeqCst);
    let error = wal.append(&batch(5, 5)).err();
    assert!(matches!(error, Some(WalError::Full { op: Op::Write, .. })), "{error:?}");
    assert_eq!(faults.writes_failed.load(Ordering::SeqCst), 1);
    assert_eq!(file_len(&options), before, "the half-written record is cut away");
    assert!(matches!(wal.append(&batch(5, 5)), Err(WalError::Full { .. })));

    faults.write.store(false, Ordering::SeqCst);
    // The failed appends' LSNs are not given again.
    assert_eq!(append(&wal, &batch(10, 5)), 4);
    let stats = wal.stats();
    assert_eq!((stats.io_errors, stats.truncations, stats.appended_batches), (2, 2, 2));
    drop(wal);

    let (_wal, replay) = open(&options);
    assert_eq!(lsns(&replay), [1, 4]);
    assert_eq!(replay.batches[1].1, batch(10, 5));
    assert!(replay.truncations.is_empty(), "nothing on disk was damaged");
}

#[test]
fn a_failed_sync_fails_its_group_and_cuts_it_away() {
    let dir = tempdir();
    let (options, faults) = with_faults(dir.path());
    let (wal, _) = open(&options);
    append(&wal, &batch(0, 1));
    let before = file_len(&options);
    faults.sync.store(true, Ordering::SeqCst);
    let error = wal.append(&batch(1, 1)).err();
    match &error {
        Some(WalError::Io { op: Op::Sync, kind: io::ErrorKind::Other, .. }) => {}
        other => panic!("expected a sync error, got {other:?}"),
    }
    assert!(error.map(|e| e.to_string()).is_some_and(|text| text.contains("sync")));
    assert_eq!(file_len(&options), before);
    faults.sync.store(false, Ordering::SeqCst);
    assert_eq!(append(&wal, &batch(2, 1)), 3);
    drop(wal);
    let (_wal, replay) = open(&options);
    assert_eq!(lsns(&replay), [1, 3]);
}

#[test]
fn when_the_half_record_cannot_be_cut_the_next_append_starts_a_new_file() {
    let dir = tempdir();
    let (options, faults) = with_faults(dir.path());
    let (wal, _) = open(&options);
    append(&wal, &batch(0, 2));
    faults.write.store(true, Ordering::SeqCst);
    faults.truncate.store(true, Ordering::SeqCst);
    assert!(wal.append(&batch(2, 2)).is_err());
    faults.write.store(false, Ordering::SeqCst);
    faults.truncate.store(false, Ordering::SeqCst);
    // The old file still ends with half a record; good records go to a new file after it.
    assert_eq!(append(&wal, &batch(4, 2)), 3);
    assert_eq!(wal_files(&options).len(), 2);
    drop(wal);

    let (_wal, replay) = open(&options);
    assert_eq!(lsns(&replay), [1, 3]);
    assert_eq!(replay.truncations.len(), 1, "the half record is cut on open");
    assert_eq!(replay.truncations[0].path, wal_files(&options)[0]);
    assert_eq!(replay.truncations[0].corruption, None);
}

#[test]
fn every_waiter_of_a_failed_group_gets_the_error() {
    let dir = tempdir();
    let (options, faults) = with_faults(dir.path());
    let (wal, _) = open(&options);
    let wal = Arc::new(wal);
    faults.write.store(true, Ordering::SeqCst);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || wal.append(&batch(t, 3)).is_err())
        })
        .collect();
    assert!(threads.into_iter().all(|t| t.join().unwrap_or(false)));
    faults.write.store(false, Ordering::SeqCst);
    let lsn = append(&wal, &batch(0, 1));
    assert!(lsn > 8, "LSNs of failed appends are not reused: {lsn}");
    drop(wal);
    let (_wal, replay) = open(&options);
    assert_eq!(lsns(&replay), [lsn]);
}
