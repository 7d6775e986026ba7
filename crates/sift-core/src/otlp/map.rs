//! Records into events, within the request's [`Limits`]: each resource and scope is read once,
//! its attributes' size measured once, and each log record becomes an event with them only when
//! the event's fields, the resource's and scope's included, stay within `max_field_bytes`;
//! nothing is copied into a record that is rejected. Every record, event or rejection, is
//! charged to the request's budget. The mapping is documented on the [`otlp`](super) module.

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use serde_json::Value;

use super::value::{hex, json, text};
use super::{ErrorKind, OtlpError, Records};
use crate::event::{field_bytes, fields_bytes};
use crate::intern::Interner;
use crate::limits::{Budget, Exceeded, Limits};
use crate::{Event, Fields, Severity, Source, Str, Timestamp};

/// What every record of one resource shares.
#[derive(Default)]
pub(super) struct Resource {
    host: Option<Str>,
    app: Option<Str>,
    version: Option<Str>,
    /// The other resource attributes, as `fields.resource`, and what that entry costs.
    rest: Option<(Value, usize)>,
    /// The resource as sent was longer than a record may be: it was not decoded, and its
    /// records are rejected.
    too_large: Option<usize>,
}

/// `fields.scope` of every record of one scope, and what that entry costs.
#[derive(Default)]
pub(super) struct Scope {
    value: Option<(Value, usize)>,
    too_large: Option<usize>,
}

/// One request's records, mapped one by one as a walker over the body hands them over.
pub(super) struct Mapper<'l> {
    limits: &'l Limits,
    budget: Budget,
    interner: Interner,
    received_at: Timestamp,
    records: Records,
}

