//! OTLP `AnyValue`s as JSON values (for `fields` and structured bodies) and as text (for the
//! event's string fields), and ids as hex.

use base64::Engine;
use opentelemetry_proto::tonic::common::v1::AnyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use serde_json::Value;

use crate::Fields;

/// The value as JSON: scalars as themselves, arrays and key-value lists as arrays and
/// objects, bytes as base64 (as the protobuf JSON mapping writes them), an empty value as null.
pub(super) fn json(value: &AnyValue) -> Value {
    match &value.value {
        None | Some(Any::StringValueStrindex(_)) => Value::Null,
        Some(Any::StringValue(s)) => Value::String(s.clone()),
        Some(Any::BoolValue(b)) => Value::Bool(*b),
        Some(Any::IntValue(n)) => Value::from(*n),
        Some(Any::DoubleValue(x)) => double(*x),
        Some(Any::BytesValue(bytes)) => Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
        Some(Any::ArrayValue(array)) => Value::Array(array.values.iter().map(json).collect()),
        Some(Any::KvlistValue(list)) => {
            let object: Fields = list
                .values
                .iter()
                .filter(|kv| !kv.key.is_empty())
                .map(|kv| (kv.key.clone(), kv.value.as_ref().map_or(Value::Null, json)))
                .collect();
            Value::Object(object)
        }
    }
}

/// A double; JSON has no NaN or infinities, so those are written as the protobuf JSON
/// mapping spells them.
fn double(x: f64) -> Value {
    match serde_json::Number::from_f64(x) {
        Some(n) => Value::Number(n),
        None if x.is_nan() => Value::String("NaN".to_owned()),
        None if x > 0.0 => Value::String("Infinity".to_owned()),
        None => Value::String("-Infinity".to_owned()),
    }
}

/// The value as text for a string field (`service.name`): strings as they are, other scalars
/// as JSON writes them; arrays, lists and empty values give `None`.
pub(super) fn text(value: &AnyValue) -> Option<String> {
    match json(value) {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Lowercase hex, as OTLP JSON and W3C trace context write ids.
pub(super) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes.iter().flat_map(|&b| [DIGITS[usize::from(b >> 4)] as char, DIGITS[usize::from(b & 15)] as char]).collect()
}
