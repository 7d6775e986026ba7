//! One JSON object into an [`Event`]: sift's own field names, the event-pipeline shape and
//! Popcorn's shape, read in one pass over the object's keys.
//!
//! The accepted keys, aliases and rules are documented on the [`json`](super) module.
//!
//! Known keys are read as borrowed strings and numbers; only `fields` and unknown keys become
//! `serde_json::Value`s.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::values::{facility, invalid, line, severity, shared, tags, text, time};
use super::{ItemError, ItemErrorKind, Position, json_message};
use crate::intern::Interner;
use crate::{Event, Fields};

/// Decodes one object. `src` is the item's text (an array element or an NDJSON line).
/// `blank` is the event every item starts from: `Event::new(Source::HttpJson, received_at, "")`,
/// made once per body and cloned, which costs no allocation.
pub(super) fn decode(src: &str, blank: &Event, interner: &mut Interner) -> Result<Event, DecodeError> {
    let first = src.trim_start_matches(super::is_json_space).bytes().next();
    if first != Some(b'{') {
        return Err(not_an_object(src));
    }
    let mut de = serde_json::Deserializer::from_str(src);
    let mut raw = Raw::default();
    (&mut raw).deserialize(&mut de).map_err(DecodeError::Json)?;
    de.end().map_err(DecodeError::Json)?;
    raw.finish(blank, interner).map_err(DecodeError::Item)
}

/// A valid JSON value that is not an object is `NotAnObject`; anything else is a syntax error.
fn not_an_object(src: &str) -> DecodeError {
    let mut de = serde_json::Deserializer::from_str(src);
    if let Err(error) = IgnoredAny::deserialize(&mut de).and_then(|_| de.end()) {
        return DecodeError::Json(error);
    }
    let found = match src.trim_start_matches(super::is_json_space).bytes().next() {
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    };
    DecodeError::Item(ItemError::new(ItemErrorKind::NotAnObject, format!("expected a JSON object, found {found}")))
}

/// Why one object could not be decoded, before it is given its place in the body.
#[derive(Debug)]
pub(super) enum DecodeError {
    Json(serde_json::Error),
    Item(ItemError),
}

impl DecodeError {
    pub(super) fn into_item_error(self, position: Position) -> ItemError {
        match self {
            DecodeError::Item(error) => error,
            DecodeError::Json(error) => {
                let message = json_message(&error, Position::None);
                if message == "recursion limit exceeded" {
                    ItemError::new(
                        ItemErrorKind::TooDeep,
                        "nested too deeply (more than 128 levels of arrays and objects)",
                    )
                } else {
                    ItemError::new(ItemErrorKind::MalformedJson, json_message(&error, position))
                }
            }
        }
    }
}

/// The event fields that several keys can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Time,
    Channel,
    Host,
    App,
    Version,
    Proc,
    Msgid,
    Severity,
    Facility,
    Kind,
    Message,
    Module,
    Function,
    Line,
    Tags,
    Fingerprint,
}

const FIELD_COUNT: usize = 16;

/// Where a key goes.
enum Target {
    /// An event field; a lower rank wins over a higher one.
    Field(Field, u8, &'static str),
    Fields,
    AdditionalInfo,
    PacketVersion,
}

fn target(key: &str) -> Option<Target> {
    use Field::*;
    let (field, rank, name) = match key {
        "message" => (Message, 0, "message"),
        "msg" => (Message, 1, "msg"),
        "severity" => (Severity, 0, "severity"),
        "level" => (Severity, 1, "level"),
        "time" => (Time, 0, "time"),
        "timestamp" => (Time, 1, "timestamp"),
        "received_at" => (Time, 2, "received_at"),
        "host" => (Host, 0, "host"),
        "hostname" => (Host, 1, "hostname"),
        "node" => (Host, 2, "node"),
        "app" => (App, 0, "app"),
        "role" => (App, 1, "role"),
        "proc" => (Proc, 0, "proc"),
        "pid" => (Proc, 1, "pid"),
        "fingerprint" => (Fingerprint, 0, "fingerprint"),
        "md5" => (Fingerprint, 1, "md5"),
        "channel" => (Channel, 0, "channel"),
        "version" => (Version, 0, "version"),
        "msgid" => (Msgid, 0, "msgid"),
        "facility" => (Facility, 0, "facility"),
        "type" => (Kind, 0, "type"),
        "module" => (Module, 0, "module"),
        "function" => (Function, 0, "function"),
        "line" => (Line, 0, "line"),
        "tags" => (Tags, 0, "tags"),
        "fields" => return Some(Target::Fields),
        "additional_info" => return Some(Target::AdditionalInfo),
        "packet_version" => return Some(Target::PacketVersion),
        _ => return None,
    };
    Some(Target::Field(field, rank, name))
}

/// A known key's value as it was sent, borrowed from the input where JSON allows.
#[derive(Debug)]
pub(super) enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    List(Vec<Scalar<'a>>),
    /// Boxed: objects are rare in known keys, and a small `Scalar` keeps [`Raw`] small.
    Object(Box<Fields>),
}

impl Scalar<'_> {
    pub(super) fn describe(&self) -> &'static str {
        match self {
            Scalar::Null => "null",
            Scalar::Bool(_) => "a boolean",
            Scalar::Int(_) | Scalar::UInt(_) | Scalar::Float(_) => "a number",
            Scalar::Str(_) => "a string",
            Scalar::List(_) => "an array",
            Scalar::Object(_) => "an object",
        }
    }

    fn into_value(self) -> Value {
        match self {
            Scalar::Null => Value::Null,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(n) => Value::from(n),
            Scalar::UInt(n) => Value::from(n),
            Scalar::Float(n) => Value::from(n),
            Scalar::Str(s) => Value::String(s.into_owned()),
            Scalar::List(items) => Value::Array(items.into_iter().map(Scalar::into_value).collect()),
            Scalar::Object(map) => Value::Object(*map),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Int(n))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::UInt(n))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Float(n))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Scalar<'de>, E> {
        Ok(Scalar::Str(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Scalar::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar<'de>, A::Error> {
        Fields::deserialize(de::value::MapAccessDeserializer::new(map)).map(|map| Scalar::Object(Box::new(map)))
    }
}

