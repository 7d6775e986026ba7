//! OpenTelemetry logs over OTLP/HTTP (`POST /v1/logs`): the real OpenTelemetry Python SDK and
//! its exporter, OTLP JSON from the specification with `curl`, and protobuf requests with a bad
//! record, a bad body, a wrong type and too much data.

use std::io::Write;
use std::process::Command;

use base64::Engine;
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::{Value, json};

use sift_core::otlp::Status;

use crate::harness::user_entry;
use crate::harness::{Server, client, enc, get_json, start_server, start_server_with};

/// The events matching `q`, newest first, as the search API answers them.
async fn search(server: &Server, q: &str, auth: Option<(&str, &str)>) -> Vec<Value> {
    let mut request = client().get(server.url(&format!("/api/v1/events?q={}&limit=100", enc(q))));
    if let Some((user, password)) = auth {
        request = request.basic_auth(user, Some(password));
    }
    let answer: Value = request.send().await.expect("search").json().await.expect("json");
    answer["events"].as_array().expect("events").clone()
}

async fn post(server: &Server, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    client().post(server.url("/v1/logs")).header("content-type", content_type).body(body).send().await.expect("post")
}

#[tokio::test]
async fn the_opentelemetry_python_sdk_exports_logs_with_auth_and_gzip() {
    let server = start_server_with(&user_entry("otel", "s3cret"));
    let token = base64::engine::general_purpose::STANDARD.encode("otel:s3cret");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/otel_sdk_logs.py");
    let output = Command::new("python3")
        .arg(script)
        .env("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", server.url("/v1/logs"))
        .env("OTEL_EXPORTER_OTLP_LOGS_HEADERS", format!("Authorization=Basic%20{token}"))
        .env("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "gzip")
        .output()
        .expect("python3 runs (scripts/test installs it with the OpenTelemetry SDK)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the SDK script failed:\n{stderr}");
    // The exporter reports a failed export on stderr and carries on; none may have failed.
    assert!(!stderr.contains("Failed to export"), "{stderr}");
    let ids: Vec<&str> = stdout.split_whitespace().collect();
    let [trace_id, span_id] = ids[..] else { panic!("expected trace and span ids, got {stdout:?}") };

    let auth = Some(("otel", "s3cret"));
    let events = search(&server, "app:checkout", auth).await;
    let messages: Vec<&str> = events.iter().map(|e| e["message"].as_str().unwrap_or("")).collect();
    assert_eq!(messages.len(), 3, "{events:?}");
    for expected in ["payment failed for @alice", "slow checkout: 2300 ms", "cart loaded"] {
        assert!(messages.contains(&expected), "{expected:?} not in {messages:?}");
    }
    let error = &search(&server, "severity:error", auth).await[0];
    assert_eq!(error["source"], "otlp");
    assert_eq!(
        (&error["host"], &error["app"], &error["version"]),
        (&json!("web-7"), &json!("checkout"), &json!("2.1.0"))
    );
    assert_eq!(error["identities"], json!(["alice"]));
    assert_eq!(error["fields"]["trace_id"], trace_id);
    assert_eq!(error["fields"]["span_id"], span_id);
    // W3C trace flags: sampled (1), and the SDK may add "random trace id" (2).
    assert!(error["fields"]["trace_flags"].as_u64().is_some_and(|flags| flags & 1 == 1), "{error}");
    assert_eq!(error["fields"]["order.id"], 1234);
    assert_eq!(error["fields"]["retry"], true);
    assert_eq!(error["fields"]["scope"]["name"], "shop.cart");
    assert_eq!(error["fields"]["resource"]["telemetry.sdk.language"], "python");
    assert_eq!(error["function"], "<module>");
    assert!(error["line"].as_u64().is_some_and(|line| line > 0), "{error}");

    // Attributes are queried under their own names; severities map from the SDK's numbers.
    assert_eq!(search(&server, "fields.order.id:1234", auth).await.len(), 1);
    assert_eq!(search(&server, &format!("fields.trace_id:{trace_id}"), auth).await.len(), 1);
    assert_eq!(search(&server, "app:checkout severity:warning", auth).await[0]["message"], "slow checkout: 2300 ms");
    assert_eq!(search(&server, "app:checkout severity:debug", auth).await[0]["message"], "cart loaded");

    let refused = post(&server, "application/x-protobuf", Vec::new()).await;
    assert_eq!(refused.status(), 401, "OTLP takes the same credentials as every other route");
}

/// The example of the OTLP specification's repository (`examples/logs.json`).
const SPEC_EXAMPLE: &str = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},
"scopeLogs":[{"scope":{"name":"my.library","version":"1.0.0","attributes":[{"key":"my.scope.attribute","value":{"stringValue":"some scope attribute"}}]},
"logRecords":[{"timeUnixNano":"1544712660300000000","observedTimeUnixNano":"1544712660300000000","severityNumber":10,"severityText":"Information",
"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","body":{"stringValue":"Example log record"},
"attributes":[{"key":"string.attribute","value":{"stringValue":"some string"}},{"key":"boolean.attribute","value":{"boolValue":true}},
{"key":"int.attribute","value":{"intValue":"10"}},{"key":"double.attribute","value":{"doubleValue":637.704}},
{"key":"array.attribute","value":{"arrayValue":{"values":[{"stringValue":"many"},{"stringValue":"values"}]}}},
{"key":"map.attribute","value":{"kvlistValue":{"values":[{"key":"some.map.key","value":{"stringValue":"some value"}}]}}}]}]}]}]}"#;

