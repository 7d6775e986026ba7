//! OpenTelemetry log exports (OTLP/HTTP `POST /v1/logs` bodies, an `ExportLogsServiceRequest`
//! in protobuf or OTLP JSON) into [`Event`]s, and the answers OTLP prescribes
//! (DESIGN.md sections 3 and 4, "OTLP logs").
//!
//! The message types are `opentelemetry-proto`'s; its serde support reads OTLP JSON as the
//! specification writes it: lowerCamelCase keys, trace and span ids as hex (not base64),
//! 64-bit integers as strings or numbers, enums as integers, unknown keys ignored.
//!
//! # Mapping
//!
//! | event | from |
//! |---|---|
//! | `host`, `app`, `version` | resource attributes `host.name`, `service.name`, `service.version` |
//! | `time` | `time_unix_nano`, else `observed_time_unix_nano`, else the arrival |
//! | `severity` | `severity_number` (1-8 debug, 9-12 info, 13-16 warning, 17-20 error, 21-24 critical), else `severity_text` read as a severity name (`WARN`, `fatal`), else info |
//! | `message` | the body: a string as it is, any other value as JSON text |
//! | `type` | `event_name` |
//! | `function` | attribute `code.function.name`, else `code.function` |
//! | `module` | attribute `code.namespace` |
//! | `line` | attribute `code.line.number`, else `code.lineno` (when a whole number that fits) |
//! | `fields.<key>` | every other record attribute, under its own name (`fields.http.route`) |
//! | `fields.resource.<key>` | the other resource attributes (`fields.resource.telemetry.sdk.language`) |
//! | `fields.scope` | `name`, `version` and `attributes` of the instrumentation scope |
//! | `fields.trace_id`, `fields.span_id` | lowercase hex, when valid (16 and 8 bytes, not all zero) |
//! | `fields.trace_flags` | the W3C trace flags (`flags & 0xff`), when not 0 |
//! | `fields.severity_text` | `severity_text` as sent |
//!
//! Attribute values become JSON: strings, booleans, integers and doubles as themselves
//! (non-finite doubles as `"NaN"`, `"Infinity"`), arrays and key-value lists as arrays and
//! objects, bytes as base64. The keys sift writes itself (`resource`, `scope`, `trace_id`,
//! `span_id`, `trace_flags`, `severity_text`) win over record attributes of the same name.
//!
//! A record needs a body or an `event_name`, as a JSON event needs a message or a type; one
//! with neither is rejected (`missing_body`) and counted, and the others in the request are
//! kept. A body that does not decode at all is one error for the whole request.
//!
//! # Limits
//!
//! A request is decoded within [`Limits`] (see [`crate::limits`]), never whole: its records
//! (and its `ResourceLogs` and `ScopeLogs`) are counted first, and a request with more than
//! `max_items` of either is refused; then each resource, scope and record is decoded on its
//! own (`protobuf.rs`, `json_body.rs`). A record longer than `max_item_bytes` is rejected
//! unread (`record_too_large`). The resource's and scope's attributes are measured once, and a
//! record whose fields would be over `max_field_bytes` with them is rejected
//! (`fields_too_large`) before anything is copied into it, as are the records of a resource or
//! scope too long to be decoded. Every record is charged to the request's budget of
//! `max_decoded_bytes`, and a request over it is refused.

mod json_body;
mod map;
mod protobuf;
mod response;
#[cfg(test)]
mod tests;
mod value;

use std::fmt;

pub use response::{Status, code, export_response, status};

use crate::limits::{Exceeded, Limits};
use crate::{Event, Timestamp};

/// The two encodings of OTLP/HTTP, told apart by `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `application/x-protobuf`
    Protobuf,
    /// `application/json`
    Json,
}

impl Format {
    /// The `Content-Type` of this encoding, for answers in the request's own encoding.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Protobuf => "application/x-protobuf",
            Format::Json => "application/json",
        }
    }
}

