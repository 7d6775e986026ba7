//! Popcorn datagrams (one protobuf `Log_Message_Proto` per UDP datagram) into [`Event`]s
//! (DESIGN.md section 4, "Popcorn protobuf over UDP").
//!
//! Three layouts exist. The legacy v0 layout has no packet version: field 1 is the node, as a
//! string. From v1 on, field 1 is the packet version, a varint; so the wire type of field 1
//! tells v0 from the rest before anything is decoded (without field 1, the wire type of field
//! 5 does: the message in v0, the severity from v1 on). Versions other than 1 and 2 are
//! rejected (`unknown_version`); a datagram in the new layout without field 1 is read as v1.
//!
//! | wire (v1, v2) | wire (v0) | event |
//! |---|---|---|
//! | 2 `node` | 1 | `host` |
//! | 3 `node_role` | 2 | `app` |
//! | 4 `node_version` | 3 | `version` |
//! | 5 `severity` | 4 | `severity`, from the lager bitmask (1 emergency … 128 debug); missing: info |
//! | 6 `message` | 5 | `message` (required) |
//! | 7 `module`, 8 `function` | | `module`, `function` |
//! | 9 `line` | | `line` when it holds a number, else kept as text in `fields.line` |
//! | 10 `pid` | | `proc` |
//! | 11 `timestamp` | | v2: `time` (µs since the epoch, as text); v1: kept as sent in `fields.timestamp`, `time` is the arrival |
//! | 12 `client` | | `fields.client`: `account_token`, `type`, `version`, `os`, `os_version` |
//!
//! Empty strings mean absent everywhere. Text that is not UTF-8 is kept with U+FFFD in place of
//! the bad bytes rather than losing the datagram. Rejections, each with a counter label
//! ([`PopcornErrorKind::as_str`]): not protobuf (`malformed_protobuf`), an unknown packet
//! version, a severity that is not one lager bit (`unknown_severity`), a v2 timestamp that is
//! not a number (`invalid_time`), no message (`missing_message`).

mod message;
#[cfg(test)]
mod tests;

use std::fmt;

use prost::Message;
use serde_json::Value;

pub use message::{Client, LegacyLogMessage, LogMessage};

use crate::intern::Interner;
use crate::{Event, Fields, Severity, Source, Timestamp};

/// Why a datagram was rejected, as a small label for counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PopcornErrorKind {
    MalformedProtobuf,
    UnknownVersion,
    UnknownSeverity,
    InvalidTime,
    MissingMessage,
}

impl PopcornErrorKind {
    pub const ALL: [PopcornErrorKind; 5] = [
        PopcornErrorKind::MalformedProtobuf,
        PopcornErrorKind::UnknownVersion,
        PopcornErrorKind::UnknownSeverity,
        PopcornErrorKind::InvalidTime,
        PopcornErrorKind::MissingMessage,
    ];

    /// The counter label.
    pub fn as_str(self) -> &'static str {
        match self {
            PopcornErrorKind::MalformedProtobuf => "malformed_protobuf",
            PopcornErrorKind::UnknownVersion => "unknown_version",
            PopcornErrorKind::UnknownSeverity => "unknown_severity",
            PopcornErrorKind::InvalidTime => "invalid_time",
            PopcornErrorKind::MissingMessage => "missing_message",
        }
    }
}

impl fmt::Display for PopcornErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected datagram: a kind for counters and a detail for the (rate-limited) log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct PopcornError {
    pub kind: PopcornErrorKind,
    pub detail: String,
}

impl PopcornError {
    fn new(kind: PopcornErrorKind, detail: impl Into<String>) -> PopcornError {
        PopcornError { kind, detail: detail.into() }
    }
}

/// A datagram's bytes, for clients, tests and `sift bench`: `encode(&LogMessage { … })`.
pub fn encode(message: &impl Message) -> Vec<u8> {
    message.encode_to_vec()
}

