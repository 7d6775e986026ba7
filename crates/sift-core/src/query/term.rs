//! One term into one leaf matcher: checks that the field exists, that the operator suits it
//! and that the value reads as what the field holds (a severity, a number, a time, a ULID, a
//! source), and precomputes what it can: every test on severity, source or facility becomes a
//! bit mask, needles are lowered, globs and regexes compiled, `fields.` paths split. What it
//! compiles is charged to the query's [`Budget`].

use ulid::Ulid;

use super::Fail;
use super::budget::{Budget, Limit, MAX_COMPILED_BYTES, MAX_REGEX_BYTES, Over, format_bytes};
use super::eval::{ALL_FACILITIES, ALL_SEVERITIES, ALL_SOURCES, Cmp, IdPred, Leaf, Node, NumPred};
use super::field::{FACILITIES, Field, KNOWN_FIELDS, ListField, StrField, facility_from_str};
use super::json::{JsonPath, JsonPred, parse_number};
use super::lexer::{Op, Style, Target, Term, Value, quote_snippet};
use super::text::{BuildError, Contains, Exact, Glob, Pattern, TextPred, build_regex, decimal};
use crate::event::Source;
use crate::{Severity, Timestamp};

const SEVERITY_NAMES: &str =
    "a severity (emergency, alert, critical, error, warning, notice, info, debug, an alias such as warn, or 0-7)";
const SOURCE_NAMES: &str = "a source (syslog_udp, syslog_tcp, popcorn, logplex, http_json, otlp, internal)";
const FACILITY_NAMES: &str = "a facility (0-23, or a name such as kern, user, daemon, auth, local0-local7)";
const TIME_FORMS: &str =
    "(RFC 3339 such as 2024-05-01T12:00:00Z, a date such as 2024-05-01, `now`, or an age such as 15m, 2h, 7d)";

/// Compiles one term, which starts at byte `start`, within `budget`. `src` is the whole
/// query, for quoting values in errors.
pub(crate) fn compile(term: Term, start: usize, src: &str, now: Timestamp, budget: &mut Budget) -> Result<Node, Fail> {
    let Term { target, value } = term;
    let matcher = Matcher { start, value: &value, src, budget };
    let leaf = match target {
        Target::Bare => return bare(matcher),
        Target::Topic => Leaf::List(ListField::Topics, matcher.text_pred()?),
        Target::Identity => Leaf::List(ListField::Identities, matcher.text_pred()?),
        Target::Field { name, at, op } => {
            let Some(field) = Field::lookup(&name) else {
                return Err(unknown_field(&name, at));
            };
            let mut cx = Cx { name: &name, at, op, value: &value, src, now, matcher };
            match cx.field(field)? {
                Some(leaf) => leaf,
                None => return Ok(Node::All),
            }
        }
    };
    Ok(Node::Leaf(leaf))
}

/// A bare word or phrase: the message contains it (a word with `*` is a glob).
fn bare(cx: Matcher<'_>) -> Result<Node, Fail> {
    let text = cx.value.text.as_str();
    let pred = match cx.value.style {
        Style::Word if text.chars().all(|c| c == '*') => return Ok(Node::All),
        Style::Word if text.contains('*') => {
            let glob = Glob::anywhere(text, cx.budget);
            TextPred::Glob(glob.map_err(|e| cx.build_failed(e))?)
        }
        _ => TextPred::Contains(Contains::new(text, cx.budget).map_err(|e| cx.build_failed(e))?),
    };
    Ok(Node::Leaf(Leaf::Str(StrField::Message, pred)))
}

/// What a value says, by how it was written.
enum Shape<'v> {
    /// `*`: present.
    Any,
    Exact(&'v str),
    Glob(&'v str),
    Regex(&'v str),
}

fn shape(value: &Value) -> Shape<'_> {
    let text = value.text.as_str();
    match value.style {
        Style::Quoted => Shape::Exact(text),
        Style::Regex => Shape::Regex(text),
        Style::Word if text.chars().all(|c| c == '*') => Shape::Any,
        Style::Word if text.contains(['*', '?']) => Shape::Glob(text),
        Style::Word => Shape::Exact(text),
    }
}

/// A term's value being compiled into string matchers, within the query's budget.
struct Matcher<'a> {
    /// Where the term starts, for errors about the budget.
    start: usize,
    value: &'a Value,
    src: &'a str,
    budget: &'a mut Budget,
}

