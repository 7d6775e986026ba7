//! Tests for OTLP log exports: requests in OTLP JSON (as the specification writes them) and
//! in protobuf, each record's event or error rendered as one line.

use std::fmt::Write;

use expect_test::{Expect, expect};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;

use prost::Message;

use super::*;
use crate::Source;
use crate::testing::render;

const RECEIVED: Timestamp = Timestamp(1_714_564_800_000_000); // 2024-05-01T12:00:00Z

fn rendered(result: Result<Records, DecodeError>) -> String {
    let records = match result {
        Ok(records) => records,
        Err(DecodeError::Malformed(error)) => return format!("{}: {}\n", error.kind, error.message),
        Err(DecodeError::Exceeded(exceeded)) => return format!("refused: {}: {exceeded}\n", exceeded.as_str()),
    };
    let mut out = String::new();
    for (index, record) in records.iter().enumerate() {
        match record {
            Ok(event) => {
                assert_eq!(event.source, Source::Otlp);
                writeln!(out, "{index}: ok{}", render(event, RECEIVED)).unwrap();
            }
            Err(error) => writeln!(out, "{index}: {}: {}", error.kind, error.message).unwrap(),
        }
    }
    out
}

fn check_json(body: &str, expect: Expect) {
    expect.assert_eq(&rendered(decode_json(body.as_bytes(), RECEIVED, &Limits::default())));
}

fn check_protobuf(request: &ExportLogsServiceRequest, expect: Expect) {
    expect.assert_eq(&rendered(decode_protobuf(&request.encode_to_vec(), RECEIVED, &Limits::default())));
}

fn string(s: &str) -> Option<AnyValue> {
    Some(AnyValue { value: Some(Any::StringValue(s.to_owned())) })
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue { key: key.to_owned(), value, ..KeyValue::default() }
}

fn request(resource: Vec<KeyValue>, records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: resource, ..Resource::default() }),
            scope_logs: vec![ScopeLogs { log_records: records, ..ScopeLogs::default() }],
            ..ResourceLogs::default()
        }],
    }
}

fn record(body: &str) -> LogRecord {
    LogRecord { body: string(body), ..LogRecord::default() }
}

/// The example of the OTLP specification's repository (`examples/logs.json`), as exporters
/// write OTLP JSON: camelCase, hex ids (upper case here), int64 as strings.
const SPEC_EXAMPLE: &str = r#"{
  "resourceLogs": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
    "scopeLogs": [{
      "scope": {"name": "my.library", "version": "1.0.0",
                "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}]},
      "logRecords": [{
        "timeUnixNano": "1544712660300000000",
        "observedTimeUnixNano": "1544712660300000000",
        "severityNumber": 10,
        "severityText": "Information",
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "body": {"stringValue": "Example log record"},
        "attributes": [
          {"key": "string.attribute", "value": {"stringValue": "some string"}},
          {"key": "boolean.attribute", "value": {"boolValue": true}},
          {"key": "int.attribute", "value": {"intValue": "10"}},
          {"key": "double.attribute", "value": {"doubleValue": 637.704}},
          {"key": "array.attribute", "value": {"arrayValue": {"values": [{"stringValue": "many"}, {"stringValue": "values"}]}}},
          {"key": "map.attribute", "value": {"kvlistValue": {"values": [{"key": "some.map.key", "value": {"stringValue": "some value"}}]}}}
        ]
      }]
    }]
  }]
}"#;

