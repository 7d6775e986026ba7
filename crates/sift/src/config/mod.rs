//! Configuration: the TOML file, `SIFT_*` environment overrides and `sift serve` flags,
//! compiled into a validated [`Config`] that the server is started with.
//!
//! Loading happens in two stages (see `raw.rs` and `compile.rs`): raw serde structs with
//! `deny_unknown_fields`, then a compile step that checks every value and reports all errors
//! at once, each with its key path. `load.rs` layers the sources (embedded defaults, the file,
//! `SIFT_*` variables from `env.rs`, then flags), `example.toml` is the annotated file that
//! `sift config example` prints, and `users.rs` hashes and verifies passwords.

mod compile;
mod env;
mod error;
mod load;
mod raw;
pub mod users;
mod values;

#[cfg(test)]
mod tests;

pub use env::process_env;
pub use error::{Error, Errors};
pub use load::{Overrides, from_toml, load};
pub use values::format_size;

/// The annotated example configuration: every key with its effect and its default.
pub fn example() -> &'static str {
    include_str!("example.toml")
}

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sift_core::Severity;

use crate::pipeline::classify::Rule;
use crate::tls::TlsFiles;

/// The syslog over TLS listener once TLS is configured, unless `syslog.tls_listen` says.
pub const DEFAULT_SYSLOG_TLS_LISTEN: &str = "127.0.0.1:6514";

/// The validated configuration of a server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where durable data lives (WAL, segments, state database).
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub syslog: SyslogConfig,
    pub popcorn: PopcornConfig,
    pub storage: StorageConfig,
    pub ring: RingConfig,
    pub pipeline: PipelineConfig,
    pub alerts: AlertsConfig,
    pub tail: TailConfig,
    pub channels: ChannelsConfig,
    pub query: QueryConfig,
    pub retention: RetentionConfig,
    pub log: LogConfig,
    /// Ordered classification rules.
    pub classify: Vec<Rule>,
    pub auth: AuthConfig,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Address of the HTTP listener (API, UI, HTTP ingest). Default 127.0.0.1:9125.
    pub listen: SocketAddr,
    /// Largest accepted request body in bytes. Default 16 MiB.
    pub max_body: usize,
    /// Where people and links reach sift (`https://logs.example.com`); its host is one sift
    /// answers to, and its origin may send changes. Default none.
    pub public_url: Option<axum::http::Uri>,
    /// Host names sift answers to besides IP addresses, `localhost` and `public_url`'s host;
    /// `*.example.com` allows every name under `example.com`. Default none.
    pub allowed_hosts: Vec<String>,
    /// Most connections at once; further ones are closed at once and counted. Default 1024.
    pub max_connections: usize,
    /// A connection's request headers (the first request's from connecting, TLS handshake
    /// included) must arrive within this. Default 10 s.
    pub header_timeout: Duration,
    /// A kept-alive connection with no request open is closed after this. Default 60 s.
    pub idle_timeout: Duration,
    /// A request body may take this long beyond what `body_min_rate` allows. Default 30 s.
    pub body_timeout: Duration,
    /// A request body must arrive at this many bytes per second on average (after
    /// `body_timeout`). Default 1 KiB.
    pub body_min_rate: usize,
    /// A connection whose client takes no byte of an answer for this long is closed. Default 60 s.
    pub send_timeout: Duration,
    /// The certificate and key of HTTPS and syslog over TLS; `None` serves plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Most items (JSON events, OTLP records, Logplex frames) in one ingest request; more are
    /// refused whole with 413 before any is decoded. Default 100,000.
    pub max_items: usize,
    /// Most bytes the events decoded from one ingest request may hold (estimated as the ring
    /// counts them, rejections included); a request over it is refused whole with 413.
    /// Default 64 MiB.
    pub max_decoded_bytes: usize,
    /// Most bytes of ingest request bodies held at once, all requests together, counted as
    /// they are read; a request that finds no room within a few seconds is answered 503.
    /// At least `max_body`. Default 64 MiB.
    pub max_inflight_bytes: usize,
    /// Most ingest requests decoded and stored at once (each within `max_decoded_bytes`);
    /// the others wait holding only their bodies. Default 16.
    pub max_decodes: usize,
    /// Most bytes of events being decoded and stored at once, all requests together: a
    /// request reserves what its body may decode to (at most `max_decoded_bytes`) before it
    /// decodes, and waits, then 503, when there is no room. At least `max_decoded_bytes`.
    /// Default 256 MiB.
    pub max_decoding_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct SyslogConfig {
    /// Address of the syslog listener, UDP and TCP. Default 127.0.0.1:5514.
    pub listen: SocketAddr,
    /// Channel of the events received here. Default `default`.
    pub channel: String,
    /// Longest TCP frame in bytes; longer frames are truncated and counted. Default 64 KiB.
    pub max_frame: usize,
    /// Most TCP connections at once; further ones are closed at once and counted. Default 4096.
    pub max_connections: usize,
    /// A TCP connection that sends nothing for this long is closed. Default 10 minutes.
    pub idle_timeout: Duration,
    /// Receive buffer asked for the UDP socket (SO_RCVBUF). Default 4 MiB.
    pub recv_buffer: usize,
    /// Address of the syslog over TLS listener (RFC 5425); `None` without TLS or when
    /// turned off. Default 127.0.0.1:6514 once `http.tls_cert` is set.
    pub tls_listen: Option<SocketAddr>,
}

