//! Field values as the pipe stages read them. A field named in a stage is resolved once, at
//! parse time, with the filter's own field names ([`Field::lookup`]) and `fields.a.b` paths
//! ([`JsonPath`]); reading it from an event borrows ([`Val`]), so grouping and aggregating
//! allocate nothing per event. The filter's path lookup hands each value it finds to a
//! callback, so values under `fields` are seen in callbacks ([`Found::each`],
//! [`Found::first`]). A group key or a table cell that must outlive the event is a [`Part`];
//! both order the same way ([`Val::cmp`]).

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::sync::Arc;

use serde_json::Value;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::event::Source;
use crate::query::EventField;
use crate::query::field::{FACILITIES, Field, ListField, StrField, TimeField};
use crate::query::json::{JsonPath, parse_number};
use crate::{Event, Fields, Severity, Str, Timestamp};

/// A field named in a stage, as written, with how to read it.
#[derive(Clone)]
pub(crate) struct FieldRef {
    pub name: String,
    pub get: Getter,
}

/// How to read one field of an event.
#[derive(Clone)]
pub(crate) enum Getter {
    Id,
    Time(TimeField),
    Source,
    Severity,
    Facility,
    Line,
    Str(StrField),
    List(ListField),
    Json(JsonPath),
}

/// Why a name is not a field.
pub(crate) enum BadField {
    Unknown,
    EmptyPathPart,
}

impl Getter {
    pub(crate) fn lookup(name: &str) -> Result<Getter, BadField> {
        Ok(match Field::lookup(name).ok_or(BadField::Unknown)? {
            Field::Id => Getter::Id,
            Field::Time(field) => Getter::Time(field),
            Field::Source => Getter::Source,
            Field::Severity => Getter::Severity,
            Field::Facility => Getter::Facility,
            Field::Line => Getter::Line,
            Field::Str(field) => Getter::Str(field),
            Field::List(field) => Getter::List(field),
            Field::Json(path) if path.split('.').any(str::is_empty) => return Err(BadField::EmptyPathPart),
            Field::Json(path) => Getter::Json(JsonPath::new(path)),
        })
    }

    /// The event field this reads.
    pub(crate) fn field(&self) -> EventField {
        match self {
            Getter::Id => EventField::Id,
            Getter::Time(field) => EventField::from(*field),
            Getter::Source => EventField::Source,
            Getter::Severity => EventField::Severity,
            Getter::Facility => EventField::Facility,
            Getter::Line => EventField::Line,
            Getter::Str(field) => EventField::from(*field),
            Getter::List(field) => EventField::from(*field),
            Getter::Json(_) => EventField::Fields,
        }
    }

    /// What `event` holds in this field. Absent optional strings and empty lists are `None`.
    #[inline]
    pub(crate) fn find<'e>(&'e self, event: &'e Event) -> Found<'e> {
        let one = Found::One;
        match self {
            Getter::Id => one(Val::Id(event.id.0)),
            Getter::Time(field) => one(Val::Time(field.get(event))),
            Getter::Source => one(Val::Source(event.source)),
            Getter::Severity => one(Val::Severity(event.severity)),
            Getter::Facility => event.facility.map_or(Found::None, |f| one(Val::Facility(f))),
            Getter::Line => event.line.map_or(Found::None, |line| one(Val::Int(i64::from(line)))),
            Getter::Str(field) => match field.get(event) {
                "" => Found::None,
                s => one(Val::Str(s)),
            },
            Getter::List(field) => match field.get(event) {
                [] => Found::None,
                items => Found::List(items),
            },
            Getter::Json(_) if event.fields.is_empty() => Found::None,
            Getter::Json(path) => Found::Json(path, &event.fields),
        }
    }

    /// The field of `event` as a column: one value, null, or an array for a list (always)
    /// and for a path that reaches several values.
    pub(crate) fn to_json(&self, event: &Event) -> Value {
        match self {
            Getter::List(field) => field.get(event).iter().map(|item| Value::from(&**item)).collect(),
            _ => self.find(event).to_json(),
        }
    }

