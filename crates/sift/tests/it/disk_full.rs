//! A full disk: ingest answers 503 with a clear body, nothing already stored is damaged, and
//! writes resume once space returns. The disk is a real small filesystem (tmpfs), mounted for
//! the test (the test suite runs as root; see scripts/test).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{get_json, post_events, start_durable_server, wait_for_events};

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> SmallDisk {
        let dir = tempfile::tempdir().expect("temp dir");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("mount");
        assert!(
            output.status.success(),
            "this test mounts a small tmpfs and needs root: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        SmallDisk { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Fills the filesystem until fewer than `leave` bytes are free.
fn fill(disk: &Path, leave: u64) -> PathBuf {
    let filler = disk.join("filler");
    let free = free_bytes(disk);
    let size = free.saturating_sub(leave);
    std::fs::write(&filler, vec![0u8; size as usize]).expect("filler");
    filler
}

fn free_bytes(path: &Path) -> u64 {
    let output = Command::new("df").args(["--output=avail", "-B1"]).arg(path).output().expect("df");
    String::from_utf8_lossy(&output.stdout).lines().nth(1).and_then(|l| l.trim().parse().ok()).expect("df output")
}

#[tokio::test]
async fn a_full_disk_answers_503_keeps_what_was_stored_and_recovers() {
    let disk = SmallDisk::mount("16m");
    let data = disk.path().join("data");
    let server = start_durable_server(&data, "");
    let body: String =
        (0..200).map(|n| format!("{{\"message\":\"before {n} {}\",\"app\":\"full\"}}\n", "x".repeat(200))).collect();
    let (status, _) = post_events(&server, "application/x-ndjson", body.clone()).await;
    assert_eq!(status, 200);

    let filler = fill(disk.path(), 4096);
    let mut refused = None;
    let mut acknowledged = 200;
    for _ in 0..50 {
        let (status, answer) = post_events(&server, "application/x-ndjson", body.clone()).await;
        match status {
            200 => acknowledged += 200,
            503 => {
                refused = Some(answer);
                break;
            }
            other => panic!("unexpected {other}: {answer}"),
        }
    }
    let refused = refused.expect("a full disk must be answered with 503");
    assert_eq!(refused["detail"]["reason"], "disk_full", "{refused}");
    assert!(refused["error"].as_str().is_some_and(|e| e.contains("disk") && e.contains("full")), "{refused}");
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    assert!(stats["rejected"]["http_json"]["disk_full"].as_u64() >= Some(200), "{stats}");

    // Everything acknowledged is still there.
    let (_, count) = get_json(&server, "/api/v1/count?q=app:full").await;
    assert_eq!(count["count"], acknowledged);

    // Space is back: writes are accepted again, without a restart.
    std::fs::remove_file(&filler).expect("free space");
    let (status, answer) = post_events(&server, "application/x-ndjson", body).await;
    assert_eq!(status, 200, "{answer}");
    acknowledged += 200;

    // And all of it survives a crash.
    server.kill9();
    let server = start_durable_server(&data, "");
    let (_, count) = get_json(&server, "/api/v1/count?q=app:full").await;
    assert_eq!(count["count"], acknowledged, "nothing acknowledged was lost or damaged");
    server.kill9();
}

#[tokio::test]
async fn syslog_over_tcp_waits_for_space_instead_of_dropping() {
    use std::io::Write;
    let disk = SmallDisk::mount("16m");
    let data = disk.path().join("data");
    let server = start_durable_server(&data, "");
    let filler = fill(disk.path(), 4096);
    let body: String = (0..200).map(|n| format!("{{\"message\":\"filling {n} {}\"}}\n", "x".repeat(200))).collect();
    let mut full = false;
    for _ in 0..50 {
        let (status, _) = post_events(&server, "application/x-ndjson", body.clone()).await;
        if status == 503 {
            full = true;
            break;
        }
    }
    assert!(full, "the disk must be full before syslog is sent");

    let mut tcp = std::net::TcpStream::connect(server.syslog.expect("syslog address")).expect("connect");
    // Far more than the few kilobytes left.
    let padding = "y".repeat(300);
    let lines: String =
        (0..100).map(|n| format!("<134>1 2026-11-22T10:00:00Z host tcpwait - - - held {n} {padding}\n")).collect();
    tcp.write_all(lines.as_bytes()).expect("send");
    tcp.flush().expect("flush");
    assert!(server.log.wait_for("waiting for the store", 1), "the submitter says it waits:\n{}", server.log.text());
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    assert!(stats["rejected"]["syslog_tcp"]["disk_full"].is_null(), "nothing dropped while waiting: {stats}");

    std::fs::remove_file(&filler).expect("free space");
    let found = wait_for_events(&server, "app:tcpwait", 100).await;
    assert_eq!(found["events"].as_array().map(Vec::len), Some(100), "every line stored once space returned");
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    assert!(stats["rejected"]["syslog_tcp"].get("disk_full").is_none_or(Value::is_null), "{stats}");
    server.kill9();
}

/// Below `storage.min_free`, the retention pass deletes the oldest segments and warns: the
/// disk fills with something else, and sift gives back what it stored before anything fails.
#[tokio::test]
async fn below_min_free_the_oldest_segments_go_and_a_warning_says_so() {
    let disk = SmallDisk::mount("16m");
    let data = disk.path().join("data");
    let config = "[storage]\nflush_interval = \"1s\"\nmin_free = \"25%\"\n[retention]\ncheck_interval = \"1s\"\n";
    let server = start_durable_server(&data, config);
    let body: String = (0..200).map(|n| format!("{{\"message\":\"kept {n}\",\"app\":\"floor\"}}\n")).collect();
    let (status, _) = post_events(&server, "application/x-ndjson", body).await;
    assert_eq!(status, 200);
    assert!(server.log.wait_for("flushed events into segments", 1), "{}", server.log.text());
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    assert!(stats["store"]["segments"].as_u64() >= Some(1), "{stats}");

    // Another program leaves 1 MiB free of 16: below the floor of 4 MiB.
    let _filler = fill(disk.path(), 1 << 20);
    assert!(server.log.wait_for("storage.min_free", 1), "{}", server.log.text());
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    assert_eq!(stats["store"]["segments"], 0, "{stats}");
    let (_, count) = get_json(&server, "/api/v1/count?q=app:floor").await;
    assert_eq!(count["count"], 0, "the deleted segments' events are gone: {count}");
    server.kill9();
}
