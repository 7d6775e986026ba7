//! JSON ingest: the three body shapes, the three object shapes, and every kind of bad input
//! answered with 400 or 413 naming the item and the reason, with good events in the same
//! batch kept.

use serde_json::{Value, json};

use crate::harness::{KEEP_EVERYTHING, get_json, messages, post_events, start_server, start_server_with};

#[tokio::test]
async fn one_object_an_array_and_ndjson_are_accepted() {
    let server = start_server();
    let (status, answer) = post_events(&server, "application/json", r#"{"message":"single","app":"api"}"#).await;
    assert_eq!((status, &answer), (200, &json!({"accepted": 1, "rejected": 0, "errors": []})));
    let (status, answer) =
        post_events(&server, "application/json", r#"[{"message":"first of array"},{"message":"second of array"}]"#)
            .await;
    assert_eq!((status, answer["accepted"].clone()), (200, json!(2)));
    let ndjson = "{\"message\":\"line one\"}\n{\"message\":\"line two\"}\n{\"message\":\"line three\"}\n";
    let (status, answer) = post_events(&server, "application/x-ndjson", ndjson).await;
    assert_eq!((status, answer["accepted"].clone()), (200, json!(3)));
    let (_, found) = get_json(&server, "/api/v1/events?limit=10").await;
    let mut found = messages(&found);
    found.sort();
    assert_eq!(found, ["first of array", "line one", "line three", "line two", "second of array", "single"]);
}

#[tokio::test]
async fn the_event_pipeline_and_popcorn_shapes_map_to_sift_fields() {
    let server = start_server();
    let body = json!([
        {"type": "page_load", "hostname": "web-7", "tags": ["frontend"], "additional_info": {"url": "/", "execution_time": 0.7},
         "md5": "abc123", "message": "page loaded"},
        {"packet_version": 2, "node": "node-1", "role": "calculator", "version": "1.2.3", "severity": 8,
         "message": "division by zero", "module": "calc", "function": "divide", "line": "54", "pid": "<0.42.0>"}
    ]);
    let (status, answer) = post_events(&server, "application/json", body.to_string()).await;
    assert_eq!(status, 200, "{answer}");
    let (_, found) = get_json(&server, "/api/v1/events?q=type:page_load").await;
    let event = &found["events"][0];
    assert_eq!(event["host"], "web-7");
    assert_eq!(event["tags"], json!(["frontend"]));
    assert_eq!(event["fields"]["url"], "/");
    assert_eq!(event["fingerprint"], "abc123");
    assert_eq!(event["source"], "http_json");
    assert_eq!(event["channel"], "default");
    let (_, found) = get_json(&server, "/api/v1/events?q=app:calculator").await;
    let event = &found["events"][0];
    assert_eq!(event["host"], "node-1");
    assert_eq!(event["version"], "1.2.3");
    assert_eq!(event["severity"], "error", "lager bitmask 8 is error");
    assert_eq!(event["module"], "calc");
    assert_eq!(event["function"], "divide");
    assert_eq!(event["line"], 54);
    assert_eq!(event["proc"], "<0.42.0>");
    assert_eq!(event["fingerprint"].as_str().map(str::len), Some(32), "errors get a fingerprint");
}

#[tokio::test]
async fn events_carry_section_3_names_severity_names_and_rfc3339_times() {
    let server = start_server_with(KEEP_EVERYTHING);
    let body = json!({"message": "hello @bob see #checkout", "time": "2026-01-02T03:04:05.678+01:00", "severity": "warn",
                      "host": "h", "app": "a", "version": "v", "proc": "12", "facility": 3, "line": 7,
                      "fields": {"a": {"b": 1}}});
    let (status, _) = post_events(&server, "application/json", body.to_string()).await;
    assert_eq!(status, 200);
    let (_, found) = get_json(&server, "/api/v1/events").await;
    let event = &found["events"][0];
    assert_eq!(event["time"], "2026-01-02T02:04:05.678Z");
    assert_eq!(event["severity"], "warning");
    assert_eq!(event["topics"], json!(["checkout"]));
    assert_eq!(event["identities"], json!(["bob"]));
    assert_eq!(event["fields"], json!({"a": {"b": 1}}));
    assert!(event["id"].as_str().is_some_and(|id| id.len() == 26), "a ULID");
    assert!(event["received_at"].as_str().is_some_and(|t| t.ends_with('Z')));
}

fn errors(answer: &Value) -> Vec<(u64, String)> {
    answer["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["index"].as_u64().expect("index"), e["error"].as_str().expect("error").to_owned()))
        .collect()
}

#[tokio::test]
async fn bad_items_are_rejected_by_index_and_reason_and_good_ones_kept() {
    let server = start_server_with("[pipeline]\nmax_message_bytes = 100\nmax_fields = 5\nmax_depth = 3\n");
    let deep = json!({"message": "deep", "fields": {"a": {"b": {"c": {"d": 1}}}}});
    let wide = json!({"message": "wide", "fields": {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}});
    let body = [
        r#"{"message":"good one"}"#.to_owned(),
        r#"{"message": "broken"#.to_owned(),
        r#"{"message":"loud","severity":"loud"}"#.to_owned(),
        format!(r#"{{"message":"{}"}}"#, "x".repeat(101)),
        deep.to_string(),
        wide.to_string(),
        r#"[1,2]"#.to_owned(),
        r#"{"message":"good two"}"#.to_owned(),
    ]
    .join("\n");
    let (status, answer) = post_events(&server, "application/x-ndjson", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["accepted"], 2);
    assert_eq!(answer["rejected"], 6);
    let errors = errors(&answer);
    let indexes: Vec<u64> = errors.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, [1, 2, 3, 4, 5, 6]);
    assert!(errors[1].1.contains("loud"), "{}", errors[1].1);
    assert!(errors[2].1.contains("101 bytes"), "{}", errors[2].1);
    assert!(errors[3].1.contains("nested"), "{}", errors[3].1);
    assert!(errors[4].1.contains("6 keys"), "{}", errors[4].1);
    let (_, found) = get_json(&server, "/api/v1/events").await;
    let mut found = messages(&found);
    found.sort();
    assert_eq!(found, ["good one", "good two"]);
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    let rejected = &stats["rejected"]["http_json"];
    assert_eq!(stats["events"]["rejected"], 6, "{stats}");
    assert_eq!(rejected["message_too_large"], 1, "{stats}");
    assert_eq!(rejected["too_many_fields"], 1, "{stats}");
    assert_eq!(rejected["fields_too_deep"], 1, "{stats}");
}

#[tokio::test]
async fn a_batch_with_nothing_good_is_a_400() {
    let server = start_server();
    let (status, answer) = post_events(&server, "application/json", "{not json").await;
    assert_eq!(status, 400);
    assert_eq!(answer["accepted"], 0);
    assert_eq!(answer["rejected"], 1);
    assert_eq!(errors(&answer)[0].0, 0);
    let (status, answer) = post_events(&server, "application/json", "").await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(errors(&answer), [(0, "empty body".to_owned())]);
}

#[tokio::test]
async fn invalid_utf8_is_named() {
    let server = start_server();
    let mut body = b"{\"message\":\"ok\"}\n{\"message\":\"bad ".to_vec();
    body.extend_from_slice(&[0xff, 0xfe]);
    body.extend_from_slice(b"\"}\n");
    let (status, answer) = post_events(&server, "application/x-ndjson", body).await;
    assert_eq!((status, answer["accepted"].clone()), (200, json!(1)), "{answer}");
    let errors = errors(&answer);
    assert_eq!(errors[0].0, 1);
    assert!(errors[0].1.to_lowercase().contains("utf-8"), "{}", errors[0].1);
}

#[tokio::test]
async fn deep_json_nesting_is_rejected_not_a_crash() {
    let server = start_server();
    let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (status, answer) = post_events(&server, "application/json", body).await;
    assert_eq!(status, 400, "{answer}");
    let (status, _) = get_json(&server, "/healthz").await;
    assert_eq!(status, 200, "the server survived");
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let server = start_server_with("[http]\nmax_body = \"1KiB\"\n");
    let body = format!(r#"{{"message":"{}"}}"#, "x".repeat(2000));
    let (status, answer) = post_events(&server, "application/json", body).await;
    assert_eq!(status, 413);
    assert!(answer["error"].as_str().is_some_and(|e| e.contains("1024 bytes")), "{answer}");
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    assert_eq!(stats["rejected"]["http_json"]["body_too_large"], 1, "{stats}");
    // A body without Content-Length (chunked) is cut off at the limit too.
    let chunks = futures_util::stream::iter((0..10).map(|_| Ok::<_, std::io::Error>(vec![b' '; 500])));
    let (status, _) = post_events(&server, "application/json", reqwest::Body::wrap_stream(chunks)).await;
    assert_eq!(status, 413);
}