    /// Whether the field holds times (its numbers are microseconds, shown as RFC 3339).
    pub(crate) fn is_time(&self) -> bool {
        matches!(self, Getter::Time(_))
    }

    /// Whether the field can never hold a number.
    pub(crate) fn is_id(&self) -> bool {
        matches!(self, Getter::Id)
    }
}

/// The values of one field in one event.
#[derive(Clone, Copy)]
pub(crate) enum Found<'e> {
    None,
    One(Val<'e>),
    List(&'e [Str]),
    /// Values found through a `fields.` path live only for the callback that sees them.
    Json(&'e JsonPath, &'e Fields),
}

impl Found<'_> {
    /// Calls `f` on every value: none when absent, each element of a list or a JSON array.
    #[inline]
    pub(crate) fn each(self, mut f: impl FnMut(Val<'_>)) {
        match self {
            Found::None => {}
            Found::One(value) => f(value),
            Found::List(items) => items.iter().for_each(|item| f(Val::Str(item))),
            Found::Json(path, fields) => each_json(path, fields, |value| f(Val::json(value))),
        }
    }

    /// `f` of the first value, or of null when there is none.
    pub(crate) fn first<R>(self, f: impl Fn(Val<'_>) -> R) -> R {
        match self {
            Found::None => f(Val::Null),
            Found::One(value) => f(value),
            Found::List(items) => f(items.first().map_or(Val::Null, |item| Val::Str(item))),
            Found::Json(path, fields) => {
                let result = Cell::new(None);
                path.any(fields, &|value| {
                    result.set(Some(f(Val::json(value))));
                    true
                });
                result.into_inner().unwrap_or_else(|| f(Val::Null))
            }
        }
    }

    /// The values as JSON: null when absent, one value, or an array when there are several.
    pub(crate) fn to_json(self) -> Value {
        let mut values = Vec::new();
        self.each(|value| values.push(value.to_json()));
        match values.len() {
            0 => Value::Null,
            1 => values.pop().unwrap_or_default(),
            _ => Value::Array(values),
        }
    }
}

/// Calls `f` on every value the filter's path resolution finds at `path`, array elements one
/// by one.
pub(crate) fn each_json(path: &JsonPath, fields: &Fields, f: impl FnMut(&Value)) {
    let f = RefCell::new(f);
    path.any(fields, &|value| {
        (f.borrow_mut())(value);
        false
    });
}

/// One value of a field, borrowed from the event.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// Never a whole number that fits an `Int`.
    Float(f64),
    Str(&'a str),
    Severity(Severity),
    Source(Source),
    Facility(u8),
    /// Microseconds since the epoch.
    Time(i64),
    Id(u128),
    /// A JSON object found at a `fields.` path.
    Object(&'a Value),
    /// The group that holds what did not fit the bound on groups.
    Other,
}

impl<'a> Val<'a> {
    /// A JSON value; arrays never reach here (paths take them apart).
    pub(crate) fn json(value: &'a Value) -> Val<'a> {
        match value {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Val::Int(i),
                None => Val::number(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => Val::Str(s),
            Value::Array(_) | Value::Object(_) => Val::Object(value),
        }
    }

    /// A number, as an `Int` when it is whole and exact.
    pub(crate) fn number(x: f64) -> Val<'a> {
        if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 { Val::Int(x as i64) } else { Val::Float(x) }
    }

    /// The value as a number: `None` for null, `Some(Err)` for a value that is not one.
    /// Strings count when they read as a number; severities as their syslog number.
    pub(crate) fn numeric(self) -> Option<Result<f64, ()>> {
        Some(match self {
            Val::Null | Val::Other => return None,
            Val::Int(i) => Ok(i as f64),
            Val::Float(x) => Ok(x),
            Val::Str(s) => parse_number(s.trim()).ok_or(()),
            Val::Severity(s) => Ok(f64::from(s.syslog())),
            Val::Facility(f) => Ok(f64::from(f)),
            Val::Time(t) => Ok(t as f64),
            Val::Bool(_) | Val::Source(_) | Val::Id(_) | Val::Object(_) => Err(()),
        })
    }

    /// The value as a number for ordering: numbers, and strings that read as one.
    fn sort_number(self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(i as f64),
            Val::Float(x) => Some(x),
            Val::Str(s) => parse_number(s),
            _ => None,
        }
    }

    /// The kind's place in the order; numbers and numeric strings share one.
    fn rank(self, numeric: bool) -> u8 {
        match self {
            Val::Null => 0,
            Val::Bool(_) => 1,
            _ if numeric => 2,
            Val::Int(_) | Val::Float(_) | Val::Str(_) => 3,
            Val::Severity(_) => 4,
            Val::Source(_) => 5,
            Val::Facility(_) => 6,
            Val::Time(_) => 7,
            Val::Id(_) => 8,
            Val::Object(_) => 9,
            Val::Other => 10,
        }
    }

    /// The order of sorting and of rows, a total order: null, booleans, numbers and strings
    /// that read as numbers (by value), other strings (by bytes), then the typed values.
    pub(crate) fn cmp(self, other: Val<'_>) -> Ordering {
        let (x, y) = (self.sort_number(), other.sort_number());
        let by_rank = self.rank(x.is_some()).cmp(&other.rank(y.is_some()));
        if by_rank.is_ne() {
            return by_rank;
        }
        let subrank = |v: Val<'_>| match v {
            Val::Int(_) => 0,
            Val::Float(_) => 1,
            _ => 2,
        };
        match (self, other) {
            (Val::Int(a), Val::Int(b)) => a.cmp(&b),
            (Val::Bool(a), Val::Bool(b)) => a.cmp(&b),
            (Val::Str(a), Val::Str(b)) if x.is_none() => a.cmp(b),
            // Worse is greater, as in `severity>=warning`.
            (Val::Severity(a), Val::Severity(b)) => b.cmp(&a),
            (Val::Source(a), Val::Source(b)) => a.cmp(&b),
            (Val::Facility(a), Val::Facility(b)) => a.cmp(&b),
            (Val::Time(a), Val::Time(b)) => a.cmp(&b),
            (Val::Id(a), Val::Id(b)) => a.cmp(&b),
            (Val::Object(a), Val::Object(b)) => a.to_string().cmp(&b.to_string()),
            _ => match (x, y) {
                (Some(a), Some(b)) => {
                    a.total_cmp(&b).then(subrank(self).cmp(&subrank(other))).then(match (self, other) {
                        (Val::Str(a), Val::Str(b)) => a.cmp(b),
                        _ => Ordering::Equal,
                    })
                }
                _ => Ordering::Equal,
            },
        }
    }

    /// Whether a group key part equals this value.
    #[inline]
    pub(crate) fn eq_part(self, part: &Part) -> bool {
        match (self, part) {
            (Val::Null, Part::Null) | (Val::Other, Part::Other) => true,
            (Val::Bool(a), Part::Bool(b)) => a == *b,
            (Val::Int(a), Part::Int(b)) => a == *b,
            (Val::Float(a), Part::Float(b)) => a.to_bits() == b.to_bits(),
            (Val::Str(a), Part::Str(b)) => a == &**b,
            (Val::Severity(a), Part::Severity(b)) => a == *b,
            (Val::Source(a), Part::Source(b)) => a == *b,
            (Val::Facility(a), Part::Facility(b)) => a == *b,
            (Val::Time(a), Part::Time(b)) => a == *b,
            (Val::Id(a), Part::Id(b)) => a == *b,
            _ => false,
        }
    }

    /// Mixes the value into a group key's hash. Equal values hash equally.
    #[inline(always)]
    pub(crate) fn hash_into(self, h: u64) -> u64 {
        let (tag, word) = match self {
            Val::Null => (0, 0),
            Val::Bool(b) => (1, u64::from(b)),
            Val::Int(i) => (2, i as u64),
            Val::Float(x) => (3, x.to_bits()),
            Val::Str(s) => (4, hash_str(s)),
            Val::Severity(s) => (5, u64::from(s.syslog())),
            Val::Source(s) => (6, s as u64),
            Val::Facility(f) => (7, u64::from(f)),
            Val::Time(t) => (8, t as u64),
            Val::Id(id) => (9, (id as u64) ^ (id >> 64) as u64),
            Val::Object(v) => (10, hash_str(&v.to_string())),
            Val::Other => (11, 0),
        };
        mix(mix(h, tag), word)
    }

    /// A well-spread 64-bit hash of the value alone, for counting distinct values.
    pub(crate) fn hash64(self) -> u64 {
        match self {
            Val::Str(s) => xxh3_64_with_seed(s.as_bytes(), 4),
            Val::Object(v) => xxh3_64_with_seed(v.to_string().as_bytes(), 10),
            other => xxh3_64_with_seed(&other.hash_into(0).to_le_bytes(), 0),
        }
    }

    pub(crate) fn to_json(self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(b),
            Val::Int(i) => Value::from(i),
            Val::Float(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
            Val::Str(s) => Value::from(s),
            Val::Severity(s) => Value::from(s.name()),
            Val::Source(s) => Value::from(s.name()),
            Val::Facility(f) => {
                FACILITIES.get(usize::from(f)).map_or_else(|| Value::from(f), |&name| Value::from(name))
            }
            Val::Time(t) => Value::from(Timestamp::from_micros(t).to_rfc3339()),
            Val::Id(id) => Value::from(ulid::Ulid(id).to_string()),
            Val::Object(v) => v.clone(),
            Val::Other => Value::from("other"),
        }
    }

    /// The value as a column name: strings as they are, everything else as JSON.
    pub(crate) fn to_name(self) -> String {
        match self.to_json() {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }
}

#[inline(never)]
fn hash_str(s: &str) -> u64 {
    xxh3_64_with_seed(s.as_bytes(), 4)
}

/// FxHash's step: cheap, and good enough with a multiplicative spread at the end.
#[inline]
fn mix(h: u64, word: u64) -> u64 {
    (h.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}

/// A value kept beyond the event: a group key part or a table cell.
#[derive(Debug, Clone)]
pub(crate) enum Part {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    Severity(Severity),
    Source(Source),
    Facility(u8),
    Time(i64),
    Id(u128),
    Other,
}

impl Part {
    pub(crate) fn from_val(value: Val<'_>) -> Part {
        match value {
            Val::Null => Part::Null,
            Val::Bool(b) => Part::Bool(b),
            Val::Int(i) => Part::Int(i),
            Val::Float(x) => Part::Float(x),
            Val::Str(s) => Part::Str(Arc::from(s)),
            Val::Severity(s) => Part::Severity(s),
            Val::Source(s) => Part::Source(s),
            Val::Facility(f) => Part::Facility(f),
            Val::Time(t) => Part::Time(t),
            Val::Id(id) => Part::Id(id),
            Val::Object(v) => Part::Str(Arc::from(v.to_string())),
            Val::Other => Part::Other,
        }
    }

    /// A number, as an `Int` when it is whole and exact.
    pub(crate) fn number(x: f64) -> Part {
        Part::from_val(Val::number(x))
    }

    pub(crate) fn as_val(&self) -> Val<'_> {
        match self {
            Part::Null => Val::Null,
            Part::Bool(b) => Val::Bool(*b),
            Part::Int(i) => Val::Int(*i),
            Part::Float(x) => Val::Float(*x),
            Part::Str(s) => Val::Str(s),
            Part::Severity(s) => Val::Severity(*s),
            Part::Source(s) => Val::Source(*s),
            Part::Facility(f) => Val::Facility(*f),
            Part::Time(t) => Val::Time(*t),
            Part::Id(id) => Val::Id(*id),
            Part::Other => Val::Other,
        }
    }
}

/// The order of a sort key: nulls last in either direction, since a sort is usually asked
/// for the values that are there.
pub(crate) fn cmp_sort(a: Val<'_>, b: Val<'_>, descending: bool) -> Ordering {
    match (a, b) {
        (Val::Null, Val::Null) => Ordering::Equal,
        (Val::Null, _) => Ordering::Greater,
        (_, Val::Null) => Ordering::Less,
        _ if descending => b.cmp(a),
        _ => a.cmp(b),
    }
}
