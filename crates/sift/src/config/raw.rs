//! The configuration as written: serde structs with `deny_unknown_fields` and every key
//! optional, holding values as they appear in TOML (`"512MiB"`, `"0.0.0.0:9125"`). Their
//! meaning is checked later, in `compile.rs`.
//!
//! serde stops at the first error, but a person fixing a file wants them all. So when the
//! whole document does not deserialize, [`read`] deserializes each part of it on its own, in a
//! document that holds only that part, and reports every part that fails, with its key path.
//! The serde structs stay the only description of which keys exist and what type they hold.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::{Table, Value};

use super::Error;
use crate::pipeline::classify::RawRule;

/// Every scalar key, in the order of the example file. These are the keys that `SIFT_*`
/// variables can set; `[[classify]]` and `[[auth.users]]` are tables, set in the file only.
pub(super) const KEYS: &[&str] = &[
    "data_dir",
    "http.listen",
    "http.max_body",
    "http.public_url",
    "http.allowed_hosts",
    "http.max_connections",
    "http.header_timeout",
    "http.idle_timeout",
    "http.body_timeout",
    "http.body_min_rate",
    "http.send_timeout",
    "http.tls_cert",
    "http.tls_key",
    "http.max_items",
    "http.max_decoded_bytes",
    "http.max_inflight_bytes",
    "http.max_decodes",
    "http.max_decoding_bytes",
    "syslog.listen",
    "syslog.channel",
    "syslog.max_frame",
    "syslog.max_connections",
    "syslog.idle_timeout",
    "syslog.recv_buffer",
    "syslog.tls_listen",
    "popcorn.listen",
    "popcorn.channel",
    "popcorn.recv_buffer",
    "storage.memory_only",
    "storage.wal_fsync",
    "storage.wal_fsync_interval",
    "storage.flush_events",
    "storage.flush_bytes",
    "storage.flush_interval",
    "storage.max_backlog",
    "storage.min_free",
    "storage.compact",
    "ring.max_events",
    "ring.max_bytes",
    "pipeline.max_message_bytes",
    "pipeline.max_fields",
    "pipeline.max_field_bytes",
    "pipeline.max_depth",
    "pipeline.max_tags",
    "pipeline.max_past",
    "pipeline.max_future",
    "alerts.min_severity",
    "alerts.topics",
    "tail.queue",
    "tail.max_backlog",
    "tail.max_clients",
    "tail.max_bytes",
    "tail.max_total_bytes",
    "channels.max_channels",
    "channels.max_tokens_per_channel",
    "query.timeout",
    "query.max_concurrent",
    "retention.default",
    "retention.max_bytes",
    "retention.check_interval",
    "log.level",
    "log.format",
];

/// The whole file. Sections left out are empty, and every key left out keeps its default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawConfig {
    /// Where durable data lives. Default `"sift-data"`.
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub http: RawHttp,
    #[serde(default)]
    pub syslog: RawSyslog,
    #[serde(default)]
    pub popcorn: RawPopcorn,
    #[serde(default)]
    pub storage: RawStorage,
    #[serde(default)]
    pub ring: RawRing,
    #[serde(default)]
    pub pipeline: RawPipeline,
    #[serde(default)]
    pub alerts: RawAlerts,
    #[serde(default)]
    pub tail: RawTail,
    #[serde(default)]
    pub channels: RawChannels,
    #[serde(default)]
    pub query: RawQuery,
    #[serde(default)]
    pub retention: RawRetention,
    #[serde(default)]
    pub log: RawLog,
    /// Ordered classification rules (`[[classify]]`). Default none.
    #[serde(default)]
    pub classify: Vec<RawRule>,
    #[serde(default)]
    pub auth: RawAuth,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawHttp {
    /// HTTP listener, `host:port`. Default `"127.0.0.1:9125"`.
    pub listen: Option<String>,
    /// Largest accepted request body. Default `"4MiB"`.
    pub max_body: Option<RawSize>,
    /// The URL people and links reach sift at. Default none.
    pub public_url: Option<String>,
    /// Host names sift answers to besides IP addresses, localhost and `public_url`'s. Default `[]`.
    pub allowed_hosts: Option<Vec<String>>,
    /// Most connections at once. Default `1024`.
    pub max_connections: Option<usize>,
    /// Longest wait for a request's headers. Default `"10s"`.
    pub header_timeout: Option<String>,
    /// Longest wait for the next request on a kept-alive connection. Default `"60s"`.
    pub idle_timeout: Option<String>,
    /// Time a request body may take beyond what `body_min_rate` allows. Default `"30s"`.
    pub body_timeout: Option<String>,
    /// Slowest average rate a request body may arrive at, bytes per second. Default `"1KiB"`.
    pub body_min_rate: Option<RawSize>,
    /// Longest an answer may wait for the client to take any of it. Default `"60s"`.
    pub send_timeout: Option<String>,
    /// PEM certificate chain for HTTPS and syslog over TLS; empty for none. Default `""`.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`. Default `""`.
    pub tls_key: Option<PathBuf>,
    /// Most items (events, records) in one ingest request. Default `100000`.
    pub max_items: Option<usize>,
    /// Most bytes of events decoded from one ingest request. Default `"64MiB"`.
    pub max_decoded_bytes: Option<RawSize>,
    /// Most bytes of ingest request bodies held at once, all requests together. Default `"64MiB"`.
    pub max_inflight_bytes: Option<RawSize>,
    /// Most ingest requests decoded and stored at once. Default `16`.
    pub max_decodes: Option<usize>,
    /// Most bytes of events being decoded and stored at once, all requests together. Default `"256MiB"`.
    pub max_decoding_bytes: Option<RawSize>,
}

