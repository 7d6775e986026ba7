//! A protobuf `ExportLogsServiceRequest` walked level by level (request, `ResourceLogs`,
//! `ScopeLogs`) over the body as it is, so that a request is never decoded whole: its records
//! are counted first, then each resource, scope and record is decoded on its own with prost
//! (those longer than a record may be are not decoded at all) and handed to the [`Mapper`].
//! Decoding the whole request at once would hold a prost struct of about 200 bytes for each
//! record of 2 bytes on the wire, before any limit could apply.
//!
//! The outer levels are read with prost's own wire functions, and errors are named as prost
//! names them (`ExportLogsServiceRequest.resource_logs: buffer underflow`).

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::encoding::{DecodeContext, WireType, check_wire_type, decode_key, decode_varint, skip_field, string};
use prost::{DecodeError, Message};

use super::map::Mapper;
use crate::limits::Exceeded;

const REQUEST: &str = "ExportLogsServiceRequest";
const RESOURCE_LOGS: &str = "ResourceLogs";
const SCOPE_LOGS: &str = "ScopeLogs";

/// The fields read at each level: tag, name, and whether it holds a message (else a string).
const REQUEST_FIELDS: &[(u32, &str, bool)] = &[(1, "resource_logs", true)];
const RESOURCE_LOGS_FIELDS: &[(u32, &str, bool)] =
    &[(1, "resource", true), (2, "scope_logs", true), (3, "schema_url", false)];
const SCOPE_LOGS_FIELDS: &[(u32, &str, bool)] =
    &[(1, "scope", true), (2, "log_records", true), (3, "schema_url", false)];

/// Why a walk stopped.
pub(super) enum Stop {
    Malformed(DecodeError),
    Exceeded(Exceeded),
}

impl From<DecodeError> for Stop {
    fn from(error: DecodeError) -> Stop {
        Stop::Malformed(error)
    }
}

/// An error inside a field, named with the field as prost names it.
trait Within {
    fn within(self, message: &'static str, field: &'static str) -> Self;
}

impl Within for DecodeError {
    fn within(mut self, message: &'static str, field: &'static str) -> DecodeError {
        self.push(message, field);
        self
    }
}

impl Within for Stop {
    fn within(self, message: &'static str, field: &'static str) -> Stop {
        match self {
            Stop::Malformed(error) => Stop::Malformed(error.within(message, field)),
            exceeded => exceeded,
        }
    }
}

/// Containers (`ResourceLogs`, `ScopeLogs`) and log records in a request.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counts {
    pub containers: usize,
    pub records: usize,
}

/// Counts a request's containers and records, checking the outer levels' framing.
pub(super) fn count(body: &[u8]) -> Result<Counts, DecodeError> {
    let mut counts = Counts::default();
    fields(REQUEST, body, REQUEST_FIELDS, |_, resource_logs| {
        counts.containers += 1;
        fields(RESOURCE_LOGS, resource_logs, RESOURCE_LOGS_FIELDS, |tag, scope_logs| {
            if tag == 2 {
                counts.containers += 1;
                fields(SCOPE_LOGS, scope_logs, SCOPE_LOGS_FIELDS, |tag, _| {
                    counts.records += usize::from(tag == 2);
                    Ok::<_, DecodeError>(())
                })?;
            }
            Ok::<_, DecodeError>(())
        })
    })?;
    Ok(counts)
}