impl Matcher<'_> {
    /// The string test a `:` value describes.
    fn text_pred(mut self) -> Result<TextPred, Fail> {
        let value = self.value;
        Ok(match shape(value) {
            Shape::Any => TextPred::Present,
            Shape::Exact(text) => {
                self.budget.charge(text.len()).map_err(|over| self.over(over))?;
                TextPred::Eq(Exact::new(text))
            }
            Shape::Glob(text) => {
                let glob = Glob::whole(text, self.budget);
                TextPred::Glob(glob.map_err(|e| self.build_failed(e))?)
            }
            Shape::Regex(text) => TextPred::Regex(self.regex(text)?),
        })
    }

    fn regex(&mut self, text: &str) -> Result<Pattern, Fail> {
        let built = build_regex(text, self.budget);
        built.map_err(|e| self.build_failed(e))
    }

    /// The mask of the `names` that a glob or regex value matches (`severity:err*`).
    fn name_mask<'n>(self, names: impl Iterator<Item = &'n str>) -> Result<u32, Fail> {
        let pred = self.text_pred()?;
        Ok(names.enumerate().filter(|(_, name)| pred.matches(name)).fold(0, |mask, (i, _)| mask | 1 << i))
    }

    fn build_failed(&self, error: BuildError) -> Fail {
        match error {
            BuildError::Syntax(why) => Fail::new(
                self.value.at,
                "a valid regex",
                format!("{} ({why})", quote_snippet(raw(self.value, self.src))),
            ),
            BuildError::Over(over) => self.over(over),
        }
    }

    /// The term does not fit the query's budget: an error at its start naming the limit.
    fn over(&self, over: Over) -> Fail {
        let term = quote_snippet(self.src.get(self.start..self.value.end).unwrap_or(""));
        let (expected, found) = match (over.limit, over.total) {
            (Limit::RegexBytes, _) => (
                format!(
                    "a regex or glob that compiles to at most {} (the regex size limit)",
                    format_bytes(MAX_REGEX_BYTES)
                ),
                format!("{term}, which compiles to more"),
            ),
            (_, total) => (
                format!(
                    "at most {} of compiled regexes, globs and words in one query, about 15 regexes (the query compile limit)",
                    format_bytes(MAX_COMPILED_BYTES)
                ),
                match total {
                    Some(total) => format!("{term}, which takes the query to {}", format_bytes(total)),
                    None => format!("{term}, which takes the query over it"),
                },
            ),
        };
        Fail::new(self.start, expected, found).because(over.limit)
    }
}

/// A field term being compiled.
struct Cx<'a, 'b> {
    /// The field as written, and where.
    name: &'a str,
    at: usize,
    op: Op,
    value: &'a Value,
    src: &'a str,
    now: Timestamp,
    matcher: Matcher<'b>,
}

