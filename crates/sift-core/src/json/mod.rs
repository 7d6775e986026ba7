//! JSON bodies of `POST /api/v1/events` into [`Event`]s (DESIGN.md section 4, "JSON events").
//!
//! A body holds one object, an array of objects, or NDJSON (one object per line). Every item is
//! decoded on its own, so one bad item never loses the good ones: an array is first split into raw
//! values and NDJSON into lines, and each item then gives an [`Event`] or an [`ItemError`] at its
//! position.
//!
//! Shapes, as [`decode_body`] tells them apart:
//! - NDJSON when the caller says so (`Content-Type: application/x-ndjson` or `application/jsonl`),
//!   or when the first non-blank line is a complete `{…}` on its own and another non-blank line
//!   follows. Blank lines are skipped and do not count: item `index` is the position among the
//!   non-blank lines, and messages name the physical line (`line 3: …`, 1-based).
//! - An array when the body starts with `[`. Messages name the item (`item 2: …`, 0-based, equal
//!   to its index).
//! - Otherwise a single object, index 0.
//!
//! A body that is not JSON at all (an array that does not parse, an empty body) gives one error at
//! index 0. Bytes that are not UTF-8 fail only the item that holds them (`invalid UTF-8 at byte
//! 17`, counted from the start of the body). A leading UTF-8 byte order mark is ignored.
//!
//! # Limits
//!
//! A body is decoded within [`Limits`] (see [`crate::limits`]): its items are counted before any
//! is decoded (a body with more than `max_items` is refused whole), an item longer than
//! `max_item_bytes` is rejected unread (`item_too_large`), and every decoded item is charged to
//! the request's budget of `max_decoded_bytes` (a body over it is refused whole).
//!
//! # One object
//!
//! An object may use sift's own field names (DESIGN.md section 3), the event-pipeline shape
//! (`type`, `hostname`, `tags`, `additional_info`, `md5`, `received_at`) or Popcorn's shape
//! (`packet_version`, `node`, `role`, `version`, `severity`, `message`/`msg`, `module`,
//! `function`, `line`, `pid`, `timestamp`), in any mix:
//!
//! | event field | keys, first wins | values |
//! |---|---|---|
//! | `time` | `time`, `timestamp` (Popcorn), `received_at` (event pipeline) | RFC 3339, or a number (or numeric string): below 1e11 seconds (may be fractional), below 1e14 milliseconds, else microseconds; missing: `received_at` |
//! | `channel` | `channel` | missing: `default` |
//! | `host` | `host`, `hostname`, `node` | |
//! | `app` | `app`, `role` | |
//! | `version` | `version` | |
//! | `proc` | `proc`, `pid` | |
//! | `msgid` | `msgid` | |
//! | `severity` | `severity`, `level` | a name or alias (any case) or a syslog number 0-7; when `packet_version` is present, a number is a lager bitmask (1, 2, 4 … 128); missing: info |
//! | `facility` | `facility` | 0-23 or a syslog facility name (`local0`) |
//! | `type` | `type` | |
//! | `message` | `message`, `msg` | |
//! | `module`, `function` | `module`, `function` | |
//! | `line` | `line` | a number or a numeric string |
//! | `tags` | `tags` | an array of strings, or one string |
//! | `fingerprint` | `fingerprint`, `md5` | |
//! | `fields` | `fields`, then `additional_info` | objects, merged (`fields` wins) |
//!
//! Rules:
//! - An event needs a `message` or a `type` (an event-pipeline event may carry only a type and
//!   fields); an item with neither is rejected.
//! - String fields also take numbers (`"pid": 4242`, `"version": 2`), written as JSON writes them.
//!   `null` and `""` mean absent everywhere.
//! - Nothing the client sent is lost: every key that is not in the table goes into `fields`, and
//!   so does the losing key when an object carries two names for one field (`msg` beside
//!   `message`). A key present both in `fields` and at the top level keeps the `fields` value.
//!   `packet_version` only switches severities to lager bitmasks and is not kept.
//! - The client's `received_at` is only a fallback for `time`: the event's `received_at` is the
//!   server clock. Keys sift computes itself (`id`, `source`, `topics`, `identities`) are not
//!   read either, so they too land in `fields` when a client sends them.
//! - Arrays and objects may nest up to 128 levels (serde_json's recursion limit).