#[derive(Debug, Clone)]
pub struct PopcornConfig {
    /// Address of the Popcorn protobuf UDP listener. Default 127.0.0.1:9125.
    pub listen: SocketAddr,
    /// Channel of the events received here. Default `default`.
    pub channel: String,
    /// Receive buffer asked for the UDP socket (SO_RCVBUF). Default 4 MiB.
    pub recv_buffer: usize,
}

#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// Keep the ring as the only store. Default false.
    pub memory_only: bool,
    /// When the write-ahead log is synced to disk. Default batch (group commit).
    pub wal_fsync: WalFsync,
    /// With `WalFsync::Interval`, how often. Default 1 s.
    pub wal_fsync_interval: Duration,
    /// Pending events (in the WAL, not yet in segments) that start a flush, and most events one round writes; four times as many are held in memory while the ring holds them, older ones are read back from the WAL. Default 250,000.
    pub flush_events: usize,
    /// Most bytes of WAL records one flush round writes, so that a round's memory is bounded whatever its events' sizes. Default 4 MiB.
    pub flush_bytes: usize,
    /// Most bytes of WAL waiting for the segments; past it writers wait. Default 4 GiB.
    pub max_backlog: usize,
    /// Free space kept on the data directory's file system: below it the oldest segments are deleted. Default 10% of its size.
    pub min_free: sift_store::MinFree,
    /// Longest an event stays pending before a flush. Default 30 s.
    pub flush_interval: Duration,
    /// Merge each closed hour's segment files of a retention class into one (ADR 0016). Default true.
    pub compact: bool,
}

/// When acknowledged events reach the disk itself (not only the operating system).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalFsync {
    /// Every batch is synced before it is acknowledged.
    Always,
    /// Batches arriving together share one sync before they are acknowledged (group commit).
    Batch,
    /// Batches are acknowledged once written and synced every interval: a power loss (not a
    /// crash of sift) can lose up to one interval.
    Interval,
}

#[derive(Debug, Clone)]
pub struct RingConfig {
    /// Most events held in memory. Default 250,000.
    pub max_events: usize,
    /// Most bytes held in memory, as the allocator hands them out (`Ring::weigh`). Default 64 MiB.
    pub max_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Longest accepted message in bytes. Default 64 KiB.
    pub max_message_bytes: usize,
    /// Most keys in `fields`, counted at every depth. Default 256.
    pub max_fields: usize,
    /// Most bytes of `fields`, estimated as held in memory (`sift_core::event::fields_bytes`).
    /// Default 64 KiB.
    pub max_field_bytes: usize,
    /// Deepest nesting of `fields`. Default 16.
    pub max_depth: usize,
    /// Most tags per event. Default 64.
    pub max_tags: usize,
    /// Event times further in the past than this are clamped (the original is kept in
    /// `fields._original_time`). Default 365 days.
    pub max_past: Duration,
    /// Event times further in the future than this are clamped. Default 1 hour.
    pub max_future: Duration,
}

