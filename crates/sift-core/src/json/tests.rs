//! Tests for JSON bodies: one line per case, the decoded body rendered as text.

use std::fmt::Write;

use expect_test::{Expect, expect};

use super::*;
use crate::Source;

const RECEIVED: Timestamp = Timestamp(1_714_564_800_000_000); // 2024-05-01T12:00:00Z

/// The event's non-default parts, one `key=value` each.
fn render(event: &Event) -> String {
    let mut out = String::new();
    assert_eq!(event.source, Source::HttpJson);
    assert_eq!(event.received_at, RECEIVED);
    if event.time != RECEIVED {
        write!(out, " time={}", event.time).unwrap();
    }
    if &*event.channel != "default" {
        write!(out, " channel={}", event.channel).unwrap();
    }
    let strings = [
        ("host", &event.host),
        ("app", &event.app),
        ("version", &event.version),
        ("proc", &event.proc),
        ("msgid", &event.msgid),
        ("type", &event.kind),
        ("module", &event.module),
        ("function", &event.function),
        ("fingerprint", &event.fingerprint),
    ];
    for (name, value) in strings {
        if let Some(value) = value {
            write!(out, " {name}={value}").unwrap();
        }
    }
    if event.severity != Severity::Info {
        write!(out, " severity={}", event.severity).unwrap();
    }
    if let Some(facility) = event.facility {
        write!(out, " facility={facility}").unwrap();
    }
    if let Some(line) = event.line {
        write!(out, " line={line}").unwrap();
    }
    if !event.tags.is_empty() {
        write!(out, " tags={:?}", event.tags).unwrap();
    }
    if !event.fields.is_empty() {
        write!(out, " fields={}", serde_json::Value::Object(event.fields.clone())).unwrap();
    }
    write!(out, " message={:?}", event.message).unwrap();
    out
}

use crate::Severity;

fn decoded(body: &[u8], ndjson: bool) -> String {
    decoded_within(body, ndjson, &Limits::default())
}

fn decoded_within(body: &[u8], ndjson: bool, limits: &Limits) -> String {
    let decoded = match decode_body(body, ndjson, RECEIVED, limits) {
        Ok(decoded) => decoded,
        Err(exceeded) => return format!("refused: {}: {exceeded}\n", exceeded.as_str()),
    };
    let mut out = format!("{}\n", decoded.shape.as_str());
    for (index, item) in decoded.items.iter().enumerate() {
        match item {
            Ok(event) => writeln!(out, "{index}: ok{}", render(event)).unwrap(),
            Err(error) => writeln!(out, "{index}: {}: {}", error.kind, error.message).unwrap(),
        }
    }
    out
}

fn check(body: &str, expect: Expect) {
    expect.assert_eq(&decoded(body.as_bytes(), false));
}

fn check_ndjson(body: &str, expect: Expect) {
    expect.assert_eq(&decoded(body.as_bytes(), true));
}

fn check_bytes(body: &[u8], expect: Expect) {
    expect.assert_eq(&decoded(body, false));
}

