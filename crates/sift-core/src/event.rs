//! The event: one log line or application event, as every source produces it and every
//! consumer (ring, store, alerts, tails, drains) reads it. DESIGN.md section 3.

use std::sync::{Arc, LazyLock};

use crate::{Severity, Timestamp};

/// A shared, immutable string. Repeated values (hosts, apps, channels) share one allocation.
pub type Str = Arc<str>;

/// The free-form `fields` object.
pub type Fields = serde_json::Map<String, serde_json::Value>;

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    SyslogUdp,
    SyslogTcp,
    Popcorn,
    Logplex,
    HttpJson,
    Otlp,
    Internal,
}

impl Source {
    pub const ALL: [Source; 7] = [
        Source::SyslogUdp,
        Source::SyslogTcp,
        Source::Popcorn,
        Source::Logplex,
        Source::HttpJson,
        Source::Otlp,
        Source::Internal,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Source::SyslogUdp => "syslog_udp",
            Source::SyslogTcp => "syslog_tcp",
            Source::Popcorn => "popcorn",
            Source::Logplex => "logplex",
            Source::HttpJson => "http_json",
            Source::Otlp => "otlp",
            Source::Internal => "internal",
        }
    }

    pub fn from_name(name: &str) -> Option<Source> {
        Source::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

/// One event. Optional strings are `None` when the client sent nothing or an empty string.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Time-ordered unique id, assigned on receipt.
    pub id: ulid::Ulid,
    /// The source's timestamp, else `received_at`.
    pub time: Timestamp,
    /// The server clock when the event arrived.
    pub received_at: Timestamp,
    pub channel: Str,
    pub source: Source,
    pub host: Option<Str>,
    pub app: Option<Str>,
    pub version: Option<Str>,
    pub proc: Option<Str>,
    pub msgid: Option<Str>,
    pub severity: Severity,
    /// Syslog facility 0..=23.
    pub facility: Option<u8>,
    /// The event's type (`type` on the wire; `kind` because `type` is a Rust keyword).
    pub kind: Option<Str>,
    pub message: String,
    pub module: Option<Str>,
    pub function: Option<Str>,
    pub line: Option<u32>,
    pub tags: Vec<Str>,
    pub topics: Vec<Str>,
    pub identities: Vec<Str>,
    pub fingerprint: Option<Str>,
    pub fields: Fields,
}

/// Events that travel together from a source through the pipeline to every consumer.
/// `seq` orders batches as the ring received them (1, 2, 3, ...); 0 before that.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub seq: u64,
    pub events: Vec<Event>,
}

/// The channel of events that name none.
pub const DEFAULT_CHANNEL: &str = "default";

/// [`DEFAULT_CHANNEL`] as one shared string, so that making an event (which every decoder
/// does per item, most often to set another channel next) allocates nothing for its channel.
fn default_channel() -> Str {
    static DEFAULT: LazyLock<Str> = LazyLock::new(|| Str::from(DEFAULT_CHANNEL));
    Str::clone(&DEFAULT)
}

/// Whether `name` may name a channel or a token: 1 to `max` ASCII letters, digits, `-`, `_`
/// or `.`, so that a query can write it after `channel:` or `app:` without quotes.
pub fn is_plain_name(name: &str, max: usize) -> bool {
    !name.is_empty() && name.len() <= max && name.bytes().all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c))
}

/// The longest channel name, in bytes.
pub const MAX_CHANNEL_NAME: usize = 128;

/// Checks a channel name, the one rule for every path that names a channel (events from every
/// source, the configuration, the command line's `--channel`, `POST /channels`): 1 to
/// [`MAX_CHANNEL_NAME`] ASCII letters, digits, `-`, `_` or `.` ([`is_plain_name`]). So a
/// query can name any channel after `channel:` without quotes, and no name carries a `/`, a
/// space, a quote or a control character into a log line, a terminal or a file name.
pub fn check_channel(name: &str) -> Result<(), InvalidChannel> {
    if is_plain_name(name, MAX_CHANNEL_NAME) { Ok(()) } else { Err(InvalidChannel::new(name)) }
}

/// A name that is not a channel name; its message quotes the name (its first 64 characters)
/// and states the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidChannel {
    shown: String,
    cut: bool,
}

