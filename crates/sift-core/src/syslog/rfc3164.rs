//! RFC 3164 as devices really send it: `[<PRI>][TIMESTAMP ][HOSTNAME ][TAG[PID]: ]MSG`, every
//! part optional, so nearly any text is a message. Only two things are rejected: a PRI that is
//! not a number 0-191 (in `super::pri`) and a timestamp-shaped start that names no real time
//! (`Feb 30 12:00:00`).
//!
//! Timestamps: `Mmm dd hh:mm:ss` (the year inferred, see `timestamp::legacy`), with a year
//! (`Mmm dd yyyy hh:mm:ss`), with a fraction, ISO 8601 (`2024-05-01T12:00:00.5+02:00`, no
//! offset meaning UTC), and Cisco's `<189>123: *Mar  1 00:00:12.345: %SYS-5-CONFIG_I: ...`,
//! whose sequence number (`123:`) is dropped and whose `%FAC-SEV-MNEMONIC:` becomes the app.
//!
//! Hostname or tag: the token after the timestamp is
//! - a tag (app, and pid as proc) when it has the tag's shape, `name:`, `name[pid]:` or
//!   `name[pid]`, so `<13>Feb  5 17:32:18 su[123]: msg` has no host;
//! - otherwise the host when it looks like one (letters, digits, `.`, `-`, `_`, `:` for IPv6,
//!   ending in a letter or digit) and more text follows, and then the next token is the tag
//!   if it has the tag's shape: `<13>Feb  5 17:32:18 myhost su[123]: msg`;
//! - otherwise the start of MSG.
//!
//! This is rsyslog's rule (`pmrfc3164`: a host is a run of such characters ended by a space),
//! with the tag tested first so a lone `sshd:` is never a host. Without a timestamp there is
//! no host (Python's `SysLogHandler` sends `<14>ident: msg`), but a leading tag is still read.
//! The price: a message without a host whose text starts `word more` after a timestamp gets
//! `word` as its host, as it would in rsyslog.

use super::timestamp::{legacy, rfc3339};
use super::{Malformed, MalformedReason, Parts};
use crate::Timestamp;

/// A tag longer than this is text, not a program name.
const MAX_TAG: usize = 64;
const MAX_HOST: usize = 255;

/// Parses the message from `pos` (after the PRI, if any).
pub(super) fn parse(
    message: &[u8],
    pri: Option<u8>,
    pos: usize,
    received_at: Timestamp,
) -> Result<Parts<'_>, Malformed> {
    let mut parts = Parts { pri, ..Parts::default() };
    let mut pos = pos;
    if let Some((time, len)) = timestamp(message, pos, received_at)? {
        parts.time = Some(time);
        pos += len;
        while message.get(pos) == Some(&b' ') {
            pos += 1;
        }
    }
    let rest = &message[pos..];
    let (first, after_first) = token(rest);
    if let Some((app, proc)) = tag(first) {
        parts.app = Some(app);
        parts.proc = proc;
        parts.msg = &rest[after_first..];
    } else if parts.time.is_some() && after_first > first.len() && is_host(first) {
        parts.host = Some(first);
        let rest = &rest[after_first..];
        let (second, after_second) = token(rest);
        match tag(second) {
            Some((app, proc)) => {
                parts.app = Some(app);
                parts.proc = proc;
                parts.msg = &rest[after_second..];
            }
            None => parts.msg = rest,
        }
    } else {
        parts.msg = rest;
    }
    Ok(parts)
}

/// The timestamp at `pos` and its length (with a Cisco sequence number before it), if any.
fn timestamp(message: &[u8], pos: usize, received_at: Timestamp) -> Result<Option<(Timestamp, usize)>, Malformed> {
    let rest = &message[pos..];
    let bad = |detail| Malformed::new(MalformedReason::BadTimestamp, pos, detail);
    if looks_iso(rest) {
        let (token, _) = token(rest);
        let time = rfc3339(token, true).ok_or(bad("expected an ISO 8601 timestamp such as 2024-05-01T12:00:00Z"))?;
        return Ok(Some((time, token.len())));
    }
    let legacy_at = |skip: usize| {
        legacy(&rest[skip..], received_at)
            .map_err(|()| bad("no such date or time (expected Mmm dd hh:mm:ss)"))
            .map(|found| found.map(|l| (l.time, skip + l.len)))
    };
    if let Some(found) = legacy_at(0)? {
        return Ok(Some(found));
    }
    // Cisco IOS: `123: *Mar  1 00:00:12.345: ...`; the sequence number is only skipped when a
    // timestamp follows it.
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits > 0 && rest[digits..].starts_with(b": ") {
        return legacy_at(digits + 2);
    }
    Ok(None)
}

/// `dddd-dd-ddT`: the start of an ISO 8601 timestamp, which must then parse.
fn looks_iso(b: &[u8]) -> bool {
    b.len() > 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && matches!(b[10], b'T' | b't')
}

/// The text up to the first space, and the offset after that space (or the end).
fn token(b: &[u8]) -> (&[u8], usize) {
    match b.iter().position(|&c| c == b' ') {
        Some(i) => (&b[..i], i + 1),
        None => (b, b.len()),
    }
}

/// `name:`, `name[pid]:` or `name[pid]` as (name, pid); the name not all digits.
fn tag(token: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let (body, colon) = match token.strip_suffix(b":") {
        Some(body) => (body, true),
        None => (token, false),
    };
    let (name, pid) = match body.strip_suffix(b"]") {
        Some(inner) => {
            let open = inner.iter().position(|&c| c == b'[')?;
            let pid = &inner[open + 1..];
            if pid.is_empty() || pid.contains(&b'[') {
                return None;
            }
            (&inner[..open], Some(pid))
        }
        None if colon => (body, None),
        None => return None,
    };
    let plain = |c: &u8| !c.is_ascii_control() && !matches!(c, b'[' | b']');
    // An all-digit name is a number in the text (`123: ...`), not a program.
    let program = name.len() <= MAX_TAG && name.iter().all(plain) && !name.iter().all(u8::is_ascii_digit);
    (!name.is_empty() && program).then_some((name, pid))
}

fn is_host(token: &[u8]) -> bool {
    token.len() <= MAX_HOST
        && token.last().is_some_and(u8::is_ascii_alphanumeric)
        && token.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':'))
}
