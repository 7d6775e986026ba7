//! Replay after damage: torn tails at every offset, garbage, a bad CRC in the middle of a
//! file, a file header from a newer sift, and a real `kill -9` of a process appending.

use std::fs;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use super::*;

/// Appends `count` single-event batches and closes the WAL; returns the one file's bytes.
fn one_file(options: &WalOptions, count: u64) -> Vec<u8> {
    let (wal, _) = open(options);
    for i in 0..count {
        append(&wal, &batch(i, 1));
    }
    drop(wal);
    let files = wal_files(options);
    assert_eq!(files.len(), 1);
    fs::read(&files[0]).expect("read")
}

fn record_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut pos = format::FILE_HEADER_LEN;
    while let format::Frame::Record { end, .. } = format::read_frame(bytes, pos) {
        starts.push(pos);
        pos = end;
    }
    assert_eq!(pos, bytes.len());
    starts
}

#[test]
fn a_tail_torn_at_any_byte_keeps_every_earlier_record() {
    let dir = tempdir();
    let options = options(dir.path());
    let good = one_file(&options, 4);
    let last = record_starts(&good)[3];
    let path = wal_files(&options)[0].clone();
    for cut in last..good.len() {
        fs::write(&path, &good[..cut]).expect("write");
        let (wal, replay) = open(&options);
        assert_eq!(lsns(&replay), [1, 2, 3], "cut at {cut}");
        assert_eq!(replay.truncated_bytes, (cut - last) as u64);
        assert!(replay.corrupt_files.is_empty(), "a torn tail is not corruption");
        assert_eq!(fs::metadata(&path).map(|m| m.len()).ok(), Some(last as u64));
        // The LSN of the record that never completed is given again: nobody was told of it.
        assert_eq!(append(&wal, &batch(9, 1)), 4);
        drop(wal);
        let (_wal, replay) = open(&options);
        assert_eq!(lsns(&replay), [1, 2, 3, 4]);
        assert_eq!(replay.truncated_bytes, 0);
    }
}

#[test]
fn a_file_torn_while_it_was_created_is_started_again() {
    let dir = tempdir();
    let options = options(dir.path());
    one_file(&options, 2);
    let path = options.dir.join("000000000003.wal");
    fs::write(&path, &format::file_header()[..5]).expect("write");
    let (wal, replay) = open(&options);
    assert_eq!(lsns(&replay), [1, 2]);
    assert!(replay.corrupt_files.is_empty());
    assert_eq!(append(&wal, &batch(2, 1)), 3);
    drop(wal);
    let (_wal, replay) = open(&options);
    assert_eq!(lsns(&replay), [1, 2, 3]);
}

#[test]
fn garbage_after_the_last_record_is_cut_counted_and_kept_aside() {
    let dir = tempdir();
    let options = options(dir.path());
    let good = one_file(&options, 5);
    let path = wal_files(&options)[0].clone();
    let mut noise = 0x2545_f491_4f6c_dd1d_u64;
    let garbage: Vec<u8> = (0..777)
        .map(|_| {
            noise ^= noise << 13;
            noise ^= noise >> 7;
            noise ^= noise << 17;
            noise as u8
        })
        .collect();
    // Random bytes, and random bytes behind a record magic with a length or without one.
    let mut headed = format::RECORD_MAGIC.to_vec();
    headed.extend_from_slice(&garbage);
    let mut sized = format::RECORD_MAGIC.to_vec();
    sized.extend_from_slice(&100u32.to_le_bytes());
    sized.extend_from_slice(&garbage);
    for tail in [&garbage[..], &garbage[..1], &headed, &sized] {
        let mut bytes = good.clone();
        bytes.extend_from_slice(tail);
        fs::write(&path, &bytes).expect("write");
        let (wal, replay) = open(&options);
        assert_eq!(lsns(&replay), [1, 2, 3, 4, 5]);
        assert_eq!(replay.truncated_bytes, tail.len() as u64);
        assert_eq!(replay.corrupt_files, std::slice::from_ref(&path));
        let truncation = &replay.truncations[0];
        assert_eq!(truncation.offset, good.len() as u64);
        let saved = truncation.saved_to.as_ref().map(|saved| fs::read(saved).expect("saved"));
        assert_eq!(saved.as_deref(), Some(tail));
        assert_eq!(wal.stats().truncations, 1);
        assert_eq!(append(&wal, &batch(5, 1)), 6);
        drop(wal);
        fs::write(&path, &good).expect("write");
    }
}