/// An object key, borrowed unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(s)))
    }
}

/// A known key and its value.
#[derive(Debug)]
pub(super) struct Entry<'a> {
    pub(super) key: &'static str,
    rank: u8,
    pub(super) value: Scalar<'a>,
}

/// An object as read, before any value is checked: checks need the whole object (a severity
/// means a lager bitmask only when `packet_version` is present, wherever that key stands).
#[derive(Debug, Default)]
struct Raw<'a> {
    known: [Option<Entry<'a>>; FIELD_COUNT],
    fields: Option<Scalar<'a>>,
    additional_info: Option<Scalar<'a>>,
    packet_version: bool,
    unknown: Fields,
}

/// Fills a [`Raw`] in place: it is large, and moving it per event costs more than filling it.
impl<'de> DeserializeSeed<'de> for &mut Raw<'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for &mut Raw<'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let raw = self;
        while let Some(Key(key)) = map.next_key()? {
            match target(&key) {
                Some(Target::Field(field, rank, name)) => {
                    let value = map.next_value()?;
                    raw.put(field, rank, name, value);
                }
                Some(Target::Fields) => raw.fields = Some(map.next_value()?),
                Some(Target::AdditionalInfo) => raw.additional_info = Some(map.next_value()?),
                Some(Target::PacketVersion) => {
                    raw.packet_version = !matches!(map.next_value()?, Scalar::Null);
                }
                None => {
                    let value: Value = map.next_value()?;
                    raw.unknown.insert(key.into_owned(), value);
                }
            }
        }
        Ok(())
    }
}

impl<'a> Raw<'a> {
    /// Keeps the best-ranked key for `field`; the other one goes to `fields`. A repeated key
    /// keeps its last value, as `serde_json::Value` does.
    fn put(&mut self, field: Field, rank: u8, key: &'static str, value: Scalar<'a>) {
        let slot = &mut self.known[field as usize];
        let loser = match slot {
            Some(old) if old.rank < rank => Entry { key, rank, value },
            Some(old) if old.rank > rank => std::mem::replace(old, Entry { key, rank, value }),
            _ => {
                *slot = Some(Entry { key, rank, value });
                return;
            }
        };
        self.unknown.entry(loser.key).or_insert_with(|| loser.value.into_value());
    }

    fn take(&mut self, field: Field) -> Option<Entry<'a>> {
        self.known[field as usize].take()
    }

    fn finish(&mut self, blank: &Event, interner: &mut Interner) -> Result<Event, ItemError> {
        let message = text(self.take(Field::Message))?;
        let kind = text(self.take(Field::Kind))?;
        if message.is_none() && kind.is_none() {
            return Err(ItemError::new(
                ItemErrorKind::MissingField,
                "missing field \"message\" (an event needs a message or a type)",
            ));
        }
        let mut event = blank.clone();
        event.message = message.map(Cow::into_owned).unwrap_or_default();
        event.kind = kind.as_deref().filter(|k| !k.is_empty()).map(|k| interner.intern(k));
        if let Some(time) = time(self.take(Field::Time))? {
            event.time = time;
        }
        if let Some(channel) = text(self.take(Field::Channel))? {
            event.channel = interner.intern(&channel);
        }
        event.severity = severity(self.take(Field::Severity), self.packet_version)?;
        event.host = shared(self.take(Field::Host), interner)?;
        event.app = shared(self.take(Field::App), interner)?;
        event.version = shared(self.take(Field::Version), interner)?;
        event.proc = shared(self.take(Field::Proc), interner)?;
        event.msgid = shared(self.take(Field::Msgid), interner)?;
        event.facility = facility(self.take(Field::Facility))?;
        event.module = shared(self.take(Field::Module), interner)?;
        event.function = shared(self.take(Field::Function), interner)?;
        event.line = line(self.take(Field::Line))?;
        event.tags = tags(self.take(Field::Tags))?;
        event.fingerprint = shared(self.take(Field::Fingerprint), interner)?;
        event.fields = self.fields()?;
        Ok(event)
    }

    /// `fields`, then `additional_info`, then unknown keys, each adding only keys not yet present.
    fn fields(&mut self) -> Result<Fields, ItemError> {
        let unknown = std::mem::take(&mut self.unknown);
        let explicit = [("fields", self.fields.take()), ("additional_info", self.additional_info.take())];
        let mut fields: Option<Fields> = None;
        for (key, value) in explicit {
            let map = match value {
                None | Some(Scalar::Null) => continue,
                Some(Scalar::Object(map)) => *map,
                Some(other) => return Err(invalid(key, "an object", &other)),
            };
            match &mut fields {
                None => fields = Some(map),
                Some(fields) => merge(fields, map),
            }
        }
        Ok(match fields {
            None => unknown,
            Some(mut fields) => {
                merge(&mut fields, unknown);
                fields
            }
        })
    }
}

fn merge(into: &mut Fields, from: Fields) {
    for (key, value) in from {
        into.entry(key).or_insert(value);
    }
}
