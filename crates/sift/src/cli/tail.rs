//! `sift tail [QUERY]`: follows `GET /api/v1/tail` (Server-Sent Events) and prints each event
//! as it arrives, the backlog first. Also home to the event line format that `search` shares.
//!
//! A line reads `TIME SEVERITY HOST APP[PROC]: MESSAGE`, for example
//! `2024-05-01T10:00:00.123Z error   web-1 checkout[4242]: payment declined`:
//! the event's own time in UTC with milliseconds (unambiguous across machines and days, and
//! sortable), the severity name padded to 7, `-` for a missing host or app, and control
//! characters in every field escaped (`\n`, `\t`, `\u{1b}`, see [`super::escape`]) so that
//! one event is one line and no event can drive the terminal. With colour, the line is red for error and worse, yellow
//! for warning, cyan for notice, plain for info and dim for debug. `--json` prints each event
//! as the server sent it, one JSON object per line.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use owo_colors::Style;
use serde::Deserialize;

use super::TailArgs;
use super::client::{Client, SseMessage, current_thread_runtime};
use super::escape::{Escaped, push_escaped};

pub fn run(args: TailArgs) -> anyhow::Result<ExitCode> {
    let color = ColorChoice::parse(&args.color)?;
    let client = Client::new(&args.client)?;
    let query = args.query.join(" ");
    let backlog = args.backlog.to_string();
    let mut params = vec![("backlog", backlog.as_str())];
    if !query.trim().is_empty() {
        params.push(("q", query.as_str()));
    }
    let mut printer = Printer::new(args.json, color.enabled());
    let runtime = current_thread_runtime()?;
    let result = runtime.block_on(async {
        let mut stream = client.open_sse("/api/v1/tail", &params).await?;
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            tokio::select! {
                _ = &mut ctrl_c => return anyhow::Ok(()),
                more = stream.read(|message| printer.tail_message(message)) => {
                    if !more? {
                        if printer.server_stopped {
                            anyhow::bail!("the server at {} stopped", client.base());
                        }
                        anyhow::bail!("the server at {} ended the tail stream", client.base());
                    }
                    printer.flush()?;
                }
            }
        }
    });
    match result {
        Ok(()) => {
            printer.flush().or_else(ignore_closed_output)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(error) if is_closed_output(&error) => Ok(ExitCode::SUCCESS),
        Err(error) => Err(error),
    }
}

/// `--color`: whether lines are coloured by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColorChoice {
    /// When standard output is a terminal and `NO_COLOR` is unset.
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    pub(crate) fn parse(value: &str) -> anyhow::Result<ColorChoice> {
        match value {
            "auto" => Ok(ColorChoice::Auto),
            "always" => Ok(ColorChoice::Always),
            "never" => Ok(ColorChoice::Never),
            _ => anyhow::bail!("invalid --color {value:?}: expected auto, always or never"),
        }
    }

    pub(crate) fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// The fields of an event JSON object that a line shows; the rest is ignored.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct EventView<'a> {
    #[serde(borrow, default)]
    time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    severity: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    host: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    app: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "proc")]
    process: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
}