#[cfg(test)]
pub(crate) mod mutate;
mod object;
#[cfg(test)]
mod tests;
mod values;

use std::borrow::Cow;
use std::fmt;

use serde_json::value::RawValue;

use serde::de::{self, DeserializeSeed, SeqAccess, Visitor};

use crate::intern::Interner;
use crate::limits::{Budget, Exceeded, Limits};
use crate::{Event, Source, Timestamp};

/// How the body was laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyShape {
    /// One object (or one value that is not an object, which is an error).
    Object,
    /// A JSON array of objects.
    Array,
    /// One object per line.
    Ndjson,
}

impl BodyShape {
    pub fn as_str(self) -> &'static str {
        match self {
            BodyShape::Object => "object",
            BodyShape::Array => "array",
            BodyShape::Ndjson => "ndjson",
        }
    }
}

/// A decoded body: one result per item, in order; an item's index is its position here.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub shape: BodyShape,
    pub items: Vec<Result<Event, ItemError>>,
}

impl Decoded {
    /// How many items became events.
    pub fn accepted(&self) -> usize {
        self.items.iter().filter(|item| item.is_ok()).count()
    }

    /// How many items were rejected.
    pub fn rejected(&self) -> usize {
        self.items.len() - self.accepted()
    }
}

/// Why an item was rejected, as a small label for counters (`malformed_json`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemErrorKind {
    /// Not JSON: a syntax error, trailing characters, an empty body.
    MalformedJson,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// Valid JSON, but not an object (`42`, `"text"`, `[…]` as an item).
    NotAnObject,
    /// Neither `message` (nor `msg`) nor `type`.
    MissingField,
    /// A known field with a value of the wrong type or range (`"line": "abc"`, `"fields": 3`).
    InvalidField,
    /// A severity name or number that names no severity.
    UnknownSeverity,
    /// A time that is neither RFC 3339 nor a number.
    InvalidTime,
    /// Arrays and objects nested more than 128 levels deep.
    TooDeep,
    /// Longer than [`Limits::max_item_bytes`]; not decoded.
    ItemTooLarge,
}

impl ItemErrorKind {
    pub const ALL: [ItemErrorKind; 9] = [
        ItemErrorKind::MalformedJson,
        ItemErrorKind::InvalidUtf8,
        ItemErrorKind::NotAnObject,
        ItemErrorKind::MissingField,
        ItemErrorKind::InvalidField,
        ItemErrorKind::UnknownSeverity,
        ItemErrorKind::InvalidTime,
        ItemErrorKind::TooDeep,
        ItemErrorKind::ItemTooLarge,
    ];

    /// The counter label.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemErrorKind::MalformedJson => "malformed_json",
            ItemErrorKind::InvalidUtf8 => "invalid_utf8",
            ItemErrorKind::NotAnObject => "not_an_object",
            ItemErrorKind::MissingField => "missing_field",
            ItemErrorKind::InvalidField => "invalid_field",
            ItemErrorKind::UnknownSeverity => "unknown_severity",
            ItemErrorKind::InvalidTime => "invalid_time",
            ItemErrorKind::TooDeep => "too_deep",
            ItemErrorKind::ItemTooLarge => "item_too_large",
        }
    }
}

impl fmt::Display for ItemErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rejected item: a kind for counters and a message for the client that names the item
/// (for arrays and NDJSON) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ItemError {
    pub kind: ItemErrorKind,
    pub message: String,
}

impl ItemError {
    pub fn new(kind: ItemErrorKind, message: impl Into<String>) -> ItemError {
        ItemError { kind, message: message.into() }
    }

    fn prefixed(self, prefix: &dyn fmt::Display) -> ItemError {
        ItemError { kind: self.kind, message: format!("{prefix}: {}", self.message) }
    }
}