/// Hands every record of the request, in order, to `mapper`, with its resource and scope.
pub(super) fn walk(body: &[u8], mapper: &mut Mapper) -> Result<(), Stop> {
    let max = mapper.max_item_bytes();
    fields(REQUEST, body, REQUEST_FIELDS, |_, resource_logs| {
        // prost merges every `resource` of a ResourceLogs, wherever it lies: read them first.
        let mut resource: Option<Resource> = None;
        let mut bytes = 0;
        fields(RESOURCE_LOGS, resource_logs, RESOURCE_LOGS_FIELDS, |tag, payload| {
            if tag == 1 {
                bytes += payload.len();
                if bytes <= max {
                    resource.get_or_insert_default().merge(payload)?;
                }
            }
            Ok::<_, Stop>(())
        })?;
        let attributes = if bytes > max { Err(bytes) } else { Ok(resource.map(|r| r.attributes).unwrap_or_default()) };
        let resource = mapper.resource(attributes);
        fields(RESOURCE_LOGS, resource_logs, RESOURCE_LOGS_FIELDS, |tag, scope_logs| {
            if tag != 2 {
                return Ok(());
            }
            let mut scope: Option<InstrumentationScope> = None;
            let mut bytes = 0;
            fields(SCOPE_LOGS, scope_logs, SCOPE_LOGS_FIELDS, |tag, payload| {
                if tag == 1 {
                    bytes += payload.len();
                    if bytes <= max {
                        scope.get_or_insert_default().merge(payload)?;
                    }
                }
                Ok::<_, Stop>(())
            })?;
            let scope = mapper.scope(if bytes > max { Err(bytes) } else { Ok(scope) });
            fields(SCOPE_LOGS, scope_logs, SCOPE_LOGS_FIELDS, |tag, record| {
                if tag != 2 {
                    return Ok(());
                }
                let record = if record.len() > max { Err(record.len()) } else { Ok(LogRecord::decode(record)?) };
                mapper.record(record, &resource, &scope).map_err(Stop::Exceeded)
            })
        })
    })
}

/// Calls `each(tag, payload)` for every field of the message in `buf` whose tag is a message
/// field in `names`, in order. String fields there are checked as prost checks them; other
/// fields are skipped as prost skips unknown ones. An error inside a field is named with it.
fn fields<'a, E: From<DecodeError> + Within>(
    message: &'static str,
    mut buf: &'a [u8],
    names: &[(u32, &'static str, bool)],
    mut each: impl FnMut(u32, &'a [u8]) -> Result<(), E>,
) -> Result<(), E> {
    while !buf.is_empty() {
        let (tag, wire_type) = decode_key(&mut buf)?;
        let Some(&(_, field, is_message)) = names.iter().find(|(known, _, _)| *known == tag) else {
            skip_field(wire_type, tag, &mut buf, DecodeContext::default())?;
            continue;
        };
        if !is_message {
            let mut text = String::new();
            string::merge(wire_type, &mut text, &mut buf, DecodeContext::default())
                .map_err(|error| error.within(message, field))?;
            continue;
        }
        let payload = payload(wire_type, tag, &mut buf).map_err(|error| error.within(message, field))?;
        each(tag, payload).map_err(|error| error.within(message, field))?;
    }
    Ok(())
}

/// The payload of a length-delimited field whose key was just read, with prost's errors.
fn payload<'a>(wire_type: WireType, tag: u32, buf: &mut &'a [u8]) -> Result<&'a [u8], DecodeError> {
    check_wire_type(WireType::LengthDelimited, wire_type)?;
    let field = *buf;
    // Skipping checks the length against what is left, with prost's own error.
    skip_field(wire_type, tag, buf, DecodeContext::default())?;
    let mut field = &field[..field.len() - buf.len()];
    decode_varint(&mut field)?;
    Ok(field)
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};

    use super::*;

    #[test]
    fn counts_containers_and_records() {
        let scope =
            |records: usize| ScopeLogs { log_records: vec![LogRecord::default(); records], ..ScopeLogs::default() };
        let request = ExportLogsServiceRequest {
            resource_logs: vec![
                ResourceLogs { scope_logs: vec![scope(2), scope(0), scope(3)], ..ResourceLogs::default() },
                ResourceLogs::default(),
            ],
        };
        let counts = count(&request.encode_to_vec()).unwrap();
        assert_eq!(counts, Counts { containers: 5, records: 5 });
    }

    #[test]
    fn errors_are_named_as_prost_names_them() {
        let cases: &[&[u8]] = &[
            b"\x0a\x05ab",
            b"\x08\x01",
            b"\x0a\x02\x12\x07",
            b"\x0a\x04\x12\x02\x12\x05",
            b"\x0a\x03\x1a\x01\xff",
            b"\x0a\x02\x0a\x00\x0b",
        ];
        for &body in cases {
            let whole = ExportLogsServiceRequest::decode(body).map(|_| ()).map_err(|e| e.to_string());
            let walked = count(body).map(|_| ()).map_err(|e| e.to_string());
            assert_eq!(walked, whole, "{body:?}");
        }
    }
}
