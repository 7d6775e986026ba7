//! sift: a production log and event monitoring server in one binary, and its command line.
//!
//! # Layout
//!
//! Modules follow the path of an event:
//!
//! - [`sources`]: the syslog (UDP, TCP, TLS) and Popcorn (UDP) listeners; they decode with
//!   `sift_core` codecs and hand chunks of events, through bounded queues, to [`ingest`].
//! - [`api`]: the HTTP connection layer and routes, grouped by trust; JSON, Logplex and OTLP
//!   ingest decode bodies with `sift_core` within their budgets and hand them to [`ingest`].
//! - [`ingest`]: the one path into the server: [`pipeline`], then the ring, then the [`bus`].
//! - [`pipeline`]: validate, classify (rules), enrich (topics, identities, fingerprints).
//! - [`bus`]: bounded fan-out of batches to live consumers, counting what each one loses.
//! - [`flusher`]: the thread that moves pending events from the WAL into Parquet segments.
//! - [`tail`]: live tails: backlog from the ring, then live events from the bus.
//! - [`app`]: the lifecycle: starts every part on bound listeners, owns every task, stops
//!   them in order on one shutdown token.
//! - [`config`]: the TOML file, `SIFT_*` overrides and flags, compiled into a `Config`.
//! - [`observe`]: sift's own logging, its counters, the registry of every bounded queue, and
//!   the one snapshot of all its figures.
//! - [`tls`]: the certificate of HTTPS and syslog over TLS, replaced on SIGHUP.
//! - [`cli`]: `sift serve` and the client commands.

pub mod api;
pub mod app;
pub mod bus;
pub mod cli;
pub mod config;
pub mod flusher;
pub mod ingest;
pub mod observe;
pub mod pipeline;
pub mod sources;
pub mod tail;
pub mod tls;
