//! Black-box tests: each starts the real `sift` binary on port 0 and talks to it over HTTP
//! as clients do.

mod auth;
mod bench;
mod cli;
mod disk_full;
mod durable;
mod harness;
mod hostile;
mod import;
mod ingest;
mod log;
mod logplex;
mod otlp;
mod popcorn;
mod query;
mod readme;
mod rules;
mod search;
mod stats;
mod syslog;
mod tail;
mod tls;
mod user_add;
