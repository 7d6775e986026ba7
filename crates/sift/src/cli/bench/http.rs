//! The HTTP sender, for `http-json`, `logplex` and `otlp`: `--connections` clients each take
//! the next batch of `--batch` events, wait for its time under `--rate` (batch `n` is due at
//! `start + n * batch / rate`) and post it, waiting for the answer before the next one, so a
//! server that falls behind never has more than `--connections` requests in flight.
//!
//! JSON answers say how many events were accepted and why others were not; Logplex and OTLP
//! answers only say the request succeeded, so for them the server's counters are the figure.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use tokio::time::Instant;

use super::super::client::{Client, RequestError};
use super::template::Template;
use super::{latency_histogram, logplex, now_us, otlp};

/// Where the batches go.
pub(super) enum Endpoint {
    /// `POST /api/v1/events`, NDJSON.
    Events,
    /// `POST /logs` with the channel's token.
    Logplex { token: String },
    /// `POST /v1/logs`, protobuf.
    Otlp,
}

/// The bodies and how many events go out, when.
pub(super) struct Plan {
    pub endpoint: Endpoint,
    /// Bodies of `batch` events, used in turn.
    pub full: Vec<Template>,
    /// The body of the last, smaller batch, when `count` is not a multiple of `batch`.
    pub last: Option<Template>,
    pub count: u64,
    pub batch: u64,
    /// Events a second overall; 0 for as fast as the server answers.
    pub rate: u64,
}

pub(super) struct Shared {
    pub plan: Plan,
    /// The next batch to send, numbered from 0 across all connections.
    next_batch: AtomicU64,
    /// Set when one sender met an error that ends the run.
    abort: AtomicBool,
    pub start: Instant,
}

impl Shared {
    pub(super) fn new(plan: Plan) -> Arc<Shared> {
        Arc::new(Shared { plan, next_batch: AtomicU64::new(0), abort: AtomicBool::new(false), start: Instant::now() })
    }
}

/// One sender's tally, merged into the run's.
pub(super) struct Sent {
    pub events: u64,
    /// Events the answers said were accepted (all events of a successful Logplex or OTLP request).
    pub accepted: u64,
    pub rejected: u64,
    pub errors: u64,
    /// Events in the failed requests.
    pub failed_events: u64,
    pub bytes: u64,
    /// Request latency in µs, of the requests the server answered.
    pub latency: Histogram<u64>,
    pub first_rejection: Option<String>,
    pub first_error: Option<String>,
    pub fatal: Option<RequestError>,
}

impl Sent {
    pub(super) fn new() -> Sent {
        Sent {
            events: 0,
            accepted: 0,
            rejected: 0,
            errors: 0,
            failed_events: 0,
            bytes: 0,
            latency: latency_histogram(),
            first_rejection: None,
            first_error: None,
            fatal: None,
        }
    }

    pub(super) fn merge(&mut self, other: Sent) {
        self.events += other.events;
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        self.errors += other.errors;
        self.failed_events += other.failed_events;
        self.bytes += other.bytes;
        let _ = self.latency.add(&other.latency);
        self.first_rejection = self.first_rejection.take().or(other.first_rejection);
        self.first_error = self.first_error.take().or(other.first_error);
        self.fatal = self.fatal.take().or(other.fatal);
    }
}

/// One connection's loop: take the next batch, wait for its time under `--rate`, send it.
pub(super) async fn send(shared: Arc<Shared>, client: Client, progress: ProgressBar) -> Sent {
    let plan = &shared.plan;
    let mut sent = Sent::new();
    while !shared.abort.load(Ordering::Relaxed) {
        let batch = shared.next_batch.fetch_add(1, Ordering::Relaxed);
        let first = batch.saturating_mul(plan.batch);
        if first >= plan.count {
            break;
        }
        let events = plan.batch.min(plan.count - first);
        if plan.rate > 0 {
            let due = Duration::from_secs_f64(first as f64 / plan.rate as f64);
            tokio::time::sleep_until(shared.start + due).await;
        }
        let template = match &plan.last {
            Some(last) if events < plan.batch => last,
            _ => &plan.full[(batch % plan.full.len() as u64) as usize],
        };
        let body = template.body(events as usize, now_us);
        sent.events += events;
        sent.bytes += body.len() as u64;
        let started = Instant::now();
        match post(&client, &plan.endpoint, body, events).await {
            Ok(answer) => {
                sent.latency.saturating_record(started.elapsed().as_micros() as u64);
                sent.accepted += answer.accepted;
                sent.rejected += answer.rejected;
                if sent.first_rejection.is_none() && answer.rejected > 0 {
                    sent.first_rejection = Some(answer.first_rejection.unwrap_or_else(|| "no reason given".to_owned()));
                }
            }
            Err(error) if error.is_fatal() => {
                shared.abort.store(true, Ordering::Relaxed);
                sent.fatal = Some(error);
                break;
            }
            Err(error) => {
                sent.errors += 1;
                sent.failed_events += events;
                sent.first_error.get_or_insert_with(|| error.to_string());
            }
        }
        progress.inc(events);
    }
    sent
}

struct Answer {
    accepted: u64,
    rejected: u64,
    first_rejection: Option<String>,
}

async fn post(client: &Client, endpoint: &Endpoint, body: Vec<u8>, events: u64) -> Result<Answer, RequestError> {
    let request = match endpoint {
        Endpoint::Events => {
            let answer = client.post_events(body, "application/x-ndjson").await?;
            let first_rejection = answer.errors.into_iter().next().map(|e| e.error);
            return Ok(Answer { accepted: answer.accepted, rejected: answer.rejected, first_rejection });
        }
        Endpoint::Logplex { token } => logplex::request(client, token, body, events as usize),
        Endpoint::Otlp => otlp::request(client, body),
    };
    // Read to the end, so that the connection goes back to the pool.
    let response = client.send(request).await?;
    let _ = response.bytes().await;
    Ok(Answer { accepted: events, rejected: 0, first_rejection: None })
}
