//! `sift bench`: a load generator that reports what the server sustained, over any of the
//! server's wire protocols (`--protocol`, one generator file each: [`http_json`],
//! [`syslog`], [`popcorn`], [`logplex`], [`otlp`]).
//!
//! Every message is generated before the clock starts ([`template`]); sending costs a copy
//! and a stamp of the send time. HTTP protocols go through [`http`] (`--connections`
//! clients, batches of `--batch`), syslog and Popcorn through [`socket`] (`--connections`
//! TCP connections or UDP sockets), all optionally paced to `--rate` events a second overall.
//!
//! What counts is what the server took: the bench reads `protocols.<name>` of
//! `/api/v1/stats` before and after ([`counters`]), waits until the server has accounted for
//! everything sent (or its counters stop moving: lost datagrams never arrive), and reports
//! accepted events a second over the run and, for UDP, the loss. With `--latency` (the
//! default) it also measures ingest-to-tail latency through a live tail ([`tail`]) for the
//! protocols whose events can carry the run id and send time (all but Popcorn).
//!
//! Rejected or malformed events and failed requests are counted, reported with their first
//! reason, and make the exit status 1; datagrams lost on the way are a measurement, not a
//! failure. A refused connection or refused credentials stop the run at once.

mod counters;
mod http;
mod http_json;
mod logplex;
mod otlp;
mod popcorn;
mod report;
mod socket;
mod syslog;
mod tail;
mod template;
mod text;

use std::io::IsTerminal;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use rand::Rng;
use tokio::sync::watch;

use self::counters::Counters;
use self::report::{EndToEnd, Percentiles, Report};
use self::syslog::Framing;
use super::client::{Client, current_thread_runtime};
use super::{BenchArgs, BenchProtocol};

/// Events held in HTTP templates in all (fewer templates for larger batches, at least one).
const TEMPLATE_EVENTS: usize = 65_536;
const MAX_TEMPLATES: usize = 16;
/// Messages in a socket protocol's template, sent in turn.
const SOCKET_TEMPLATE: usize = 16_384;
/// Highest latency recorded, in µs; longer ones count as this.
const MAX_LATENCY_US: u64 = 3_600_000_000;
/// How long the server's counters may stand still before the bench stops waiting for the
/// rest of what it sent (datagrams the kernel dropped, events the server is still storing).
const SETTLE_QUIET: Duration = Duration::from_secs(2);

impl BenchProtocol {
    /// The name of its counters in `/api/v1/stats`.
    fn counters_name(self) -> &'static str {
        match self {
            BenchProtocol::HttpJson => "http_json",
            BenchProtocol::SyslogTcp => "syslog_tcp",
            BenchProtocol::SyslogUdp => "syslog_udp",
            BenchProtocol::Popcorn => "popcorn",
            BenchProtocol::Logplex => "logplex",
            BenchProtocol::Otlp => "otlp",
        }
    }

    fn name(self) -> &'static str {
        match self {
            BenchProtocol::HttpJson => "http-json",
            BenchProtocol::SyslogTcp => "syslog-tcp",
            BenchProtocol::SyslogUdp => "syslog-udp",
            BenchProtocol::Popcorn => "popcorn",
            BenchProtocol::Logplex => "logplex",
            BenchProtocol::Otlp => "otlp",
        }
    }

    /// The live tail's query for a run's events, when they carry the run id.
    fn tail_query(self, run: &str) -> Option<String> {
        match self {
            BenchProtocol::HttpJson | BenchProtocol::Otlp => Some(format!("fields.bench_run:{run}")),
            BenchProtocol::SyslogTcp | BenchProtocol::SyslogUdp | BenchProtocol::Logplex => {
                Some(syslog::tail_query(run))
            }
            BenchProtocol::Popcorn => None,
        }
    }
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
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
    let client = Client::new(&args.client)?;
    if !args.quiet {
        let target = match args.protocol {
            BenchProtocol::SyslogTcp | BenchProtocol::SyslogUdp => args.syslog.clone(),
            BenchProtocol::Popcorn => args.popcorn.clone(),
            _ => client.base().to_owned(),
        };
        eprintln!(
            "sending {} events to {target} over {} {} connections (bench run {run_id})",
            args.count,
            args.connections,
            args.protocol.name()
        );
    }
    // One thread for the HTTP clients and the tail: the server under test usually shares
    // the machine, and one thread sends 500k events/s with room to spare (measured: about
    // 10% of a core). Socket senders are threads of their own.
    let runtime = current_thread_runtime()?;
    let report = runtime.block_on(bench(&args, &client, &run_id))?;
    let Outcome { report, problems } = report;
    for problem in &problems {
        eprintln!("warning: {}", super::escape::Escaped(problem));
    }
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    let clean = report.events_rejected == 0 && report.errors == 0;
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

