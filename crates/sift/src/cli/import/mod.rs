//! `sift import FILE...`: log files into a running server through `POST /api/v1/events`.
//!
//! Each file (or standard input, `-`) is opened and its format found ([`input`]), then read
//! on its own thread into chunks of NDJSON ([`reader`]) while this thread posts the previous
//! chunk, so reading and sending overlap and at most two chunks are in memory. Syslog lines and
//! Logplex frames are parsed here with the server's codecs; NDJSON lines go as they are.
//! Every rejected record, whether the parser here or the server refused it, is reported with
//! its line (or frame) number and reason, and counted in the file's summary ([`report`]).
//!
//! The exit status says how it went, worst first: 2 when the import stopped before the end
//! (the server could not be reached or refused a whole batch, which stops everything, or a file
//! could not be read, which skips to the next file), 1 when some records were rejected, else 0.
//! Nothing is retried: a batch the server refused was not stored, so the message names the line
//! the import stopped at.

pub mod input;
pub mod reader;
pub mod report;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use sift_core::{Str, Timestamp};

pub use input::Format;

use self::input::Input;
use self::reader::{Chunk, Message, Options};
use self::report::{AgeWarnings, FileReport};
use super::ImportArgs;
use super::client::{Client, current_thread_runtime};

/// How one input ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ended {
    Imported,
    WithRejections,
    /// The file could not be opened or read to its end.
    ReadFailed,
    /// The server could not be reached or refused a batch: the import stops.
    ServerFailed,
}

pub fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let client = Client::new(&args.client)?;
    let runtime = current_thread_runtime()?;
    let mut session = Session {
        client,
        runtime,
        warnings: AgeWarnings::new(Timestamp::now()),
        progress: !args.quiet && std::io::stderr().is_terminal(),
    };
    let mut worst = Ended::Imported;
    for path in &args.files {
        let ended = match input::open(path, args.format) {
            Ok(input) => session.import(input, &args),
            Err(error) => {
                eprintln!("error: cannot read {}: {error}", path.display());
                Ended::ReadFailed
            }
        };
        worst = worst.max(ended);
        if ended == Ended::ServerFailed {
            break;
        }
    }
    Ok(match worst {
        Ended::Imported => ExitCode::SUCCESS,
        Ended::WithRejections => ExitCode::from(1),
        Ended::ReadFailed | Ended::ServerFailed => ExitCode::from(2),
    })
}

/// What every file of one run shares.
struct Session {
    client: Client,
    runtime: tokio::runtime::Runtime,
    warnings: AgeWarnings,
    progress: bool,
}

impl Session {
    fn import(&mut self, input: Input, args: &ImportArgs) -> Ended {
        let Input { name, mut reader, format, read, size, .. } = input;
        let options = Options {
            format,
            batch: usize::from(args.batch),
            app: args.app.as_deref().map(Str::from),
            host: args.host.as_deref().map(Str::from),
            channel: args.channel.as_deref().map(Str::from),
        };
        let (sender, receiver) = mpsc::sync_channel(1);
        // Not joined when the server fails: it may be blocked reading a terminal, and it stops
        // by itself at its next chunk once `receiver` is gone.
        let thread = std::thread::spawn(move || reader::read(&mut *reader, &options, sender));
        let mut report = FileReport::new(&name, format);
        let records = Arc::new(AtomicU64::new(0));
        let bar = if self.progress { progress_bar(&name, size, Arc::clone(&records)) } else { ProgressBar::hidden() };
        let ended = self.consume(receiver, &mut report, &bar, &read, &records);
        bar.finish_and_clear();
        if ended != Ended::ServerFailed {
            let _ = thread.join();
        }
        eprintln!("{}", report.summary());
        ended
    }