impl Cx<'_, '_> {
    /// The matchers of this term's value, within the query's budget.
    fn matcher(&mut self) -> Matcher<'_> {
        let Matcher { start, value, src, .. } = self.matcher;
        Matcher { start, value, src, budget: &mut *self.matcher.budget }
    }

    /// The leaf, or `None` when the term holds for every event (`time:*`).
    fn field(&mut self, field: Field<'_>) -> Result<Option<Leaf>, Fail> {
        let leaf = match field {
            Field::Str(field) => Leaf::Str(field, self.text()?),
            Field::List(field) => Leaf::List(field, self.text()?),
            Field::Severity => Leaf::Severity(self.severity()?),
            Field::Source => Leaf::Source(self.source()?),
            Field::Facility => Leaf::Facility(self.facility()?),
            Field::Line => Leaf::Line(self.line()?),
            Field::Time(field) => match self.time()? {
                Some((cmp, at)) => Leaf::Time(field, cmp, at),
                None => return Ok(None),
            },
            Field::Id => match self.id()? {
                Some(pred) => Leaf::Id(pred),
                None => return Ok(None),
            },
            Field::Json(path) => Leaf::Json(self.json_path(path)?, self.json()?),
        };
        Ok(match leaf {
            Leaf::Severity(ALL_SEVERITIES) | Leaf::Source(ALL_SOURCES) => None,
            leaf => Some(leaf),
        })
    }

    /// The comparison, or `None` for `:`.
    fn cmp(&self) -> Option<Cmp> {
        match self.op {
            Op::Colon => None,
            Op::Lt => Some(Cmp::Lt),
            Op::Le => Some(Cmp::Le),
            Op::Gt => Some(Cmp::Gt),
            Op::Ge => Some(Cmp::Ge),
        }
    }

    fn text(&mut self) -> Result<TextPred, Fail> {
        self.colon_only()?;
        self.matcher().text_pred()
    }

    /// Fields without an order take only `:`.
    fn colon_only(&self) -> Result<(), Fail> {
        if self.op == Op::Colon {
            return Ok(());
        }
        let op_at = self.at + self.name.len();
        let expected = format!("`:` after `{}` (`<` and `>` compare numbers, severities and times)", self.name);
        Err(Fail::new(op_at, expected, format!("`{}`", self.op)))
    }

    fn severity(&mut self) -> Result<u8, Fail> {
        let names = Severity::ALL.iter().map(|s| s.name());
        let mask = match (self.cmp(), shape(self.value)) {
            (None, Shape::Any) => u32::from(ALL_SEVERITIES),
            (None, Shape::Glob(_) | Shape::Regex(_)) => self.matcher().name_mask(names)?,
            (cmp, _) => {
                let wanted = self.value.text.parse::<Severity>().map_err(|_| self.bad_value(SEVERITY_NAMES))?;
                // Greater is worse, and worse severities have smaller numbers.
                let cmp = cmp.unwrap_or(Cmp::Eq);
                Severity::ALL
                    .iter()
                    .filter(|s| cmp.test(wanted.syslog(), s.syslog()))
                    .fold(0, |mask, s| mask | 1 << s.syslog())
            }
        };
        Ok(mask as u8)
    }

    fn source(&mut self) -> Result<u8, Fail> {
        self.colon_only()?;
        let names = Source::ALL.iter().map(|s| s.name());
        match shape(self.value) {
            Shape::Any => Ok(ALL_SOURCES),
            Shape::Glob(_) | Shape::Regex(_) => Ok(self.matcher().name_mask(names)? as u8),
            Shape::Exact(text) => match Source::from_name(text) {
                Some(source) => Ok(1 << source as u8),
                None => Err(self.bad_value(SOURCE_NAMES)),
            },
        }
    }

    fn facility(&mut self) -> Result<u32, Fail> {
        let shape = shape(self.value);
        match (self.cmp(), shape) {
            (None, Shape::Any) => Ok(ALL_FACILITIES),
            (None, Shape::Glob(_) | Shape::Regex(_)) => {
                // A facility pattern matches its name or its number.
                let pred = self.matcher().text_pred()?;
                let mut mask = 0;
                for (n, name) in FACILITIES.iter().enumerate() {
                    if pred.matches(name) || pred.matches(decimal(n as u64, &mut [0; 20])) {
                        mask |= 1 << n;
                    }
                }
                Ok(mask)
            }
            (cmp, _) => {
                let wanted = facility_from_str(&self.value.text).ok_or_else(|| self.bad_value(FACILITY_NAMES))?;
                let cmp = cmp.unwrap_or(Cmp::Eq);
                Ok((0..FACILITIES.len() as u8).filter(|&f| cmp.test(f, wanted)).fold(0, |mask, f| mask | 1 << f))
            }
        }
    }

    fn line(&mut self) -> Result<NumPred, Fail> {
        match (self.cmp(), shape(self.value)) {
            (None, Shape::Any) => Ok(NumPred::Text(TextPred::Present)),
            (None, Shape::Glob(_) | Shape::Regex(_)) => Ok(NumPred::Text(self.matcher().text_pred()?)),
            (cmp, _) => Ok(NumPred::Cmp(cmp.unwrap_or(Cmp::Eq), self.number()?)),
        }
    }

    fn number(&self) -> Result<f64, Fail> {
        parse_number(&self.value.text).ok_or_else(|| self.bad_value("a number"))
    }

    /// The comparison with a time, or `None` for `time:*`.
    fn time(&self) -> Result<Option<(Cmp, i64)>, Fail> {
        if self.cmp().is_none() && matches!(shape(self.value), Shape::Any) {
            return Ok(None);
        }
        let at = match self.value.style {
            Style::Regex => None,
            _ => parse_time(&self.value.text, self.now),
        };
        let at = at.ok_or_else(|| self.bad_value(&format!("a time {TIME_FORMS}")))?;
        Ok(Some((self.cmp().unwrap_or(Cmp::Eq), at.as_micros())))
    }

    /// The test on the id, or `None` for `id:*`.
    fn id(&mut self) -> Result<Option<IdPred>, Fail> {
        match (self.cmp(), shape(self.value)) {
            (None, Shape::Any) => Ok(None),
            (None, Shape::Glob(_) | Shape::Regex(_)) => Ok(Some(IdPred::Text(self.matcher().text_pred()?))),
            (cmp, _) => {
                let id = Ulid::from_string(&self.value.text)
                    .map_err(|_| self.bad_value("a ULID (26 characters such as 01HXZ5S3R8Q0Y7D9E2W4K6M1N3)"))?;
                Ok(Some(IdPred::Cmp(cmp.unwrap_or(Cmp::Eq), id.0)))
            }
        }
    }

    fn json_path(&self, path: &str) -> Result<JsonPath, Fail> {
        if path.split('.').any(str::is_empty) {
            let expected = "a field path such as `fields.a.b` (no empty parts)";
            return Err(Fail::new(self.at, expected, quote_snippet(self.name)));
        }
        Ok(JsonPath::new(path))
    }

    fn json(&mut self) -> Result<JsonPred, Fail> {
        if let Some(cmp) = self.cmp() {
            return Ok(JsonPred::Cmp(cmp, self.number()?));
        }
        Ok(match shape(self.value) {
            Shape::Any => JsonPred::Present,
            Shape::Exact(text) => JsonPred::eq(text),
            Shape::Glob(_) | Shape::Regex(_) => JsonPred::Text(self.matcher().text_pred()?),
        })
    }

    /// The value does not read as `expected`.
    fn bad_value(&self, expected: &str) -> Fail {
        let found = match self.value.style {
            Style::Regex => format!("the regex {}", quote_snippet(raw(self.value, self.src))),
            _ => quote_snippet(raw(self.value, self.src)),
        };
        Fail::new(self.value.at, format!("{expected} after `{}{}`", self.name, self.op), found)
    }
}

/// A point in time as [`Timestamp::parse_point`] reads it, or a date alone (`2024-05-01`),
/// meaning its midnight UTC.
fn parse_time(text: &str, now: Timestamp) -> Option<Timestamp> {
    let is_date = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    if is_date {
        return Timestamp::parse_rfc3339(&format!("{text}T00:00:00Z")).ok();
    }
    Timestamp::parse_point(text, now).ok()
}

/// The value as written, quotes or slashes included.
fn raw<'s>(value: &Value, src: &'s str) -> &'s str {
    src.get(value.at..value.end).unwrap_or("")
}

pub(crate) fn unknown_field(name: &str, at: usize) -> Fail {
    Fail::new(
        at,
        format!("a known field ({KNOWN_FIELDS}) or `fields.{name}` for a custom field"),
        format!("unknown field {}", quote_snippet(name)),
    )
}
