//! `sift bench`: a load generator that reports what the server sustained.
//!
//! It sends `--count` events over `--connections` HTTP connections (one client each), in
//! NDJSON batches of `--batch` from pre-built [`body`] templates, optionally paced to `--rate`
//! events a second overall (batch `n` is due at `start + n * batch / rate`; each connection
//! waits for its answer before the next batch, so a server that falls behind never has more
//! than `--connections` batches in flight). It measures accepted events a second, body MB a
//! second and request latency.
//!
//! With `--latency` (the default) it also measures ingest-to-tail latency: before sending it
//! opens `GET /api/v1/tail?q=fields.bench_run:RUN&backlog=0` and waits for `ready`; every event
//! carries the run id and its send time (`fields.bench_sent_us`), and the tail reader records
//! arrival minus send time. After the last answer it waits until the tail has seen (or been
//! told it dropped) every accepted event, or until 5 s pass without one.
//!
//! Rejected events and failed requests are counted, reported with their first reason, and make
//! the exit status 1. A refused connection or refused credentials stop the run at once.

mod body;
mod report;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use rand::Rng;
use tokio::sync::watch;
use tokio::time::Instant;

use self::body::Template;
use self::report::{EndToEnd, Percentiles, Report};
use super::BenchArgs;
use super::client::{Client, RequestError, SseMessage, SseStream, current_thread_runtime};
use super::tail::dropped_count;

/// How long the tail may take to say `ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long, after the last answer, the tail may go without an event before the run ends.
const TAIL_SILENCE: Duration = Duration::from_secs(5);
/// Events held in templates in all (fewer templates for larger batches, at least one).
const TEMPLATE_EVENTS: usize = 65_536;
const MAX_TEMPLATES: usize = 16;
/// Highest latency recorded, in µs; longer ones count as this.
const MAX_LATENCY_US: u64 = 3_600_000_000;

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if args.protocol != "http-json" {
        anyhow::bail!("protocol {:?} is not supported yet, supported: http-json", args.protocol);
    }
    if args.count == 0 {
        anyhow::bail!("--count must be at least 1");
    }
    for (name, value) in
        [("--connections", args.connections), ("--batch", args.batch), ("--message-size", args.message_size)]
    {
        if value == 0 {
            anyhow::bail!("{name} must be at least 1");
        }
    }
    let run_id = run_id(&mut rand::thread_rng());
    let plan = Arc::new(Plan::new(&args, &run_id));
    let clients = (0..args.connections).map(|_| Client::new(&args.client)).collect::<anyhow::Result<Vec<_>>>()?;
    let tail_client = Client::new(&args.client)?;
    if !args.quiet {
        eprintln!(
            "sending {} events to {} over {} connections (bench run {run_id})",
            args.count,
            tail_client.base(),
            args.connections
        );
    }
    // One thread: the server under test usually shares the machine, and one thread sends
    // 500k events/s with room to spare (measured: about 10% of a core, and less system time
    // than a multi-threaded runtime's cross-thread wake-ups cost when following the tail).
    let runtime = current_thread_runtime()?;
    let outcome = runtime.block_on(bench(&args, plan, clients, &tail_client, &run_id))?;
    let Outcome { report, problems } = outcome;
    for problem in &problems {
        eprintln!("warning: {problem}");
    }
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    let clean = report.events_rejected == 0 && report.errors == 0;
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// What every sender shares: the bodies and how many events go out, when.
struct Plan {
    templates: Vec<Template>,
    count: u64,
    batch: u64,
    /// Events a second overall; 0 for as fast as the server answers.
    rate: u64,
}

impl Plan {
    fn new(args: &BenchArgs, run_id: &str) -> Plan {
        let batches = args.count.div_ceil(args.batch as u64);
        let templates = (TEMPLATE_EVENTS / args.batch).clamp(1, MAX_TEMPLATES).min(batches as usize);
        let events = (args.batch as u64).min(args.count) as usize;
        let mut rng = rand::thread_rng();
        let templates =
            (0..templates).map(|_| Template::generate(&mut rng, events, args.message_size, run_id)).collect();
        Plan { templates, count: args.count, batch: args.batch as u64, rate: args.rate }
    }
}

struct Outcome {
    report: Report,
    /// Things the user must know about the run, printed as warnings.
    problems: Vec<String>,
}