struct Outcome {
    report: Report,
    /// Things the user must know about the run, printed as warnings.
    problems: Vec<String>,
}

/// What a sender reports, whatever the transport.
struct Sending {
    events: u64,
    bytes: u64,
    /// Failed requests (HTTP) or writes (sockets).
    errors: u64,
    /// Events the server can have taken: those not in a failed request or write.
    delivered: u64,
    /// For JSON: what the answers said.
    answered: Option<(u64, u64)>,
    request_latency: Option<Percentiles>,
    /// When the last HTTP answer came; socket runs end when the server's counters settle.
    finished: Option<tokio::time::Instant>,
    problems: Vec<String>,
}

async fn bench(args: &BenchArgs, client: &Client, run_id: &str) -> anyhow::Result<Outcome> {
    let protocol = args.protocol;
    let token = match protocol {
        BenchProtocol::Logplex => {
            Some(logplex::create_channel(client, run_id).await.context("creating a Logplex channel for the run")?)
        }
        _ => None,
    };
    let before = counters::read(client, protocol.counters_name()).await?;
    let (goal_sender, goal) = watch::channel(None);
    let tail = match protocol.tail_query(run_id).filter(|_| args.latency) {
        Some(query) => {
            let (stream, counts) = tail::open(client, &query)
                .await
                .context("opening the live tail for end-to-end latency (--latency false skips it)")?;
            Some(tokio::spawn(tail::follow(stream, counts, goal)))
        }
        None => None,
    };

    let progress = progress_bar(args);
    let (sending, start) = match protocol {
        BenchProtocol::SyslogTcp | BenchProtocol::SyslogUdp | BenchProtocol::Popcorn => {
            let plan = socket_plan(args, run_id)?;
            let bar = progress.clone();
            let (sent, start) = tokio::task::spawn_blocking(move || socket::run(plan, bar)).await?;
            let mut problems = Vec::new();
            if let Some(first) = &sent.first_error {
                problems.push(format!("{} messages could not be sent; the first error: {first}", sent.failed));
            }
            if sent.events == 0 {
                progress.abandon();
                anyhow::bail!("nothing could be sent: {}", sent.first_error.unwrap_or_default());
            }
            let sending = Sending {
                events: sent.events,
                bytes: sent.bytes,
                errors: u64::from(sent.failed > 0),
                delivered: sent.events,
                answered: None,
                request_latency: None,
                finished: None,
                problems,
            };
            (sending, tokio::time::Instant::from_std(start))
        }
        _ => send_http(args, run_id, token, &progress).await?,
    };
    progress.set_message("waiting for the server's counters");
    let (server, end) =
        counters::settle(client, protocol.counters_name(), before, sending.delivered, SETTLE_QUIET).await?;
    let Sending { events, bytes, errors, delivered, answered, request_latency, finished, mut problems } = sending;
    // The server counts an HTTP request's events before it answers.
    let end = finished.unwrap_or(end);
    let seconds = end.saturating_duration_since(start).as_secs_f64().max(f64::MIN_POSITIVE);
    let (accepted, rejected) = answered.unwrap_or((server.accepted, server.malformed));
    problems.extend(server_problems(protocol, delivered, server));

    let end_to_end = match tail {
        None => None,
        Some(tail) => {
            progress.set_message("waiting for the live tail");
            let _ = goal_sender.send(Some(accepted));
            let counts = tail.await?;
            problems.extend(counts.problems(accepted));
            Some(EndToEnd {
                latency: Percentiles::of(&counts.latency),
                received: counts.received,
                dropped: counts.dropped,
            })
        }
    };
    progress.finish_and_clear();
    let http = !matches!(protocol, BenchProtocol::SyslogTcp | BenchProtocol::SyslogUdp | BenchProtocol::Popcorn);
    let report = Report {
        protocol: protocol.name().to_owned(),
        connections: args.connections,
        batch: http.then_some(args.batch),
        message_size: args.message_size,
        events_sent: events,
        events_accepted: accepted,
        events_rejected: rejected,
        errors,
        seconds,
        bytes_sent: bytes,
        request_latency,
        end_to_end,
        server,
    };
    Ok(Outcome { report, problems })
}

