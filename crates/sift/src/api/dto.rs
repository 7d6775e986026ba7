//! The JSON shape of an event in every API answer and stream (DESIGN.md section 3's field
//! names, `severity` as its name, times in RFC 3339, absent values omitted), and the same shape
//! without what the server assigns, for clients that submit events they parsed (`sift import`).

use serde::ser::{Serialize, SerializeMap, Serializer};
use sift_core::{Event, Str};

/// Serializes an event in the API's shape.
pub struct EventJson<'a>(pub &'a Event);

/// Serializes an event as a client submits it to `POST /api/v1/events`: the keys of
/// [`EventJson`] that a client may set, so the server's JSON decoder reads back the same time,
/// channel, host, app, version, proc, msgid, severity, facility, type, message, code location,
/// tags, fingerprint and fields. What the server assigns on receipt (`id`, `received_at`,
/// `source`, `topics`, `identities`) is left out: sent back, those keys would land in `fields`.
pub struct SubmitEventJson<'a>(pub &'a Event);

impl Serialize for EventJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        write_event(serializer, self.0, true)
    }
}

impl Serialize for SubmitEventJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        write_event(serializer, self.0, false)
    }
}

/// One writer for both shapes, so they cannot drift apart; `assigned` adds the keys the
/// server fills in.
fn write_event<S: Serializer>(serializer: S, e: &Event, assigned: bool) -> Result<S::Ok, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    if assigned {
        map.serialize_entry("id", &Shown(&e.id))?;
    }
    map.serialize_entry("time", &Shown(&e.time))?;
    if assigned {
        map.serialize_entry("received_at", &Shown(&e.received_at))?;
    }
    map.serialize_entry("channel", &*e.channel)?;
    if assigned {
        map.serialize_entry("source", e.source.name())?;
    }
    optional(&mut map, "host", &e.host)?;
    optional(&mut map, "app", &e.app)?;
    optional(&mut map, "version", &e.version)?;
    optional(&mut map, "proc", &e.proc)?;
    optional(&mut map, "msgid", &e.msgid)?;
    map.serialize_entry("severity", e.severity.name())?;
    if let Some(facility) = e.facility {
        map.serialize_entry("facility", &facility)?;
    }
    optional(&mut map, "type", &e.kind)?;
    map.serialize_entry("message", &e.message)?;
    optional(&mut map, "module", &e.module)?;
    optional(&mut map, "function", &e.function)?;
    if let Some(line) = e.line {
        map.serialize_entry("line", &line)?;
    }
    map.serialize_entry("tags", &StrList(&e.tags))?;
    if assigned {
        map.serialize_entry("topics", &StrList(&e.topics))?;
        map.serialize_entry("identities", &StrList(&e.identities))?;
    }
    optional(&mut map, "fingerprint", &e.fingerprint)?;
    map.serialize_entry("fields", &e.fields)?;
    map.end()
}

fn optional<M: SerializeMap>(map: &mut M, key: &str, value: &Option<Str>) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(key, &**v),
        None => Ok(()),
    }
}

/// A value written as the string its `Display` gives (an id, an RFC 3339 time), straight into
/// the output rather than through a `String` of its own.
struct Shown<'a, T>(&'a T);

impl<T: std::fmt::Display> Serialize for Shown<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

struct StrList<'a>(&'a [Str]);

impl Serialize for StrList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|s| &**s))
    }
}

/// A list of events in the API's shape.
pub struct EventsJson<'a>(pub &'a [Event]);

impl Serialize for EventsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(EventJson))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sift_core::{Severity, Source, Timestamp};

    use super::*;

    /// What `sift import` relies on: an event parsed on the client, sent in the submit shape,
    /// is the same event once the server's JSON decoder has read it.
    #[test]
    fn submitted_events_decode_to_the_same_event() {
        let received = Timestamp::now();
        let mut event = Event::new(Source::SyslogTcp, received, "disk full on /var");
        event.time = Timestamp::parse_rfc3339("2026-01-02T03:04:05.123456Z").unwrap();
        event.channel = Str::from("ops");
        event.host = Some(Str::from("web-1"));
        event.app = Some(Str::from("billing"));
        event.version = Some(Str::from("1.2"));
        event.proc = Some(Str::from("4242"));
        event.msgid = Some(Str::from("ID47"));
        event.severity = Severity::Critical;
        event.facility = Some(19);
        event.kind = Some(Str::from("disk"));
        event.module = Some(Str::from("fs"));
        event.function = Some(Str::from("check"));
        event.line = Some(54);
        event.tags = vec![Str::from("eu")];
        event.fingerprint = Some(Str::from("abc123"));
        event.fields =
            json!({"exampleSDID@32473": {"iut": "3", "eventID": "1011"}, "n": 1.5}).as_object().cloned().unwrap();

        let body = serde_json::to_vec(&SubmitEventJson(&event)).unwrap();
        let mut decoded =
            sift_core::json::decode_body(&body, true, received, &sift_core::Limits::default()).unwrap().items;
        let mut back = decoded.pop().unwrap().unwrap();
        back.source = event.source;
        assert_eq!(back, event);

        let keys: Vec<String> =
            serde_json::from_slice::<serde_json::Value>(&body).unwrap().as_object().unwrap().keys().cloned().collect();
        for assigned in ["id", "received_at", "source", "topics", "identities"] {
            assert!(!keys.iter().any(|k| k == assigned), "{assigned} in {keys:?}");
        }
    }
}