impl<'l> Mapper<'l> {
    /// A mapper for a request of `count` records (counted before any was decoded).
    pub(super) fn new(limits: &'l Limits, received_at: Timestamp, count: usize) -> Mapper<'l> {
        Mapper {
            limits,
            budget: limits.budget(),
            interner: Interner::default(),
            received_at,
            records: Vec::with_capacity(limits.capacity_for(count)),
        }
    }

    pub(super) fn finish(self) -> Records {
        self.records
    }

    /// The bytes a resource, a scope or a record may take as sent, to be decoded.
    pub(super) fn max_item_bytes(&self) -> usize {
        self.limits.max_item_bytes
    }

    /// A resource from its attributes, or `Err(bytes)` when it was too long to be decoded.
    pub(super) fn resource(&mut self, attributes: Result<Vec<KeyValue>, usize>) -> Resource {
        let attributes = match attributes {
            Ok(attributes) => attributes,
            Err(bytes) => return Resource { too_large: Some(bytes), ..Resource::default() },
        };
        let mut resource = Resource::default();
        let mut rest = Fields::new();
        for KeyValue { key, value, .. } in attributes {
            let slot = match key.as_str() {
                "host.name" => &mut resource.host,
                "service.name" => &mut resource.app,
                "service.version" => &mut resource.version,
                _ => {
                    insert(&mut rest, key, value);
                    continue;
                }
            };
            *slot = value.as_ref().and_then(text).filter(|s| !s.is_empty()).map(|s| self.interner.intern(&s));
        }
        if !rest.is_empty() {
            let rest = Value::Object(rest);
            let bytes = field_bytes("resource", &rest);
            resource.rest = Some((rest, bytes));
        }
        resource
    }

    /// `fields.scope`: name, version and attributes, or nothing when all are empty; or
    /// `Err(bytes)` when the scope was too long to be decoded.
    pub(super) fn scope(&mut self, scope: Result<Option<InstrumentationScope>, usize>) -> Scope {
        let scope = match scope {
            Ok(Some(scope)) => scope,
            Ok(None) => return Scope::default(),
            Err(bytes) => return Scope { too_large: Some(bytes), value: None },
        };
        let mut out = Fields::new();
        if !scope.name.is_empty() {
            out.insert("name".to_owned(), Value::String(scope.name));
        }
        if !scope.version.is_empty() {
            out.insert("version".to_owned(), Value::String(scope.version));
        }
        let mut attributes = Fields::new();
        for KeyValue { key, value, .. } in scope.attributes {
            insert(&mut attributes, key, value);
        }
        if !attributes.is_empty() {
            out.insert("attributes".to_owned(), Value::Object(attributes));
        }
        if out.is_empty() {
            return Scope::default();
        }
        let value = Value::Object(out);
        let bytes = field_bytes("scope", &value);
        Scope { value: Some((value, bytes)), too_large: None }
    }

    /// Maps one record (or `Err(bytes)` for one too long to be decoded) of this resource and
    /// scope, and charges it to the request.
    pub(super) fn record(
        &mut self,
        record: Result<LogRecord, usize>,
        resource: &Resource,
        scope: &Scope,
    ) -> Result<(), Exceeded> {
        let max = self.limits.max_item_bytes;
        let mapped = match (record, resource.too_large, scope.too_large) {
            (Err(bytes), _, _) => Err(OtlpError::new(
                ErrorKind::RecordTooLarge,
                format!("log record is {bytes} bytes, over the limit of {max} bytes for one record"),
            )),
            (Ok(_), Some(bytes), _) => Err(too_large_fields("resource", bytes, max)),
            (Ok(_), None, Some(bytes)) => Err(too_large_fields("instrumentation scope", bytes, max)),
            (Ok(record), None, None) => self.event(record, resource, scope),
        };
        match &mapped {
            Ok((event, fields_bytes)) => self.budget.spend_measured_event(event, *fields_bytes)?,
            Err(error) => self.budget.spend_rejection(&error.message)?,
        }
        self.records.push(mapped.map(|(event, _)| event));
        Ok(())
    }

    /// The record's event, and the bytes its fields take.
    fn event(&mut self, record: LogRecord, resource: &Resource, scope: &Scope) -> Result<(Event, usize), OtlpError> {
        let message = match record.body.and_then(|body| body.value) {
            None => String::new(),
            Some(Any::StringValue(s)) => s,
            Some(other) => json(&AnyValue { value: Some(other) }).to_string(),
        };
        if message.is_empty() && record.event_name.is_empty() {
            return Err(OtlpError::new(ErrorKind::MissingBody, "log record without a body or an event name"));
        }
        let severity = Severity::from_otlp(record.severity_number)
            .or_else(|| Severity::from_name(record.severity_text.trim()))
            .unwrap_or(Severity::Info);

        let mut fields = Fields::new();
        for KeyValue { key, value, .. } in record.attributes {
            insert(&mut fields, key, value);
        }
        let mut shared = |fields: &mut Fields, keys: &[&str]| {
            take_text(fields, keys).filter(|s| !s.is_empty()).map(|s| self.interner.intern(&s))
        };
        let function = shared(&mut fields, &["code.function.name", "code.function"]);
        let module = shared(&mut fields, &["code.namespace"]);
        let line = take_line(&mut fields);

        // What sift writes after the attributes, the resource's and scope's copies last, sized
        // before anything is copied: these keys win over attributes of the same name.
        let mut own: Vec<(&'static str, Value)> = Vec::new();
        if record.trace_id.len() == 16 && record.trace_id.iter().any(|&b| b != 0) {
            own.push(("trace_id", Value::String(hex(&record.trace_id))));
        }
        if record.span_id.len() == 8 && record.span_id.iter().any(|&b| b != 0) {
            own.push(("span_id", Value::String(hex(&record.span_id))));
        }
        let trace_flags = record.flags & 0xff;
        if trace_flags != 0 {
            own.push(("trace_flags", Value::from(trace_flags)));
        }
        if !record.severity_text.is_empty() {
            own.push(("severity_text", Value::String(record.severity_text)));
        }
        let copied = [("resource", &resource.rest), ("scope", &scope.value)];
        let replaced: usize = own
            .iter()
            .map(|(key, _)| *key)
            .chain(copied.iter().filter(|(_, value)| value.is_some()).map(|(key, _)| *key))
            .filter_map(|key| fields.get(key).map(|value| field_bytes(key, value)))
            .sum();
        let bytes = fields_bytes(&fields) - replaced
            + own.iter().map(|(key, value)| field_bytes(key, value)).sum::<usize>()
            + copied.iter().filter_map(|(_, value)| value.as_ref().map(|(_, bytes)| bytes)).sum::<usize>();
        if bytes > self.limits.max_field_bytes {
            let with = match (&resource.rest, &scope.value) {
                (Some(_), Some(_)) => " with the resource's and the scope's attributes",
                (Some(_), None) => " with the resource's attributes",
                (None, Some(_)) => " with the scope's attributes",
                (None, None) => "",
            };
            let max = self.limits.max_field_bytes;
            return Err(OtlpError::new(
                ErrorKind::FieldsTooLarge,
                format!(
                    "fields{with} would take {bytes} bytes, over the limit of {max} bytes (pipeline.max_field_bytes)"
                ),
            ));
        }

        let mut event = Event::new(Source::Otlp, self.received_at, message);
        event.host = resource.host.clone();
        event.app = resource.app.clone();
        event.version = resource.version.clone();
        event.kind = (!record.event_name.is_empty()).then(|| self.interner.intern(&record.event_name));
        let nanos = [record.time_unix_nano, record.observed_time_unix_nano].into_iter().find(|&n| n != 0);
        if let Some(nanos) = nanos {
            // u64 nanoseconds / 1000 always fits an i64 of microseconds.
            event.time = Timestamp::from_micros((nanos / 1000) as i64);
        }
        event.severity = severity;
        event.function = function;
        event.module = module;
        event.line = line;
        for (key, value) in copied {
            if let Some((value, _)) = value {
                fields.insert(key.to_owned(), value.clone());
            }
        }
        for (key, value) in own {
            fields.insert(key.to_owned(), value);
        }
        event.fields = fields;
        Ok((event, bytes))
    }
}

/// A record rejected because its resource or scope was too long to be decoded: its attributes
/// would put the record's fields over their bound.
fn too_large_fields(what: &str, bytes: usize, max: usize) -> OtlpError {
    OtlpError::new(
        ErrorKind::FieldsTooLarge,
        format!(
            "the {what} is {bytes} bytes, over the limit of {max} bytes: its attributes would put the record's \
             fields over their limit (pipeline.max_field_bytes)"
        ),
    )
}

/// An attribute into a JSON object; attributes without a key are dropped (nothing could
/// find them).
fn insert(into: &mut Fields, key: String, value: Option<AnyValue>) {
    if !key.is_empty() {
        into.insert(key, value.as_ref().map_or(Value::Null, json));
    }
}

/// Removes the first of `keys` present whose value is text (or a number), and returns it.
fn take_text(fields: &mut Fields, keys: &[&str]) -> Option<String> {
    for &key in keys {
        let found = match fields.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => continue,
        };
        fields.remove(key);
        return Some(found);
    }
    None
}

/// `code.line.number`, else `code.lineno`, when it holds a whole number that fits a `u32`;
/// anything else stays in `fields`.
fn take_line(fields: &mut Fields) -> Option<u32> {
    for key in ["code.line.number", "code.lineno"] {
        let line = match fields.get(key) {
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        if let Some(line) = line {
            fields.remove(key);
            return Some(line);
        }
    }
    None
}