#[test]
fn sift_shape() {
    check(
        r#"{"time":"2024-05-01T10:00:00.5+02:00","channel":"web","host":"web-1","app":"api","version":"1.2.3","proc":"42","msgid":"ID7","severity":"error","facility":16,"type":"exception","message":"boom","module":"cart","function":"add/2","line":54,"tags":["a","b"],"fingerprint":"abc","fields":{"user":"bob"}}"#,
        expect![[r#"
            object
            0: ok time=2024-05-01T08:00:00.5Z channel=web host=web-1 app=api version=1.2.3 proc=42 msgid=ID7 type=exception module=cart function=add/2 fingerprint=abc severity=error facility=16 line=54 tags=["a", "b"] fields={"user":"bob"} message="boom"
        "#]],
    );
}

#[test]
fn event_pipeline_shape() {
    check(
        r#"{"type":"page_load","hostname":"h1","tags":"web","additional_info":{"ms":120},"md5":"d41d8cd9","received_at":1714550400000}"#,
        expect![[r#"
            object
            0: ok time=2024-05-01T08:00:00Z host=h1 type=page_load fingerprint=d41d8cd9 tags=["web"] fields={"ms":120} message=""
        "#]],
    );
}

#[test]
fn popcorn_shape() {
    check(
        r#"{"packet_version":2,"node":"n1@host","role":"shop","version":"7","severity":8,"msg":"failed #checkout","module":"cart","function":"pay","line":"120","pid":"<0.1.0>","timestamp":"1714550400123456"}"#,
        expect![[r#"
            object
            0: ok time=2024-05-01T08:00:00.123456Z host=n1@host app=shop version=7 proc=<0.1.0> module=cart function=pay severity=error line=120 message="failed #checkout"
        "#]],
    );
    // Without packet_version, a number is a syslog severity.
    check(
        r#"{"severity":3,"message":"m"}"#,
        expect![[r#"
            object
            0: ok severity=error message="m"
        "#]],
    );
    check(
        r#"{"severity":3,"message":"m","packet_version":1}"#,
        expect![[r#"
            object
            0: unknown_severity: field "severity": unknown severity 3, expected a lager bitmask (1, 2, 4, 8, 16, 32, 64 or 128) with packet_version
        "#]],
    );
}

#[test]
fn severities() {
    let body = r#"[{"message":"m","severity":"WARN"},{"message":"m","level":"crit"},{"message":"m","severity":"5"},
        {"message":"m","severity":"loud"},{"message":"m","severity":9},{"message":"m","severity":null},
        {"message":"m","severity":true},{"message":"m","severity":""},{"message":"m","severity":2.5}]"#;
    check(
        body,
        expect![[r#"
            array
            0: ok severity=warning message="m"
            1: ok severity=critical message="m"
            2: ok severity=notice message="m"
            3: unknown_severity: item 3: field "severity": unknown severity "loud", expected one of emergency, alert, critical, error, warning, notice, info, debug (or 0-7)
            4: unknown_severity: item 4: field "severity": unknown severity 9, expected one of emergency, alert, critical, error, warning, notice, info, debug (or 0-7)
            5: ok message="m"
            6: invalid_field: item 6: field "severity": expected a severity name or number, found a boolean
            7: ok message="m"
            8: unknown_severity: item 8: field "severity": unknown severity 2.5, expected one of emergency, alert, critical, error, warning, notice, info, debug (or 0-7)
        "#]],
    );
}

#[test]
fn times() {
    let body = r#"[{"message":"s","time":1714550400},{"message":"s.f","time":1714550400.25},
        {"message":"ms","time":1714550400123},{"message":"us","time":1714550400123456},
        {"message":"str","time":"1714550400"},{"message":"rfc","time":"2024-05-01T08:00:00Z"},
        {"message":"bad","time":"yesterday"},{"message":"obj","time":{}},{"message":"huge","time":1e300},
        {"message":"null","time":null},{"message":"first wins","timestamp":1,"time":2,"received_at":3}]"#;
    check(
        body,
        expect![[r#"
            array
            0: ok time=2024-05-01T08:00:00Z message="s"
            1: ok time=2024-05-01T08:00:00.25Z message="s.f"
            2: ok time=2024-05-01T08:00:00.123Z message="ms"
            3: ok time=2024-05-01T08:00:00.123456Z message="us"
            4: ok time=2024-05-01T08:00:00Z message="str"
            5: ok time=2024-05-01T08:00:00Z message="rfc"
            6: invalid_time: item 6: field "time": invalid time "yesterday", expected RFC 3339 (2024-05-01T12:00:00Z) or a number of seconds, milliseconds or microseconds since the epoch
            7: invalid_field: item 7: field "time": expected a time, found an object
            8: invalid_time: item 8: field "time": invalid time 1e+300, expected RFC 3339 (2024-05-01T12:00:00Z) or a number of seconds, milliseconds or microseconds since the epoch
            9: ok message="null"
            10: ok time=1970-01-01T00:00:02Z fields={"timestamp":1,"received_at":3} message="first wins"
        "#]],
    );
}

#[test]
fn fast_rfc3339_agrees_with_jiff() {
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let mut checked = 0;
    for _ in 0..20_000 {
        let fraction = match next(4) {
            0 => String::new(),
            1 => format!(".{}", next(1000)),
            2 => format!(".{:06}", next(1_000_000)),
            _ => format!(".{:09}", next(1_000_000_000)),
        };
        let offset = match next(3) {
            0 => "Z".to_owned(),
            1 => format!("+{:02}:{:02}", next(25), next(61)),
            _ => format!("-{:02}:{:02}", next(24), next(60)),
        };
        let text = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}{offset}",
            1960 + next(500),
            next(14),
            next(33),
            next(25),
            next(61),
            next(61)
        );
        if let Some(fast) = values::rfc3339_fast(text.as_bytes()) {
            assert_eq!(Ok(fast), Timestamp::parse_rfc3339(&text), "{text}");
            checked += 1;
        }
    }
    assert!(checked > 5_000, "{checked}");
    for text in ["2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2024-05-01 12:00:00Z", "2024-05-01T12:00:00"] {
        let fast = values::rfc3339_fast(text.as_bytes());
        assert!(fast.is_none() || Ok(fast.unwrap()) == Timestamp::parse_rfc3339(text), "{text}");
    }
}

#[test]
fn unknown_keys_and_aliases_go_to_fields() {
    check(
        r#"{"message":"a","msg":"b","user":"bob","fields":{"user":"alice","n":1},"additional_info":{"n":2,"m":3},"id":"x"}"#,
        expect![[r#"
            object
            0: ok fields={"user":"alice","n":1,"m":3,"msg":"b","id":"x"} message="a"
        "#]],
    );
    // The alias first, the canonical key later: the canonical key still wins.
    check(
        r#"{"hostname":"h2","host":"h1","message":"m","host":"h3"}"#,
        expect![[r#"
            object
            0: ok host=h3 fields={"hostname":"h2"} message="m"
        "#]],
    );
}

#[test]
fn field_types() {
    let body = r#"[{"message":"m","pid":4242,"version":2.5,"line":"  7 "},{"message":"m","line":"abc"},
        {"message":"m","line":-1},{"message":"m","host":["a"]},{"message":"m","tags":["a",1]},
        {"message":"m","tags":{}},{"message":"m","fields":[1]},{"message":"m","fields":null,"x":1},
        {"message":"m","facility":"LOCAL3"},{"message":"m","facility":24},{"message":42},
        {"message":"","host":""},{"type":"t"},{"host":"h"},{"message":null,"type":""}]"#;
    check(
        body,
        expect![[r#"
            array
            0: ok version=2.5 proc=4242 line=7 message="m"
            1: invalid_field: item 1: field "line": expected a line number, found "abc"
            2: invalid_field: item 2: field "line": expected a line number, found -1
            3: invalid_field: item 3: field "host": expected a string, found an array
            4: invalid_field: item 4: field "tags": expected an array of strings, found a number at position 1
            5: invalid_field: item 5: field "tags": expected an array of strings, found an object
            6: invalid_field: item 6: field "fields": expected an object, found an array
            7: ok fields={"x":1} message="m"
            8: ok facility=19 message="m"
            9: invalid_field: item 9: field "facility": expected a syslog facility 0-23 or a name such as local0, found 24
            10: ok message="42"
            11: missing_field: item 11: missing field "message" (an event needs a message or a type)
            12: ok type=t message=""
            13: missing_field: item 13: missing field "message" (an event needs a message or a type)
            14: missing_field: item 14: missing field "message" (an event needs a message or a type)
        "#]],
    );
}

#[test]
fn one_bad_item_keeps_the_good_ones() {
    check(
        r#"[{"message":"a"}, 42, "x", [1], null, {"message":"b","severity":"loud"}, {"message":"c"}]"#,
        expect![[r#"
            array
            0: ok message="a"
            1: not_an_object: item 1: expected a JSON object, found a number
            2: not_an_object: item 2: expected a JSON object, found a string
            3: not_an_object: item 3: expected a JSON object, found an array
            4: not_an_object: item 4: expected a JSON object, found null
            5: unknown_severity: item 5: field "severity": unknown severity "loud", expected one of emergency, alert, critical, error, warning, notice, info, debug (or 0-7)
            6: ok message="c"
        "#]],
    );
}

#[test]
fn ndjson() {
    let body = "{\"message\":\"a\"}\n\n  \r\n{\"message\":}\n{\"message\":\"c\"} x\n[1]\r\n{\"message\":\"e\"}";
    check_ndjson(
        body,
        expect![[r#"
        ndjson
        0: ok message="a"
        1: malformed_json: line 4: expected value at column 12
        2: malformed_json: line 5: trailing characters at column 17
        3: not_an_object: line 6: expected a JSON object, found an array
        4: ok message="e"
    "#]],
    );
    // Detected without the content type too: the first line is a whole object.
    assert_eq!(decoded(body.as_bytes(), false), decoded(body.as_bytes(), true));
    check_ndjson(
        "",
        expect![[r#"
        ndjson
    "#]],
    );
}

#[test]
fn not_json_at_all() {
    check(
        "",
        expect![[r#"
        object
        0: malformed_json: empty body
    "#]],
    );
    check(
        "{\"message\":",
        expect![[r#"
        object
        0: malformed_json: EOF while parsing a value at line 1 column 11
    "#]],
    );
    check(
        "[{\"message\":\"a\"},",
        expect![[r#"
        array
        0: malformed_json: EOF while parsing a value at line 1 column 17
    "#]],
    );
    check(
        "{\n  \"message\": \"a\",\n}\n",
        expect![[r#"
        object
        0: malformed_json: trailing comma at line 3 column 1
    "#]],
    );
    check(
        "hello",
        expect![[r#"
        object
        0: malformed_json: expected value at line 1 column 1
    "#]],
    );
    check(
        "7",
        expect![[r#"
        object
        0: not_an_object: expected a JSON object, found a number
    "#]],
    );
    check(
        "{\"message\":\"a\"} {}",
        expect![[r#"
        object
        0: malformed_json: trailing characters at line 1 column 17
    "#]],
    );
    check(
        "[]",
        expect![[r#"
        array
    "#]],
    );
}

#[test]
fn pretty_printed_object_and_bom() {
    check(
        "\u{feff}{\n  \"message\": \"a\",\n  \"host\": \"h\"\n}\n",
        expect![[r#"
        object
        0: ok host=h message="a"
    "#]],
    );
}

#[test]
fn invalid_utf8_fails_only_its_item() {
    check_bytes(
        b"[{\"message\":\"a\"},{\"message\":\"b\xff\"},{\"message\":\"c\"}]",
        expect![[r#"
        array
        0: ok message="a"
        1: invalid_utf8: item 1: invalid UTF-8 at byte 30
        2: ok message="c"
    "#]],
    );
    check_bytes(
        b"{\"message\":\"a\"}\n{\"message\":\"\xe2\x82\"}\n{\"message\":\"c\"}",
        expect![[r#"
        ndjson
        0: ok message="a"
        1: invalid_utf8: line 2: invalid UTF-8 at byte 28
        2: ok message="c"
    "#]],
    );
    check_bytes(
        b"\xEF\xBB\xBF{\"message\":\"\xc0\"}",
        expect![[r#"
        object
        0: invalid_utf8: invalid UTF-8 at byte 15
    "#]],
    );
    check_bytes(
        b"[{\"message\":\"a\"}\xff]",
        expect![[r#"
        array
        0: invalid_utf8: invalid UTF-8 at byte 16
    "#]],
    );
}

#[test]
fn escapes_in_keys_and_values() {
    check(
        r#"{"mess\u0061ge":"caf\u00e9 \"q\"","\u0068ost":"h"}"#,
        expect![[r#"
        object
        0: ok host=h message="café \"q\""
    "#]],
    );
}

#[test]
fn nested_too_deeply() {
    let deep = |n: usize| format!("{{\"message\":\"m\",\"fields\":{{\"a\":{}1{}}}}}", "[".repeat(n), "]".repeat(n));
    let body = format!("[{},{}]", deep(100), deep(200));
    let decoded = decode_body(body.as_bytes(), false, RECEIVED, &Limits::default()).unwrap();
    assert_eq!(decoded.accepted(), 1);
    let error = decoded.items[1].as_ref().unwrap_err();
    expect![[r#"TooDeep: item 1: nested too deeply (more than 128 levels of arrays and objects)"#]]
        .assert_eq(&format!("{:?}: {}", error.kind, error.message));
    let bomb = "[".repeat(100_000);
    assert_eq!(decode_body(bomb.as_bytes(), false, RECEIVED, &Limits::default()).unwrap().accepted(), 0);
}

#[test]
fn error_kinds_have_distinct_labels() {
    let mut labels: Vec<_> = ItemErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), ItemErrorKind::ALL.len());
}

#[test]
fn mutated_bodies_never_panic() {
    let seeds: &[&[u8]] = &[
        br#"{"time":"2024-05-01T10:00:00Z","host":"h","severity":"error","message":"a #b @c","line":5,"tags":["x"],"fields":{"a":[1,{"b":null}]}}"#,
        br#"[{"packet_version":2,"severity":8,"timestamp":"1714550400123456","msg":"m"},{"type":"t","additional_info":{"x":1.5e3}}]"#,
        b"{\"message\":\"a\"}\n{\"message\":\"b\",\"level\":3}\n\n{\"md5\":\"x\",\"type\":\"y\"}\n",
    ];
    for body in super::mutate::mutations(seeds, 20_000) {
        for ndjson in [false, true] {
            let Ok(decoded) = decode_body(&body, ndjson, RECEIVED, &Limits::default()) else { continue };
            for item in &decoded.items {
                if let Err(error) = item {
                    assert!(!error.message.is_empty());
                }
            }
        }
    }
}

#[test]
fn repeated_hosts_and_apps_in_one_body_share_one_allocation() {
    let body = b"{\"message\":\"a\",\"host\":\"web-1\",\"app\":\"api\"}\n{\"message\":\"b\",\"host\":\"web-1\",\"app\":\"api\"}\n";
    let decoded = decode_body(body, true, Timestamp(0), &Limits::default()).unwrap();
    let events: Vec<&Event> = decoded.items.iter().map(|item| item.as_ref().expect("decoded")).collect();
    let (first, second) = (events[0], events[1]);
    assert!(std::sync::Arc::ptr_eq(first.host.as_ref().unwrap(), second.host.as_ref().unwrap()));
    assert!(std::sync::Arc::ptr_eq(first.app.as_ref().unwrap(), second.app.as_ref().unwrap()));
}

#[test]
fn r_invalid_utf8_lines_took_quadratic_time() {
    // Each item's first invalid byte was looked for from the start of a list of all of the
    // body's: 640 KB of such lines took 26 s. A million bytes here would take hours that way.
    let body = b"\xff\n".repeat(500_000);
    let decoded = decode_body(&body, true, RECEIVED, &Limits::none()).unwrap();
    assert_eq!(decoded.rejected(), 500_000);
    let last = decoded.items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(
        (last.kind, last.message.as_str()),
        (ItemErrorKind::InvalidUtf8, "line 500000: invalid UTF-8 at byte 999998")
    );
}

#[test]
fn invalid_utf8_is_found_where_it_is_in_each_item() {
    check_bytes(
        b"[{\"message\":\"\xff\xfe\"},{\"message\":\"ok\"},{\"message\":\"caf\xc3\xa9 \xe2\x82\"}]",
        expect![[r#"
            array
            0: invalid_utf8: item 0: invalid UTF-8 at byte 13
            1: ok message="ok"
            2: invalid_utf8: item 2: invalid UTF-8 at byte 53
        "#]],
    );
}

fn check_within(body: &str, ndjson: bool, limits: Limits, expect: Expect) {
    expect.assert_eq(&decoded_within(body.as_bytes(), ndjson, &limits));
}

#[test]
fn items_are_counted_before_they_are_decoded() {
    let two = Limits { max_items: 2, ..Limits::default() };
    check_within(
        r#"[{"message":"a"},{"message":"b"},{"message":"c"}]"#,
        false,
        two,
        expect![[r#"
            refused: too_many_items: the request holds more than 2 items (http.max_items); send them in smaller requests
        "#]],
    );
    check_within(
        r#"[{"message":"a"}, 3]"#,
        false,
        two,
        expect![[r#"
            array
            0: ok message="a"
            1: not_an_object: item 1: expected a JSON object, found a number
        "#]],
    );
    check_within(
        "{\"message\":\"a\"}\n\n{\"message\":\"b\"}\n \n{\"message\":\"c\"}\n",
        true,
        two,
        expect![[r#"
            refused: too_many_items: the request holds more than 2 items (http.max_items); send them in smaller requests
        "#]],
    );
    check_within(
        "{\"message\":\"a\"}\n\n{\"message\":\"b\"}\n \n",
        true,
        two,
        expect![[r#"
            ndjson
            0: ok message="a"
            1: ok message="b"
        "#]],
    );
}

#[test]
fn an_item_too_long_is_rejected_unread() {
    let short = Limits { max_item_bytes: 20, ..Limits::default() };
    check_within(
        r#"[{"message":"short"},{"message":"a little longer"}]"#,
        false,
        short,
        expect![[r#"
            array
            0: ok message="short"
            1: item_too_large: item 1: 29 bytes, over the limit of 20 bytes for one item
        "#]],
    );
    check_within(
        "{\"message\":\"short\"}\n{\"message\":\"a little longer\"}",
        true,
        short,
        expect![[r#"
            ndjson
            0: ok message="short"
            1: item_too_large: line 2: 29 bytes, over the limit of 20 bytes for one item
        "#]],
    );
    check_within(
        r#"{"message":"a little longer"}"#,
        false,
        short,
        expect![[r#"
            object
            0: item_too_large: 29 bytes, over the limit of 20 bytes for one item
        "#]],
    );
}

#[test]
fn decoded_items_are_charged_to_the_request() {
    let event = decode_body(br#"{"type":"a"}"#, false, RECEIVED, &Limits::default()).unwrap().items.remove(0).unwrap();
    let each = event.approx_bytes() + 16;
    let body = format!("[{}]", [r#"{"type":"a"}"#; 10].join(","));
    let ten = Limits { max_decoded_bytes: 10 * each, ..Limits::default() };
    assert_eq!(decode_body(body.as_bytes(), false, RECEIVED, &ten).map(|d| d.accepted()), Ok(10));
    let nine = Limits { max_decoded_bytes: 10 * each - 1, ..Limits::default() };
    assert_eq!(
        decode_body(body.as_bytes(), false, RECEIVED, &nine).map(|d| d.accepted()),
        Err(Exceeded::Decoded { limit: 10 * each - 1 })
    );
    // Rejections cost their place and their message too.
    let bad = "[1,1,1,1,1,1,1,1,1,1]";
    assert!(
        decode_body(bad.as_bytes(), false, RECEIVED, &Limits { max_decoded_bytes: 1000, ..Limits::default() }).is_err()
    );
}
