//! The JSON shape of an event in every API answer and stream (DESIGN.md section 3's field
//! names, `severity` as its name, times in RFC 3339, absent values omitted).

use serde::ser::{Serialize, SerializeMap, Serializer};
use sift_core::{Event, Str};

/// Serializes an event in the API's shape.
pub struct EventJson<'a>(pub &'a Event);

impl Serialize for EventJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", &e.id.to_string())?;
        map.serialize_entry("time", &e.time.to_rfc3339())?;
        map.serialize_entry("received_at", &e.received_at.to_rfc3339())?;
        map.serialize_entry("channel", &*e.channel)?;
        map.serialize_entry("source", e.source.name())?;
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
        map.serialize_entry("topics", &StrList(&e.topics))?;
        map.serialize_entry("identities", &StrList(&e.identities))?;
        optional(&mut map, "fingerprint", &e.fingerprint)?;
        map.serialize_entry("fields", &e.fields)?;
        map.end()
    }
}

fn optional<M: SerializeMap>(map: &mut M, key: &str, value: &Option<Str>) -> Result<(), M::Error> {
    match value {
        Some(v) => map.serialize_entry(key, &**v),
        None => Ok(()),
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
