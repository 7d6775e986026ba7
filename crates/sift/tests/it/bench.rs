//! `sift bench --protocol X` against a real server, one run per protocol: the server's own
//! counters must show every event the bench sent as accepted, and the bench must report the
//! same. UDP runs go at a low rate so that nothing is lost on a busy machine.

use std::process::Command;

use serde_json::Value;

use crate::harness::{Server, protocol_stats, sift_binary, start_server};

const COUNT: u64 = 3000;

fn bench(server: &Server, protocol: &str, extra: &[&str]) -> Value {
    let mut command = Command::new(sift_binary());
    command
        .args(["bench", "--protocol", protocol, "--count", &COUNT.to_string(), "--json", "--quiet"])
        .args(["--url", &server.url("")])
        .args(["--syslog", &server.syslog.expect("syslog listener").to_string()])
        .args(["--popcorn", &server.popcorn.expect("popcorn listener").to_string()])
        .args(extra);
    for (key, _) in std::env::vars() {
        if key.starts_with("SIFT_") {
            command.env_remove(key);
        }
    }
    let output = command.output().expect("run sift bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "sift bench --protocol {protocol}: {}\n{stdout}\n{stderr}", output.status);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

async fn check(protocol: &str, counters: &str, extra: &[&str]) {
    let server = start_server();
    let report = bench(&server, protocol, extra);
    assert_eq!(report["protocol"], protocol);
    assert_eq!(report["events_sent"], COUNT, "{report}");
    assert_eq!(report["events_accepted"], COUNT, "{report}");
    assert_eq!(report["server"]["accepted"], COUNT, "{report}");
    assert_eq!(report["events_rejected"], 0, "{report}");
    assert_eq!(report["loss_pct"], 0.0, "{report}");
    let stats = protocol_stats(&server, counters).await;
    assert_eq!(stats["accepted"], COUNT, "{stats}");
    assert_eq!(stats["received"], COUNT, "{stats}");
    if let Some(e2e) = report["e2e_latency_ms"].as_object() {
        let seen = e2e["received"].as_u64().unwrap() + e2e["dropped"].as_u64().unwrap();
        assert_eq!(seen, COUNT, "{report}");
    }
}

#[tokio::test]
async fn syslog_over_tcp() {
    check("syslog-tcp", "syslog_tcp", &["--connections", "3"]).await;
}

#[tokio::test]
async fn syslog_over_udp() {
    check("syslog-udp", "syslog_udp", &["--connections", "2", "--rate", "5000"]).await;
}

#[tokio::test]
async fn popcorn() {
    check("popcorn", "popcorn", &["--rate", "5000"]).await;
}

#[tokio::test]
async fn logplex() {
    check("logplex", "logplex", &["--batch", "200", "--connections", "2"]).await;
}

#[tokio::test]
async fn otlp() {
    check("otlp", "otlp", &["--batch", "250", "--connections", "2"]).await;
}

#[tokio::test]
async fn http_json() {
    check("http-json", "http_json", &["--batch", "250"]).await;
}

#[tokio::test]
async fn syslog_events_are_stored_as_syslog() {
    let server = start_server();
    bench(&server, "syslog-tcp", &["--latency", "false"]);
    let (status, answer) = crate::harness::get_json(&server, "/api/v1/events?limit=1&q=source%3Asyslog_tcp").await;
    assert_eq!(status, 200);
    let event = &answer["events"][0];
    assert!(event["fields"]["bench@32473"]["run"].is_string(), "{event}");
    assert!(event["host"].is_string() && event["app"].is_string(), "{event}");
}
