//! RFC 5424: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`, each
//! header field `-` (NILVALUE) when absent.
//!
//! Structured data becomes `fields` as `{"sd-id": {"param": "value"}}`. Two elements with the
//! same SD-ID are merged into one object, and a parameter given more than once (RFC 5424 section
//! 7.2.2 repeats `ip` in `origin`) becomes an array of its values in order, so nothing the
//! sender wrote is lost. In values `\"`, `\\` and `\]` are unescaped and any other backslash is
//! kept, as section 6.3.3 says; an unescaped `]` inside quotes is accepted.
//!
//! Leniencies, for what real senders write: the structured-data field may be missing when the
//! token after MSGID is neither `-` nor `[...]` (Logplex writes both
//! `<40>1 ts host app web.3 - - msg` and `<40>1 ts host app web.3 - msg`), or when the message
//! ends after MSGID; the fraction may have up to 9 digits (dropped past the 6th). The one
//! ambiguity this leaves: with the field missing, a MSG that starts with `[name]` is read as
//! structured data, as a strict parser would read it.

use serde_json::{Map, Value};

use super::timestamp::rfc3339;
use super::{Malformed, MalformedReason, Parts};

/// Whether the text after PRI starts an RFC 5424 message: version `1` and a timestamp that is
/// `-` or starts like a date. `<13>1 apple` stays a legacy message.
pub(super) fn detect(rest: &[u8]) -> bool {
    let Some(ts) = rest.strip_prefix(b"1 ") else { return false };
    matches!(ts, [b'-'] | [b'-', b' ', ..]) || (ts.len() > 4 && ts[..4].iter().all(u8::is_ascii_digit) && ts[4] == b'-')
}

/// Parses the message after its PRI (`after` is the offset of the version).
pub(super) fn parse(message: &[u8], pri: u8, after: usize) -> Result<Parts<'_>, Malformed> {
    let mut header = Header { message, pos: after };
    header.version()?;
    let time_at = header.pos;
    let time = match header.field()? {
        None => None,
        Some(token) => Some(rfc3339(token, false).ok_or(Malformed::new(
            MalformedReason::BadTimestamp,
            time_at,
            "expected an RFC 3339 timestamp such as 2024-05-01T12:00:00.123Z",
        ))?),
    };
    let host = header.field()?;
    let app = header.field()?;
    let proc = header.field()?;
    let msgid = header.last_field()?;
    let mut parts = Parts { pri: Some(pri), time, host, app, proc, msgid, ..Parts::default() };

    // `last_field` stopped at the space before STRUCTURED-DATA or at the end.
    if header.pos == message.len() {
        return Ok(parts);
    }
    let mut pos = header.pos + 1;
    match message.get(pos) {
        None => return Ok(parts),
        Some(b'-') if matches!(message.get(pos + 1), None | Some(b' ')) => pos += 1,
        Some(b'[') => pos = structured_data(message, pos, &mut parts.fields)?,
        // No structured-data field: the rest is MSG.
        Some(_) => {
            parts.msg = &message[pos..];
            return Ok(parts);
        }
    }
    match message.get(pos) {
        None => {}
        Some(b' ') => parts.msg = &message[pos + 1..],
        Some(_) => {
            return Err(Malformed::new(
                MalformedReason::BadStructuredData,
                pos,
                "expected a space or the end after structured data",
            ));
        }
    }
    Ok(parts)
}

/// The space-separated header fields, read one at a time.
struct Header<'a> {
    message: &'a [u8],
    pos: usize,
}

impl<'a> Header<'a> {
    fn version(&mut self) -> Result<(), Malformed> {
        let len = self.message[self.pos..].iter().take(3).take_while(|c| c.is_ascii_digit()).count();
        if &self.message[self.pos..self.pos + len] != b"1" {
            return Err(Malformed::new(MalformedReason::BadVersion, self.pos, "expected version 1"));
        }
        self.pos += 1;
        self.space()
    }