/// Appends an event's line (without the newline) to `out`, styled when `color` is set.
pub(crate) fn format_line(event: &EventView<'_>, color: bool, out: &mut String) {
    let start = out.len();
    match event.time.as_deref().and_then(|time| time.parse::<jiff::Timestamp>().ok()) {
        Some(time) => {
            let _ = write!(out, "{}", time.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"));
        }
        None => push_escaped(out, event.time.as_deref().unwrap_or("-")),
    }
    let severity = event.severity.as_deref().unwrap_or("-");
    out.push(' ');
    let severity_start = out.len();
    push_escaped(out, severity);
    let padding = 7usize.saturating_sub(out.len() - severity_start);
    out.extend(std::iter::repeat_n(' ', padding));
    out.push(' ');
    push_escaped(out, event.host.as_deref().unwrap_or("-"));
    out.push(' ');
    push_escaped(out, event.app.as_deref().unwrap_or("-"));
    if let Some(process) = event.process.as_deref() {
        out.push('[');
        push_escaped(out, process);
        out.push(']');
    }
    out.push_str(": ");
    push_escaped(out, event.message.as_deref().unwrap_or(""));
    if let Some(style) = severity_style(severity).filter(|_| color) {
        let line = out.split_off(start);
        let _ = write!(out, "{}", style.style(line));
    }
}

/// Red for error and worse, yellow for warning, cyan for notice, none for info, dim for debug.
fn severity_style(severity: &str) -> Option<Style> {
    use sift_core::Severity;
    match Severity::from_name(severity)? {
        Severity::Emergency | Severity::Alert | Severity::Critical | Severity::Error => Some(Style::new().red()),
        Severity::Warning => Some(Style::new().yellow()),
        Severity::Notice => Some(Style::new().cyan()),
        Severity::Info => None,
        Severity::Debug => Some(Style::new().dimmed()),
    }
}

/// Writes events to standard output, as lines or as JSON, buffered until [`Printer::flush`].
pub(crate) struct Printer {
    out: io::BufWriter<io::Stdout>,
    json: bool,
    color: bool,
    line: String,
    /// Whether the stream said the server is stopping (`event: shutdown`).
    server_stopped: bool,
}

impl Printer {
    pub(crate) fn new(json: bool, color: bool) -> Printer {
        Printer {
            out: io::BufWriter::new(io::stdout()),
            json,
            color: color && !json,
            line: String::new(),
            server_stopped: false,
        }
    }

    /// One event given as JSON text (as the tail stream carries it).
    pub(crate) fn event_text(&mut self, data: &str) -> io::Result<()> {
        if self.json {
            if data.contains('\n') {
                // A server may split one event over several `data:` lines; keep it on one.
                if let Ok(value) = serde_json::from_str::<serde_json::Value>(data) {
                    return self.event_value(&value);
                }
            }
            self.out.write_all(data.as_bytes())?;
            return self.out.write_all(b"\n");
        }
        match serde_json::from_str::<EventView<'_>>(data) {
            Ok(event) => self.event(&event),
            Err(error) => {
                eprintln!("warning: skipping an event that is not an event JSON object ({error}): {}", Escaped(data));
                Ok(())
            }
        }
    }

    /// One event already parsed (as search pages carry them).
    pub(crate) fn event_value(&mut self, value: &serde_json::Value) -> io::Result<()> {
        if self.json {
            serde_json::to_writer(&mut self.out, value)?;
            return self.out.write_all(b"\n");
        }
        match EventView::deserialize(value) {
            Ok(event) => self.event(&event),
            Err(error) => {
                eprintln!("warning: skipping an event that is not an event JSON object ({error}): {value}");
                Ok(())
            }
        }
    }

    fn event(&mut self, event: &EventView<'_>) -> io::Result<()> {
        self.line.clear();
        format_line(event, self.color, &mut self.line);
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())
    }

    /// Handles one message of the tail stream: events are printed, a drop notice is printed
    /// in their place (on standard error with `--json`, to keep standard output JSON).
    fn tail_message(&mut self, message: SseMessage<'_>) -> anyhow::Result<()> {
        match message.event {
            "event" => self.event_text(message.data)?,
            "dropped" => {
                let notice = dropped_notice(message.data);
                if self.json {
                    eprintln!("{notice}");
                } else {
                    writeln!(self.out, "{notice}")?;
                }
            }
            "shutdown" => self.server_stopped = true,
            // `ready` marks the end of the backlog; other names are for newer clients.
            _ => {}
        }
        Ok(())
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// `-- dropped N events (this tail fell behind) --` from a `dropped` message's data.
fn dropped_notice(data: &str) -> String {
    match dropped_count(data) {
        Some(1) => "-- dropped 1 event (this tail fell behind) --".to_owned(),
        Some(dropped) => format!("-- dropped {dropped} events (this tail fell behind) --"),
        None => "-- dropped events (this tail fell behind) --".to_owned(),
    }
}

/// N from a `dropped` message's data, `{"dropped":N}`.
pub(crate) fn dropped_count(data: &str) -> Option<u64> {
    #[derive(Deserialize)]
    struct Dropped {
        dropped: u64,
    }
    serde_json::from_str::<Dropped>(data).ok().map(|d| d.dropped)
}

/// Whether an error is standard output going away (`sift tail | head`): not a failure.
pub(crate) fn is_closed_output(error: &anyhow::Error) -> bool {
    error.downcast_ref::<io::Error>().is_some_and(|error| error.kind() == io::ErrorKind::BrokenPipe)
}

pub(crate) fn ignore_closed_output(error: io::Error) -> io::Result<()> {
    if error.kind() == io::ErrorKind::BrokenPipe { Ok(()) } else { Err(error) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(json: &str, color: bool) -> String {
        let event: EventView<'_> = serde_json::from_str(json).unwrap();
        let mut out = String::new();
        format_line(&event, color, &mut out);
        out
    }

    #[test]
    fn line_format() {
        let full = r#"{"id":"01J","time":"2024-05-01T10:00:00.123456Z","received_at":"2024-05-01T10:00:00.2Z",
            "host":"web-1","app":"checkout","proc":"4242","severity":"error","message":"payment declined",
            "tags":["x"],"fields":{"a":1}}"#;
        assert_eq!(line(full, false), "2024-05-01T10:00:00.123Z error   web-1 checkout[4242]: payment declined");
        let minimal = r#"{"time":"2024-05-01T12:00:00+02:00","severity":"info","message":"hi"}"#;
        assert_eq!(line(minimal, false), "2024-05-01T10:00:00.000Z info    - -: hi");
        let long_severity =
            r#"{"time":"2024-05-01T10:00:00Z","severity":"emergency","host":"h","app":"a","message":"m"}"#;
        assert_eq!(line(long_severity, false), "2024-05-01T10:00:00.000Z emergency h a: m");
        assert_eq!(line(r#"{"message":"no time"}"#, false), "- -       - -: no time");
    }

    #[test]
    fn control_characters_are_escaped() {
        let json = r#"{"time":"2024-05-01T10:00:00Z","severity":"info","host":"h","app":"a",
            "message":"line one\nline\ttwo \u001b[31mred\r"}"#;
        assert_eq!(line(json, false), r"2024-05-01T10:00:00.000Z info    h a: line one\nline\ttwo \u{1b}[31mred\r");
    }

    #[test]
    fn colours_by_severity() {
        let with = |severity: &str| {
            line(&format!(r#"{{"time":"2024-05-01T10:00:00Z","severity":"{severity}","message":"m"}}"#), true)
        };
        assert_eq!(with("critical"), "\u{1b}[31m2024-05-01T10:00:00.000Z critical - -: m\u{1b}[0m");
        assert_eq!(with("error"), "\u{1b}[31m2024-05-01T10:00:00.000Z error   - -: m\u{1b}[0m");
        assert_eq!(with("warning"), "\u{1b}[33m2024-05-01T10:00:00.000Z warning - -: m\u{1b}[0m");
        assert_eq!(with("notice"), "\u{1b}[36m2024-05-01T10:00:00.000Z notice  - -: m\u{1b}[0m");
        assert_eq!(with("info"), "2024-05-01T10:00:00.000Z info    - -: m");
        assert_eq!(with("debug"), "\u{1b}[2m2024-05-01T10:00:00.000Z debug   - -: m\u{1b}[0m");
    }

    #[test]
    fn dropped_notices() {
        assert_eq!(dropped_notice(r#"{"dropped":12}"#), "-- dropped 12 events (this tail fell behind) --");
        assert_eq!(dropped_notice(r#"{"dropped":1}"#), "-- dropped 1 event (this tail fell behind) --");
        assert_eq!(dropped_notice("?"), "-- dropped events (this tail fell behind) --");
    }

    #[test]
    fn colour_choices() {
        assert_eq!(ColorChoice::parse("always").unwrap(), ColorChoice::Always);
        assert!(ColorChoice::parse("sometimes").unwrap_err().to_string().contains("auto, always or never"));
    }
}
