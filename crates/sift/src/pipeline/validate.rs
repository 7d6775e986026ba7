//! Validation: a channel name that keeps the one rule (`sift_core::event::check_channel`, for
//! events from every source), bounded sizes, so one client cannot make the server hold or scan
//! unbounded data, and times clamped into a sane window (the original kept in
//! `fields._original_time`).

use std::fmt;

use serde_json::Value;
use sift_core::Event;
use sift_core::event::fields_bytes;

use crate::config::PipelineConfig;

/// Why an item was not accepted: a reason (a short label used by counters) and a message
/// for the client that names the item's problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: &'static str,
    pub message: String,
}

impl Rejection {
    pub fn new(reason: &'static str, message: impl Into<String>) -> Rejection {
        Rejection { reason, message: message.into() }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The field where a clamped event keeps the time it was sent with.
pub const ORIGINAL_TIME_FIELD: &str = "_original_time";

pub fn check(limits: &PipelineConfig, event: &mut Event) -> Result<(), Rejection> {
    if let Err(invalid) = sift_core::event::check_channel(&event.channel) {
        return Err(Rejection::new("invalid_channel", invalid.to_string()));
    }
    if event.message.len() > limits.max_message_bytes {
        return Err(Rejection::new(
            "message_too_large",
            format!("message is {} bytes, over the limit of {} bytes", event.message.len(), limits.max_message_bytes),
        ));
    }
    if event.tags.len() > limits.max_tags {
        return Err(Rejection::new(
            "too_many_tags",
            format!("{} tags, over the limit of {}", event.tags.len(), limits.max_tags),
        ));
    }
    if !event.fields.is_empty() {
        let mut keys = event.fields.len();
        let depth = measure(event.fields.values(), 1, &mut keys);
        if keys > limits.max_fields {
            return Err(Rejection::new(
                "too_many_fields",
                format!("fields has {keys} keys, over the limit of {}", limits.max_fields),
            ));
        }
        if depth > limits.max_depth {
            return Err(Rejection::new(
                "fields_too_deep",
                format!("fields is nested {depth} levels deep, over the limit of {}", limits.max_depth),
            ));
        }
        let bytes = fields_bytes(&event.fields);
        if bytes > limits.max_field_bytes {
            return Err(Rejection::new(
                "fields_too_large",
                format!(
                    "fields takes {bytes} bytes, over the limit of {} bytes (pipeline.max_field_bytes)",
                    limits.max_field_bytes
                ),
            ));
        }
    }
    clamp_time(limits, event);
    Ok(())
}

/// Counts object keys at every depth into `keys` and returns the deepest nesting, where
/// the `fields` object itself is depth 1 and each object or array inside adds one.
fn measure<'a>(values: impl Iterator<Item = &'a Value>, depth: usize, keys: &mut usize) -> usize {
    values
        .map(|value| match value {
            Value::Object(map) => {
                *keys += map.len();
                measure(map.values(), depth + 1, keys)
            }
            Value::Array(items) => measure(items.iter(), depth + 1, keys),
            _ => depth,
        })
        .max()
        .unwrap_or(depth)
}

fn clamp_time(limits: &PipelineConfig, event: &mut Event) {
    let received = event.received_at.as_micros();
    let oldest = received.saturating_sub(limits.max_past.as_micros() as i64);
    let newest = received.saturating_add(limits.max_future.as_micros() as i64);
    let time = event.time.as_micros();
    if time < oldest || time > newest {
        event.fields.insert(ORIGINAL_TIME_FIELD.to_owned(), Value::String(event.time.to_rfc3339()));
        event.time = event.received_at;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sift_core::{Source, Timestamp};

    use super::*;
    use crate::config::Config;

    fn limits() -> PipelineConfig {
        PipelineConfig {
            max_message_bytes: 10,
            max_fields: 4,
            max_field_bytes: 200,
            max_depth: 3,
            max_tags: 2,
            ..Config::default().pipeline
        }
    }

    fn event_with_fields(fields: Value) -> Event {
        let mut event = Event::new(Source::HttpJson, Timestamp::now(), "ok");
        event.fields = fields.as_object().cloned().unwrap_or_default();
        event
    }

    fn reason(event: &mut Event) -> &'static str {
        match check(&limits(), event) {
            Ok(()) => "ok",
            Err(rejection) => rejection.reason,
        }
    }

    #[test]
    fn sizes_are_bounded() {
        let mut event = Event::new(Source::HttpJson, Timestamp::now(), "0123456789");
        assert_eq!(reason(&mut event), "ok");
        event.message.push('!');
        assert_eq!(reason(&mut event), "message_too_large");
        assert_eq!(
            check(&limits(), &mut event).unwrap_err().message,
            "message is 11 bytes, over the limit of 10 bytes"
        );
        let mut event = Event::new(Source::HttpJson, Timestamp::now(), "x");
        event.tags = vec!["a".into(), "b".into(), "c".into()];
        assert_eq!(reason(&mut event), "too_many_tags");
    }

    #[test]
    fn r_events_name_only_valid_channels() {
        let mut event = Event::new(Source::HttpJson, Timestamp::now(), "x");
        for (channel, want) in [("web-1.prod_eu", "ok"), ("../../etc", "invalid_channel"), ("", "invalid_channel")] {
            event.channel = channel.into();
            assert_eq!(reason(&mut event), want, "{channel:?}");
        }
        event.channel = "bad channel!".into();
        expect_test::expect![[
            r#"invalid channel "bad channel!": a channel name is 1 to 128 ASCII letters, digits, '-', '_' or '.'"#
        ]]
        .assert_eq(&check(&limits(), &mut event).unwrap_err().message);
    }

    #[test]
    fn fields_are_bounded_in_count_and_depth() {
        assert_eq!(reason(&mut event_with_fields(json!({"a": 1, "b": {"c": 2}}))), "ok");
        assert_eq!(reason(&mut event_with_fields(json!({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}))), "too_many_fields");
        assert_eq!(reason(&mut event_with_fields(json!({"a": {"b": {"c": {"d": 1}}}}))), "fields_too_deep");
        assert_eq!(reason(&mut event_with_fields(json!({"a": {"b": {"c": 1}}}))), "ok");
        assert_eq!(reason(&mut event_with_fields(json!({"a": [[[{"b": 1}]]]}))), "fields_too_deep");
    }

    #[test]
    fn fields_are_bounded_in_bytes() {
        // Each key and value costs 32 bytes and its text: {"a": "x" * 100} is 33 + 132.
        assert_eq!(reason(&mut event_with_fields(json!({"a": "x".repeat(100)}))), "ok");
        let mut event = event_with_fields(json!({"a": "x".repeat(136)}));
        assert_eq!(
            check(&limits(), &mut event).unwrap_err().message,
            "fields takes 201 bytes, over the limit of 200 bytes (pipeline.max_field_bytes)"
        );
        assert_eq!(reason(&mut event_with_fields(json!({"a": ["x", "y", "z"]}))), "ok");
    }

    #[test]
    fn times_outside_the_window_are_clamped_and_the_original_kept() {
        let now = Timestamp::now();
        let mut event = Event::new(Source::HttpJson, now, "x");
        event.time = Timestamp::parse_rfc3339("1999-01-01T00:00:00Z").unwrap();
        assert_eq!(reason(&mut event), "ok");
        assert_eq!(event.time, now);
        assert_eq!(event.fields[ORIGINAL_TIME_FIELD], json!("1999-01-01T00:00:00Z"));
        let mut event = Event::new(Source::HttpJson, now, "x");
        event.time = Timestamp(now.0 - 60_000_000);
        check(&limits(), &mut event).unwrap();
        assert_eq!(event.time, Timestamp(now.0 - 60_000_000));
        assert!(event.fields.is_empty());
    }
}