/// Decodes one datagram. The event has `source = popcorn` and `received_at`; ids are left to
/// the pipeline.
pub fn decode(datagram: &[u8], received_at: Timestamp, interner: &mut Interner) -> Result<Event, PopcornError> {
    let malformed = |e: prost::DecodeError| {
        PopcornError::new(PopcornErrorKind::MalformedProtobuf, format!("not a Popcorn protobuf message: {e}"))
    };
    let (version, message) = if message::is_legacy(datagram) {
        let legacy = LegacyLogMessage::decode(datagram).map_err(malformed)?;
        (0, from_legacy(legacy))
    } else {
        let message = LogMessage::decode(datagram).map_err(malformed)?;
        match message.packet_version {
            None | Some(1) => (1, message),
            Some(2) => (2, message),
            Some(other) => {
                return Err(PopcornError::new(
                    PopcornErrorKind::UnknownVersion,
                    format!("unknown packet version {other}, expected 1 or 2 (or the legacy layout)"),
                ));
            }
        }
    };
    build(version, message, received_at, interner)
}

/// The legacy fields in their v1 places.
fn from_legacy(legacy: LegacyLogMessage) -> LogMessage {
    LogMessage {
        node: legacy.node,
        node_role: legacy.node_role,
        node_version: legacy.node_version,
        severity: legacy.severity,
        message: legacy.message,
        ..LogMessage::default()
    }
}

fn build(
    version: u8,
    wire: LogMessage,
    received_at: Timestamp,
    interner: &mut Interner,
) -> Result<Event, PopcornError> {
    let Some(message) = text(wire.message) else {
        // The legacy layout (v0) has no packet version, so its message is field 5.
        let detail = if version == 0 {
            "the datagram has no message (field 5)"
        } else {
            "the datagram has no message (field 6)"
        };
        return Err(PopcornError::new(PopcornErrorKind::MissingMessage, detail));
    };
    let mut event = Event::new(Source::Popcorn, received_at, message);
    event.severity = match wire.severity {
        None => Severity::Info,
        Some(mask) => Severity::from_lager(i64::from(mask)).ok_or_else(|| {
            PopcornError::new(
                PopcornErrorKind::UnknownSeverity,
                format!("unknown severity {mask}, expected a lager bitmask (1, 2, 4, 8, 16, 32, 64 or 128)"),
            )
        })?,
    };
    let mut shared = |bytes: Option<Vec<u8>>| text(bytes).map(|s| interner.intern(&s));
    event.host = shared(wire.node);
    event.app = shared(wire.node_role);
    event.version = shared(wire.node_version);
    event.module = shared(wire.module);
    event.function = shared(wire.function);
    event.proc = text(wire.pid).map(Into::into);
    let mut fields = Fields::new();
    if let Some(line) = text(wire.line) {
        match line.trim().parse::<u32>() {
            Ok(n) => event.line = Some(n),
            // A line that is not a number is still worth seeing; the event is not lost for it.
            Err(_) => {
                fields.insert("line".to_owned(), Value::String(line));
            }
        }
    }
    if let Some(timestamp) = text(wire.timestamp) {
        if version >= 2 {
            let micros = timestamp.trim().parse::<i64>().map_err(|_| {
                PopcornError::new(
                    PopcornErrorKind::InvalidTime,
                    format!("invalid timestamp {timestamp:?}, expected microseconds since the epoch"),
                )
            })?;
            event.time = Timestamp::from_micros(micros);
        } else {
            // Before v2 the field had no agreed meaning: keep it, but do not trust it as the time.
            fields.insert("timestamp".to_owned(), Value::String(timestamp));
        }
    }
    if let Some(client) = wire.client.map(client_fields).filter(|c| !c.is_empty()) {
        fields.insert("client".to_owned(), Value::Object(client));
    }
    event.fields = fields;
    Ok(event)
}

fn client_fields(client: Client) -> Fields {
    let parts = [
        ("account_token", client.account_token),
        ("type", client.r#type),
        ("version", client.version),
        ("os", client.os),
        ("os_version", client.os_version),
    ];
    parts.into_iter().filter_map(|(key, value)| Some((key.to_owned(), Value::String(text(value)?)))).collect()
}

/// A text field: `None` when missing or empty; invalid UTF-8 replaced.
fn text(bytes: Option<Vec<u8>>) -> Option<String> {
    let bytes = bytes.filter(|b| !b.is_empty())?;
    Some(String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}
