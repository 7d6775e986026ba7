//! Attacks on decoding (issue 15, findings 1, 6, 13 and 14): OTLP requests whose resource would
//! be copied into every record, JSON bodies of many tiny items, lines of invalid UTF-8, and
//! bodies over `http.max_body` from a client that only reads the answer once it has sent all.

use std::io::Write;
use std::process::Command;

use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::{Value, json};

use super::{assert_peak_rss_below, assert_serves_others, start_hostile_server};
use crate::harness::{Server, client, get_json};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(bytes).expect("gzip");
    gzip.finish().expect("gzip")
}

/// An OTLP export of `records` one-letter records under one resource whose one attribute
/// (besides `service.name`) is `attribute_bytes` long.
fn otlp_protobuf(attribute_bytes: usize, records: usize) -> Vec<u8> {
    let text = |s: String| Some(AnyValue { value: Some(any_value::Value::StringValue(s)) });
    let resource = Resource {
        attributes: vec![
            KeyValue { key: "service.name".into(), value: text("bomb".into()), ..KeyValue::default() },
            KeyValue { key: "padding".into(), value: text("a".repeat(attribute_bytes)), ..KeyValue::default() },
        ],
        ..Resource::default()
    };
    let record = LogRecord { body: text("x".into()), ..LogRecord::default() };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource),
            scope_logs: vec![ScopeLogs { log_records: vec![record; records], ..ScopeLogs::default() }],
            ..ResourceLogs::default()
        }],
    }
    .encode_to_vec()
}

/// The same export in OTLP JSON.
fn otlp_json(attribute_bytes: usize, records: usize) -> Vec<u8> {
    let record = r#"{"body":{"stringValue":"x"}}"#;
    format!(
        r#"{{"resourceLogs":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"bomb"}}}},{{"key":"padding","value":{{"stringValue":"{}"}}}}]}},"scopeLogs":[{{"logRecords":[{}]}}]}}]}}"#,
        "a".repeat(attribute_bytes),
        vec![record; records].join(",")
    )
    .into_bytes()
}

/// Posts a gzipped OTLP body and returns the status and the answer's body.
async fn post_otlp(url: String, content_type: &'static str, gzipped: Vec<u8>) -> (u16, Vec<u8>) {
    let response = client()
        .post(url)
        .header("content-type", content_type)
        .header("content-encoding", "gzip")
        .body(gzipped)
        .send()
        .await
        .expect("an answer to the OTLP post");
    (response.status().as_u16(), response.bytes().await.expect("answer body").to_vec())
}