#[tokio::test]
async fn otlp_json_from_the_specification_with_curl() {
    let server = start_server();
    let output = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code} %{content_type}", "-H", "Content-Type: application/json"])
        .args(["--data-binary", SPEC_EXAMPLE, &server.url("/v1/logs")])
        .output()
        .expect("curl is installed (scripts/test installs it)");
    let answer = String::from_utf8_lossy(&output.stdout);
    assert_eq!(answer, "{}\n200 application/json", "a full success is an empty ExportLogsServiceResponse");

    let events = search(&server, "app:my.service", None).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    // The record's time is from 2018, outside the pipeline's window (a year back): as for any
    // source, the event is kept at its arrival and the time it was sent with in `fields`.
    assert_eq!(event["fields"]["_original_time"], "2018-12-13T14:51:00.3Z");
    assert_eq!(event["message"], "Example log record");
    assert_eq!(event["severity"], "info");
    assert_eq!(event["fields"]["trace_id"], "5b8efff798038103d269b633813fc60c");
    assert_eq!(event["fields"]["span_id"], "eee19b7ec3c1b174");
    assert_eq!(event["fields"]["int.attribute"], 10);
    assert_eq!(event["fields"]["array.attribute"], json!(["many", "values"]));
    assert_eq!(event["fields"]["map.attribute"], json!({"some.map.key": "some value"}));
    assert_eq!(event["fields"]["scope"]["attributes"]["my.scope.attribute"], "some scope attribute");
}

fn text(s: &str) -> Option<AnyValue> {
    Some(AnyValue { value: Some(any_value::Value::StringValue(s.to_owned())) })
}

fn export(records: Vec<LogRecord>) -> Vec<u8> {
    let resource = Resource {
        attributes: vec![KeyValue { key: "service.name".into(), value: text("billing"), ..KeyValue::default() }],
        ..Resource::default()
    };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource),
            scope_logs: vec![ScopeLogs { log_records: records, ..ScopeLogs::default() }],
            ..ResourceLogs::default()
        }],
    }
    .encode_to_vec()
}