    /// A field followed by a space; `None` for NILVALUE.
    fn field(&mut self) -> Result<Option<&'a [u8]>, Malformed> {
        let value = self.last_field()?;
        self.space()?;
        Ok(value)
    }

    /// A field that may end the message; `None` for NILVALUE.
    fn last_field(&mut self) -> Result<Option<&'a [u8]>, Malformed> {
        let start = self.pos;
        let rest = &self.message[start..];
        let len = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
        if len == 0 {
            return Err(if rest.is_empty() {
                truncated(start)
            } else {
                Malformed::new(MalformedReason::BadHeaderField, start, "empty header field (two spaces)")
            });
        }
        let value = &rest[..len];
        if let Some(bad) = value.iter().position(|&c| c < b' ' || c == 0x7f) {
            return Err(Malformed::new(
                MalformedReason::BadHeaderField,
                start + bad,
                "control character in a header field",
            ));
        }
        self.pos += len;
        Ok((value != b"-").then_some(value))
    }

    fn space(&mut self) -> Result<(), Malformed> {
        if self.message.get(self.pos) != Some(&b' ') {
            return Err(truncated(self.pos));
        }
        self.pos += 1;
        Ok(())
    }
}

fn truncated(pos: usize) -> Malformed {
    Malformed::new(MalformedReason::TruncatedHeader, pos, "header ends before MSGID")
}

/// Reads `[id name="value" ...]...` from `pos` into `fields`; returns the offset after it.
fn structured_data(message: &[u8], mut pos: usize, fields: &mut Map<String, Value>) -> Result<usize, Malformed> {
    while message.get(pos) == Some(&b'[') {
        pos += 1;
        let id = sd_name(message, &mut pos, "expected an SD-ID after '['")?;
        let params = match fields.entry(id).or_insert_with(|| Value::Object(Map::new())) {
            Value::Object(params) => params,
            _ => unreachable!("SD-IDs map only to objects"),
        };
        loop {
            while message.get(pos) == Some(&b' ') {
                pos += 1;
            }
            if message.get(pos) == Some(&b']') {
                pos += 1;
                break;
            }
            let name = sd_name(message, &mut pos, "expected a parameter name or ']'")?;
            if message.get(pos..pos + 2) != Some(b"=\"") {
                return Err(bad_sd(pos, "expected '=\"' after a parameter name"));
            }
            let value = sd_value(message, &mut pos)?;
            add_param(params, name, value);
        }
    }
    Ok(pos)
}

fn bad_sd(pos: usize, detail: &'static str) -> Malformed {
    Malformed::new(MalformedReason::BadStructuredData, pos, detail)
}

/// An SD-NAME: printable ASCII except `=`, space, `]` and `"`.
fn sd_name(message: &[u8], pos: &mut usize, detail: &'static str) -> Result<String, Malformed> {
    let rest = &message[*pos..];
    let len =
        rest.iter().position(|&c| !(33..=126).contains(&c) || matches!(c, b'=' | b']' | b'"')).unwrap_or(rest.len());
    if len == 0 {
        return Err(bad_sd(*pos, detail));
    }
    *pos += len;
    // Printable ASCII, so always UTF-8.
    Ok(String::from_utf8_lossy(&rest[..len]).into_owned())
}

/// A quoted value starting at `="`, unescaped; leaves `pos` after the closing quote.
fn sd_value(message: &[u8], pos: &mut usize) -> Result<String, Malformed> {
    let start = *pos + 2;
    let mut raw = Vec::new();
    let mut i = start;
    let mut copied = start;
    loop {
        match message.get(i) {
            None => return Err(bad_sd(start - 1, "unterminated parameter value")),
            Some(b'"') => break,
            Some(b'\\') if matches!(message.get(i + 1), Some(b'"' | b'\\' | b']')) => {
                raw.extend_from_slice(&message[copied..i]);
                copied = i + 1;
                i += 2;
            }
            Some(_) => i += 1,
        }
    }
    *pos = i + 1;
    if copied == start {
        return Ok(String::from_utf8_lossy(&message[start..i]).into_owned());
    }
    raw.extend_from_slice(&message[copied..i]);
    Ok(String::from_utf8_lossy(&raw).into_owned())
}

/// Adds a parameter; a repeated name turns its value into an array of every value given.
fn add_param(params: &mut Map<String, Value>, name: String, value: String) {
    match params.get_mut(&name) {
        None => {
            params.insert(name, Value::String(value));
        }
        Some(Value::Array(values)) => values.push(Value::String(value)),
        Some(first) => {
            let first = first.take();
            params.insert(name, Value::Array(vec![first, Value::String(value)]));
        }
    }
}
