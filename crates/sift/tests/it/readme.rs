//! The README's first steps, with `curl` as the client: a first event, a search, and a tail.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::harness::start_server;

fn curl(args: &[&str]) -> Value {
    let output =
        Command::new("curl").arg("-s").args(args).output().expect("curl is installed (scripts/test installs it)");
    assert!(output.status.success(), "curl failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("a JSON answer")
}

#[test]
fn a_first_event_a_search_and_a_tail_with_curl() {
    let server = start_server();
    let base = format!("http://{}", server.addr);
    let event = r#"{"message":"payment failed for @alice #checkout","severity":"error","app":"shop","host":"web-1"}"#;
    let answer = curl(&[&format!("{base}/api/v1/events"), "-d", event]);
    assert_eq!(answer, json!({"accepted": 1, "rejected": 0, "errors": []}));

    let found = curl(&[&format!("{base}/api/v1/events?q=%23checkout&limit=10")]);
    let first = &found["events"][0];
    assert_eq!(first["message"], "payment failed for @alice #checkout");
    assert_eq!(first["identities"], json!(["alice"]));

    let mut tail = Command::new("curl")
        .args(["-s", "-N", &format!("{base}/api/v1/tail?q=severity%3E%3Derror&backlog=10")])
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl");
    let mut lines = BufReader::new(tail.stdout.take().expect("stdout")).lines();
    let mut data = None;
    for line in lines.by_ref() {
        let line = line.expect("line");
        if let Some(json) = line.strip_prefix("data: ") {
            data = Some(serde_json::from_str::<Value>(json).expect("event JSON"));
            break;
        }
    }
    let _ = tail.kill();
    let _ = tail.wait();
    assert_eq!(data.expect("the backlog event")["app"], "shop");
}