#[test]
fn a_bad_checksum_mid_file_cuts_that_file_there_and_later_files_still_replay() {
    let dir = tempdir();
    let mut options = options(dir.path());
    options.segment_bytes = 2048;
    let (wal, _) = open(&options);
    let lsns_appended: Vec<Lsn> = (0..30).map(|i| append(&wal, &batch(i * 3, 3))).collect();
    drop(wal);
    let files = wal_files(&options);
    assert!(files.len() >= 3);
    let damaged = &files[1];
    let mut bytes = fs::read(damaged).expect("read");
    let starts = record_starts(&bytes);
    let (first_lsn, bad) = match format::read_frame(&bytes, starts[1]) {
        format::Frame::Record { lsn, batch, .. } => (lsn, batch.0 + 40),
        frame => panic!("expected a record, found {frame:?}"),
    };
    bytes[bad] ^= 0x20;
    fs::write(damaged, &bytes).expect("write");

    let (wal, replay) = open(&options);
    // The damaged file keeps its first record; the rest of it is cut, the later files stay.
    let kept: Vec<Lsn> =
        lsns_appended.iter().copied().filter(|&lsn| lsn < first_lsn || lsn >= next_file(&files, 1)).collect();
    assert_eq!(lsns(&replay), kept);
    assert_eq!(replay.corrupt_files, std::slice::from_ref(damaged));
    let truncation = &replay.truncations[0];
    assert_eq!(truncation.corruption, Some(Corruption::BadChecksum));
    assert_eq!(truncation.offset, starts[1] as u64);
    assert_eq!(truncation.bytes, (bytes.len() - starts[1]) as u64);
    assert_eq!(
        truncation.saved_to.as_ref().and_then(|p| fs::read(p).ok()).map(|b| b.len()),
        Some(bytes.len() - starts[1])
    );
    assert_eq!(append(&wal, &batch(0, 1)), 31);
    drop(wal);
    // The cut is made once: the next open finds nothing wrong.
    let (_wal, replay) = open(&options);
    assert!(replay.truncations.is_empty());
    assert_eq!(replay.batches.len(), kept.len() + 1);
}

fn next_file(files: &[PathBuf], i: usize) -> Lsn {
    files[i + 1].file_name().and_then(|n| n.to_str()).and_then(format::parse_file_name).unwrap_or(Lsn::MAX)
}

#[test]
fn a_file_from_a_newer_sift_is_refused_and_left_alone() {
    let dir = tempdir();
    let options = options(dir.path());
    let good = one_file(&options, 2);
    let path = wal_files(&options)[0].clone();
    let mut newer = good.clone();
    newer[8] = 2;
    fs::write(&path, &newer).expect("write");
    assert!(matches!(Wal::open(options.clone()), Err(WalError::NewerFormat { version: 2, .. })));
    assert_eq!(fs::read(&path).ok(), Some(newer));

    // A record whose checksum holds but whose batch has a newer codec version.
    let mut bytes = good.clone();
    let start = record_starts(&good)[1];
    bytes[start + format::BATCH_OFFSET] = 9;
    let crc = crc32c::crc32c_append(crc32c::crc32c(&bytes[start..start + 8]), &bytes[start + 12..]);
    bytes[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
    fs::write(&path, &bytes).expect("write");
    assert!(matches!(Wal::open(options.clone()), Err(WalError::NewerBatch { .. })));
    assert_eq!(fs::read(&path).ok(), Some(bytes));
}

#[test]
fn a_checksummed_record_whose_batch_does_not_decode_is_cut() {
    let dir = tempdir();
    let options = options(dir.path());
    let good = one_file(&options, 3);
    let path = wal_files(&options)[0].clone();
    let start = record_starts(&good)[1];
    let mut bytes = good.clone();
    bytes[start + format::BATCH_OFFSET + 1] = 0x7f; // the event count: more than there are
    let crc =
        crc32c::crc32c_append(crc32c::crc32c(&bytes[start..start + 8]), &bytes[start + 12..record_starts(&good)[2]]);
    bytes[start + 8..start + 12].copy_from_slice(&crc.to_le_bytes());
    fs::write(&path, &bytes).expect("write");
    let (_wal, replay) = open(&options);
    assert_eq!(lsns(&replay), [1]);
    assert!(matches!(replay.truncations[0].corruption, Some(Corruption::BadBatch(_))));
    assert_eq!(replay.truncations[0].offset, start as u64);
}

/// Kills the child on drop, so that a failing test does not leave it running.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const CHILD_DIR: &str = "SIFT_WAL_TEST_CHILD_DIR";

/// Run as a child process by the test below (with [`CHILD_DIR`] set): appends from four
/// threads and prints each LSN once its append has returned, until it is killed.
fn appender_child(dir: &str) {
    let (wal, replay) = open(&WalOptions::new(dir));
    assert!(replay.batches.is_empty());
    let wal = Arc::new(wal);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let wal = Arc::clone(&wal);
            std::thread::spawn(move || {
                for i in 0..1_000_000u64 {
                    let lsn = append(&wal, &batch(t * 1_000_000 + i, 10));
                    println!("acked {lsn}");
                }
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
}

#[test]
fn kill_9_loses_nothing_acknowledged() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        return appender_child(&dir);
    }
    let dir = tempdir();
    let wal_dir = dir.path().join("wal");
    let exe = std::env::current_exe().expect("test binary");
    let child = Command::new(exe)
        .args(["--exact", "wal::tests::recovery::kill_9_loses_nothing_acknowledged", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, &wal_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the appender");
    let mut child = Killed(child);
    let stdout = child.0.stdout.take().expect("stdout");
    let mut acked = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read the child's output");
        if let Some(lsn) = line.strip_prefix("acked ").and_then(|lsn| lsn.parse::<Lsn>().ok()) {
            acked.push(lsn);
            if acked.len() == 2000 {
                break;
            }
        }
    }
    assert_eq!(acked.len(), 2000, "the child stopped early");
    child.0.kill().expect("kill -9");
    let _ = child.0.wait();

    let (_wal, replay) = open(&WalOptions::new(&wal_dir));
    let replayed: std::collections::HashSet<Lsn> = lsns(&replay).into_iter().collect();
    let lost: Vec<&Lsn> = acked.iter().filter(|lsn| !replayed.contains(lsn)).collect();
    assert!(lost.is_empty(), "acknowledged but not replayed: {lost:?}");
    assert!(replay.batches.iter().all(|(_, events)| events.len() == 10));
}
