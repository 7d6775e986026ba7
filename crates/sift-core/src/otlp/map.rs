//! An `ExportLogsServiceRequest` into events: resource and scope read once, then each log
//! record with them. The mapping is documented on the [`otlp`](super) module.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use serde_json::Value;

use super::value::{hex, json, text};
use super::{ErrorKind, OtlpError, Records};
use crate::intern::Interner;
use crate::{Event, Fields, Severity, Source, Str, Timestamp};

/// What every record of one resource shares.
#[derive(Default)]
struct Resource {
    host: Option<Str>,
    app: Option<Str>,
    version: Option<Str>,
    /// The other resource attributes, as `fields.resource`.
    rest: Option<Value>,
}

pub(super) fn events(request: ExportLogsServiceRequest, received_at: Timestamp) -> Records {
    let mut interner = Interner::default();
    let mut records = Vec::new();
    for resource_logs in request.resource_logs {
        let attributes = resource_logs.resource.map(|r| r.attributes).unwrap_or_default();
        let resource = resource(attributes, &mut interner);
        for scope_logs in resource_logs.scope_logs {
            let scope = scope_logs.scope.and_then(scope);
            for record in scope_logs.log_records {
                records.push(event(record, &resource, scope.as_ref(), received_at, &mut interner));
            }
        }
    }
    records
}

fn resource(attributes: Vec<KeyValue>, interner: &mut Interner) -> Resource {
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
        *slot = value.as_ref().and_then(text).filter(|s| !s.is_empty()).map(|s| interner.intern(&s));
    }
    resource.rest = (!rest.is_empty()).then_some(Value::Object(rest));
    resource
}

/// `fields.scope`: name, version and attributes, or nothing when all are empty.
fn scope(scope: InstrumentationScope) -> Option<Value> {
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
    (!out.is_empty()).then_some(Value::Object(out))
}

/// An attribute into a JSON object; attributes without a key are dropped (nothing could
/// find them).
fn insert(into: &mut Fields, key: String, value: Option<AnyValue>) {
    if !key.is_empty() {
        into.insert(key, value.as_ref().map_or(Value::Null, json));
    }
}

fn event(
    record: LogRecord,
    resource: &Resource,
    scope: Option<&Value>,
    received_at: Timestamp,
    interner: &mut Interner,
) -> Result<Event, OtlpError> {
    let message = match record.body.and_then(|body| body.value) {
        None => String::new(),
        Some(Any::StringValue(s)) => s,
        Some(other) => json(&AnyValue { value: Some(other) }).to_string(),
    };
    if message.is_empty() && record.event_name.is_empty() {
        return Err(OtlpError::new(ErrorKind::MissingBody, "log record without a body or an event name"));
    }
    let mut event = Event::new(Source::Otlp, received_at, message);
    event.host = resource.host.clone();
    event.app = resource.app.clone();
    event.version = resource.version.clone();
    event.kind = (!record.event_name.is_empty()).then(|| interner.intern(&record.event_name));
    let nanos = [record.time_unix_nano, record.observed_time_unix_nano].into_iter().find(|&n| n != 0);
    if let Some(nanos) = nanos {
        // u64 nanoseconds / 1000 always fits an i64 of microseconds.
        event.time = Timestamp::from_micros((nanos / 1000) as i64);
    }
    event.severity = Severity::from_otlp(record.severity_number)
        .or_else(|| Severity::from_name(record.severity_text.trim()))
        .unwrap_or(Severity::Info);

    let mut fields = Fields::new();
    for KeyValue { key, value, .. } in record.attributes {
        insert(&mut fields, key, value);
    }
    let mut shared = |fields: &mut Fields, keys: &[&str]| {
        take_text(fields, keys).filter(|s| !s.is_empty()).map(|s| interner.intern(&s))
    };
    event.function = shared(&mut fields, &["code.function.name", "code.function"]);
    event.module = shared(&mut fields, &["code.namespace"]);
    event.line = take_line(&mut fields);

    if let Some(rest) = &resource.rest {
        fields.insert("resource".to_owned(), rest.clone());
    }
    if let Some(scope) = scope {
        fields.insert("scope".to_owned(), scope.clone());
    }
    if record.trace_id.len() == 16 && record.trace_id.iter().any(|&b| b != 0) {
        fields.insert("trace_id".to_owned(), Value::String(hex(&record.trace_id)));
    }
    if record.span_id.len() == 8 && record.span_id.iter().any(|&b| b != 0) {
        fields.insert("span_id".to_owned(), Value::String(hex(&record.span_id)));
    }
    let trace_flags = record.flags & 0xff;
    if trace_flags != 0 {
        fields.insert("trace_flags".to_owned(), Value::from(trace_flags));
    }
    if !record.severity_text.is_empty() {
        fields.insert("severity_text".to_owned(), Value::String(record.severity_text));
    }
    event.fields = fields;
    Ok(event)
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