/// `[syslog]`: the syslog listener, UDP and TCP on one address.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawSyslog {
    /// Listener address, `host:port`. Default `"127.0.0.1:5514"`.
    pub listen: Option<String>,
    /// Channel of the events received here. Default `"default"`.
    pub channel: Option<String>,
    /// Longest TCP frame; longer ones are truncated. Default `"64KiB"`.
    pub max_frame: Option<RawSize>,
    /// Most TCP connections at once. Default `4096`.
    pub max_connections: Option<usize>,
    /// A TCP connection silent this long is closed. Default `"10m"`.
    pub idle_timeout: Option<String>,
    /// UDP socket receive buffer. Default `"4MiB"`.
    pub recv_buffer: Option<RawSize>,
    /// Syslog over TLS listener, `host:port` or `"off"`, when `http.tls_cert` is set.
    /// Default `"127.0.0.1:6514"`.
    pub tls_listen: Option<String>,
}

/// `[popcorn]`: the Popcorn protobuf UDP listener.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawPopcorn {
    /// Listener address, `host:port`. Default `"127.0.0.1:9125"`.
    pub listen: Option<String>,
    /// Channel of the events received here. Default `"default"`.
    pub channel: Option<String>,
    /// UDP socket receive buffer. Default `"4MiB"`.
    pub recv_buffer: Option<RawSize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawStorage {
    /// Keep events in the ring only. Default `false`.
    pub memory_only: Option<bool>,
    /// When the write-ahead log is synced: `always`, `batch`, `interval`. Default `"batch"`.
    pub wal_fsync: Option<String>,
    /// With `wal_fsync = "interval"`, how often. Default `"1s"`.
    pub wal_fsync_interval: Option<String>,
    /// Pending events that start a flush into segments, and most events one round writes. Default 250000.
    pub flush_events: Option<usize>,
    /// Most bytes of WAL records one flush round writes. Default `"16MiB"`.
    pub flush_bytes: Option<RawSize>,
    /// Longest an event stays pending before a flush into segments. Default `"30s"`.
    pub flush_interval: Option<String>,
    /// Most bytes of WAL waiting for the segments. Default `"4GiB"`.
    pub max_backlog: Option<RawSize>,
    /// Free space kept on the data directory's file system: a percentage of its size or a size. Default `"10%"`.
    pub min_free: Option<RawSize>,
    /// Merge each closed hour's segment files of a retention class into one. Default `true`.
    pub compact: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawRing {
    /// Most events held in memory. Default `250000`.
    pub max_events: Option<usize>,
    /// Most bytes held in memory. Default `"64MiB"`.
    pub max_bytes: Option<RawSize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawPipeline {
    /// Longest accepted message. Default `"64KiB"`.
    pub max_message_bytes: Option<RawSize>,
    /// Most keys in `fields`. Default `256`.
    pub max_fields: Option<usize>,
    /// Most bytes of `fields`, estimated as held in memory. Default `"64KiB"`.
    pub max_field_bytes: Option<RawSize>,
    /// Deepest nesting of `fields`. Default `16`.
    pub max_depth: Option<usize>,
    /// Most tags per event. Default `64`.
    pub max_tags: Option<usize>,
    /// Oldest accepted event time, as an age. Default `"365d"`.
    pub max_past: Option<String>,
    /// Newest accepted event time, ahead of the clock. Default `"1h"`.
    pub max_future: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawAlerts {
    /// Least severity that makes an alert. Default `"warning"`.
    pub min_severity: Option<String>,
    /// Topics that group alerts by `app + topic`. Default `[]`.
    pub topics: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawTail {
    /// Batches queued per live tail. Default `256`.
    pub queue: Option<usize>,
    /// Largest backlog a tail may ask for. Default `10000`.
    pub max_backlog: Option<usize>,
    /// Most live tails at once. Default `256`.
    pub max_clients: Option<usize>,
    /// Most bytes of backlog, and apart of queued batches, one tail holds. Default `"8MiB"`.
    pub max_bytes: Option<RawSize>,
    /// Most bytes of backlog copies all tails hold together. Default `"64MiB"`.
    pub max_total_bytes: Option<RawSize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawChannels {
    /// Most Logplex channels kept. Default `1000`.
    pub max_channels: Option<usize>,
    /// Most tokens one channel is made with. Default `100`.
    pub max_tokens_per_channel: Option<usize>,
}

/// `[query]`: what one query may cost.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawQuery {
    /// Longest a search, count, query or tail backlog may scan. Default `"30s"`.
    pub timeout: Option<String>,
    /// Most queries compiled and scanning at once. Default `4`.
    pub max_concurrent: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawRetention {
    /// How long events are kept unless a rule below says otherwise. Default `"30d"`.
    pub default: Option<String>,
    /// Most bytes of segments kept; `0` for no bound. Default `0`.
    pub max_bytes: Option<RawSize>,
    /// How often expired segments are looked for. Default `"1m"`.
    pub check_interval: Option<String>,
    /// Per severity name: how long events of that severity are kept.
    #[serde(default)]
    pub severity: std::collections::BTreeMap<String, String>,
    /// Per channel name: how long events of that channel are kept (beats severity).
    #[serde(default)]
    pub channel: std::collections::BTreeMap<String, String>,
}

/// `[log]`: the server's own log on standard error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawLog {
    /// An `EnvFilter` directive (`"info"`, `"sift=debug,info"`). Default: `RUST_LOG` when it
    /// is set, else `"info"`.
    pub level: Option<String>,
    /// `"text"` or `"json"`. Default `"text"`.
    pub format: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawAuth {
    /// Users allowed in with HTTP Basic (`[[auth.users]]`). Default none.
    #[serde(default)]
    pub users: Vec<RawUser>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table with name and password_hash")]
pub(super) struct RawUser {
    pub name: String,
    /// An argon2 PHC string, as `sift user add` prints it.
    pub password_hash: String,
    /// The Logplex channels the user may write to with `POST /logs`. Default all.
    pub channels: Option<Vec<String>>,
}

/// A size as written: a number of bytes, or a string with a unit (`"512MiB"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RawSize {
    Bytes(u64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawSize, D::Error> {
        struct SizeVisitor;

        impl Visitor<'_> for SizeVisitor {
            type Value = RawSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size: a number of bytes or a string such as \"64KiB\"")
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<RawSize, E> {
                Ok(RawSize::Bytes(n))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<RawSize, E> {
                u64::try_from(n).map(RawSize::Bytes).map_err(|_| E::invalid_value(de::Unexpected::Signed(n), &self))
            }

            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawSize, E> {
                Ok(RawSize::Text(s.to_owned()))
            }
        }

        deserializer.deserialize_any(SizeVisitor)
    }
}

/// Deserializes a TOML document, reporting every part that does not fit, not just the first.
///
/// The parts that fit are returned too, so that the next stage can report its own errors
/// about them: a bad key is left out, and a bad array element leaves out its whole array (so
/// that the indices of the others stay true in later messages).
pub(super) fn read(table: Table) -> (RawConfig, Vec<Error>) {
    let mut root = Value::Table(table);
    let mut errors: Vec<Error> = Vec::new();
    // Leaving a part out can reveal another error (a rule's missing `when` behind its unknown
    // key), hence a few rounds; each round leaves out at least one part.
    for _ in 0..4 {
        let error = match RawConfig::deserialize(root.clone()) {
            Ok(raw) => return (raw, errors),
            Err(error) => error,
        };
        let mut found = Vec::new();
        narrow(&mut Vec::new(), &root, &mut found);
        if found.is_empty() {
            errors.push(Error::new("config", message(&error)));
            break;
        }
        for (path, error) in found {
            match path.split_last() {
                Some((Segment::Index(_), array)) => remove(&mut root, array),
                _ => remove(&mut root, &path),
            }
            if !errors.contains(&error) {
                errors.push(error);
            }
        }
    }
    (RawConfig::default(), errors)
}

/// Checks one scalar key's value on its own, as if it were the only key in the file.
pub(super) fn probe(key: &str, value: &Value) -> Result<(), String> {
    let path: Vec<Segment> = key.split('.').map(|k| Segment::Key(k.to_owned())).collect();
    RawConfig::deserialize(wrap(&path, value.clone())).map(drop).map_err(|e| message(&e))
}

/// A step of a key path: a table key or an index into an array.
#[derive(Debug, Clone)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Reports the errors in `value`, the part of the document at `path`.
///
/// Each part is tried in a document that holds only that part. A part that fails is searched
/// for the smaller parts that fail; when none of them does, the part itself is the error.
/// The root is never an error of its own.
/// "missing field" errors are believed only for array elements (a `[[classify]]` rule without
/// `when`): elsewhere they come from the siblings this search leaves out.
fn narrow(path: &mut Vec<Segment>, value: &Value, errors: &mut Vec<(Vec<Segment>, Error)>) {
    let Err(error) = RawConfig::deserialize(wrap(path, value.clone())) else {
        return;
    };
    // A table or array that fails even when empty is itself wrong (an unknown key, a table
    // where an array belongs): its contents are not to blame.
    let empty = match value {
        Value::Table(_) => Some(Value::Table(Table::new())),
        Value::Array(_) => Some(Value::Array(Vec::new())),
        _ => None,
    };
    let own = empty
        .and_then(|empty| RawConfig::deserialize(wrap(path, empty)).err())
        .filter(|error| !error.message().starts_with("missing field"));
    if let Some(error) = own {
        errors.push((path.clone(), Error::new(display(path), message(&error))));
        return;
    }
    let before = errors.len();
    match value {
        Value::Table(table) => {
            for (key, child) in table {
                path.push(Segment::Key(key.clone()));
                narrow(path, child, errors);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                path.push(Segment::Index(i));
                narrow(path, child, errors);
                path.pop();
            }
        }
        _ => {}
    }
    let missing = error.message().starts_with("missing field");
    let complete = matches!(path.last(), Some(Segment::Index(_)));
    if errors.len() == before && !path.is_empty() && (!missing || complete) {
        errors.push((path.clone(), Error::new(display(path), message(&error))));
    }
}

/// Removes the part of the document at `path`, which ends in a table key.
fn remove(root: &mut Value, path: &[Segment]) {
    let Some((Segment::Key(last), parents)) = path.split_last() else {
        return;
    };
    let mut node = root;
    for segment in parents {
        let next = match (segment, node) {
            (Segment::Key(key), Value::Table(table)) => table.get_mut(key),
            (Segment::Index(i), Value::Array(items)) => items.get_mut(*i),
            _ => None,
        };
        let Some(next) = next else { return };
        node = next;
    }
    if let Value::Table(table) = node {
        table.remove(last);
    }
}

/// A document that holds `value` at `path` and nothing else.
fn wrap(path: &[Segment], value: Value) -> Value {
    path.iter().rev().fold(value, |inner, segment| match segment {
        Segment::Key(key) => Value::Table(Table::from_iter([(key.clone(), inner)])),
        Segment::Index(_) => Value::Array(vec![inner]),
    })
}

/// `classify[2].set.severity`.
fn display(path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) if out.is_empty() => out.push_str(key),
            Segment::Key(key) => {
                out.push('.');
                out.push_str(key);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// serde's message in TOML's words rather than Rust's.
fn message(error: &toml::de::Error) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("unknown field", "unknown key"),
        ("expected usize", "expected a whole number"),
        ("expected path string", "expected a path (a string)"),
    ];
    let mut message = error.message().trim_end().to_owned();
    for (rust, toml) in WORDS {
        message = message.replace(rust, toml);
    }
    message
}