/// Sends over HTTP; returns the tally and the start, and the run ends at the last answer.
async fn send_http(
    args: &BenchArgs,
    run_id: &str,
    token: Option<String>,
    progress: &ProgressBar,
) -> anyhow::Result<(Sending, tokio::time::Instant)> {
    let plan = http_plan(args, run_id, token);
    let clients = (0..args.connections).map(|_| Client::new(&args.client)).collect::<anyhow::Result<Vec<_>>>()?;
    let shared = http::Shared::new(plan);
    let senders: Vec<_> = clients
        .into_iter()
        .map(|client| tokio::spawn(http::send(std::sync::Arc::clone(&shared), client, progress.clone())))
        .collect();
    let mut total = http::Sent::new();
    for sender in senders {
        total.merge(sender.await?);
    }
    let finished = tokio::time::Instant::now();
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
    let delivered = total.events - total.failed_events;
    let json = matches!(args.protocol, BenchProtocol::HttpJson);
    if json && total.accepted + total.rejected != delivered {
        problems.push(format!(
            "the server's answers count {} accepted and {} rejected events, but those requests held {delivered}",
            total.accepted, total.rejected
        ));
    }
    let sending = Sending {
        events: total.events,
        bytes: total.bytes,
        errors: total.errors,
        delivered,
        answered: json.then_some((total.accepted, total.rejected)),
        request_latency: Percentiles::of(&total.latency),
        finished: Some(finished),
        problems,
    };
    Ok((sending, shared.start))
}

fn http_plan(args: &BenchArgs, run_id: &str, token: Option<String>) -> http::Plan {
    let mut rng = rand::thread_rng();
    let batches = args.count.div_ceil(args.batch as u64);
    let templates = (TEMPLATE_EVENTS / args.batch).clamp(1, MAX_TEMPLATES).min(batches as usize);
    let size = args.message_size;
    let mut generate = |events: usize| match (&args.protocol, &token) {
        (BenchProtocol::Logplex, Some(token)) => logplex::generate(&mut rng, events, size, run_id, token),
        (BenchProtocol::Otlp, _) => otlp::generate(&mut rng, events, size, run_id),
        _ => http_json::generate(&mut rng, events, size, run_id),
    };
    let full_events = (args.batch as u64).min(args.count) as usize;
    let full = (0..templates).map(|_| generate(full_events)).collect();
    let rest = (args.count % args.batch as u64) as usize;
    let last = (rest > 0 && args.count > args.batch as u64).then(|| generate(rest));
    let endpoint = match (args.protocol, token) {
        (BenchProtocol::Logplex, Some(token)) => http::Endpoint::Logplex { token },
        (BenchProtocol::Otlp, _) => http::Endpoint::Otlp,
        _ => http::Endpoint::Events,
    };
    http::Plan { endpoint, full, last, count: args.count, batch: args.batch as u64, rate: args.rate }
}

fn socket_plan(args: &BenchArgs, run_id: &str) -> anyhow::Result<socket::Plan> {
    let mut rng = rand::thread_rng();
    let messages = SOCKET_TEMPLATE.min(args.count as usize);
    let size = args.message_size;
    let (transport, target, template) = match args.protocol {
        BenchProtocol::SyslogTcp => (
            socket::Transport::Tcp,
            resolve(&args.syslog, "--syslog")?,
            syslog::generate(&mut rng, messages, size, run_id, Framing::OctetCounted, None),
        ),
        BenchProtocol::SyslogUdp => (
            socket::Transport::Udp,
            resolve(&args.syslog, "--syslog")?,
            syslog::generate(&mut rng, messages, size, run_id, Framing::Bare, None),
        ),
        _ => {
            (socket::Transport::Udp, resolve(&args.popcorn, "--popcorn")?, popcorn::generate(&mut rng, messages, size))
        }
    };
    Ok(socket::Plan { transport, target, template, count: args.count, rate: args.rate, connections: args.connections })
}

fn resolve(addr: &str, flag: &str) -> anyhow::Result<SocketAddr> {
    addr.to_socket_addrs()
        .with_context(|| format!("invalid {flag} {addr:?}: expected HOST:PORT"))?
        .next()
        .with_context(|| format!("{flag} {addr:?} resolves to no address"))
}

/// What the server's counters say went wrong, if anything.
fn server_problems(protocol: BenchProtocol, delivered: u64, server: Counters) -> Vec<String> {
    let mut problems = Vec::new();
    let udp = matches!(protocol, BenchProtocol::SyslogUdp | BenchProtocol::Popcorn);
    if server.malformed > 0 {
        problems.push(format!("the server counted {} malformed {} messages", server.malformed, protocol.name()));
    }
    if server.dropped > 0 {
        problems.push(format!("the server dropped {} messages (see dropped in /api/v1/stats)", server.dropped));
    }
    if server.received < delivered && !udp {
        problems.push(format!(
            "the server accounted for {} of the {delivered} events sent before its counters stopped moving",
            server.received
        ));
    }
    problems
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

/// Microseconds since the epoch, the unit of the send times events carry.
fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// A run id that the query language reads as a plain word: 16 lowercase letters.
fn run_id(rng: &mut impl Rng) -> String {
    (0..16).map(|_| char::from(rng.gen_range(b'a'..=b'z'))).collect()
}
