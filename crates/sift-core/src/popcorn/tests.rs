//! Tests for Popcorn datagrams: each case a datagram built with the message structs (or raw
//! bytes), and the decoded event or error rendered as one line.

use expect_test::{Expect, expect};

use super::*;
use crate::testing::render;

const RECEIVED: Timestamp = Timestamp(1_714_564_800_000_000); // 2024-05-01T12:00:00Z

fn s(text: &str) -> Option<Vec<u8>> {
    Some(text.into())
}

fn v(version: u32, message: &str) -> LogMessage {
    LogMessage { packet_version: Some(version), message: s(message), ..LogMessage::default() }
}

fn decoded(datagram: &[u8]) -> String {
    match decode(datagram, RECEIVED, &mut Interner::default()) {
        Ok(event) => {
            assert_eq!(event.source, Source::Popcorn);
            format!("ok{}", render(&event, RECEIVED))
        }
        Err(error) => format!("{}: {}", error.kind, error.detail),
    }
}

fn check(message: &impl Message, expect: Expect) {
    expect.assert_eq(&decoded(&encode(message)));
}

fn check_bytes(datagram: &[u8], expect: Expect) {
    expect.assert_eq(&decoded(datagram));
}

fn full(version: u32) -> LogMessage {
    LogMessage {
        packet_version: Some(version),
        node: s("web-1"),
        node_role: s("checkout"),
        node_version: s("1.4.2"),
        severity: Some(8),
        message: s("payment failed for @alice"),
        module: s("payments"),
        function: s("charge/2"),
        line: s("54"),
        pid: s("<0.123.0>"),
        timestamp: s("1714564740000000"),
        client: None,
    }
}

