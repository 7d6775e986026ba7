//! The event codec: a compact, versioned binary encoding of a batch of events, for the WAL
//! (and any other place that stores or ships batches as bytes).
//!
//! Every field of an [`Event`] round-trips exactly, `fields` included (as a compact tree, not
//! JSON text, so floats and key order come back bit for bit). Decoding never panics and never
//! allocates more than the input can justify, whatever the bytes: it returns a [`CodecError`]
//! with the offset of the first byte it could not accept.
//!
//! # Format, version 1
//!
//! Integers are LEB128 varints (`varint`) unless a width is given; signed ones are zigzag
//! varints (`svarint`). All fixed-width integers are little-endian, except the ULID.
//!
//! ```text
//! batch  = version:u8 (1)  count:varint  event{count}
//! event  = id:16 bytes (ULID, big-endian)
//!          time:svarint         (difference from the previous event's time; the first from 0)
//!          received_at:svarint  (difference from this event's time)
//!          meta:u8              (bits 0-2 severity, 3-5 source, 6 facility present, 7 line present)
//!          [facility:u8]  [line:varint]
//!          channel host app version proc msgid kind module function : ref
//!          message:bytes
//!          tags topics identities : count:varint ref{count}
//!          fingerprint:ref
//!          fields:object
//! ref    = varint: 0 absent; 1 a new string follows (bytes) and joins the batch's string
//!          table; n >= 2 the table's entry n - 2
//! bytes  = len:varint  UTF-8{len}
//! object = count:varint (key:ref value){count}
//! value  = tag:u8, then: 0 null | 1 false | 2 true | 3 varint (integer >= 0)
//!          | 4 varint v (the integer -1 - v) | 5 f64 (8 bytes) | 6 bytes (string)
//!          | 7 count:varint value{count} (array) | 8 object
//! ```
//!
//! The string table deduplicates every string that repeats across a batch (channels, hosts,
//! apps, tags, field keys...), and decoding gives equal strings one shared allocation, as the
//! ring wants them. Messages and string values of `fields` are written inline. Source numbers
//! follow [`Source::ALL`]; new sources are appended there, so numbers never change.
//!
//! A new format gets a new version byte; decoders keep reading every older version.

mod decode;
mod encode;
#[cfg(test)]
mod tests;

use sift_core::{Event, Source};

/// The format version [`encode_batch`] writes.
pub const VERSION: u8 = 1;

/// Appends the encoding of `events` to `out` (which is not cleared first).
pub fn encode_batch(events: &[Event], out: &mut Vec<u8>) {
    encode::batch(events, out);
}

/// Decodes a batch that [`encode_batch`] wrote. Any input gives a value or an error, never a
/// panic; bytes after the last event are an error.
pub fn decode_batch(bytes: &[u8]) -> Result<Vec<Event>, CodecError> {
    decode::batch(bytes)
}

/// Bytes that are not a batch, with the offset where reading stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid event batch at byte {offset}: {kind}")]
pub struct CodecError {
    pub kind: CodecErrorKind,
    pub offset: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecErrorKind {
    /// Written by a newer sift (or not a batch at all).
    #[error("unknown format version {0}")]
    UnknownVersion(u8),
    #[error("unexpected end of input")]
    UnexpectedEnd,
    #[error("varint longer than 64 bits")]
    VarintOverflow,
    #[error("string is not UTF-8")]
    InvalidUtf8,
    #[error("string reference past the end of the string table")]
    BadStringRef,
    #[error("required string (channel or field key) is absent")]
    MissingString,
    #[error("unknown source number")]
    BadSource,
    #[error("facility out of range 0..=23")]
    BadFacility,
    #[error("line number out of range")]
    BadLine,
    #[error("unknown value tag")]
    BadValueTag,
    #[error("number out of range or not finite")]
    BadNumber,
    #[error("fields nested too deeply")]
    TooDeep,
    #[error("bytes after the last event")]
    TrailingBytes,
}

/// How deeply `fields` values may nest when decoding: well beyond what any source accepts
/// (serde_json stops at 128), and shallow enough for the stack of any thread.
const MAX_DEPTH: usize = 512;

fn source_number(source: Source) -> u8 {
    Source::ALL.iter().position(|s| *s == source).unwrap_or(0) as u8
}

fn source_from_number(n: u8) -> Option<Source> {
    Source::ALL.get(usize::from(n)).copied()
}

mod tag {
    pub const NULL: u8 = 0;
    pub const FALSE: u8 = 1;
    pub const TRUE: u8 = 2;
    pub const UINT: u8 = 3;
    pub const NEG_INT: u8 = 4;
    pub const FLOAT: u8 = 5;
    pub const STRING: u8 = 6;
    pub const ARRAY: u8 = 7;
    pub const OBJECT: u8 = 8;
}

mod meta {
    pub const SEVERITY: u8 = 0b0000_0111;
    pub const SOURCE_SHIFT: u32 = 3;
    pub const SOURCE: u8 = 0b0011_1000;
    pub const FACILITY: u8 = 0b0100_0000;
    pub const LINE: u8 = 0b1000_0000;
}
