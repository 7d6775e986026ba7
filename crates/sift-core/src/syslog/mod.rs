//! Syslog codecs (DESIGN.md section 4, "Syslog" and "Logplex HTTP input"): one message into an
//! [`Event`], RFC 6587 TCP framing ([`framing`]) and Logplex bodies ([`logplex`]). Pure code:
//! the listeners in the `sift` crate read sockets and hand bytes here.
//!
//! [`parse`] detects the format per message: `<PRI>1 ` followed by `-` or a date (`2024-`)
//! starts RFC 5424 ([`rfc5424`]), anything else is read as RFC 3164 the way devices really send
//! it ([`rfc3164`]), which accepts almost any text (so `<13>1 apple` is a legacy message). [`parse_5424`] accepts RFC 5424 only (Logplex frames).
//!
//! What every format shares, done here:
//! - trailing `\n`, `\r` and NUL bytes are dropped (Python's `SysLogHandler` ends each message
//!   with a NUL), and a message that is empty then is [`MalformedReason::Empty`];
//! - PRI gives `facility` (PRI / 8) and `severity` (PRI % 8); without a PRI (RFC 3164 only) the
//!   event is user.notice, as RFC 3164 section 4.3.3 says;
//! - a missing timestamp (or `-`) leaves `time` equal to `received_at`;
//! - MSG loses a leading UTF-8 byte order mark, and bytes that are not UTF-8 become U+FFFD
//!   rather than failing the message (rsyslog keeps such messages too);
//! - host, app, proc and msgid go through the [`Interner`], so a stream from one sender shares
//!   their allocations; the message is the one other allocation, and `fields` is touched only
//!   when structured data is present.
//!
//! The parser was written here rather than taken from `syslog_loose` because that crate returns
//! malformed input as a bare message instead of an error with a reason, does not read an RFC
//! 5424 line without the structured-data field (Logplex sends those), and has no framing.

pub mod framing;
pub mod logplex;
mod rfc3164;
mod rfc5424;
mod timestamp;

#[cfg(test)]
mod tests;

use std::fmt;

use crate::intern::Interner;
use crate::{Event, Fields, Severity, Source, Str, Timestamp};

pub use framing::{Frame, Framer};
pub use logplex::split_logplex;

/// Why a message (or a Logplex body) was rejected, with where: the listener counts by
/// `reason` and may log the rest. Building one does not allocate, so a flood of garbage costs
/// no more than a flood of good messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed {
    pub reason: MalformedReason,
    /// What was expected, for logs and `sift import` summaries.
    pub detail: &'static str,
    /// Byte offset in the message (or body) where the problem was found.
    pub offset: usize,
}

/// The reasons a message is rejected; `as_str` is the counter label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MalformedReason {
    /// Nothing left after trailing newlines and NULs were dropped.
    Empty,
    /// `<` not followed by a number 0-191 and `>`, or (RFC 5424) no PRI at all.
    BadPri,
    /// RFC 5424 with a version other than 1.
    BadVersion,
    /// A timestamp that does not parse or names no real time.
    BadTimestamp,
    /// An RFC 5424 header that ends before its last field.
    TruncatedHeader,
    /// An RFC 5424 header field that is empty (two spaces in a row) or holds control bytes.
    BadHeaderField,
    /// Structured data that is not `[id name="value" ...]...` as RFC 5424 section 6.3 says.
    BadStructuredData,
    /// A Logplex frame whose length is not a number followed by a space.
    BadFrameLength,
    /// A Logplex frame whose length runs past the end of the body.
    TruncatedFrame,
}

impl MalformedReason {
    pub const ALL: [MalformedReason; 9] = [
        MalformedReason::Empty,
        MalformedReason::BadPri,
        MalformedReason::BadVersion,
        MalformedReason::BadTimestamp,
        MalformedReason::TruncatedHeader,
        MalformedReason::BadHeaderField,
        MalformedReason::BadStructuredData,
        MalformedReason::BadFrameLength,
        MalformedReason::TruncatedFrame,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MalformedReason::Empty => "empty",
            MalformedReason::BadPri => "bad_pri",
            MalformedReason::BadVersion => "bad_version",
            MalformedReason::BadTimestamp => "bad_timestamp",
            MalformedReason::TruncatedHeader => "truncated_header",
            MalformedReason::BadHeaderField => "bad_header_field",
            MalformedReason::BadStructuredData => "bad_structured_data",
            MalformedReason::BadFrameLength => "bad_frame_length",
            MalformedReason::TruncatedFrame => "truncated_frame",
        }
    }
}

impl fmt::Display for MalformedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}: {}", self.reason, self.offset, self.detail)
    }
}

