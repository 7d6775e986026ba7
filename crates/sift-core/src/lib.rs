//! sift-core: the parts of sift that are pure computation, with no I/O and no async runtime,
//! so that they can be unit-tested with data tables and fuzzed.
//!
//! # Layout
//!
//! - [`severity`]: the eight syslog severities and every way clients name them.
//! - [`time`]: microsecond timestamps, RFC 3339 and relative times (`15m`).
//! - [`event`]: the [`Event`] that every source produces and every consumer reads.
//! - [`intern`]: one shared allocation for repeated strings (hosts, apps, channels).
//! - [`limits`]: what one decoded request may hold (items, item size, fields, decoded bytes).
//! - [`json`]: JSON objects in sift's own shape, the event-pipeline shape and Popcorn's shape, into events.
//! - [`popcorn`]: Popcorn's protobuf datagrams (v0, v1, v2 layouts) into events.
//! - [`otlp`]: OpenTelemetry log exports (OTLP protobuf and JSON) into events, and OTLP's answers.
//! - [`enrich`]: topics (`#checkout`), identities (`@bob`), message normalization and fingerprints.
//! - [`query`]: the query language: parse once, match against events in memory and live.
//! - [`syslog`]: RFC 5424 and RFC 3164 messages into events, RFC 6587 TCP framing, Logplex bodies.

pub mod enrich;
pub mod event;
pub mod intern;
pub mod json;
pub mod limits;
pub mod otlp;
pub mod popcorn;
pub mod query;
pub mod severity;
pub mod syslog;
#[cfg(test)]
mod testing;
pub mod time;

pub use event::{Batch, Event, Fields, Source, Str};
pub use limits::{Budget, Exceeded, Limits};
pub use severity::Severity;
pub use time::Timestamp;
