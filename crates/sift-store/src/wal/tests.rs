//! WAL tests: appending and replaying, group commit, rotation and release. Damage on disk is
//! in `tests/recovery.rs`, failing writes in `tests/faults.rs`.

mod faults;
mod recovery;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use sift_core::{Event, Severity, Source, Str, Timestamp};

use super::*;

/// An event like a syslog line: shared host and app, a message of about 200 bytes.
pub(super) fn event(n: u64) -> Event {
    let mut event = Event::new(
        Source::SyslogTcp,
        Timestamp::from_micros(1_700_000_000_000_000 + n as i64),
        format!(
            "{n:08} GET /api/v1/orders?page=3 200 1234 \"Mozilla/5.0 (X11; Linux x86_64)\" upstream=10.0.0.7:8080 request_time=0.004 msec=1700000000.123 user=alice trace=4bf92f3577b34da6a3ce929d0e0e4736"
        ),
    );
    event.id = ulid::Ulid::from_parts(1_700_000_000_000 + n, u128::from(n));
    event.host = Some(Str::from(["web-1", "web-2", "db-1"][n as usize % 3]));
    event.app = Some(Str::from("nginx"));
    event.proc = Some(Str::from("811"));
    event.severity = Severity::Info;
    event.facility = Some(16);
    event
}

pub(super) fn batch(from: u64, len: u64) -> Vec<Event> {
    (from..from + len).map(event).collect()
}

pub(super) fn options(dir: &Path) -> WalOptions {
    WalOptions::new(dir.join("wal"))
}

pub(super) fn open(options: &WalOptions) -> (Wal, Replay) {
    match Wal::open(options.clone()) {
        Ok(opened) => opened,
        Err(error) => panic!("opening the WAL: {error}"),
    }
}

pub(super) fn append(wal: &Wal, events: &[Event]) -> Lsn {
    match wal.append(events) {
        Ok(appended) => appended.lsn,
        Err(error) => panic!("appending: {error}"),
    }
}

pub(super) fn tempdir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => panic!("creating a temporary directory: {error}"),
    }
}

pub(super) fn wal_files(options: &WalOptions) -> Vec<PathBuf> {
    open::file_paths(&options.dir)
}

pub(super) fn lsns(replay: &Replay) -> Vec<Lsn> {
    replay.batches.iter().map(|(lsn, _)| *lsn).collect()
}

#[test]
fn appended_batches_are_replayed_in_order() {
    let dir = tempdir();
    let options = options(dir.path());
    let (wal, replay) = open(&options);
    assert!(replay.batches.is_empty());
    assert_eq!(wal_files(&options).len(), 1);
    let batches = [batch(0, 3), batch(3, 0), batch(3, 100), batch(103, 1)];
    let lsns: Vec<Lsn> = batches.iter().map(|b| append(&wal, b)).collect();
    assert_eq!(lsns, [1, 2, 3, 4]);
    let stats = wal.stats();
    assert_eq!((stats.appended_batches, stats.appended_events, stats.last_lsn), (4, 104, 4));
    drop(wal);

    let (_wal, replay) = open(&options);
    assert_eq!(replay.batches, lsns.into_iter().zip(batches).collect::<Vec<_>>());
    assert_eq!((replay.truncated_bytes, replay.truncations.len(), replay.files), (0, 0, 1));
    assert_eq!(replay.events(), 104);
}

#[test]
fn lsns_keep_increasing_after_reopen() {
    let dir = tempdir();
    let options = options(dir.path());
    let (wal, _) = open(&options);
    assert_eq!(append(&wal, &batch(0, 1)), 1);
    assert_eq!(append(&wal, &batch(1, 1)), 2);
    drop(wal);
    let (wal, replay) = open(&options);
    assert_eq!(lsns(&replay), [1, 2]);
    assert_eq!(append(&wal, &batch(2, 1)), 3);
    // Even when everything is released, the next LSN is not given again.
    wal.release_through(3).expect("release");
    drop(wal);
    let (wal, replay) = open(&options);
    assert!(replay.batches.is_empty());
    assert_eq!(replay.released_through, 3);
    assert_eq!(append(&wal, &batch(3, 1)), 4);
}

#[test]
fn concurrent_appends_share_syncs() {
    const THREADS: usize = 8;
    const APPENDS: u64 = 200;
    let dir = tempdir();
    let options = options(dir.path());
    let (wal, _) = open(&options);
    let wal = Arc::new(wal);
    let start = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS as u64)
        .map(|t| {
            let (wal, start) = (Arc::clone(&wal), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                (0..APPENDS).map(|i| (append(&wal, &batch(t * 1000 + i, 5)), t * 1000 + i)).collect::<Vec<_>>()
            })
        })
        .collect();
    let mut appended: Vec<(Lsn, u64)> = threads.into_iter().flat_map(|t| t.join().expect("appender")).collect();
    appended.sort_unstable();
    let total = THREADS as u64 * APPENDS;
    assert_eq!(appended.iter().map(|(lsn, _)| *lsn).collect::<Vec<_>>(), (1..=total).collect::<Vec<_>>());
    let stats = wal.stats();
    assert_eq!(stats.appended_batches, total);
    assert!(stats.fsyncs < total, "{} syncs for {total} appends", stats.fsyncs);
    drop(wal);

    let (_wal, replay) = open(&options);
    let replayed: Vec<(Lsn, u64)> =
        replay.batches.iter().map(|(lsn, events)| (*lsn, events[0].id.timestamp_ms() - 1_700_000_000_000)).collect();
    assert_eq!(replayed, appended);
}