#[tokio::test]
async fn protobuf_with_a_bad_record_answers_partial_success_and_keeps_the_rest() {
    let server = start_server();
    let records = vec![
        LogRecord { body: text("invoice sent"), severity_number: 9, ..LogRecord::default() },
        LogRecord { severity_number: 17, ..LogRecord::default() },
        LogRecord { body: text("card declined"), severity_number: 17, ..LogRecord::default() },
    ];
    let response = post(&server, "application/x-protobuf", export(records)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    let answer = ExportLogsServiceResponse::decode(response.bytes().await.unwrap()).expect("a protobuf answer");
    let partial = answer.partial_success.expect("partial_success");
    assert_eq!(partial.rejected_log_records, 1);
    assert_eq!(
        partial.error_message,
        "1 of 3 log records rejected; record 1: log record without a body or an event name"
    );
    let mut messages: Vec<Value> =
        search(&server, "app:billing", None).await.iter().map(|e| e["message"].clone()).collect();
    messages.sort_by_key(|m| m.to_string());
    assert_eq!(messages, [json!("card declined"), json!("invoice sent")]);
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    assert_eq!(stats["rejected"]["otlp"]["missing_body"], 1, "{stats}");
}

#[tokio::test]
async fn bad_bodies_types_and_sizes_are_refused_as_otlp_says() {
    let server = start_server_with("[http]\nmax_body = \"64KiB\"\n");

    let garbage = post(&server, "application/x-protobuf", b"\x0a\x05ab".to_vec()).await;
    assert_eq!(garbage.status(), 400);
    assert_eq!(garbage.headers()["content-type"], "application/x-protobuf");
    let status = Status::decode(garbage.bytes().await.unwrap()).expect("a google.rpc.Status");
    assert_eq!(status.code, 3, "INVALID_ARGUMENT");
    assert!(status.message.starts_with("not a protobuf ExportLogsServiceRequest"), "{}", status.message);

    let bad_json = post(&server, "application/json", b"{\"resourceLogs\": 3}".to_vec()).await;
    assert_eq!(bad_json.status(), 400);
    let answer: Value = bad_json.json().await.unwrap();
    assert_eq!(answer["code"], 3);
    assert!(answer["message"].as_str().unwrap().starts_with("not an OTLP JSON ExportLogsServiceRequest"), "{answer}");

    let plain = post(&server, "text/plain", b"hello".to_vec()).await;
    assert_eq!(plain.status(), 415);
    let answer: Value = plain.json().await.unwrap();
    assert!(answer["error"].as_str().unwrap().contains("application/x-protobuf or application/json"), "{answer}");

    let big = export(vec![LogRecord { body: text(&"x".repeat(70 << 10)), ..LogRecord::default() }]);
    assert_eq!(post(&server, "application/x-protobuf", big.clone()).await.status(), 413);

    // Small once compressed, too large once inflated: refused before it fills memory.
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(&big).unwrap();
    let compressed = gzip.finish().unwrap();
    assert!(compressed.len() < 64 << 10);
    let response = client()
        .post(server.url("/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(compressed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let status = Status::decode(response.bytes().await.unwrap()).unwrap();
    assert!(status.message.contains("once decompressed"), "{}", status.message);

    let not_gzip = client()
        .post(server.url("/v1/logs"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(not_gzip.status(), 400);

    // A body cut short (the client closes after half of what it declared) is a bad request,
    // not one too large.
    let cut_short = tokio::task::spawn_blocking({
        let addr = server.addr;
        move || {
            use std::io::Read;
            let mut socket = std::net::TcpStream::connect(addr).unwrap();
            let head =
                "POST /v1/logs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
            socket.write_all(format!("{head}{{\"resourceLogs\"").as_bytes()).unwrap();
            socket.shutdown(std::net::Shutdown::Write).unwrap();
            let mut answer = String::new();
            socket.read_to_string(&mut answer).unwrap();
            answer
        }
    })
    .await
    .unwrap();
    assert!(cut_short.starts_with("HTTP/1.1 400"), "{cut_short}");
    assert!(cut_short.contains("could not be read"), "{cut_short}");

    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    let rejected = &stats["rejected"]["otlp"];
    assert_eq!(rejected["body_unreadable"], 1, "{stats}");
    assert_eq!(rejected["malformed_protobuf"], 1, "{stats}");
    assert_eq!(rejected["malformed_json"], 1, "{stats}");
    assert_eq!(rejected["bad_gzip"], 1, "{stats}");
    assert_eq!(rejected["body_too_large"], 2, "{stats}");
}