impl std::fmt::Display for InvalidChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let more = if self.cut { "..." } else { "" };
        write!(
            f,
            "invalid channel {:?}{more}: a channel name is 1 to {MAX_CHANNEL_NAME} ASCII letters, digits, '-', '_' or '.'",
            self.shown
        )
    }
}

impl std::error::Error for InvalidChannel {}

impl InvalidChannel {
    fn new(name: &str) -> InvalidChannel {
        const SHOWN: usize = 64;
        let shown: String = name.chars().take(SHOWN).collect();
        InvalidChannel { cut: shown.len() < name.len(), shown }
    }
}

impl Event {
    /// An event with only the required parts set: received now-ish at `received_at`,
    /// `time` equal to it, severity info, channel `default`.
    pub fn new(source: Source, received_at: Timestamp, message: impl Into<String>) -> Event {
        Event {
            id: ulid::Ulid::from_parts(received_at.as_millis().max(0) as u64, 0),
            time: received_at,
            received_at,
            channel: default_channel(),
            source,
            host: None,
            app: None,
            version: None,
            proc: None,
            msgid: None,
            severity: Severity::Info,
            facility: None,
            kind: None,
            message: message.into(),
            module: None,
            function: None,
            line: None,
            tags: Vec::new(),
            topics: Vec::new(),
            identities: Vec::new(),
            fingerprint: None,
            fields: Fields::new(),
        }
    }

    /// An estimate of the heap and inline bytes this event holds, for the ring's byte bound.
    /// Shared strings are counted in full: the bound errs on the side of less memory.
    pub fn approx_bytes(&self) -> usize {
        self.approx_bytes_besides_fields() + fields_bytes(&self.fields)
    }

    /// [`Event::approx_bytes`] without `fields`, for a caller that has measured them already.
    pub fn approx_bytes_besides_fields(&self) -> usize {
        fn opt(s: &Option<Str>) -> usize {
            s.as_ref().map_or(0, |s| s.len())
        }
        fn list(v: &[Str]) -> usize {
            v.iter().map(|s| s.len() + 16).sum()
        }
        std::mem::size_of::<Event>()
            + self.channel.len()
            + opt(&self.host)
            + opt(&self.app)
            + opt(&self.version)
            + opt(&self.proc)
            + opt(&self.msgid)
            + opt(&self.kind)
            + self.message.len()
            + opt(&self.module)
            + opt(&self.function)
            + list(&self.tags)
            + list(&self.topics)
            + list(&self.identities)
            + opt(&self.fingerprint)
    }
}

impl Event {
    /// What an event holds in memory, as the allocator hands it out (docs/adr/0017-memory-accounting.md):
    /// every heap allocation rounded up to jemalloc's size class, with its header (an `Arc`'s two
    /// counts), the spare capacity of its `String`s and `Vec`s, and the hash table and entry
    /// vector of each `fields` map as `indexmap` grows them. A shared string (an interned host, the
    /// listener's channel) is charged in shares: each holder its allocation divided by the holders
    /// at the time it is weighed, so a batch of a thousand events from one host pays for one
    /// string, not a thousand. Without the event's own slot (`size_of::<Event>()`), which lives
    /// in its batch's vector and is counted there ([`vec_bytes`]).
    pub fn heap_bytes(&self) -> usize {
        fn opt(s: &Option<Str>) -> usize {
            s.as_ref().map_or(0, shared_str_bytes)
        }
        fn list(v: &[Str], capacity: usize) -> usize {
            vec_bytes::<Str>(capacity) + v.iter().map(shared_str_bytes).sum::<usize>()
        }
        shared_str_bytes(&self.channel)
            + opt(&self.host)
            + opt(&self.app)
            + opt(&self.version)
            + opt(&self.proc)
            + opt(&self.msgid)
            + opt(&self.kind)
            + allocation(self.message.capacity())
            + opt(&self.module)
            + opt(&self.function)
            + list(&self.tags, self.tags.capacity())
            + list(&self.topics, self.topics.capacity())
            + list(&self.identities, self.identities.capacity())
            + opt(&self.fingerprint)
            + map_heap_bytes(&self.fields)
    }
}

/// The bytes jemalloc hands out for a request of `size` bytes: its size classes are 8, then
/// multiples of 16 up to 128, then four classes per doubling (160, 192, 224, 256, 320, ...),
/// pages included.
pub const fn allocation(size: usize) -> usize {
    match size {
        0 => 0,
        1..=8 => 8,
        9..=128 => size.next_multiple_of(16),
        _ => {
            let log2 = usize::BITS - 1 - (size - 1).leading_zeros();
            size.next_multiple_of(1 << (log2 - 2))
        }
    }
}