#[test]
fn layouts() {
    check(
        &full(2),
        expect![[
            r#"ok time=2024-05-01T11:59:00Z host=web-1 app=checkout version=1.4.2 proc=<0.123.0> module=payments function=charge/2 severity=error line=54 message="payment failed for @alice""#
        ]],
    );
    check(
        &full(1),
        expect![[
            r#"ok host=web-1 app=checkout version=1.4.2 proc=<0.123.0> module=payments function=charge/2 severity=error line=54 fields={"timestamp":"1714564740000000"} message="payment failed for @alice""#
        ]],
    );
    check(
        &LegacyLogMessage {
            node: s("web-1"),
            node_role: s("checkout"),
            node_version: s("1.4.2"),
            severity: Some(16),
            message: s("slow response"),
        },
        expect![[r#"ok host=web-1 app=checkout version=1.4.2 severity=warning message="slow response""#]],
    );
    // Without field 1 (a v0 datagram without a node), field 5 tells the layouts apart.
    check(&LegacyLogMessage { message: s("x"), ..LegacyLogMessage::default() }, expect![[r#"ok message="x""#]]);
    check(
        &LegacyLogMessage {
            node_role: s("checkout"),
            severity: Some(8),
            message: s("x"),
            ..LegacyLogMessage::default()
        },
        expect![[r#"ok app=checkout severity=error message="x""#]],
    );
    check(
        &LogMessage { node_role: s("checkout"), severity: Some(8), message: s("y"), ..LogMessage::default() },
        expect![[r#"ok app=checkout severity=error message="y""#]],
    );
    check(&LogMessage { message: s("no version"), ..LogMessage::default() }, expect![[r#"ok message="no version""#]]);
    check(&LogMessage { packet_version: Some(1), node: s("a"), ..v(1, "m") }, expect![[r#"ok host=a message="m""#]]);
}

#[test]
fn unknown_versions() {
    check(&v(3, "m"), expect!["unknown_version: unknown packet version 3, expected 1 or 2 (or the legacy layout)"]);
    check(&v(99, "m"), expect!["unknown_version: unknown packet version 99, expected 1 or 2 (or the legacy layout)"]);
    check(&v(0, "m"), expect!["unknown_version: unknown packet version 0, expected 1 or 2 (or the legacy layout)"]);
}

#[test]
fn each_lager_severity() {
    let cases = [
        (1, expect!["ok severity=emergency message=\"m\""]),
        (2, expect!["ok severity=alert message=\"m\""]),
        (4, expect!["ok severity=critical message=\"m\""]),
        (8, expect!["ok severity=error message=\"m\""]),
        (16, expect!["ok severity=warning message=\"m\""]),
        (32, expect!["ok severity=notice message=\"m\""]),
        (64, expect!["ok message=\"m\""]),
        (128, expect!["ok severity=debug message=\"m\""]),
        (3, expect!["unknown_severity: unknown severity 3, expected a lager bitmask (1, 2, 4, 8, 16, 32, 64 or 128)"]),
        (0, expect!["unknown_severity: unknown severity 0, expected a lager bitmask (1, 2, 4, 8, 16, 32, 64 or 128)"]),
        (
            -8,
            expect!["unknown_severity: unknown severity -8, expected a lager bitmask (1, 2, 4, 8, 16, 32, 64 or 128)"],
        ),
    ];
    for (mask, expect) in cases {
        check(&LogMessage { severity: Some(mask), ..v(2, "m") }, expect);
    }
    check(&v(2, "no severity"), expect![[r#"ok message="no severity""#]]);
}

#[test]
fn client_sub_message() {
    let client = Client {
        account_token: s("acct-42"),
        r#type: s("ios"),
        version: s("3.1"),
        os: s("iOS"),
        os_version: s("17.4"),
    };
    check(
        &LogMessage { client: Some(client), ..v(2, "crash") },
        expect![[
            r#"ok fields={"client":{"account_token":"acct-42","type":"ios","version":"3.1","os":"iOS","os_version":"17.4"}} message="crash""#
        ]],
    );
    let partial = Client { os: s("Android"), account_token: s(""), ..Client::default() };
    check(
        &LogMessage { client: Some(partial), ..v(2, "m") },
        expect![[r#"ok fields={"client":{"os":"Android"}} message="m""#]],
    );
    check(&LogMessage { client: Some(Client::default()), ..v(2, "m") }, expect![[r#"ok message="m""#]]);
}

#[test]
fn empty_strings_are_absent() {
    let empty = LogMessage {
        packet_version: Some(2),
        node: s(""),
        node_role: s(""),
        node_version: s(""),
        severity: None,
        message: s("m"),
        module: s(""),
        function: s(""),
        line: s(""),
        pid: s(""),
        timestamp: s(""),
        client: None,
    };
    check(&empty, expect![[r#"ok message="m""#]]);
    check(&v(2, ""), expect!["missing_message: the datagram has no message (field 6)"]);
    check(
        &LogMessage { node: s("a"), ..LogMessage::default() },
        expect!["missing_message: the datagram has no message (field 6)"],
    );
}

#[test]
fn lines_and_times() {
    check(&LogMessage { line: s(" 12 "), ..v(2, "m") }, expect![[r#"ok line=12 message="m""#]]);
    check(&LogMessage { line: s("twelve"), ..v(2, "m") }, expect![[r#"ok fields={"line":"twelve"} message="m""#]]);
    check(&LogMessage { line: s("-1"), ..v(2, "m") }, expect![[r#"ok fields={"line":"-1"} message="m""#]]);
    check(
        &LogMessage { timestamp: s("yesterday"), ..v(2, "m") },
        expect![[r#"invalid_time: invalid timestamp "yesterday", expected microseconds since the epoch"#]],
    );
    check(
        &LogMessage { timestamp: s("yesterday"), ..v(1, "m") },
        expect![[r#"ok fields={"timestamp":"yesterday"} message="m""#]],
    );
}

#[test]
fn bytes_that_are_not_utf8_are_replaced() {
    check(
        &LogMessage { node: Some(b"web-\xff".to_vec()), message: Some(b"caf\xe9".to_vec()), ..v(2, "") },
        expect![[r#"ok host=web-� message="caf�""#]],
    );
}

#[test]
fn garbage() {
    check_bytes(b"", expect!["missing_message: the datagram has no message (field 6)"]);
    check_bytes(
        b"<13>1 2024-05-01T12:00:00Z host app - - - hello",
        expect![
            "malformed_protobuf: not a Popcorn protobuf message: failed to decode Protobuf message: LogMessage.module: invalid wire type: EndGroup (expected LengthDelimited)"
        ],
    );
    check_bytes(
        b"\x08",
        expect![
            "malformed_protobuf: not a Popcorn protobuf message: failed to decode Protobuf message: LogMessage.packet_version: invalid varint"
        ],
    );
    // Field 6 says 100 bytes follow, and 1 does.
    check_bytes(
        b"\x08\x02\x32\x64m",
        expect![
            "malformed_protobuf: not a Popcorn protobuf message: failed to decode Protobuf message: LogMessage.message: buffer underflow"
        ],
    );
    // Field 1 length-delimited (v0) but truncated.
    check_bytes(
        b"\x0a\x05we",
        expect![
            "malformed_protobuf: not a Popcorn protobuf message: failed to decode Protobuf message: LegacyLogMessage.node: buffer underflow"
        ],
    );
    check_bytes(
        &[0xff; 12],
        expect![
            "malformed_protobuf: not a Popcorn protobuf message: failed to decode Protobuf message: invalid varint"
        ],
    );
}

#[test]
fn repeated_hosts_share_one_allocation() {
    let mut interner = Interner::default();
    let datagram = encode(&full(2));
    let a = decode(&datagram, RECEIVED, &mut interner).unwrap();
    let b = decode(&datagram, RECEIVED, &mut interner).unwrap();
    assert!(std::sync::Arc::ptr_eq(a.host.as_ref().unwrap(), b.host.as_ref().unwrap()));
}