#[test]
fn appends_waiting_together_get_one_sync() {
    // The first sync holds the writer until seven more appends are queued: they are then
    // written as one group, with one sync.
    let dir = tempdir();
    let mut options = options(dir.path());
    let (in_sync, syncing) = std::sync::mpsc::channel::<()>();
    let (go, wait_for_go) = std::sync::mpsc::channel::<()>();
    let hook_state = Mutex::new((in_sync, wait_for_go));
    let first = AtomicBool::new(true);
    options.fault_hook = Some(Arc::new(move |op| {
        if op == IoOp::Sync && first.swap(false, Ordering::SeqCst) {
            let state = hook_state.lock().expect("lock");
            state.0.send(()).expect("test waiting");
            state.1.recv().expect("go");
        }
        Ok(())
    }));
    let (wal, _) = open(&options);
    let wal = Arc::new(wal);
    let spawn = |t: u64| {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || append(&wal, &batch(t, 1)))
    };
    let mut threads = vec![spawn(0)];
    syncing.recv().expect("first sync");
    threads.extend((1..8).map(spawn));
    while wal.stats().queued < 7 {
        std::thread::yield_now();
    }
    go.send(()).expect("hook waiting");
    let mut lsns: Vec<Lsn> = threads.into_iter().map(|t| t.join().expect("appender")).collect();
    lsns.sort_unstable();
    assert_eq!(lsns, (1..=8).collect::<Vec<_>>());
    assert_eq!(wal.stats().fsyncs, 2);
}

#[test]
fn always_syncs_every_record_and_interval_syncs_on_close() {
    let dir = tempdir();
    let mut options = options(dir.path());
    options.fsync = FsyncPolicy::Always;
    let (wal, _) = open(&options);
    for i in 0..5 {
        append(&wal, &batch(i, 2));
    }
    assert_eq!(wal.stats().fsyncs, 5);
    drop(wal);

    options.fsync = FsyncPolicy::Interval(std::time::Duration::from_secs(3600));
    let (wal, replay) = open(&options);
    assert_eq!(lsns(&replay), [1, 2, 3, 4, 5]);
    for i in 5..10 {
        append(&wal, &batch(i, 2));
    }
    // Answered once written: the hour is not up, so nothing was synced yet.
    assert_eq!(wal.stats().fsyncs, 0);
    drop(wal);
    let (_wal, replay) = open(&options);
    assert_eq!(lsns(&replay), (1..=10).collect::<Vec<_>>());
}

#[test]
fn files_rotate_and_release_deletes_only_files_wholly_released() {
    let dir = tempdir();
    let mut options = options(dir.path());
    options.segment_bytes = 4096;
    let (wal, _) = open(&options);
    let lsns: Vec<Lsn> = (0..40).map(|i| append(&wal, &batch(i * 4, 4))).collect();
    // The writer rotates after it answers: close it to see the files it ended with.
    drop(wal);
    let (wal, replay) = open(&options);
    assert_eq!(self::lsns(&replay), lsns);
    let files = wal_files(&options);
    assert!(files.len() >= 5, "{} files", files.len());
    let firsts: Vec<Lsn> =
        files.iter().filter_map(|p| p.file_name()?.to_str().and_then(format::parse_file_name)).collect();
    assert_eq!(firsts[0], 1);
    assert_eq!(wal.stats().files, files.len());

    // Releasing through the middle of the third file deletes the first two only.
    let middle = firsts[2] + 1;
    wal.release_through(middle).expect("release");
    assert_eq!(wal_files(&options), files[2..]);
    assert_eq!(wal.stats().released_through, middle);
    // Releasing again, or less, changes nothing; releasing what was not appended is an error.
    wal.release_through(middle - 1).expect("release");
    assert_eq!(wal_files(&options), files[2..]);
    assert!(matches!(wal.release_through(41), Err(WalError::ReleaseAhead { lsn: 41, last: 40 })));

    // Replay starts after the released LSN, even inside a file.
    drop(wal);
    let (wal, replay) = open(&options);
    assert_eq!(self::lsns(&replay), lsns[middle as usize..]);
    assert_eq!(replay.released_through, middle);

    // Releasing everything keeps the file being written.
    wal.release_through(40).expect("release");
    assert_eq!(wal_files(&options), files[files.len() - 1..]);
    assert_eq!(wal.stats().files, 1);
    assert_eq!(append(&wal, &batch(0, 1)), 41);
}

