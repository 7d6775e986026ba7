//! Popcorn's `Log_Message_Proto` as prost messages written in Rust (no `protoc`), in both
//! layouts, and the one wire-level question the decoder asks before picking one: which wire
//! type field 1 has.
//!
//! Text fields are `bytes` on our side although the `.proto` says `string`: the wire encoding
//! is the same, and reading bytes lets the decoder replace invalid UTF-8 (Erlang clients send
//! whatever binary the log call had) instead of losing the whole datagram. Tests and
//! `sift bench` build datagrams with these structs: `Some("web-1".into())` fills a field.

use prost::Message;

/// A Popcorn datagram in the v1 and v2 layout (`packet_version` is field 1, a varint).
#[derive(Clone, PartialEq, Message)]
pub struct LogMessage {
    #[prost(uint32, optional, tag = "1")]
    pub packet_version: Option<u32>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub node: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub node_role: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub node_version: Option<Vec<u8>>,
    /// A lager bitmask: emergency 1, alert 2, … debug 128.
    #[prost(int32, optional, tag = "5")]
    pub severity: Option<i32>,
    #[prost(bytes = "vec", optional, tag = "6")]
    pub message: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "7")]
    pub module: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "8")]
    pub function: Option<Vec<u8>>,
    /// A line number, as text.
    #[prost(bytes = "vec", optional, tag = "9")]
    pub line: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "10")]
    pub pid: Option<Vec<u8>>,
    /// Microseconds since the epoch, as text.
    #[prost(bytes = "vec", optional, tag = "11")]
    pub timestamp: Option<Vec<u8>>,
    #[prost(message, optional, tag = "12")]
    pub client: Option<Client>,
}

/// The client that sent a message (Popcorn's mobile and browser clients).
#[derive(Clone, PartialEq, Message)]
pub struct Client {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub account_token: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub r#type: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub version: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "4")]
    pub os: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "5")]
    pub os_version: Option<Vec<u8>>,
}

/// The legacy (v0) layout, from before `packet_version` existed: field 1 is the node.
#[derive(Clone, PartialEq, Message)]
pub struct LegacyLogMessage {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub node: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub node_role: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub node_version: Option<Vec<u8>>,
    #[prost(int32, optional, tag = "4")]
    pub severity: Option<i32>,
    #[prost(bytes = "vec", optional, tag = "5")]
    pub message: Option<Vec<u8>>,
}

/// Protobuf wire type 2: strings, bytes and sub-messages.
const LENGTH_DELIMITED: u64 = 2;

/// Whether the datagram is in the legacy layout: field 1 is length-delimited there (the node)
/// and a varint from v1 on (the packet version). Without field 1, field 5 decides: the message
/// (length-delimited) in the legacy layout, the severity (a varint) from v1 on. Scans the
/// top-level keys; stops at anything it cannot step over, so that the decoder reports it.
pub(super) fn is_legacy(mut buf: &[u8]) -> bool {
    let mut field_5 = None;
    while !buf.is_empty() {
        let Some(key) = varint(&mut buf) else { break };
        let (tag, wire_type) = (key >> 3, key & 7);
        if tag == 1 {
            return wire_type == LENGTH_DELIMITED;
        }
        if tag == 5 {
            field_5 = Some(wire_type);
        }
        let skip = match wire_type {
            0 => varint(&mut buf).map(|_| 0),
            1 => Some(8),
            2 => varint(&mut buf).and_then(|len| usize::try_from(len).ok()),
            5 => Some(4),
            _ => None,
        };
        match skip {
            Some(n) if n <= buf.len() => buf = &buf[n..],
            _ => break,
        }
    }
    field_5 == Some(LENGTH_DELIMITED)
}

/// A base-128 varint, as protobuf writes them (at most ten bytes).
fn varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, &byte) in buf.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *buf = &buf[i + 1..];
            return Some(value);
        }
    }
    None
}