/// Decodes a `POST /api/v1/events` body. `ndjson` is true when the Content-Type says NDJSON
/// (`application/x-ndjson`, `application/jsonl`); otherwise the shape is detected (module docs).
/// Every event gets `source = http_json` and `received_at`; ids are left to the pipeline.
/// A body over `limits` (too many items, too much decoded) is refused whole.
pub fn decode_body(body: &[u8], ndjson: bool, received_at: Timestamp, limits: &Limits) -> Result<Decoded, Exceeded> {
    let (bom, body) = match body.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (3, rest),
        None => (0, body),
    };
    let text = Text::new(body, bom);
    let shape = if ndjson { BodyShape::Ndjson } else { detect(&text.text) };
    let mut decoder = Decoder {
        text: &text,
        limits,
        budget: limits.budget(),
        blank: blank(received_at),
        interner: Interner::default(),
    };
    let items = match shape {
        BodyShape::Object => vec![decoder.single()?],
        BodyShape::Array => decoder.array()?,
        BodyShape::Ndjson => decoder.lines()?,
    };
    Ok(Decoded { shape, items })
}

/// The body as text. Each byte that is not UTF-8 is replaced by `?`, so that the rest still
/// splits into items and every offset in the text is the same in the body; an item is then
/// checked against the body as received, so that exactly the items holding such bytes are
/// rejected, each at its first one, in time linear in the body.
struct Text<'a> {
    text: Cow<'a, str>,
    /// The body as received, when it is not all UTF-8.
    original: Option<&'a [u8]>,
    /// Bytes before the body (a byte order mark), counted in the offsets reported.
    skipped: usize,
}