#[test]
fn the_specification_example_in_json() {
    check_json(
        SPEC_EXAMPLE,
        expect![[r#"
            0: ok time=2018-12-13T14:51:00.3Z app=my.service fields={"string.attribute":"some string","boolean.attribute":true,"int.attribute":10,"double.attribute":637.704,"array.attribute":["many","values"],"map.attribute":{"some.map.key":"some value"},"scope":{"name":"my.library","version":"1.0.0","attributes":{"my.scope.attribute":"some scope attribute"}},"trace_id":"5b8efff798038103d269b633813fc60c","span_id":"eee19b7ec3c1b174","severity_text":"Information"} message="Example log record"
        "#]],
    );
}

#[test]
fn json_specifics() {
    // Integers as numbers too, severity as an integer, lower-case hex, unknown keys ignored.
    check_json(
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":1714564740000000000,"severityNumber":17,
            "traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","flags":1,"futureField":3,
            "body":{"stringValue":"boom"},"attributes":[{"key":"n","value":{"intValue":7}}]}]}]}]}"#,
        expect![[r#"
            0: ok time=2024-05-01T11:59:00Z severity=error fields={"n":7,"trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"0102030405060708","trace_flags":1} message="boom"
        "#]],
    );
    check_json(r#"{}"#, expect![""]);
    check_json(r#"{"resourceLogs":[]}"#, expect![""]);
    check_json(
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{}]}]}]}"#,
        expect![[r#"
        0: missing_body: log record without a body or an event name
    "#]],
    );
    check_json(
        r#"[1,2]"#,
        expect![[r#"
        malformed_json: not an OTLP JSON ExportLogsServiceRequest: invalid type: integer `1`, expected a sequence at line 1 column 2
    "#]],
    );
    check_json(
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz"}]}]}]}"#,
        expect![[r#"
        malformed_json: not an OTLP JSON ExportLogsServiceRequest: odd number of digits at line 1 column 62
    "#]],
    );
    check_json(
        r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"soon"}]}]}]}"#,
        expect![[r#"
        malformed_json: not an OTLP JSON ExportLogsServiceRequest: invalid digit found in string at line 1 column 68
    "#]],
    );
}