/// The allocation of a vector of `capacity` items of `T`.
pub fn vec_bytes<T>(capacity: usize) -> usize {
    allocation(capacity.saturating_mul(std::mem::size_of::<T>()))
}

/// A holder's share of a shared string: its allocation (two counts and the text) divided
/// by the holders it has now.
fn shared_str_bytes(s: &Str) -> usize {
    allocation((2 * std::mem::size_of::<usize>() + s.len()).next_multiple_of(8)) / Arc::strong_count(s)
}

/// The heap of a `fields` map (an `IndexMap` with `preserve_order`): the hash table of indices
/// and the vector of entries, both at the capacity that inserting one entry at a time grows
/// them to (the entries' capacity follows the table's), and each key and value.
fn map_heap_bytes(map: &Fields) -> usize {
    if map.is_empty() {
        return 0;
    }
    let n = map.len();
    // hashbrown's buckets for `n` items, and the items they hold before the next growth.
    let buckets = match n {
        0..=3 => 4,
        4..=7 => 8,
        _ => (n * 8).div_ceil(7).next_power_of_two(),
    };
    let capacity = if buckets < 8 { buckets - 1 } else { buckets / 8 * 7 };
    // Indices (a `usize` each, aligned to the 16-byte control group), then a control byte
    // per bucket and one group more.
    let table = allocation((buckets * 8).next_multiple_of(16) + buckets + 16);
    // An entry: its hash, key and value.
    let entry = std::mem::size_of::<usize>() + std::mem::size_of::<String>() + std::mem::size_of::<serde_json::Value>();
    let entries = allocation(capacity * entry);
    table + entries + map.iter().map(|(key, value)| allocation(key.capacity()) + value_heap_bytes(value)).sum::<usize>()
}

fn value_heap_bytes(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::String(s) => allocation(s.capacity()),
        Value::Array(a) => vec_bytes::<Value>(a.capacity()) + a.iter().map(value_heap_bytes).sum::<usize>(),
        Value::Object(o) => map_heap_bytes(o),
        _ => 0,
    }
}

/// The bytes `fields` holds, estimated as [`Event::approx_bytes`] counts them: each key and
/// each value at any depth costs 32 bytes plus its text. This is what `pipeline.max_field_bytes`
/// bounds, so a decoder can tell before it copies values into an event whether they may go in.
pub fn fields_bytes(fields: &Fields) -> usize {
    fields.iter().map(|(key, value)| field_bytes(key, value)).sum()
}

/// One entry's share of [`fields_bytes`].
pub fn field_bytes(key: &str, value: &serde_json::Value) -> usize {
    32 + key.len() + value_bytes(value)
}

/// A value's share of [`fields_bytes`].
pub fn value_bytes(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    32 + match value {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(value_bytes).sum(),
        Value::Object(o) => fields_bytes(o),
        _ => 0,
    }
}

/// A non-empty string as a shared string; empty strings mean absent.
pub fn non_empty(s: &str) -> Option<Str> {
    if s.is_empty() { None } else { Some(Str::from(s)) }
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::check_channel;

    #[test]
    fn channel_names() {
        let long = "a".repeat(129);
        let names =
            ["default", "web-1.prod_eu", &"a".repeat(128), "", "../../etc", "bad channel!", "é", "a\u{1b}[31m", &long];
        let checked: Vec<String> =
            names.iter().map(|name| check_channel(name).map_or_else(|e| e.to_string(), |()| "ok".to_owned())).collect();
        expect![[r#"
            ok
            ok
            ok
            invalid channel "": a channel name is 1 to 128 ASCII letters, digits, '-', '_' or '.'
            invalid channel "../../etc": a channel name is 1 to 128 ASCII letters, digits, '-', '_' or '.'
            invalid channel "bad channel!": a channel name is 1 to 128 ASCII letters, digits, '-', '_' or '.'
            invalid channel "é": a channel name is 1 to 128 ASCII letters, digits, '-', '_' or '.'
            invalid channel "a\u{1b}[31m": a channel name is 1 to 128 ASCII letters, digits, '-', '_' or '.'
            invalid channel "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"...: a channel name is 1 to 128 ASCII letters, digits, '-', '_' or '.'"#]].assert_eq(&checked.join("\n"));
    }
}