impl<'a> Text<'a> {
    fn new(body: &'a [u8], skipped: usize) -> Text<'a> {
        if let Ok(text) = std::str::from_utf8(body) {
            return Text { text: Cow::Borrowed(text), original: None, skipped };
        }
        let mut replaced = body.to_vec();
        let mut at = 0;
        for chunk in body.utf8_chunks() {
            at += chunk.valid().len();
            let invalid = chunk.invalid().len();
            replaced[at..at + invalid].fill(b'?');
            at += invalid;
        }
        // Valid now; the fallback only keeps this free of a panic path.
        let text =
            String::from_utf8(replaced).unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
        Text { text: Cow::Owned(text), original: Some(body), skipped }
    }

    /// The body offset of the first byte inside `part` (a slice of `self.text`) that is not UTF-8.
    fn bad_in(&self, part: &str) -> Option<usize> {
        let original = self.original?;
        let start = (part.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        let bytes = original.get(start..start.checked_add(part.len())?)?;
        std::str::from_utf8(bytes).err().map(|error| self.skipped + start + error.valid_up_to())
    }

    fn utf8_error(&self, part: &str) -> Option<ItemError> {
        self.bad_in(part).map(|at| ItemError::new(ItemErrorKind::InvalidUtf8, format!("invalid UTF-8 at byte {at}")))
    }
}

/// One body's decoding: its text, limits and what it has spent of them.
struct Decoder<'t, 'a> {
    text: &'t Text<'a>,
    limits: &'t Limits,
    budget: Budget,
    /// The event every item starts from (see `object::decode`).
    blank: Event,
    interner: Interner,
}

impl Decoder<'_, '_> {
    /// The whole body as one object.
    fn single(&mut self) -> Result<Result<Event, ItemError>, Exceeded> {
        let text = &*self.text.text;
        let item = if text.trim_matches(is_json_space).is_empty() {
            Err(ItemError::new(ItemErrorKind::MalformedJson, "empty body"))
        } else if let Some(error) = self.text.utf8_error(text) {
            Err(error)
        } else if let Some(error) = self.too_large(text) {
            Err(error)
        } else {
            object::decode(text, &self.blank, &mut self.interner).map_err(|e| e.into_item_error(Position::LineColumn))
        };
        self.charge(item)
    }

    fn array(&mut self) -> Result<Vec<Result<Event, ItemError>>, Exceeded> {
        let text = self.text;
        let mut de = serde_json::Deserializer::from_str(&text.text);
        let over = std::cell::Cell::new(false);
        let raws = match (Split { max: self.limits.max_items, over: &over })
            .deserialize(&mut de)
            .and_then(|raws| de.end().map(|()| raws))
        {
            Ok(raws) => raws,
            Err(_) if over.get() => return Err(Exceeded::Items { limit: self.limits.max_items }),
            Err(error) => {
                let error = text
                    .utf8_error(&text.text)
                    .unwrap_or_else(|| object::DecodeError::Json(error).into_item_error(Position::LineColumn));
                return Ok(vec![self.charge(Err(error))?]);
            }
        };
        let mut items = Vec::with_capacity(self.limits.capacity_for(raws.len()));
        for (index, raw) in raws.into_iter().enumerate() {
            let item = raw.get();
            let prefix = format_args!("item {index}");
            let decoded = match text.utf8_error(item).or_else(|| self.too_large(item)) {
                Some(error) => Err(error.prefixed(&prefix)),
                None => object::decode(item, &self.blank, &mut self.interner)
                    .map_err(|e| e.into_item_error(Position::None).prefixed(&prefix)),
            };
            items.push(self.charge(decoded)?);
        }
        Ok(items)
    }

    fn lines(&mut self) -> Result<Vec<Result<Event, ItemError>>, Exceeded> {
        let text = self.text;
        let lines = || {
            text.text
                .split('\n')
                .enumerate()
                .map(|(n, line)| (n, line.trim_matches(is_json_space)))
                .filter(|(_, line)| !line.is_empty())
        };
        let count = lines().count();
        if count > self.limits.max_items {
            return Err(Exceeded::Items { limit: self.limits.max_items });
        }
        let mut items = Vec::with_capacity(self.limits.capacity_for(count));
        for (number, line) in lines() {
            let prefix = format_args!("line {}", number + 1);
            let item = match text.utf8_error(line).or_else(|| self.too_large(line)) {
                Some(error) => Err(error.prefixed(&prefix)),
                None => object::decode(line, &self.blank, &mut self.interner)
                    .map_err(|e| e.into_item_error(Position::Column).prefixed(&prefix)),
            };
            items.push(self.charge(item)?);
        }
        Ok(items)
    }

    /// The rejection of an item too long to be decoded.
    fn too_large(&self, item: &str) -> Option<ItemError> {
        let max = self.limits.max_item_bytes;
        (item.len() > max).then(|| {
            ItemError::new(
                ItemErrorKind::ItemTooLarge,
                format!("{} bytes, over the limit of {max} bytes for one item", item.len()),
            )
        })
    }

    /// Charges an item to the request's budget.
    fn charge(&mut self, item: Result<Event, ItemError>) -> Result<Result<Event, ItemError>, Exceeded> {
        match &item {
            Ok(event) => self.budget.spend_event(event)?,
            Err(error) => self.budget.spend_rejection(&error.message)?,
        }
        Ok(item)
    }
}

/// An array's items as raw text, refused past `max` of them (`over` then says so).
struct Split<'o> {
    max: usize,
    over: &'o std::cell::Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Split<'_> {
    type Value = Vec<&'de RawValue>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Split<'_> {
    type Value = Vec<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut raws = Vec::new();
        while let Some(raw) = seq.next_element::<&RawValue>()? {
            if raws.len() == self.max {
                self.over.set(true);
                return Err(de::Error::custom("too many items"));
            }
            raws.push(raw);
        }
        Ok(raws)
    }
}

fn is_json_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Array, NDJSON (a one-line object followed by more non-blank lines) or a single object.
fn detect(text: &str) -> BodyShape {
    let text = text.trim_start_matches(is_json_space);
    if text.starts_with('[') {
        return BodyShape::Array;
    }
    if let Some(end) = memchr::memchr(b'\n', text.as_bytes()) {
        let first = text[..end].trim_matches(is_json_space);
        let more = !text[end..].trim_matches(is_json_space).is_empty();
        if more && first.starts_with('{') && first.ends_with('}') {
            return BodyShape::Ndjson;
        }
    }
    BodyShape::Object
}

/// The event every item starts from (see `object::decode`).
fn blank(received_at: Timestamp) -> Event {
    Event::new(Source::HttpJson, received_at, String::new())
}

/// How much of serde_json's position to keep in a syntax error message.
#[derive(Debug, Clone, Copy)]
enum Position {
    /// `at line 3 column 5`: the item is the whole body.
    LineColumn,
    /// `at column 5`: the item is one line.
    Column,
    /// Nothing: the item is a piece of the body whose position means little on its own.
    None,
}

/// serde_json's message without its `at line L column C` suffix, with the part of it we keep.
fn json_message(error: &serde_json::Error, position: Position) -> String {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    match position {
        Position::LineColumn if error.line() > 0 => full,
        Position::Column if error.line() > 0 => format!("{message} at column {}", error.column()),
        _ => message.to_owned(),
    }
}