#[test]
fn resource_and_code_attributes() {
    let resource = vec![
        kv("service.name", string("checkout")),
        kv("service.version", string("2.1.0")),
        kv("host.name", string("web-1")),
        kv("telemetry.sdk.language", string("python")),
    ];
    let newer = LogRecord {
        attributes: vec![
            kv("code.function.name", string("shop.cart.pay")),
            kv("code.line.number", Some(AnyValue { value: Some(Any::IntValue(54)) })),
            kv("code.file.path", string("/app/shop/cart.py")),
            kv("user.id", string("alice")),
        ],
        ..record("paid")
    };
    let older = LogRecord {
        attributes: vec![
            kv("code.function", string("pay")),
            kv("code.namespace", string("shop.cart")),
            kv("code.lineno", Some(AnyValue { value: Some(Any::IntValue(7)) })),
        ],
        ..record("paid again")
    };
    let odd_line = LogRecord {
        attributes: vec![kv("code.lineno", Some(AnyValue { value: Some(Any::IntValue(-3)) }))],
        ..record("odd line")
    };
    check_protobuf(
        &request(resource, vec![newer, older, odd_line]),
        expect![[r#"
        0: ok host=web-1 app=checkout version=2.1.0 function=shop.cart.pay line=54 fields={"user.id":"alice","code.file.path":"/app/shop/cart.py","resource":{"telemetry.sdk.language":"python"}} message="paid"
        1: ok host=web-1 app=checkout version=2.1.0 module=shop.cart function=pay line=7 fields={"resource":{"telemetry.sdk.language":"python"}} message="paid again"
        2: ok host=web-1 app=checkout version=2.1.0 fields={"code.lineno":-3,"resource":{"telemetry.sdk.language":"python"}} message="odd line"
    "#]],
    );
}

#[test]
fn severities() {
    let mut records = Vec::new();
    for number in [0, 1, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25] {
        records.push(LogRecord { severity_number: number, ..record(&format!("number {number}")) });
    }
    for text in ["WARN", "fatal", "Information", "loud"] {
        records.push(LogRecord { severity_text: text.to_owned(), ..record(&format!("text {text}")) });
    }
    records.push(LogRecord { severity_number: 9, severity_text: "ERROR".to_owned(), ..record("number wins") });
    check_protobuf(
        &request(Vec::new(), records),
        expect![[r#"
        0: ok message="number 0"
        1: ok severity=debug message="number 1"
        2: ok severity=debug message="number 8"
        3: ok message="number 9"
        4: ok message="number 12"
        5: ok severity=warning message="number 13"
        6: ok severity=warning message="number 16"
        7: ok severity=error message="number 17"
        8: ok severity=error message="number 20"
        9: ok severity=critical message="number 21"
        10: ok severity=critical message="number 24"
        11: ok message="number 25"
        12: ok severity=warning fields={"severity_text":"WARN"} message="text WARN"
        13: ok severity=critical fields={"severity_text":"fatal"} message="text fatal"
        14: ok fields={"severity_text":"Information"} message="text Information"
        15: ok fields={"severity_text":"loud"} message="text loud"
        16: ok fields={"severity_text":"ERROR"} message="number wins"
    "#]],
    );
}

#[test]
fn bodies_times_and_ids() {
    let kvlist = AnyValue {
        value: Some(Any::KvlistValue(opentelemetry_proto::tonic::common::v1::KeyValueList {
            values: vec![kv("order", Some(AnyValue { value: Some(Any::IntValue(12)) })), kv("ok", None)],
        })),
    };
    let records = vec![
        LogRecord { body: Some(kvlist), ..LogRecord::default() },
        LogRecord { body: Some(AnyValue { value: Some(Any::DoubleValue(f64::NAN)) }), ..LogRecord::default() },
        LogRecord { body: Some(AnyValue { value: Some(Any::BytesValue(vec![1, 2, 3])) }), ..LogRecord::default() },
        LogRecord { event_name: "user.login".to_owned(), ..LogRecord::default() },
        LogRecord { attributes: vec![kv("only", string("attributes"))], ..LogRecord::default() },
        LogRecord { body: string(""), ..LogRecord::default() },
        LogRecord { observed_time_unix_nano: 1_714_564_740_123_456_789, ..record("observed only") },
        LogRecord { time_unix_nano: 1, observed_time_unix_nano: 2_000_000, ..record("time wins") },
        LogRecord { trace_id: vec![0; 16], span_id: vec![1; 7], flags: 0x100, ..record("invalid ids") },
    ];
    check_protobuf(
        &request(Vec::new(), records),
        expect![[r#"
        0: ok message="{\"order\":12,\"ok\":null}"
        1: ok message="\"NaN\""
        2: ok message="\"AQID\""
        3: ok type=user.login message=""
        4: missing_body: log record without a body or an event name
        5: missing_body: log record without a body or an event name
        6: ok time=2024-05-01T11:59:00.123456Z message="observed only"
        7: ok time=1970-01-01T00:00:00Z message="time wins"
        8: ok message="invalid ids"
    "#]],
    );
}

#[test]
fn scopes_and_several_resources() {
    let first = ResourceLogs {
        resource: Some(Resource { attributes: vec![kv("service.name", string("a"))], ..Resource::default() }),
        scope_logs: vec![
            ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "shop.cart".to_owned(),
                    version: "1".to_owned(),
                    ..InstrumentationScope::default()
                }),
                log_records: vec![record("one")],
                ..ScopeLogs::default()
            },
            ScopeLogs { log_records: vec![record("two")], ..ScopeLogs::default() },
        ],
        ..ResourceLogs::default()
    };
    let second = ResourceLogs {
        scope_logs: vec![ScopeLogs { log_records: vec![record("three")], ..ScopeLogs::default() }],
        ..ResourceLogs::default()
    };
    check_protobuf(
        &ExportLogsServiceRequest { resource_logs: vec![first, second] },
        expect![[r#"
        0: ok app=a fields={"scope":{"name":"shop.cart","version":"1"}} message="one"
        1: ok app=a message="two"
        2: ok message="three"
    "#]],
    );
}

#[test]
fn garbage_protobuf() {
    expect![[r#"
        malformed_protobuf: not a protobuf ExportLogsServiceRequest: failed to decode Protobuf message: buffer underflow
    "#]]
    .assert_eq(&rendered(decode_protobuf(b"{\"resourceLogs\":[]}", RECEIVED, &Limits::default())));
    expect![[r#"
        malformed_protobuf: not a protobuf ExportLogsServiceRequest: failed to decode Protobuf message: ExportLogsServiceRequest.resource_logs: buffer underflow
    "#]].assert_eq(&rendered(decode_protobuf(b"\x0a\x05ab", RECEIVED, &Limits::default())));
    expect![""].assert_eq(&rendered(decode_protobuf(b"", RECEIVED, &Limits::default())));
}

#[test]
fn responses() {
    assert_eq!(export_response(0, "", Format::Json), b"{}");
    expect![[r#"{"partialSuccess":{"rejectedLogRecords":"2","errorMessage":"2 of 5 log records rejected"}}"#]]
        .assert_eq(&String::from_utf8(export_response(2, "2 of 5 log records rejected", Format::Json)).unwrap());
    let full = ExportLogsServiceResponse::decode(&*export_response(0, "", Format::Protobuf)).unwrap();
    assert_eq!(full.partial_success, None);
    let partial = ExportLogsServiceResponse::decode(&*export_response(2, "why", Format::Protobuf)).unwrap();
    let partial = partial.partial_success.unwrap();
    assert_eq!((partial.rejected_log_records, partial.error_message.as_str()), (2, "why"));
    expect![[r#"{"code":3,"message":"bad"}"#]]
        .assert_eq(&String::from_utf8(status(code::INVALID_ARGUMENT, "bad", Format::Json)).unwrap());
}

/// Decodes a request in both encodings within `limits`; both must give the same.
fn check_within(request: &ExportLogsServiceRequest, limits: Limits, expect: Expect) {
    let protobuf = rendered(decode_protobuf(&request.encode_to_vec(), RECEIVED, &limits));
    let json = serde_json::to_vec(request).unwrap();
    assert_eq!(rendered(decode_json(&json, RECEIVED, &limits)), protobuf, "JSON and protobuf differ");
    expect.assert_eq(&protobuf);
}

fn padded(bytes: usize) -> Vec<KeyValue> {
    vec![kv("service.name", string("shop")), kv("padding", string(&"a".repeat(bytes)))]
}

const SMALL: Limits = Limits { max_items: 4, max_item_bytes: 400, max_field_bytes: 300, max_decoded_bytes: 100_000 };

#[test]
fn r_otlp_resource_copied_into_every_record() {
    // A resource's attributes were copied into every record before any limit applied: one of
    // 1 MB and 8,000 records made 8 GB. A resource too long to decode rejects its records
    // unread; one over the bound on fields rejects each record before anything is copied.
    let records = vec![record("a"); 8000];
    let limits = Limits { max_items: 10_000, ..Limits::default() };
    let decoded = decode_protobuf(&request(padded(1 << 20), records).encode_to_vec(), RECEIVED, &limits).unwrap();
    assert_eq!(decoded.len(), 8000);
    let error = decoded[7999].as_ref().unwrap_err();
    expect![[r#"fields_too_large: the resource is 1048621 bytes, over the limit of 1048576 bytes: its attributes would put the record's fields over their limit (pipeline.max_field_bytes)"#]]
        .assert_eq(&format!("{}: {}", error.kind, error.message));
    check_within(
        &request(padded(180), vec![record("a"), record("b")]),
        SMALL,
        expect![[r#"
            0: fields_too_large: fields with the resource's attributes would take 323 bytes, over the limit of 300 bytes (pipeline.max_field_bytes)
            1: fields_too_large: fields with the resource's attributes would take 323 bytes, over the limit of 300 bytes (pipeline.max_field_bytes)
        "#]],
    );
    check_within(
        &request(padded(150), vec![record("a")]),
        SMALL,
        expect![[r#"
            0: ok app=shop fields={"resource":{"padding":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}} message="a"
        "#]],
    );
}

#[test]
fn a_records_own_attributes_count_with_the_resources() {
    let heavy = LogRecord { attributes: vec![kv("note", string(&"n".repeat(100)))], ..record("a") };
    let with_scope = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource { attributes: padded(100), ..Resource::default() }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope { name: "s".repeat(50), ..InstrumentationScope::default() }),
                log_records: vec![heavy, record("b")],
                ..ScopeLogs::default()
            }],
            ..ResourceLogs::default()
        }],
    };
    check_within(
        &with_scope,
        Limits { max_field_bytes: 500, ..SMALL },
        expect![[r#"
            0: fields_too_large: fields with the resource's and the scope's attributes would take 598 bytes, over the limit of 500 bytes (pipeline.max_field_bytes)
            1: ok app=shop fields={"resource":{"padding":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},"scope":{"name":"ssssssssssssssssssssssssssssssssssssssssssssssssss"}} message="b"
        "#]],
    );
    // The bound is measured as the pipeline measures the event's fields.
    let second = |max: usize| {
        let limits = Limits { max_field_bytes: max, ..SMALL };
        decode_protobuf(&with_scope.encode_to_vec(), RECEIVED, &limits).unwrap().swap_remove(1)
    };
    assert!(second(429).is_err());
    assert_eq!(second(430).map(|event| crate::event::fields_bytes(&event.fields)), Ok(430));
}

#[test]
fn records_are_counted_before_any_is_decoded() {
    check_within(
        &request(Vec::new(), vec![record("a"); 5]),
        SMALL,
        expect![[r#"
            refused: too_many_items: the request holds more than 4 items (http.max_items); send them in smaller requests
        "#]],
    );
    let empty_scopes = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs { scope_logs: vec![ScopeLogs::default(); 5], ..ResourceLogs::default() }],
    };
    check_within(
        &empty_scopes,
        SMALL,
        expect![[r#"
            refused: too_many_items: the request holds more than 4 items (http.max_items); send them in smaller requests
        "#]],
    );
    check_within(
        &request(Vec::new(), vec![record("a"); 4]),
        SMALL,
        expect![[r#"
        0: ok message="a"
        1: ok message="a"
        2: ok message="a"
        3: ok message="a"
    "#]],
    );
}

#[test]
fn a_record_too_long_is_rejected_unread() {
    // Its length as sent, which differs between the encodings.
    let long = request(Vec::new(), vec![record(&"x".repeat(500)), record("short")]);
    let protobuf = decode_protobuf(&long.encode_to_vec(), RECEIVED, &SMALL);
    expect![[r#"
        0: record_too_large: log record is 506 bytes, over the limit of 400 bytes for one record
        1: ok message="short"
    "#]]
    .assert_eq(&rendered(protobuf));
    let json = decode_json(&serde_json::to_vec(&long).unwrap(), RECEIVED, &SMALL);
    expect![[r#"
        0: record_too_large: log record is 703 bytes, over the limit of 400 bytes for one record
        1: ok message="short"
    "#]]
    .assert_eq(&rendered(json));
}

#[test]
fn decoded_records_are_charged_to_the_request() {
    // Each copy of a resource within the bound on fields passes, but not many of them.
    let limits = Limits { max_items: 1000, max_decoded_bytes: 20_000, ..SMALL };
    check_within(
        &request(padded(200), vec![record("a"); 1000]),
        limits,
        expect![[r#"
            refused: decoded_too_large: the events decoded from the request would take more than 20000 bytes (http.max_decoded_bytes); send fewer or smaller events per request
        "#]],
    );
}

#[test]
fn errors_inside_records_are_named_as_before() {
    // A body in which the third record's body is cut short, read whole by prost and here.
    let mut body = request(Vec::new(), vec![record("a"), record("b"), record("c")]).encode_to_vec();
    let last = body.len() - 1;
    body[last - 2] = 0x7f;
    let whole = ExportLogsServiceRequest::decode(&body[..]).unwrap_err().to_string();
    let walked = rendered(decode_protobuf(&body, RECEIVED, &Limits::default()));
    assert_eq!(walked, format!("malformed_protobuf: not a protobuf ExportLogsServiceRequest: {whole}\n"));
    for body in [
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[\n{},\n  {\"body\": 3}]}]}]}",
        "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{}, {\"traceId\": \"x\"}]}]}]}",
        "{\"resourceLogs\":[{\"resource\": {\n\"attributes\": 1}}]}",
    ] {
        let whole = serde_json::from_str::<ExportLogsServiceRequest>(body).unwrap_err().to_string();
        let walked = rendered(decode_json(body.as_bytes(), RECEIVED, &Limits::default()));
        assert_eq!(walked, format!("malformed_json: not an OTLP JSON ExportLogsServiceRequest: {whole}\n"));
    }
}