/// Why a request or a record was rejected, as a small label for counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The body is not a protobuf `ExportLogsServiceRequest`.
    MalformedProtobuf,
    /// The body is not an OTLP JSON `ExportLogsServiceRequest`.
    MalformedJson,
    /// A record with neither a body nor an `event_name`.
    MissingBody,
    /// A record whose fields, with its resource's and scope's attributes, would be over
    /// `max_field_bytes`.
    FieldsTooLarge,
    /// A record longer than `max_item_bytes` as sent; not decoded.
    RecordTooLarge,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::MalformedProtobuf => "malformed_protobuf",
            ErrorKind::MalformedJson => "malformed_json",
            ErrorKind::MissingBody => "missing_body",
            ErrorKind::FieldsTooLarge => "fields_too_large",
            ErrorKind::RecordTooLarge => "record_too_large",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected request or record: a kind for counters and a message for the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OtlpError {
    pub kind: ErrorKind,
    pub message: String,
}

impl OtlpError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> OtlpError {
        OtlpError { kind, message: message.into() }
    }
}

/// One result per log record, in the order of the request (resource by resource, scope by
/// scope); a record's index is its position here.
pub type Records = Vec<Result<Event, OtlpError>>;

/// A request that was not decoded: malformed, or over a limit of the whole request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{0}")]
    Malformed(OtlpError),
    #[error("{0}")]
    Exceeded(Exceeded),
}

/// Decodes a body in either encoding, within `limits`.
pub fn decode(body: &[u8], format: Format, received_at: Timestamp, limits: &Limits) -> Result<Records, DecodeError> {
    match format {
        Format::Protobuf => decode_protobuf(body, received_at, limits),
        Format::Json => decode_json(body, received_at, limits),
    }
}

/// Decodes a protobuf `ExportLogsServiceRequest`. Every event gets `source = otlp` and
/// `received_at`; ids are left to the pipeline.
pub fn decode_protobuf(body: &[u8], received_at: Timestamp, limits: &Limits) -> Result<Records, DecodeError> {
    let malformed = |error: prost::DecodeError| {
        DecodeError::Malformed(OtlpError::new(
            ErrorKind::MalformedProtobuf,
            format!("not a protobuf ExportLogsServiceRequest: {error}"),
        ))
    };
    let counts = protobuf::count(body).map_err(malformed)?;
    let mut mapper = mapper(counts, received_at, limits)?;
    protobuf::walk(body, &mut mapper).map_err(|stop| match stop {
        protobuf::Stop::Malformed(error) => malformed(error),
        protobuf::Stop::Exceeded(exceeded) => DecodeError::Exceeded(exceeded),
    })?;
    Ok(mapper.finish())
}

/// Decodes an OTLP JSON `ExportLogsServiceRequest`.
pub fn decode_json(body: &[u8], received_at: Timestamp, limits: &Limits) -> Result<Records, DecodeError> {
    let malformed = |message: String| {
        DecodeError::Malformed(OtlpError::new(
            ErrorKind::MalformedJson,
            format!("not an OTLP JSON ExportLogsServiceRequest: {message}"),
        ))
    };
    let counts = json_body::count(body).map_err(malformed)?;
    let mut mapper = mapper(counts, received_at, limits)?;
    json_body::walk(body, &mut mapper).map_err(|stop| match stop {
        json_body::Stop::Malformed(message) => malformed(message),
        json_body::Stop::Exceeded(exceeded) => DecodeError::Exceeded(exceeded),
    })?;
    Ok(mapper.finish())
}

/// A mapper for a request of these counts, or the request refused for them.
fn mapper(counts: protobuf::Counts, received_at: Timestamp, limits: &Limits) -> Result<map::Mapper<'_>, DecodeError> {
    if counts.records > limits.max_items || counts.containers > limits.max_items {
        return Err(DecodeError::Exceeded(Exceeded::Items { limit: limits.max_items }));
    }
    Ok(map::Mapper::new(limits, received_at, counts.records))
}
