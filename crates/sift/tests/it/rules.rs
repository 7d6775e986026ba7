//! Classification rules: from the config file, replaced through `PUT /api/v1/rules` (all or
//! nothing, with errors naming the rule and position), and reloaded on SIGHUP.

use serde_json::json;

use crate::harness::{
    client, get_json, post_events, reload_rules, start_durable_server, start_server, start_server_with,
};

const RULES: &str = r#"
[[classify]]
name = "404s are not errors"
when = 'type:exception "404"'
stop = true
[classify.set]
type = "404"
severity = "info"
tags = ["noise"]

[[classify]]
when = "type:exception"
[classify.set]
tags = ["exception"]
"#;

#[tokio::test]
async fn rules_from_the_config_classify_in_order_and_stop() {
    let server = start_server_with(RULES);
    let body = json!([
        {"type": "exception", "severity": "error", "message": "GET /missing answered 404"},
        {"type": "exception", "severity": "error", "message": "null pointer"},
    ]);
    post_events(&server, "application/json", body.to_string()).await;
    let (_, found) = get_json(&server, "/api/v1/events?q=type:404").await;
    let event = &found["events"][0];
    assert_eq!(event["severity"], "info");
    assert_eq!(event["tags"], json!(["noise"]), "the second rule did not run after stop");
    let (_, found) = get_json(&server, "/api/v1/events?q=tag:exception").await;
    assert_eq!(found["events"][0]["message"], "null pointer");
    let (_, rules) = get_json(&server, "/api/v1/rules").await;
    assert_eq!(rules["rules"][0]["name"], "404s are not errors");
    assert_eq!(rules["rules"][1]["when"], "type:exception");
}

#[tokio::test]
async fn put_replaces_rules_and_rejects_a_bad_rule_naming_it() {
    let server = start_server();
    let good = json!({"rules": [{"name": "landing", "when": "type:page_load fields.url:\"/\"", "set": {"type": "landing_page_load"}}]});
    let response = client().put(server.url("/api/v1/rules")).json(&good).send().await.unwrap();
    assert_eq!(response.status(), 200);
    post_events(
        &server,
        "application/json",
        json!({"type": "page_load", "fields": {"url": "/"}, "message": "x"}).to_string(),
    )
    .await;
    let (_, count) = get_json(&server, "/api/v1/count?q=type:landing_page_load").await;
    assert_eq!(count["count"], 1);

    let bad = json!([{"name": "fine", "when": "app:x"}, {"name": "broken", "when": "host:(a"}]);
    let response = client().put(server.url("/api/v1/rules")).json(&bad).send().await.unwrap();
    assert_eq!(response.status(), 400);
    let answer: serde_json::Value = response.json().await.unwrap();
    let error = answer["error"].as_str().unwrap();
    assert!(error.starts_with("invalid rule rules[1] (\"broken\").when: at position"), "{error}");
    let (_, rules) = get_json(&server, "/api/v1/rules").await;
    assert_eq!(rules["rules"][0]["name"], "landing", "a rejected PUT changes nothing");

    let response =
        client().put(server.url("/api/v1/rules")).body("{\"rules\": [{\"wen\": \"x\"}]}").send().await.unwrap();
    assert_eq!(response.status(), 400);
    let answer: serde_json::Value = response.json().await.unwrap();
    assert!(answer["error"].as_str().unwrap().contains("wen"), "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_rules_from_the_file() {
    let server = start_server();
    std::fs::write(&server.config_path, RULES).unwrap();
    tokio::task::block_in_place(|| reload_rules(&server));
    let (_, rules) = get_json(&server, "/api/v1/rules").await;
    assert_eq!(rules["rules"].as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_set_through_the_api_survive_a_restart_until_a_reload() {
    let data = tempfile::tempdir().unwrap();
    let server = start_durable_server(data.path(), RULES);
    let rules = json!([{"name": "only", "when": "app:x", "set": {"type": "x"}}]);
    let response = client().put(server.url("/api/v1/rules")).json(&rules).send().await.unwrap();
    assert_eq!(response.status(), 200);
    drop(server);

    let server = start_durable_server(data.path(), RULES);
    let (_, stored) = get_json(&server, "/api/v1/rules").await;
    assert_eq!(stored["rules"], json!([{"name": "only", "when": "app:x", "set": {"type": "x"}, "stop": false}]));

    // SIGHUP brings back the file's rules, also for the next start.
    tokio::task::block_in_place(|| reload_rules(&server));
    let (_, rules) = get_json(&server, "/api/v1/rules").await;
    assert_eq!(rules["rules"].as_array().map(Vec::len), Some(2));
    drop(server);
    let server = start_durable_server(data.path(), RULES);
    let (_, rules) = get_json(&server, "/api/v1/rules").await;
    assert_eq!(rules["rules"].as_array().map(Vec::len), Some(2));
}
