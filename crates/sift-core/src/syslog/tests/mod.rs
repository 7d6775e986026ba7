//! Data-driven tests of the syslog codecs: one line per case, the parsed event (or the error)
//! rendered as text. RFC 5424 in [`rfc5424`], RFC 3164 in [`rfc3164`], lines captured from real
//! clients in [`clients`], TCP framing in [`framing`] and Logplex bodies in [`logplex`].

mod clients;
mod framing;
mod logplex;
mod rfc3164;
mod rfc5424;

use std::fmt::Write;

use expect_test::Expect;

use crate::intern::Interner;
use crate::{Event, Source, Timestamp};

/// 2024-05-01T12:00:00Z: when every test message arrives.
const RECEIVED: Timestamp = Timestamp(1_714_564_800_000_000);

/// The event's parts, one `key=value` each; `time` only when it is not `received_at`.
fn render(event: &Event) -> String {
    let mut out = String::new();
    if event.time != RECEIVED {
        write!(out, "time={} ", event.time).unwrap();
    }
    let facility = event.facility.map_or("-".into(), |f| f.to_string());
    write!(out, "{facility}.{}", event.severity).unwrap();
    let strings = [("host", &event.host), ("app", &event.app), ("proc", &event.proc), ("msgid", &event.msgid)];
    for (name, value) in strings {
        if let Some(value) = value {
            write!(out, " {name}={value}").unwrap();
        }
    }
    if !event.fields.is_empty() {
        write!(out, " fields={}", serde_json::Value::Object(event.fields.clone())).unwrap();
    }
    write!(out, " message={:?}", event.message).unwrap();
    out
}

fn outcome(result: Result<Event, super::Malformed>) -> String {
    match result {
        Ok(event) => render(&event),
        Err(error) => format!("error {error}"),
    }
}

/// `parse` (format detected) on `message`.
fn check(message: &str, expect: Expect) {
    check_bytes(message.as_bytes(), expect);
}

fn check_bytes(message: &[u8], expect: Expect) {
    let parsed = super::parse(message, Source::SyslogUdp, RECEIVED, &mut Interner::default());
    expect.assert_eq(&outcome(parsed));
}

/// `parse_5424` (RFC 5424 only) on `message`.
fn check_5424(message: &str, expect: Expect) {
    let parsed = super::parse_5424(message.as_bytes(), Source::Logplex, RECEIVED, &mut Interner::default());
    expect.assert_eq(&outcome(parsed));
}
