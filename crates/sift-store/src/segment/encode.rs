//! Events into one Arrow record batch in the segment schema, column by column: the repeated
//! strings (channel, host, app, ...) become dictionary arrays so that each distinct value is
//! stored once per batch.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{
    Int8Builder, Int32Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder, UInt32Builder,
};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, RecordBatch};
use arrow_schema::{ArrowError, Field};
use sift_core::{Event, Str};

use super::schema::schema;

/// The events `rows` (indexes into `events`, in that order) as one record batch.
pub(super) fn encode(events: &[&Event], rows: &[u32]) -> Result<RecordBatch, ArrowError> {
    let n = rows.len();
    let each = || rows.iter().map(|&i| events[i as usize]);
    let mut id = StringBuilder::with_capacity(n, n * ulid::ULID_LEN);
    let mut buf = [0; ulid::ULID_LEN];
    for event in each() {
        id.append_value(event.id.array_to_str(&mut buf));
    }
    let time = |get: fn(&Event) -> i64| {
        let mut builder = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
        builder.append_slice(&each().map(get).collect::<Vec<_>>());
        Arc::new(builder.finish()) as ArrayRef
    };
    // Dictionary columns built by hand rather than with `StringDictionaryBuilder`, which hashes
    // every row: repeated names share one allocation (interned at decode, or static), so a row
    // whose value is at the same address as the row before's takes its key without hashing.
    let dict = |get: &dyn Fn(&Event) -> Option<&str>| -> Result<ArrayRef, ArrowError> {
        let mut keys = Int32Builder::with_capacity(n);
        let mut values = StringBuilder::new();
        let mut known: HashMap<&str, i32> = HashMap::new();
        let mut last: Option<(*const u8, usize, i32)> = None;
        for event in each() {
            let Some(value) = get(event) else {
                keys.append_null();
                continue;
            };
            let key = match last {
                Some((at, len, key)) if at == value.as_ptr() && len == value.len() => key,
                _ => {
                    let next = i32::try_from(known.len()).map_err(|_| ArrowError::DictionaryKeyOverflowError)?;
                    *known.entry(value).or_insert_with(|| {
                        values.append_value(value);
                        next
                    })
                }
            };
            last = Some((value.as_ptr(), value.len(), key));
            keys.append_value(key);
        }
        let array = DictionaryArray::<Int32Type>::try_new(keys.finish(), Arc::new(values.finish()))?;
        Ok(Arc::new(array) as ArrayRef)
    };
    let text = |get: &dyn Fn(&Event) -> Option<&str>| {
        let mut builder = StringBuilder::with_capacity(n, 0);
        for event in each() {
            builder.append_option(get(event));
        }
        Arc::new(builder.finish()) as ArrayRef
    };
    let list = |get: fn(&Event) -> &[Str]| {
        let mut builder = ListBuilder::new(StringBuilder::new())
            .with_field(Field::new_list_field(arrow_schema::DataType::Utf8, false));
        for event in each() {
            for item in get(event) {
                builder.values().append_value(item);
            }
            builder.append(true);
        }
        Arc::new(builder.finish()) as ArrayRef
    };
    let mut message = StringBuilder::with_capacity(n, each().map(|e| e.message.len()).sum());
    for event in each() {
        message.append_value(&event.message);
    }
    let mut severity = Int8Builder::with_capacity(n);
    let mut facility = Int8Builder::with_capacity(n);
    let mut line = UInt32Builder::with_capacity(n);
    for event in each() {
        severity.append_value(event.severity.syslog() as i8);
        facility.append_option(event.facility.map(|f| f as i8));
        line.append_option(event.line);
    }
    let mut fields = StringBuilder::with_capacity(n, 0);
    // One buffer for every event's JSON, not a string each.
    let mut json = Vec::new();
    for event in each() {
        if event.fields.is_empty() {
            fields.append_null();
        } else {
            json.clear();
            serde_json::to_writer(&mut json, &event.fields).map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
            let text = std::str::from_utf8(&json).map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
            fields.append_value(text);
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        time(|e| e.time.as_micros()),
        time(|e| e.received_at.as_micros()),
        dict(&|e| Some(&e.channel))?,
        dict(&|e| Some(e.source.name()))?,
        dict(&|e| e.host.as_deref())?,
        dict(&|e| e.app.as_deref())?,
        dict(&|e| e.version.as_deref())?,
        text(&|e| e.proc.as_deref()),
        text(&|e| e.msgid.as_deref()),
        Arc::new(severity.finish()),
        dict(&|e| Some(e.severity.name()))?,
        Arc::new(facility.finish()),
        dict(&|e| e.kind.as_deref())?,
        Arc::new(message.finish()),
        text(&|e| e.module.as_deref()),
        text(&|e| e.function.as_deref()),
        Arc::new(line.finish()),
        list(|e| &e.tags),
        list(|e| &e.topics),
        list(|e| &e.identities),
        text(&|e| e.fingerprint.as_deref()),
        Arc::new(fields.finish()),
    ];
    RecordBatch::try_new(schema(), columns)
}