    /// Sends every chunk of one input and reports on it; returns how the input ended.
    fn consume(
        &mut self,
        receiver: Receiver<Message>,
        report: &mut FileReport,
        bar: &ProgressBar,
        read: &AtomicU64,
        records: &AtomicU64,
    ) -> Ended {
        for message in receiver {
            let chunk = match message {
                Message::Chunk(chunk) => chunk,
                Message::Failed { at, error } => {
                    let place =
                        if at == 0 { "at its start".to_owned() } else { format!("after {}", report.record(at)) };
                    bar.suspend(|| eprintln!("error: reading {} failed {place}: {error}", report.name));
                    return Ended::ReadFailed;
                }
            };
            report.records = chunk.records;
            records.store(chunk.records, Ordering::Relaxed);
            bar.set_position(read.load(Ordering::Relaxed));
            if let Some((time, at)) = chunk.oldest {
                for warning in self.warnings.check(time, &format!("{} of {}", report.record(at), report.name)) {
                    bar.suspend(|| eprintln!("{warning}"));
                }
            }
            if let Err(error) = self.send(chunk, report, bar) {
                bar.suspend(|| eprintln!("{error}"));
                return Ended::ServerFailed;
            }
        }
        if report.rejected() > 0 { Ended::WithRejections } else { Ended::Imported }
    }

    /// Posts one chunk, counts what the server accepted, and reports every rejected record of
    /// the chunk (here and by the server) in line order. On failure, returns the message.
    fn send(&mut self, chunk: Chunk, report: &mut FileReport, bar: &ProgressBar) -> Result<(), String> {
        let Chunk { body, items, mut rejected, .. } = chunk;
        if !items.is_empty() {
            let answer = self.runtime.block_on(self.client.post_events(body, "application/x-ndjson"));
            let answer = answer.map_err(|error| {
                let first = items.iter().chain(rejected.iter().map(|r| &r.at)).min().copied().unwrap_or(0);
                format!(
                    "error: {error}\nthe import stopped at {} of {}: what came before was imported \
                     (or rejected as listed), nothing from there on was",
                    report.record(first),
                    report.name
                )
            })?;
            report.imported += answer.accepted;
            for error in &answer.errors {
                let Some(&at) = items.get(error.index) else { continue };
                // The server names an NDJSON item by its line in the body; ours is in the file.
                let prefix = format!("line {}: ", error.index + 1);
                let detail = error.error.strip_prefix(&prefix).unwrap_or(&error.error).to_owned();
                let reason = error.reason.clone().unwrap_or_else(|| "rejected".to_owned());
                rejected.push(reader::Rejected { at, reason, detail });
            }
            let listed = answer.errors.iter().filter(|e| e.index < items.len()).count() as u64;
            for _ in listed..answer.rejected {
                report.reject(0, "unexplained", "the server gave no reason");
            }
        }
        rejected.sort_by_key(|r| r.at);
        for r in &rejected {
            if let Some(line) = report.reject(r.at, &r.reason, &r.detail) {
                bar.suspend(|| eprintln!("{line}"));
            }
        }
        Ok(())
    }
}

/// A bar over the file's bytes (compressed bytes for a gzipped file) when its size is known,
/// else a spinner; both with records read and records per second.
fn progress_bar(name: &str, size: Option<u64>, records: Arc<AtomicU64>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(size, ProgressDrawTarget::stderr());
    let template = match size {
        Some(_) => {
            "{prefix} [{bar:25}] {binary_bytes}/{binary_total_bytes}, {records} lines, {rate} lines/s, {elapsed}"
        }
        None => "{spinner} {prefix} {binary_bytes}, {records} lines, {rate} lines/s, {elapsed}",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        let count = Arc::clone(&records);
        let shown = move |_: &ProgressState, out: &mut dyn std::fmt::Write| {
            let _ = write!(out, "{}", count.load(Ordering::Relaxed));
        };
        let rate = move |state: &ProgressState, out: &mut dyn std::fmt::Write| {
            let seconds = state.elapsed().as_secs_f64().max(0.001);
            let _ = write!(out, "{:.0}", records.load(Ordering::Relaxed) as f64 / seconds);
        };
        bar.set_style(style.with_key("records", shown).with_key("rate", rate).progress_chars("=> "));
    }
    bar.set_prefix(name.to_owned());
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}