#[derive(Debug, Clone)]
pub struct AlertsConfig {
    /// Events at or above this severity get a fingerprint (and, later, an alert group).
    /// Default warning.
    pub min_severity: Severity,
    /// Topics that group by `app + topic` (DESIGN.md section 8). Default none.
    pub topics: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct TailConfig {
    /// Batches queued per live tail before it starts losing events. Default 256.
    pub queue: usize,
    /// Largest backlog a tail may ask for. Default 10,000.
    pub max_backlog: usize,
    /// Most live tails at once; one more is answered 503. Default 256.
    pub max_clients: usize,
    /// Most bytes a tail holds: of backlog copies, and apart of batches waiting for its
    /// reader (past it the newest are lost and reported). Default 8 MiB.
    pub max_bytes: usize,
    /// Most bytes of backlog copies all tails hold together: a tail opened while the others'
    /// hold this much gets a shorter backlog, or none. Default 64 MiB.
    pub max_total_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct ChannelsConfig {
    /// Most Logplex channels kept; `POST /channels` beyond it is answered 409. Default 1,000.
    pub max_channels: usize,
    /// Most tokens a channel is made with; more are answered 400. Default 100.
    pub max_tokens_per_channel: usize,
}

#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// Longest a search, count, piped query or tail backlog may scan (waiting for a slot
    /// included) before it is stopped and answered 503. Default 30 s.
    pub timeout: Duration,
    /// Most queries compiled and scanning at once, each in a pool of one thread per core;
    /// further ones wait for a slot. Default 4.
    pub max_concurrent: usize,
}

#[derive(Debug, Clone)]
pub struct RetentionConfig {
    /// How long events are kept unless a rule says otherwise. Default 30 days.
    pub default: Duration,
    /// Most bytes of segments kept (0: no bound); the oldest are deleted first. Default 0.
    pub max_bytes: usize,
    /// How often expired segments are looked for. Default 1 minute.
    pub check_interval: Duration,
    /// Per severity (`[retention.severity] debug = "2h"`).
    pub by_severity: Vec<(Severity, Duration)>,
    /// Per channel (`[retention.channel] audit = "365d"`), which beats severity.
    pub by_channel: Vec<(String, Duration)>,
}

/// The server's own log, on standard error (`observe::init_server_logging`).
#[derive(Debug, Clone, Default)]
pub struct LogConfig {
    /// An `EnvFilter` directive (`info`, `sift=debug,info`); `None` when not configured, which
    /// leaves it to `RUST_LOG`, else `info`.
    pub level: Option<String>,
    pub format: LogFormat,
}

/// How the server's log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, coloured only when standard error is a terminal.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `message`, the event's fields, `target`.
    Json,
}

#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// Users allowed in with HTTP Basic. With none, only loopback listeners are allowed.
    pub users: Vec<User>,
}

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    /// An argon2 PHC string (`$argon2id$v=19$...`), as `sift user add` prints.
    pub password_hash: String,
    /// The Logplex channels this user may write to with `POST /logs`; `None` for all.
    pub channels: Option<Vec<String>>,
}

impl User {
    /// Whether this user may write to the channel named `channel`.
    pub fn may_write(&self, channel: &str) -> bool {
        self.channels.as_ref().is_none_or(|allowed| allowed.iter().any(|name| name == channel))
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            data_dir: PathBuf::from("sift-data"),
            http: HttpConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 9125)),
                max_body: 16 << 20,
                public_url: None,
                allowed_hosts: Vec::new(),
                max_connections: 1024,
                header_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
                body_timeout: Duration::from_secs(30),
                body_min_rate: 1 << 10,
                send_timeout: Duration::from_secs(60),
                tls: None,
                max_items: sift_core::limits::DEFAULT_MAX_ITEMS,
                max_decoded_bytes: sift_core::limits::DEFAULT_MAX_DECODED_BYTES,
                max_inflight_bytes: 64 << 20,
                max_decodes: 16,
                max_decoding_bytes: 256 << 20,
            },
            syslog: SyslogConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 5514)),
                channel: sift_core::event::DEFAULT_CHANNEL.to_owned(),
                max_frame: 64 << 10,
                max_connections: 4096,
                idle_timeout: Duration::from_secs(600),
                recv_buffer: 4 << 20,
                tls_listen: None,
            },
            popcorn: PopcornConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 9125)),
                channel: sift_core::event::DEFAULT_CHANNEL.to_owned(),
                recv_buffer: 4 << 20,
            },
            storage: StorageConfig {
                memory_only: false,
                wal_fsync: WalFsync::Batch,
                wal_fsync_interval: Duration::from_secs(1),
                flush_events: 250_000,
                flush_bytes: 4 << 20,
                flush_interval: Duration::from_secs(30),
                max_backlog: 4 << 30,
                min_free: sift_store::MinFree::Percent(10.0),
                compact: true,
            },
            ring: RingConfig { max_events: 250_000, max_bytes: 64 << 20 },
            pipeline: PipelineConfig {
                max_message_bytes: 64 << 10,
                max_fields: 256,
                max_field_bytes: sift_core::limits::DEFAULT_MAX_FIELD_BYTES,
                max_depth: 16,
                max_tags: 64,
                max_past: Duration::from_secs(365 * 86_400),
                max_future: Duration::from_secs(3_600),
            },
            alerts: AlertsConfig { min_severity: Severity::Warning, topics: Vec::new() },
            tail: TailConfig {
                queue: 256,
                max_backlog: 10_000,
                max_clients: 256,
                max_bytes: 8 << 20,
                max_total_bytes: 64 << 20,
            },
            channels: ChannelsConfig { max_channels: 1_000, max_tokens_per_channel: 100 },
            query: QueryConfig { timeout: Duration::from_secs(30), max_concurrent: 4 },
            retention: RetentionConfig {
                default: Duration::from_secs(30 * 86_400),
                max_bytes: 0,
                check_interval: Duration::from_secs(60),
                by_severity: Vec::new(),
                by_channel: Vec::new(),
            },
            log: LogConfig::default(),
            classify: Vec::new(),
            auth: AuthConfig::default(),
        }
    }
}
