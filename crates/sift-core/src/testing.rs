//! Test helpers shared by the codecs' data-driven tests: an event rendered as one line of
//! `key=value` parts, leaving out what every event of a test has in common.

use std::fmt::Write;

use crate::{Event, Severity, Timestamp};

/// The event's non-default parts: `time` only when it differs from `received`, `severity`
/// only when not info, then `fields` as JSON and the message.
pub(crate) fn render(event: &Event, received: Timestamp) -> String {
    let mut out = String::new();
    assert_eq!(event.received_at, received);
    if event.time != received {
        write!(out, " time={}", event.time).unwrap();
    }
    let strings = [
        ("host", &event.host),
        ("app", &event.app),
        ("version", &event.version),
        ("proc", &event.proc),
        ("type", &event.kind),
        ("module", &event.module),
        ("function", &event.function),
    ];
    for (name, value) in strings {
        if let Some(value) = value {
            write!(out, " {name}={value}").unwrap();
        }
    }
    if event.severity != Severity::Info {
        write!(out, " severity={}", event.severity).unwrap();
    }
    if let Some(line) = event.line {
        write!(out, " line={line}").unwrap();
    }
    if !event.fields.is_empty() {
        write!(out, " fields={}", serde_json::Value::Object(event.fields.clone())).unwrap();
    }
    write!(out, " message={:?}", event.message).unwrap();
    out
}
