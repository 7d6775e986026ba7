//! Encoding a batch: one pass over the events, strings deduplicated through a per-batch table.

use std::collections::HashMap;

use serde_json::Value;
use sift_core::{Event, Fields, Str};

use super::{VERSION, meta, source_number, tag};

pub(super) fn batch(events: &[Event], out: &mut Vec<u8>) {
    out.reserve(events.len() * 64 + 8);
    out.push(VERSION);
    varint(out, events.len() as u64);
    let mut table = Table::new();
    let mut previous_time = 0i64;
    for event in events {
        out.extend_from_slice(&event.id.0.to_be_bytes());
        let time = event.time.as_micros();
        svarint(out, time.wrapping_sub(previous_time));
        svarint(out, event.received_at.as_micros().wrapping_sub(time));
        previous_time = time;

        let mut flags = event.severity.syslog() & meta::SEVERITY;
        flags |= (source_number(event.source) << meta::SOURCE_SHIFT) & meta::SOURCE;
        if event.facility.is_some() {
            flags |= meta::FACILITY;
        }
        if event.line.is_some() {
            flags |= meta::LINE;
        }
        out.push(flags);
        if let Some(facility) = event.facility {
            out.push(facility);
        }
        if let Some(line) = event.line {
            varint(out, u64::from(line));
        }

        table.string(out, Some(slot::CHANNEL), &event.channel);
        table.optional(out, slot::HOST, &event.host);
        table.optional(out, slot::APP, &event.app);
        table.optional(out, slot::VERSION, &event.version);
        table.optional(out, slot::PROC, &event.proc);
        table.optional(out, slot::MSGID, &event.msgid);
        table.optional(out, slot::KIND, &event.kind);
        table.optional(out, slot::MODULE, &event.module);
        table.optional(out, slot::FUNCTION, &event.function);
        bytes(out, event.message.as_bytes());
        for (i, list) in [&event.tags, &event.topics, &event.identities].into_iter().enumerate() {
            varint(out, list.len() as u64);
            for s in list {
                table.string(out, Some(slot::LISTS + i), s);
            }
        }
        table.optional(out, slot::FINGERPRINT, &event.fingerprint);
        object(out, &mut table, &event.fields, true);
    }
}

fn object<'a>(out: &mut Vec<u8>, table: &mut Table<'a>, fields: &'a Fields, top: bool) {
    varint(out, fields.len() as u64);
    for (i, (key, value)) in fields.iter().enumerate() {
        let slot = slot::KEYS + i;
        table.string(out, (top && slot < slot::COUNT).then_some(slot), key);
        json(out, table, value);
    }
}

fn json<'a>(out: &mut Vec<u8>, table: &mut Table<'a>, value: &'a Value) {
    match value {
        Value::Null => out.push(tag::NULL),
        Value::Bool(false) => out.push(tag::FALSE),
        Value::Bool(true) => out.push(tag::TRUE),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.push(tag::UINT);
                varint(out, u);
            } else if let Some(i) = n.as_i64() {
                // Not a u64, so negative: store -1 - i, which is >= 0.
                out.push(tag::NEG_INT);
                varint(out, !i as u64);
            } else {
                out.push(tag::FLOAT);
                out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_le_bytes());
            }
        }
        Value::String(s) => {
            out.push(tag::STRING);
            bytes(out, s.as_bytes());
        }
        Value::Array(items) => {
            out.push(tag::ARRAY);
            varint(out, items.len() as u64);
            for item in items {
                json(out, table, item);
            }
        }
        Value::Object(fields) => {
            out.push(tag::OBJECT);
            object(out, table, fields, false);
        }
    }
}

pub(super) fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn svarint(out: &mut Vec<u8>, v: i64) {
    varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// The cache slots of [`Table::string`]: one per string field, one per list, and one per
/// position of the first keys of `fields`, because consecutive events usually repeat the very
/// same strings in the same places, and comparing them is cheaper than hashing.
mod slot {
    pub const CHANNEL: usize = 0;
    pub const HOST: usize = 1;
    pub const APP: usize = 2;
    pub const VERSION: usize = 3;
    pub const PROC: usize = 4;
    pub const MSGID: usize = 5;
    pub const KIND: usize = 6;
    pub const MODULE: usize = 7;
    pub const FUNCTION: usize = 8;
    pub const FINGERPRINT: usize = 9;
    pub const LISTS: usize = 10;
    pub const KEYS: usize = 13;
    pub const COUNT: usize = KEYS + 16;
}

/// The batch's string table as the encoder builds it.
struct Table<'a> {
    /// Keyed with std's random SipHash: the strings come from clients, who must not be able
    /// to make a batch slow to encode by sending strings that collide.
    ids: HashMap<&'a str, u64>,
    /// Per slot: the last string written there, and its reference (0: none yet).
    last: [(&'a str, u64); slot::COUNT],
}

impl<'a> Table<'a> {
    fn new() -> Table<'a> {
        Table { ids: HashMap::new(), last: [("", 0); slot::COUNT] }
    }

    fn optional(&mut self, out: &mut Vec<u8>, slot: usize, s: &'a Option<Str>) {
        match s {
            Some(s) => self.string(out, Some(slot), s),
            None => out.push(0),
        }
    }

    fn string(&mut self, out: &mut Vec<u8>, slot: Option<usize>, s: &'a str) {
        let cached = slot.and_then(|slot| self.last.get(slot).copied());
        let hit = cached.filter(|&(last, reference)| reference != 0 && (std::ptr::eq(last, s) || last == s));
        if let Some((_, reference)) = hit {
            varint(out, reference);
            return;
        }
        let next = self.ids.len() as u64 + 2;
        let reference = *self.ids.entry(s).or_insert(next);
        if reference == next {
            out.push(1);
            bytes(out, s.as_bytes());
        } else {
            varint(out, reference);
        }
        if let Some(last) = slot.and_then(|slot| self.last.get_mut(slot)) {
            *last = (s, reference);
        }
    }
}
