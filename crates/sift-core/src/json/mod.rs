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

use crate::intern::Interner;
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
}

impl ItemErrorKind {
    pub const ALL: [ItemErrorKind; 8] = [
        ItemErrorKind::MalformedJson,
        ItemErrorKind::InvalidUtf8,
        ItemErrorKind::NotAnObject,
        ItemErrorKind::MissingField,
        ItemErrorKind::InvalidField,
        ItemErrorKind::UnknownSeverity,
        ItemErrorKind::InvalidTime,
        ItemErrorKind::TooDeep,
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
pub fn decode_body(body: &[u8], ndjson: bool, received_at: Timestamp) -> Decoded {
    let (bom, body) = match body.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (3, rest),
        None => (0, body),
    };
    let text = Text::new(body, bom);
    let shape = if ndjson { BodyShape::Ndjson } else { detect(&text.text) };
    let items = match shape {
        BodyShape::Object => vec![decode_single(&text, received_at)],
        BodyShape::Array => decode_array(&text, received_at),
        BodyShape::Ndjson => decode_lines(&text, received_at),
    };
    Decoded { shape, items }
}

/// The body as text. Invalid UTF-8 is replaced (U+FFFD) so that the rest still splits into items;
/// `bad` remembers where, so that exactly the items holding a replacement are rejected.
struct Text<'a> {
    text: Cow<'a, str>,
    /// (offset in `text`, offset in the body as received) of each replaced sequence.
    bad: Vec<(usize, usize)>,
}

impl<'a> Text<'a> {
    fn new(body: &'a [u8], skipped: usize) -> Text<'a> {
        if let Ok(text) = std::str::from_utf8(body) {
            return Text { text: Cow::Borrowed(text), bad: Vec::new() };
        }
        let mut text = String::with_capacity(body.len() + 16);
        let mut bad = Vec::new();
        let mut original = skipped;
        for chunk in body.utf8_chunks() {
            text.push_str(chunk.valid());
            original += chunk.valid().len();
            if !chunk.invalid().is_empty() {
                bad.push((text.len(), original));
                text.push(char::REPLACEMENT_CHARACTER);
                original += chunk.invalid().len();
            }
        }
        Text { text: Cow::Owned(text), bad }
    }

    /// The body offset of the first invalid sequence inside `part` (a slice of `self.text`).
    fn bad_in(&self, part: &str) -> Option<usize> {
        if self.bad.is_empty() {
            return None;
        }
        let start = (part.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        let end = start + part.len();
        self.bad.iter().find(|&&(at, _)| at >= start && at < end).map(|&(_, original)| original)
    }

    fn utf8_error(&self, part: &str) -> Option<ItemError> {
        self.bad_in(part).map(|at| ItemError::new(ItemErrorKind::InvalidUtf8, format!("invalid UTF-8 at byte {at}")))
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

fn decode_single(text: &Text, received_at: Timestamp) -> Result<Event, ItemError> {
    if text.text.trim_matches(is_json_space).is_empty() {
        return Err(ItemError::new(ItemErrorKind::MalformedJson, "empty body"));
    }
    if let Some(error) = text.utf8_error(&text.text) {
        return Err(error);
    }
    object::decode(&text.text, &blank(received_at), &mut Interner::default())
        .map_err(|e| e.into_item_error(Position::LineColumn))
}

fn decode_array(text: &Text, received_at: Timestamp) -> Vec<Result<Event, ItemError>> {
    let raws: Vec<&RawValue> = match serde_json::from_str(&text.text) {
        Ok(raws) => raws,
        Err(error) => {
            let error = text
                .utf8_error(&text.text)
                .unwrap_or_else(|| object::DecodeError::Json(error).into_item_error(Position::LineColumn));
            return vec![Err(error)];
        }
    };
    let blank = blank(received_at);
    let mut interner = Interner::default();
    raws.into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let item = raw.get();
            let prefix = format_args!("item {index}");
            if let Some(error) = text.utf8_error(item) {
                return Err(error.prefixed(&prefix));
            }
            object::decode(item, &blank, &mut interner).map_err(|e| e.into_item_error(Position::None).prefixed(&prefix))
        })
        .collect()
}

fn decode_lines(text: &Text, received_at: Timestamp) -> Vec<Result<Event, ItemError>> {
    let blank = blank(received_at);
    let mut interner = Interner::default();
    let mut items = Vec::new();
    for (number, line) in text.text.split('\n').enumerate() {
        let line = line.trim_matches(is_json_space);
        if line.is_empty() {
            continue;
        }
        let prefix = format_args!("line {}", number + 1);
        let item = match text.utf8_error(line) {
            Some(error) => Err(error.prefixed(&prefix)),
            None => object::decode(line, &blank, &mut interner)
                .map_err(|e| e.into_item_error(Position::Column).prefixed(&prefix)),
        };
        items.push(item);
    }
    items
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