async fn bench(
    args: &BenchArgs,
    plan: Arc<Plan>,
    clients: Vec<Client>,
    tail_client: &Client,
    run_id: &str,
) -> anyhow::Result<Outcome> {
    let (goal_sender, goal) = watch::channel(None);
    let tail = if args.latency {
        let (stream, counts) = open_tail(tail_client, run_id)
            .await
            .context("opening the live tail for end-to-end latency (--latency false skips it)")?;
        Some(tokio::spawn(follow(stream, counts, goal)))
    } else {
        None
    };

    let progress = progress_bar(args);
    let shared =
        Arc::new(Shared { plan, next_batch: AtomicU64::new(0), abort: AtomicBool::new(false), start: Instant::now() });
    let senders: Vec<_> =
        clients.into_iter().map(|client| tokio::spawn(send(Arc::clone(&shared), client, progress.clone()))).collect();
    let mut total = Sent::new();
    for sender in senders {
        total.merge(sender.await?);
    }
    let seconds = shared.start.elapsed().as_secs_f64();
    if let Some(fatal) = total.fatal {
        progress.abandon();
        return Err(fatal.into());
    }

    let mut problems = Vec::new();
    if let Some(first) = &total.first_rejection {
        problems.push(format!("the server rejected {} events; the first because: {first}", total.rejected));
    }
    if let Some(first) = &total.first_error {
        problems.push(format!("{} requests failed; the first with: {first}", total.errors));
    }
    let answered = total.events - total.failed_events;
    if total.accepted + total.rejected != answered {
        problems.push(format!(
            "the server's answers count {} accepted and {} rejected events, but those requests held {answered}",
            total.accepted, total.rejected
        ));
    }
    let end_to_end = match tail {
        None => None,
        Some(tail) => {
            progress.set_message("waiting for the live tail");
            let _ = goal_sender.send(Some(total.accepted));
            let counts = tail.await?;
            problems.extend(counts.problems(total.accepted));
            Some(EndToEnd {
                latency: Percentiles::of(&counts.latency),
                received: counts.received,
                dropped: counts.dropped,
            })
        }
    };
    progress.finish_and_clear();
    let report = Report {
        protocol: args.protocol.clone(),
        connections: args.connections,
        batch: args.batch,
        message_size: args.message_size,
        events_sent: total.events,
        events_accepted: total.accepted,
        events_rejected: total.rejected,
        errors: total.errors,
        seconds,
        bytes_sent: total.bytes,
        request_latency: Percentiles::of(&total.latency),
        end_to_end,
    };
    Ok(Outcome { report, problems })
}

struct Shared {
    plan: Arc<Plan>,
    /// The next batch to send, numbered from 0 across all connections.
    next_batch: AtomicU64,
    /// Set when one sender met an error that ends the run.
    abort: AtomicBool,
    start: Instant,
}

/// One sender's tally, merged into the run's.
struct Sent {
    events: u64,
    accepted: u64,
    rejected: u64,
    errors: u64,
    /// Events in the failed requests.
    failed_events: u64,
    bytes: u64,
    /// Request latency in µs, of the requests the server answered.
    latency: Histogram<u64>,
    first_rejection: Option<String>,
    first_error: Option<String>,
    fatal: Option<RequestError>,
}

