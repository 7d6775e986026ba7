//! `fields.a.b` terms: finding a path in the event's JSON `fields` object and comparing the
//! values found there. A path is split at its dots once, when the query is compiled; a key
//! that itself holds dots (`"http.method"`, common in OTLP attributes) is found too, and an
//! array on the way or at the end matches when any element does.

use std::fmt::{self, Write};

use serde_json::{Map, Value};

use super::eval::Cmp;
use super::text::{Exact, TextPred};

/// A path into `fields`, with the byte offsets of its dots.
#[derive(Clone)]
pub(crate) struct JsonPath {
    path: Box<str>,
    dots: Box<[usize]>,
}

impl JsonPath {
    pub(crate) fn new(path: &str) -> JsonPath {
        let dots = path.match_indices('.').map(|(i, _)| i).collect();
        JsonPath { path: path.into(), dots }
    }

    /// Whether `test` holds for any value found at the path (array elements one by one).
    #[inline]
    pub(crate) fn any(&self, fields: &Map<String, Value>, test: &impl Fn(&Value) -> bool) -> bool {
        if fields.is_empty() {
            return false;
        }
        if self.dots.is_empty() {
            return get(fields, &self.path).is_some_and(|value| any_element(value, test));
        }
        self.any_in(fields, 0, test)
    }

    /// Looks up the path from byte `start` in `object`: the whole rest as one key first, then
    /// each split at a dot, the longest key first.
    fn any_in(&self, object: &Map<String, Value>, start: usize, test: &impl Fn(&Value) -> bool) -> bool {
        let rest = &self.path[start..];
        if get(object, rest).is_some_and(|value| any_element(value, test)) {
            return true;
        }
        self.dots
            .iter()
            .rev()
            .filter(|&&dot| dot > start)
            .any(|&dot| get(object, &self.path[start..dot]).is_some_and(|value| self.descend(value, dot + 1, test)))
    }

    fn descend(&self, value: &Value, start: usize, test: &impl Fn(&Value) -> bool) -> bool {
        match value {
            Value::Object(object) => self.any_in(object, start, test),
            Value::Array(items) => items.iter().any(|item| self.descend(item, start, test)),
            _ => false,
        }
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fields.{}", self.path)
    }
}

/// `object[key]`. Small objects, the common case, are scanned: cheaper than hashing the key.
#[inline]
fn get<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    if object.len() <= 8 { object.iter().find_map(|(k, v)| (k == key).then_some(v)) } else { object.get(key) }
}

#[inline]
fn any_element(value: &Value, test: &impl Fn(&Value) -> bool) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|item| any_element(item, test)),
        value => test(value),
    }
}

/// How a `fields.x` term compares one value (never an array: those are taken apart first).
#[derive(Clone)]
pub(crate) enum JsonPred {
    /// `fields.x:*`: present and not null, `""` or `{}`.
    Present,
    /// `fields.x:value`: a string equal ignoring case, a number equal to the value read as a
    /// number, a boolean or null named by the value.
    Eq { text: Exact, number: Option<f64>, boolean: Option<bool>, null: bool },
    /// `fields.x:glob*` or `fields.x:/regex/`: strings, and numbers and booleans as JSON writes them.
    Text(TextPred),
    /// `fields.x>N`: numbers, and strings that read as numbers.
    Cmp(Cmp, f64),
}

impl JsonPred {
    pub(crate) fn eq(text: &str) -> JsonPred {
        JsonPred::Eq {
            text: Exact::new(text),
            number: parse_number(text),
            boolean: ["true", "false"].iter().position(|b| b.eq_ignore_ascii_case(text)).map(|i| i == 0),
            null: text.eq_ignore_ascii_case("null"),
        }
    }

    #[inline]
    pub(crate) fn matches(&self, value: &Value) -> bool {
        match self {
            JsonPred::Present => match value {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => true,
            },
            JsonPred::Eq { text, number, boolean, null } => match value {
                Value::String(s) => text.matches(s),
                Value::Number(n) => number.is_some_and(|q| n.as_f64() == Some(q)),
                Value::Bool(b) => *boolean == Some(*b),
                Value::Null => *null,
                _ => false,
            },
            JsonPred::Text(pred) => match value {
                Value::String(s) => pred.matches(s),
                Value::Number(n) => {
                    let mut buf = StackStr::default();
                    write!(buf, "{n}").is_ok() && pred.matches(buf.as_str())
                }
                Value::Bool(b) => pred.matches(if *b { "true" } else { "false" }),
                _ => false,
            },
            JsonPred::Cmp(cmp, q) => match value {
                Value::Number(n) => n.as_f64().is_some_and(|x| cmp.test(x, *q)),
                Value::String(s) => parse_number(s.trim()).is_some_and(|x| cmp.test(x, *q)),
                _ => false,
            },
        }
    }

    pub(crate) fn cost(&self) -> u32 {
        match self {
            JsonPred::Text(pred) => pred.cost(),
            _ => 2,
        }
    }

    pub(crate) fn fmt_on(&self, path: &JsonPath, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonPred::Present => write!(f, "present({path})"),
            JsonPred::Eq { text, number, boolean, null } => {
                if number.is_some() || boolean.is_some() || *null {
                    write!(f, "eq({path}, {})", text.text())
                } else {
                    write!(f, "eq({path}, {:?})", text.text())
                }
            }
            JsonPred::Text(pred) => pred.fmt_on(path, f),
            JsonPred::Cmp(cmp, q) => write!(f, "{cmp}({path}, {q})"),
        }
    }
}

/// A decimal number as people write them (`54`, `-0.5`, `1e3`); not `inf` or `nan`.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    let looks_numeric = digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && digits.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'));
    if !looks_numeric {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A number's text on the stack; writing more than fits fails.
struct StackStr {
    buf: [u8; 40],
    len: usize,
}

impl Default for StackStr {
    fn default() -> StackStr {
        StackStr { buf: [0; 40], len: 0 }
    }
}

impl StackStr {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl Write for StackStr {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.buf.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}
