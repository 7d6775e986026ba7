//! A full disk: ingest answers 503 with a clear body, nothing already stored is damaged, and
//! writes resume once space returns. The disk is a real small filesystem (tmpfs), mounted for
//! the test (the test suite runs as root; see scripts/test).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::{get_json, post_events, start_durable_server};

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
