//! `/api/v1/stats` and `/api/v1/nodes`: totals by severity, app and host, and each host and
//! app seen with first and last sighting and share of all events.

use serde_json::json;

use crate::harness::{get_json, post_events, start_server};

#[tokio::test]
async fn totals_by_severity_app_and_host_and_nodes_with_shares() {
    let server = start_server();
    let body = json!([
        {"message": "a", "host": "web-1", "app": "api", "severity": "error"},
        {"message": "b", "host": "web-1", "app": "api"},
        {"message": "c", "host": "web-2", "app": "worker"},
        {"message": "d", "host": "web-1", "app": "worker", "severity": "debug"},
    ]);
    post_events(&server, "application/json", body.to_string()).await;
    let (status, stats) = get_json(&server, "/api/v1/stats").await;
    assert_eq!(status, 200);
    assert_eq!(stats["events"]["accepted"], 4);
    assert_eq!(stats["events"]["by_severity"]["error"], 1);
    assert_eq!(stats["events"]["by_severity"]["info"], 2);
    assert_eq!(stats["events"]["by_severity"]["debug"], 1);
    assert_eq!(stats["events"]["by_app"], json!({"api": 2, "worker": 2}));
    assert_eq!(stats["events"]["by_host"], json!({"web-1": 3, "web-2": 1}));
    assert_eq!(stats["ring"]["events"], 4);

    let (status, nodes) = get_json(&server, "/api/v1/nodes").await;
    assert_eq!(status, 200);
    let web1 = &nodes["hosts"][0];
    assert_eq!(web1["name"], "web-1");
    assert_eq!(web1["count"], 3);
    assert_eq!(web1["share"], 0.75);
    assert!(web1["first_seen"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(web1["last_seen"].as_str() >= web1["first_seen"].as_str());
    assert_eq!(nodes["apps"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn health_and_readiness() {
    let server = start_server();
    assert_eq!(get_json(&server, "/healthz").await, (200, json!({"status": "ok"})));
    assert_eq!(get_json(&server, "/readyz").await, (200, json!({"status": "ready"})));
}