/// `partial_success` of an OTLP answer in either encoding: rejected records and the message.
fn partial_success(content_type: &str, body: &[u8]) -> (i64, String) {
    if content_type == "application/json" {
        let answer: Value = serde_json::from_slice(body).expect("OTLP JSON answer");
        let partial = &answer["partialSuccess"];
        let rejected = partial["rejectedLogRecords"].as_str().and_then(|n| n.parse().ok()).unwrap_or(0);
        (rejected, partial["errorMessage"].as_str().unwrap_or_default().to_owned())
    } else {
        let answer = ExportLogsServiceResponse::decode(body).expect("OTLP protobuf answer");
        let partial = answer.partial_success.unwrap_or_default();
        (partial.rejected_log_records, partial.error_message)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r_otlp_resource_attribute_copied_into_every_record() {
    // Issue 15, finding 1: 1.9 KB gzipped, one 1 MB resource attribute and 8,000 records, was
    // copied into every record (8 GB) and killed the process. Four clients at once, two in
    // each encoding.
    let mut server = start_hostile_server("");
    let bodies = [
        ("application/x-protobuf", gzip(&otlp_protobuf(1 << 20, 8000))),
        ("application/json", gzip(&otlp_json(1 << 20, 8000))),
    ];
    assert!(bodies[0].1.len() < 4 << 10, "the bomb is {} bytes gzipped", bodies[0].1.len());
    let mut attacks = Vec::new();
    for (content_type, body) in bodies.iter().cycle().take(4) {
        attacks.push(tokio::spawn(post_otlp(server.url("/v1/logs"), content_type, body.clone())));
    }
    for (attack, (content_type, _)) in attacks.into_iter().zip(bodies.iter().cycle()) {
        let (status, body) = attack.await.expect("attack task");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let (rejected, message) = partial_success(content_type, &body);
        assert_eq!(rejected, 8000, "{message}");
        assert!(message.contains("pipeline.max_field_bytes"), "{message}");
    }
    assert_serves_others(&mut server, "four OTLP bombs").await;
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    assert_eq!(stats["rejected"]["otlp"]["fields_too_large"], 32_000, "{stats}");
    assert_peak_rss_below(&server, 150 << 20, "four OTLP bombs");
}

#[tokio::test(flavor = "multi_thread")]
async fn r_otlp_resource_under_the_field_limit_copied_into_100000_records() {
    // Each event passes the per-event bound, but 100,000 copies of a 60 KB resource would be
    // 6 GB: the request's decoded bytes are bounded, and it is refused once over them.
    let mut server = start_hostile_server("");
    let bodies = [
        ("application/x-protobuf", gzip(&otlp_protobuf(60_000, 100_000))),
        ("application/json", gzip(&otlp_json(60_000, 100_000))),
    ];
    let mut attacks = Vec::new();
    for (content_type, body) in bodies.iter().cycle().take(4) {
        attacks.push(tokio::spawn(post_otlp(server.url("/v1/logs"), content_type, body.clone())));
    }
    for attack in attacks {
        let (status, body) = attack.await.expect("attack task");
        assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
        assert!(String::from_utf8_lossy(&body).contains("http.max_decoded_bytes"));
    }
    assert_serves_others(&mut server, "four OTLP requests copying a 60 KB resource 100,000 times").await;
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    assert_eq!(stats["rejected"]["otlp"]["decoded_too_large"], 4, "{stats}");
    assert_peak_rss_below(&server, 400 << 20, "four OTLP requests copying a 60 KB resource 100,000 times");
}

/// A JSON array of `{"type":"a"}` items, about `bytes` long.
fn tiny_items(bytes: usize) -> Vec<u8> {
    let item = br#"{"type":"a"}"#;
    let count = bytes / (item.len() + 1);
    let mut body = Vec::with_capacity(count * (item.len() + 1) + 1);
    body.push(b'[');
    for i in 0..count {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(item);
    }
    body.push(b']');
    body
}

/// Posts four 15.6 MB arrays of `{"type":"a"}` at once and checks that each is refused with 413
/// naming `limit`.
async fn four_arrays_of_tiny_items_refused_for(server: &Server, limit: &str) {
    let body = tiny_items(15_600_000);
    let mut attacks = Vec::new();
    for _ in 0..4 {
        let request = client().post(server.url("/api/v1/events")).header("content-type", "application/json");
        attacks.push(tokio::spawn(request.body(body.clone()).send()));
    }
    for attack in attacks {
        let response = attack.await.expect("attack task").expect("an answer");
        assert_eq!(response.status(), 413);
        let answer: Value = response.json().await.expect("a JSON answer");
        assert_eq!(answer["detail"]["limit"], limit, "{answer}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn r_a_json_array_of_tiny_items_took_60_times_its_size() {
    // Issue 15, finding 13: a 15.6 MB array of {"type":"a"} peaked at 940 MB. Four at once.
    let mut server = start_hostile_server("");
    four_arrays_of_tiny_items_refused_for(&server, "http.max_items").await;
    assert_serves_others(&mut server, "four 15.6 MB arrays of tiny items").await;
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    assert_eq!(stats["rejected"]["http_json"]["too_many_items"], 4, "{stats}");
    assert_eq!(stats["requests_rejected"]["too_many_items"], 4, "{stats}");
    assert_peak_rss_below(&server, 200 << 20, "four 15.6 MB arrays of tiny items");
}

#[tokio::test(flavor = "multi_thread")]
async fn r_many_tiny_items_under_the_item_limit_are_decoded_within_the_budget() {
    // With the item limit raised out of the way, the same arrays are decoded up to the
    // request's budget of decoded bytes and refused there; decodes run a few at a time.
    let mut server = start_hostile_server("[http]\nmax_items = 2000000\n");
    four_arrays_of_tiny_items_refused_for(&server, "http.max_decoded_bytes").await;
    assert_serves_others(&mut server, "four 15.6 MB arrays of tiny items, decoded").await;
    assert_peak_rss_below(&server, 450 << 20, "four 15.6 MB arrays of tiny items, decoded");
}

#[tokio::test(flavor = "multi_thread")]
async fn r_lines_of_invalid_utf8_took_quadratic_time() {
    // Issue 15, finding 6: 640 KB of "\xff\n" lines took 26 s of one core, each line's error
    // looked up from the start of a list of every invalid byte in the body.
    let mut server = start_hostile_server(
        "[http]\nmax_items = 1000000\nmax_decoded_bytes = \"1GiB\"\nmax_decoding_bytes = \"1GiB\"\n",
    );
    let body = b"\xff\n".repeat(320_000);
    let response = client()
        .post(server.url("/api/v1/events"))
        .header("content-type", "application/x-ndjson")
        .timeout(super::PROMPTLY)
        .body(body)
        .send()
        .await
        .expect("an answer within 10 s (a liveness bound, not a measure of speed)");
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.expect("a JSON answer");
    assert_eq!(answer["rejected"], 320_000, "{}", answer["errors"][0]);
    assert_eq!(answer["errors"][999]["error"], "line 1000: invalid UTF-8 at byte 1998");
    assert_serves_others(&mut server, "320,000 lines of invalid UTF-8").await;
    assert_peak_rss_below(&server, 350 << 20, "320,000 lines of invalid UTF-8");
}

#[tokio::test(flavor = "multi_thread")]
async fn python_urllib_reads_the_413_of_a_body_over_the_limit() {
    // Issue 15, finding 14: a client that sends its whole body before it reads the answer
    // (Python's urllib) saw "Broken pipe", not the 413: sift closed the connection unread.
    let mut server = start_hostile_server("[http]\nmax_body = \"1MiB\"\n");
    let script = r#"
import json, sys, urllib.error, urllib.request
request = urllib.request.Request(sys.argv[1], data=b"x" * (8 << 20), headers={"Content-Type": sys.argv[2]})
try:
    urllib.request.urlopen(request, timeout=30)
    print("accepted")
except urllib.error.HTTPError as error:
    print(error.code, json.dumps(json.load(error)))
"#;
    let routes =
        [("/api/v1/events", "application/json"), ("/v1/logs", "application/json"), ("/logs", "application/logplex-1")];
    for (path, content_type) in routes {
        let output = Command::new("python3")
            .args(["-c", script, &server.url(path), content_type])
            .output()
            .expect("python3 runs (scripts/test installs it)");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{path}: {}", String::from_utf8_lossy(&output.stderr));
        let (status, answer) = stdout.trim().split_once(' ').unwrap_or_else(|| panic!("{path}: {stdout}"));
        assert_eq!(status, "413", "{path}: {stdout}");
        let answer: Value = serde_json::from_str(answer).expect("a JSON answer");
        if path == "/v1/logs" {
            // OTLP answers with a google.rpc.Status in the request's encoding.
            assert_eq!(answer["code"], 8, "RESOURCE_EXHAUSTED: {answer}");
            assert!(answer["message"].as_str().is_some_and(|m| m.contains("http.max_body")), "{answer}");
        } else {
            assert!(answer["error"].as_str().is_some_and(|e| e.contains("http.max_body")), "{path}: {answer}");
            assert_eq!(answer["detail"]["limit"], json!("http.max_body"), "{path}: {answer}");
        }
    }
    assert_serves_others(&mut server, "three bodies over the limit").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_in_flight_are_bounded_and_a_request_without_room_is_answered_503() {
    // One client holds most of http.max_inflight_bytes with a body it does not finish; another
    // finds no room, waits a few seconds and is told to retry. Nothing is buffered beyond it.
    let mut server = start_hostile_server("[http]\nmax_body = \"1MiB\"\nmax_inflight_bytes = \"1MiB\"\n");
    let mut holder = std::net::TcpStream::connect(server.addr).expect("connect");
    holder.set_read_timeout(Some(std::time::Duration::from_secs(60))).expect("a bound on the wait for an answer");
    let head = "POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n";
    holder.write_all(head.as_bytes()).expect("send head");
    holder.write_all(&vec![b' '; 700_000]).expect("send most of the body");
    let deadline = std::time::Instant::now() + super::PROMPTLY;
    let held = loop {
        let (_, stats) = get_json(&server, "/api/v1/stats").await;
        let held = stats["intake"]["inflight_bytes"].as_u64().unwrap_or(0);
        if held >= 700_000 || std::time::Instant::now() > deadline {
            break held;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(held, 1_000_000, "room given as the body came, up to its declared length");

    let refused = client()
        .post(server.url("/api/v1/events"))
        .header("content-type", "application/json")
        .body(vec![b' '; 300_000])
        .send()
        .await
        .expect("an answer");
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let answer: Value = refused.json().await.expect("a JSON answer");
    assert_eq!(answer["detail"], json!({"reason": "busy", "limit": "http.max_inflight_bytes", "max": 1 << 20}));

    holder.write_all(&vec![b' '; 300_000]).expect("send the rest");
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut holder, &mut answer).expect("the holder's answer");
    assert!(answer.starts_with("HTTP/1.1 400"), "a body of spaces is no event: {answer}");
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    assert_eq!(stats["intake"]["inflight_bytes"], 0, "{stats}");
    assert_eq!(stats["rejected"]["http_json"]["busy"], 1, "{stats}");
    assert_eq!(stats["protocols"]["http_json"]["dropped"]["busy"], 1, "counted as dropped, not malformed: {stats}");
    assert_eq!(stats["requests_rejected"]["busy"], 1, "{stats}");
    assert_serves_others(&mut server, "a client holding the bodies' room").await;
    assert_peak_rss_below(&server, 150 << 20, "a client holding the bodies' room");
}

#[tokio::test(flavor = "multi_thread")]
async fn r_sixteen_clients_of_tiny_items_share_the_decoding_bound() {
    // Each request is within every limit of its own (about 92,000 items, 37 MB once decoded),
    // and there are as many as there are decode turns: what they decode together is bounded
    // by http.max_decoding_bytes, the others waiting for room (or told to retry).
    let mut server = start_hostile_server("[ring]\nmax_bytes = \"32MiB\"\n");
    let body = tiny_items(1_200_000);
    let mut clients = Vec::new();
    for _ in 0..16 {
        let request = client().post(server.url("/api/v1/events")).header("content-type", "application/json");
        clients.push(tokio::spawn(request.body(body.clone()).send()));
    }
    let mut statuses = Vec::new();
    for answer in clients {
        statuses.push(answer.await.expect("client task").expect("an answer").status().as_u16());
    }
    assert!(statuses.iter().all(|s| [200, 503].contains(s)), "{statuses:?}");
    assert!(statuses.contains(&200), "{statuses:?}");
    assert_serves_others(&mut server, "sixteen clients of tiny items").await;
    assert_peak_rss_below(&server, 450 << 20, "sixteen clients of tiny items");
}