impl std::error::Error for Malformed {}

impl Malformed {
    pub(crate) fn new(reason: MalformedReason, offset: usize, detail: &'static str) -> Malformed {
        Malformed { reason, detail, offset }
    }
}

/// Parses one syslog message, RFC 5424 or RFC 3164 (detected), into an event.
pub fn parse(
    message: &[u8],
    source: Source,
    received_at: Timestamp,
    interner: &mut Interner,
) -> Result<Event, Malformed> {
    let message = trim_end(message)?;
    let parts = match pri(message)? {
        Some((pri, after)) if rfc5424::detect(&message[after..]) => rfc5424::parse(message, pri, after)?,
        Some((pri, after)) => rfc3164::parse(message, Some(pri), after, received_at)?,
        None => rfc3164::parse(message, None, 0, received_at)?,
    };
    Ok(parts.into_event(source, received_at, interner))
}

/// Parses one RFC 5424 message (a Logplex frame); anything else is malformed. The
/// structured-data field may be missing, as Logplex leaves it out (see [`rfc5424`]).
pub fn parse_5424(
    message: &[u8],
    source: Source,
    received_at: Timestamp,
    interner: &mut Interner,
) -> Result<Event, Malformed> {
    let message = trim_end(message)?;
    let Some((pri, after)) = pri(message)? else {
        return Err(Malformed::new(MalformedReason::BadPri, 0, "expected <PRI>"));
    };
    Ok(rfc5424::parse(message, pri, after)?.into_event(source, received_at, interner))
}

/// The message without trailing newlines, carriage returns and NULs; empty is malformed.
fn trim_end(message: &[u8]) -> Result<&[u8], Malformed> {
    let end = message.iter().rposition(|&c| !matches!(c, b'\n' | b'\r' | 0)).map_or(0, |i| i + 1);
    if end == 0 {
        return Err(Malformed::new(MalformedReason::Empty, 0, "empty message"));
    }
    Ok(&message[..end])
}

/// The PRI at the start (`<0>` to `<191>`) and the offset after it; `None` when the message
/// does not start with `<`.
fn pri(message: &[u8]) -> Result<Option<(u8, usize)>, Malformed> {
    if message.first() != Some(&b'<') {
        return Ok(None);
    }
    let digits = message[1..].iter().take(4).take_while(|c| c.is_ascii_digit()).count();
    let bad = |detail| Err(Malformed::new(MalformedReason::BadPri, 1 + digits, detail));
    if digits == 0 || digits > 3 || message.get(1 + digits) != Some(&b'>') {
        return bad("expected 1-3 digits and '>' after '<'");
    }
    let value = message[1..1 + digits].iter().fold(0u32, |n, &c| n * 10 + u32::from(c - b'0'));
    if value > 191 {
        return bad("PRI above 191 (facility 23, severity 7)");
    }
    Ok(Some((value as u8, 2 + digits)))
}

/// What a parser found, borrowed from the message until [`Parts::into_event`].
#[derive(Debug, Default)]
struct Parts<'a> {
    pri: Option<u8>,
    time: Option<Timestamp>,
    host: Option<&'a [u8]>,
    app: Option<&'a [u8]>,
    proc: Option<&'a [u8]>,
    msgid: Option<&'a [u8]>,
    fields: Fields,
    msg: &'a [u8],
}

impl Parts<'_> {
    fn into_event(self, source: Source, received_at: Timestamp, interner: &mut Interner) -> Event {
        let msg = self.msg.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(self.msg);
        let mut event = Event::new(source, received_at, utf8_or_replaced(msg));
        if let Some(time) = self.time {
            event.time = time;
        }
        // RFC 3164 section 4.3.3: no PRI means user.notice.
        let pri = self.pri.unwrap_or(8 + 5);
        event.facility = Some(pri >> 3);
        event.severity = Severity::from_syslog(pri & 7).unwrap_or(Severity::Notice);
        let mut intern = |field: Option<&[u8]>| field.map(|b| intern_bytes(interner, b));
        event.host = intern(self.host);
        event.app = intern(self.app);
        event.proc = intern(self.proc);
        event.msgid = intern(self.msgid);
        event.fields = self.fields;
        event
    }
}

/// `bytes` as text, with U+FFFD for what is not UTF-8. Checked with `from_utf8` first, which
/// runs over ASCII a word at a time, far faster than the lossy decoder's per-chunk walk.
fn utf8_or_replaced(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn intern_bytes(interner: &mut Interner, b: &[u8]) -> Str {
    match std::str::from_utf8(b) {
        Ok(s) => interner.intern(s),
        Err(_) => interner.intern(&String::from_utf8_lossy(b)),
    }
}