impl Sent {
    fn new() -> Sent {
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

    fn merge(&mut self, other: Sent) {
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
async fn send(shared: Arc<Shared>, client: Client, progress: ProgressBar) -> Sent {
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
        let template = &plan.templates[(batch % plan.templates.len() as u64) as usize];
        let body = template.body(events as usize, now_us);
        sent.events += events;
        sent.bytes += body.len() as u64;
        let started = Instant::now();
        match client.post_events(body, "application/x-ndjson").await {
            Ok(answer) => {
                sent.latency.saturating_record(started.elapsed().as_micros() as u64);
                sent.accepted += answer.accepted;
                sent.rejected += answer.rejected;
                if sent.first_rejection.is_none() {
                    sent.first_rejection = answer.errors.into_iter().next().map(|e| e.error);
                    if sent.first_rejection.is_none() && answer.rejected > 0 {
                        sent.first_rejection = Some("no reason given".to_owned());
                    }
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

/// What the live tail saw.
struct TailCounts {
    ready: bool,
    received: u64,
    dropped: u64,
    /// Events without a readable `fields.bench_sent_us`.
    unstamped: u64,
    /// Arrival minus send time, µs.
    latency: Histogram<u64>,
    /// Why the tail stopped before seeing every accepted event, if it did.
    stopped: Option<String>,
}

impl TailCounts {
    fn new() -> TailCounts {
        TailCounts { ready: false, received: 0, dropped: 0, unstamped: 0, latency: latency_histogram(), stopped: None }
    }

    /// Handles one message; `now` is read once per chunk, as its events arrived together.
    fn on_message(&mut self, message: SseMessage<'_>, now: &mut Option<u64>) {
        match message.event {
            "event" => {
                self.received += 1;
                match body::sent_stamp(message.data) {
                    Some(sent) => {
                        let now = *now.get_or_insert_with(now_us);
                        self.latency.saturating_record(now.saturating_sub(sent));
                    }
                    None => self.unstamped += 1,
                }
            }
            "dropped" => self.dropped += dropped_count(message.data).unwrap_or(0),
            "ready" => self.ready = true,
            _ => {}
        }
    }

    fn seen(&self) -> u64 {
        self.received + self.dropped
    }

    fn problems(&self, accepted: u64) -> Vec<String> {
        let mut problems = Vec::new();
        if self.seen() < accepted {
            let why = self.stopped.as_deref().unwrap_or("it stopped");
            problems.push(format!(
                "the live tail accounted for {} of {accepted} accepted events ({} received, {} dropped): {why}",
                self.seen(),
                self.received,
                self.dropped
            ));
        }
        if self.unstamped > 0 {
            problems.push(format!("{} tail events had no readable fields.bench_sent_us", self.unstamped));
        }
        problems
    }
}

/// Opens the tail for this run's events and waits for its `ready`.
async fn open_tail(client: &Client, run_id: &str) -> anyhow::Result<(SseStream, TailCounts)> {
    let query = format!("fields.bench_run:{run_id}");
    let mut stream = client.open_sse("/api/v1/tail", &[("q", &query), ("backlog", "0")]).await?;
    let mut counts = TailCounts::new();
    let deadline = Instant::now() + READY_TIMEOUT;
    while !counts.ready {
        let mut now = None;
        let read = stream.read(|message| {
            counts.on_message(message, &mut now);
            anyhow::Ok(())
        });
        match tokio::time::timeout_at(deadline, read).await {
            Err(_) => anyhow::bail!("the live tail did not send `ready` within {} s", READY_TIMEOUT.as_secs()),
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => anyhow::bail!("the server ended the live tail before it was ready"),
            Ok(Err(error)) => return Err(error),
        }
    }
    Ok((stream, counts))
}

/// Reads the tail until it has accounted for `goal` events (known once sending is over), or
/// until it has been silent for [`TAIL_SILENCE`] after that.
async fn follow(mut stream: SseStream, mut counts: TailCounts, mut goal: watch::Receiver<Option<u64>>) -> TailCounts {
    let mut last_event = Instant::now();
    loop {
        let target = *goal.borrow_and_update();
        if target.is_some_and(|target| counts.seen() >= target) {
            break;
        }
        let before = counts.seen();
        let mut now = None;
        let read = stream.read(|message| {
            counts.on_message(message, &mut now);
            anyhow::Ok(())
        });
        let result = match target {
            None => tokio::select! {
                result = read => result,
                changed = goal.changed() => match changed {
                    Ok(()) => continue,
                    Err(_) => break,
                },
            },
            Some(_) => match tokio::time::timeout_at(last_event + TAIL_SILENCE, read).await {
                Ok(result) => result,
                Err(_) => {
                    counts.stopped = Some(format!("no event came for {} s", TAIL_SILENCE.as_secs()));
                    break;
                }
            },
        };
        if counts.seen() > before {
            last_event = Instant::now();
        }
        match result {
            Ok(true) => {}
            Ok(false) => {
                counts.stopped = Some("the server ended the tail stream".to_owned());
                break;
            }
            Err(error) => {
                counts.stopped = Some(format!("reading the tail failed: {error:#}"));
                break;
            }
        }
    }
    counts
}

fn progress_bar(args: &BenchArgs) -> ProgressBar {
    if args.quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(args.count), ProgressDrawTarget::stderr());
    let template = "{elapsed_precise} [{bar:30}] {human_pos}/{human_len} events, {rate} {msg}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        let rate = |state: &ProgressState, out: &mut dyn std::fmt::Write| {
            let _ = write!(out, "{:.0} events/s", state.per_sec());
        };
        bar.set_style(style.with_key("rate", rate).progress_chars("=> "));
    }
    bar
}

fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_max(MAX_LATENCY_US, 3).expect("constant histogram bounds are valid")
}

/// Microseconds since the epoch, the unit of `fields.bench_sent_us`.
fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// A run id that the query language reads as a plain word: 16 lowercase letters.
fn run_id(rng: &mut impl Rng) -> String {
    (0..16).map(|_| char::from(rng.gen_range(b'a'..=b'z'))).collect()
}