#[test]
fn files_wholly_released_are_deleted_on_open() {
    let dir = tempdir();
    let mut options = options(dir.path());
    options.segment_bytes = 1024;
    let (wal, _) = open(&options);
    for i in 0..20 {
        append(&wal, &batch(i * 4, 4));
    }
    drop(wal);
    let files = wal_files(&options);
    // The checkpoint reached the disk, the deletions did not.
    checkpoint::create(&options.dir, 20).expect("checkpoint");
    let (_wal, replay) = open(&options);
    assert!(replay.batches.is_empty());
    assert_eq!(wal_files(&options), files[files.len() - 1..]);
}

#[test]
fn a_damaged_checkpoint_replays_everything_and_says_so() {
    let dir = tempdir();
    let options = options(dir.path());
    let (wal, _) = open(&options);
    for i in 0..3 {
        append(&wal, &batch(i, 1));
    }
    wal.release_through(2).expect("release");
    drop(wal);
    std::fs::write(options.dir.join("released"), b"garbage").expect("write");
    let (wal, replay) = open(&options);
    assert!(replay.checkpoint_damaged);
    assert_eq!(lsns(&replay), [1, 2, 3]);
    assert_eq!(append(&wal, &batch(3, 1)), 4);
}

#[test]
fn a_checkpoint_write_torn_by_a_crash_leaves_the_one_before() {
    let dir = tempdir();
    let options = options(dir.path());
    let (wal, _) = open(&options);
    for i in 0..4 {
        append(&wal, &batch(i, 1));
    }
    wal.release_through(2).expect("release");
    wal.release_through(3).expect("release");
    drop(wal);
    let path = options.dir.join("released");
    let mut bytes = std::fs::read(&path).expect("read");
    assert_eq!(bytes.len(), format::CHECKPOINT_LEN, "two slots, written in place");
    let (newest, slot) = format::parse_checkpoint(&bytes).expect("valid");
    assert_eq!(newest, 3);
    // The last write torn: its slot half written.
    bytes[slot * format::CHECKPOINT_SLOT_LEN + 12] ^= 0xff;
    std::fs::write(&path, &bytes).expect("write");
    let (_wal, replay) = open(&options);
    assert!(!replay.checkpoint_damaged, "one slot holds the checkpoint before");
    assert_eq!(replay.released_through, 2);
    assert_eq!(lsns(&replay), [3, 4]);
}

#[test]
fn a_checkpoint_of_one_slot_from_an_earlier_sift_is_read_and_made_two() {
    let dir = tempdir();
    let options = options(dir.path());
    let (wal, _) = open(&options);
    for i in 0..3 {
        append(&wal, &batch(i, 1));
    }
    drop(wal);
    let path = options.dir.join("released");
    std::fs::write(&path, format::checkpoint_slot(1)).expect("write");
    let (wal, replay) = open(&options);
    assert_eq!((replay.released_through, replay.checkpoint_damaged), (1, false));
    assert_eq!(lsns(&replay), [2, 3]);
    assert_eq!(std::fs::read(&path).expect("read").len(), format::CHECKPOINT_LEN);
    wal.release_through(2).expect("release");
    drop(wal);
    let (_wal, replay) = open(&options);
    assert_eq!(lsns(&replay), [3]);
}

#[test]
fn oversized_batches_are_refused_before_the_writer() {
    let dir = tempdir();
    let options = options(dir.path());
    let (wal, _) = open(&options);
    let mut big = event(0);
    big.message = "x".repeat(MAX_PAYLOAD);
    assert!(matches!(wal.append(&[big]), Err(WalError::TooLarge { .. })));
    assert_eq!(append(&wal, &batch(0, 1)), 1);
}

#[test]
fn the_wal_is_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Wal>();
}

#[test]
fn records_read_back_where_they_were_appended_and_replayed_even_after_their_file_is_deleted() {
    let dir = tempdir();
    let mut options = options(dir.path());
    options.segment_bytes = 4096;
    let (wal, _) = open(&options);
    let appended: Vec<Appended> = (0..20).map(|i| wal.append(&batch(i * 4, 4)).expect("append")).collect();
    for (i, record) in (0..).zip(&appended) {
        assert_eq!(read_record(&record.at).expect("read back"), batch(i * 4, 4));
    }
    drop(wal);
    let mut replayed = Vec::new();
    let (wal, _) = Wal::open_with(options.clone(), |record| replayed.push(record)).expect("open");
    assert_eq!(replayed.iter().map(|r| r.lsn).collect::<Vec<_>>(), appended.iter().map(|a| a.lsn).collect::<Vec<_>>());
    for record in &replayed {
        assert_eq!(read_record(&record.at).expect("read back"), record.events);
    }
    // Releasing everything deletes all files but the newest; what was read from them still reads.
    let files = wal_files(&options).len();
    wal.release_through(appended.last().expect("appended").lsn).expect("release");
    assert!(wal_files(&options).len() < files);
    assert_eq!(read_record(&replayed[0].at).expect("read back from a deleted file"), batch(0, 4));
}
