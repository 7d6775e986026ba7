//! `sift send`: a dumb client for `POST /api/v1/events`. With a message (the arguments joined
//! by spaces) it sends one event; without, it sends one event per non-empty line of standard
//! input, in NDJSON batches of `--batch` lines (a batch also leaves after a short pause in the
//! input, so `tail -f app.log | sift send` forwards lines as they come). Every event carries
//! the time its line was read and the `--severity`, `--host`, `--app`, `--type`, `--tag` and
//! `--field` options.
//!
//! It reports on standard error, keeping standard output free: `sent N events`, and each
//! rejected event with its line number and the server's reason, control characters escaped
//! (then exits 1).

use std::io::{self, BufRead, IsTerminal};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Map, Value};
use sift_core::{Severity, Timestamp};
use tokio::sync::mpsc;

use super::SendArgs;
use super::client::{Client, IngestAnswer, current_thread_runtime};
use super::escape::Escaped;

/// How long a partial batch waits for more lines before it is sent.
const LINGER: Duration = Duration::from_millis(200);

pub fn run(args: SendArgs) -> anyhow::Result<ExitCode> {
    let severity: Severity = args.severity.parse()?;
    if args.batch == 0 {
        anyhow::bail!("--batch must be at least 1");
    }
    let fields = parse_fields(&args.fields)?;
    let host = args.host.clone().or_else(local_hostname);
    let common = CommonFields {
        severity,
        host: host.as_deref(),
        app: args.app.as_deref(),
        kind: args.kind.as_deref(),
        tags: &args.tags,
        fields: &fields,
    }
    .to_json_tail();
    let client = Client::new(&args.client)?;
    let runtime = current_thread_runtime()?;
    let (accepted, rejected) = if args.message.is_empty() {
        runtime.block_on(send_stdin(&client, common, args.batch))?
    } else {
        let message = args.message.join(" ");
        let body = event_json(Timestamp::now(), &message, &common);
        let answer = runtime.block_on(client.post_events(body, "application/json"))?;
        report_rejected(&answer, |_| "the event".to_owned());
        (answer.accepted, answer.rejected)
    };
    eprintln!("{}", summary(accepted, rejected));
    Ok(if rejected == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// One line of input, already an event's JSON text.
struct Line {
    number: u64,
    json: String,
}

/// Reads standard input on its own thread (it blocks) and sends batches as they fill up or
/// as the input pauses. Returns the accepted and rejected counts.
async fn send_stdin(client: &Client, common: String, batch_size: usize) -> anyhow::Result<(u64, u64)> {
    if io::stdin().is_terminal() {
        eprintln!("reading events from standard input, one per line (Ctrl-D to end)");
    }
    let (sender, mut receiver) = mpsc::channel::<Line>(batch_size.saturating_mul(2).min(100_000));
    let reader = std::thread::spawn(move || read_lines(io::stdin().lock(), &common, &sender));
    let (mut accepted, mut rejected) = (0u64, 0u64);
    let mut batch: Vec<Line> = Vec::with_capacity(batch_size.min(100_000));
    loop {
        batch.clear();
        if receiver.recv_many(&mut batch, batch_size).await == 0 {
            break;
        }
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < batch_size {
            let wanted = batch_size - batch.len();
            match tokio::time::timeout_at(deadline, receiver.recv_many(&mut batch, wanted)).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        let mut body = Vec::with_capacity(batch.iter().map(|line| line.json.len() + 1).sum());
        for line in &batch {
            body.extend_from_slice(line.json.as_bytes());
            body.push(b'\n');
        }
        let answer = match client.post_events(body, "application/x-ndjson").await {
            Ok(answer) => answer,
            Err(error) => {
                if accepted + rejected > 0 {
                    eprintln!("{} before this failure", summary(accepted, rejected));
                }
                return Err(error.into());
            }
        };
        report_rejected(&answer, |index| match batch.get(index) {
            Some(line) => format!("line {}", line.number),
            None => format!("item {index} of a batch"),
        });
        accepted += answer.accepted;
        rejected += answer.rejected;
    }
    match reader.join() {
        Ok(result) => result.map_err(|error| anyhow::anyhow!("reading standard input: {error}"))?,
        Err(_) => anyhow::bail!("the standard input reader failed"),
    }
    Ok((accepted, rejected))
}

/// Turns each non-empty input line into an event and queues it; stops at end of input (or
/// when the sending side has stopped).
fn read_lines(mut input: impl BufRead, common: &str, sender: &mpsc::Sender<Line>) -> io::Result<()> {
    let mut buffer = Vec::new();
    let mut number = 0u64;
    loop {
        buffer.clear();
        if input.read_until(b'\n', &mut buffer)? == 0 {
            return Ok(());
        }
        number += 1;
        let text = String::from_utf8_lossy(&buffer);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.trim().is_empty() {
            continue;
        }
        let json = event_json(Timestamp::now(), text, common);
        if sender.blocking_send(Line { number, json }).is_err() {
            return Ok(());
        }
    }
}

/// Prints each rejected item with its reason; `name` says which input it was.
fn report_rejected(answer: &IngestAnswer, name: impl Fn(usize) -> String) {
    for error in &answer.errors {
        eprintln!("rejected {}: {}", name(error.index), Escaped(&error.error));
    }
    let unexplained = answer.rejected.saturating_sub(answer.errors.len() as u64);
    if unexplained > 0 {
        eprintln!("rejected {unexplained} more without a reason given");
    }
}

/// `sent 3 events`, `sent 1 event, 2 rejected`.
fn summary(accepted: u64, rejected: u64) -> String {
    let noun = if accepted == 1 { "event" } else { "events" };
    if rejected == 0 {
        format!("sent {accepted} {noun}")
    } else {
        format!("sent {accepted} {noun}, {rejected} rejected")
    }
}

/// What every event of one `sift send` shares.
struct CommonFields<'a> {
    severity: Severity,
    host: Option<&'a str>,
    app: Option<&'a str>,
    kind: Option<&'a str>,
    tags: &'a [String],
    fields: &'a Map<String, Value>,
}

impl CommonFields<'_> {
    /// The shared keys as the tail of a JSON object: `,"severity":"info",...}`. Each event is
    /// then its own `{"time":...,"message":...` followed by this text.
    fn to_json_tail(&self) -> String {
        let mut object = Map::new();
        object.insert("severity".into(), self.severity.name().into());
        if let Some(host) = self.host {
            object.insert("host".into(), host.into());
        }
        if let Some(app) = self.app {
            object.insert("app".into(), app.into());
        }
        if let Some(kind) = self.kind {
            object.insert("type".into(), kind.into());
        }
        if !self.tags.is_empty() {
            object.insert("tags".into(), self.tags.into());
        }
        if !self.fields.is_empty() {
            object.insert("fields".into(), Value::Object(self.fields.clone()));
        }
        let text = Value::Object(object).to_string();
        format!(",{}", &text[1..])
    }
}

/// One event's JSON text: its time and message, then the shared keys.
fn event_json(time: Timestamp, message: &str, common_tail: &str) -> String {
    let message = Value::from(message).to_string();
    let time = time.to_rfc3339();
    let mut json = String::with_capacity(24 + time.len() + message.len() + common_tail.len());
    json.push_str("{\"time\":\"");
    json.push_str(&time);
    json.push_str("\",\"message\":");
    json.push_str(&message);
    json.push_str(common_tail);
    json
}

/// `--field` options into one object: `k=v` sets `k`, `a.b=v` sets `b` inside `a`. The value
/// is JSON when it parses as JSON (`n=5`, `ok=true`, `ids=[1,2]`), else the text itself
/// (`user=bob`; quote it for the shell to force a string: `n='"5"'`).
pub(crate) fn parse_fields(specs: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut fields = Map::new();
    for spec in specs {
        let Some((key, raw)) = spec.split_once('=') else {
            anyhow::bail!("--field {spec:?} has no '=': expected KEY=VALUE, for example user=bob or a.b=5");
        };
        if key.split('.').any(str::is_empty) {
            anyhow::bail!("--field {spec:?}: the key must be a name or a dotted path such as a.b");
        }
        let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()));
        insert_path(&mut fields, key, value)?;
    }
    Ok(fields)
}

fn insert_path(fields: &mut Map<String, Value>, key: &str, value: Value) -> anyhow::Result<()> {
    let (parents, leaf) = match key.rsplit_once('.') {
        Some((parents, leaf)) => (Some(parents), leaf),
        None => (None, key),
    };
    let mut object = fields;
    let mut path = String::new();
    for part in parents.into_iter().flat_map(|parents| parents.split('.')) {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(part);
        let entry = object.entry(part).or_insert_with(|| Value::Object(Map::new()));
        match entry {
            Value::Object(inner) => object = inner,
            _ => anyhow::bail!("--field {key}: {path} is already set to a value, so it cannot hold {key}"),
        }
    }
    if object.contains_key(leaf) {
        anyhow::bail!("--field {key} is given more than once");
    }
    object.insert(leaf.to_owned(), value);
    Ok(())
}

/// This machine's host name, from the kernel or `$HOSTNAME`; `None` when neither says.
fn local_hostname() -> Option<String> {
    let from_kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    let from_env = || std::env::var("HOSTNAME").ok();
    [from_kernel, from_env()].into_iter().flatten().map(|name| name.trim().to_owned()).find(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(specs: &[&str]) -> Result<String, String> {
        let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
        parse_fields(&specs).map(|map| Value::Object(map).to_string()).map_err(|error| error.to_string())
    }

    #[test]
    fn field_values() {
        assert_eq!(fields(&["user=bob"]).unwrap(), r#"{"user":"bob"}"#);
        assert_eq!(fields(&["n=5", "ok=true", "x=null", "f=0.5"]).unwrap(), r#"{"n":5,"ok":true,"x":null,"f":0.5}"#);
        assert_eq!(
            fields(&[r#"s="5""#, "ids=[1,2]", r#"o={"k":"v"}"#]).unwrap(),
            r#"{"s":"5","ids":[1,2],"o":{"k":"v"}}"#
        );
        assert_eq!(
            fields(&["empty=", "eq=a=b", "sp=two words"]).unwrap(),
            r#"{"empty":"","eq":"a=b","sp":"two words"}"#
        );
    }

    #[test]
    fn nested_keys() {
        assert_eq!(fields(&["a.b=1", "a.c=x", "a.d.e=true"]).unwrap(), r#"{"a":{"b":1,"c":"x","d":{"e":true}}}"#);
        assert_eq!(fields(&[r#"a={"b":1}"#, "a.c=2"]).unwrap(), r#"{"a":{"b":1,"c":2}}"#);
    }

    #[test]
    fn field_errors() {
        assert!(fields(&["novalue"]).unwrap_err().contains("has no '='"));
        assert!(fields(&["=v"]).unwrap_err().contains("dotted path"));
        assert!(fields(&["a..b=v"]).unwrap_err().contains("dotted path"));
        assert!(fields(&["a.=v"]).unwrap_err().contains("dotted path"));
        assert!(fields(&["a=1", "a.b=2"]).unwrap_err().contains("a is already set to a value"));
        assert!(fields(&["a.b=1", "a.b=2"]).unwrap_err().contains("more than once"));
        assert!(fields(&["a.b=1", "a=2"]).unwrap_err().contains("more than once"));
    }

    #[test]
    fn event_text() {
        let fields = parse_fields(&["req.ms=12".to_owned()]).unwrap();
        let tags = ["deploy".to_owned()];
        let common = CommonFields {
            severity: "warn".parse().unwrap(),
            host: Some("web-1"),
            app: Some("checkout"),
            kind: Some("audit"),
            tags: &tags,
            fields: &fields,
        }
        .to_json_tail();
        let time = Timestamp::parse_rfc3339("2024-05-01T10:00:00Z").unwrap();
        let json = event_json(time, "said \"hi\"\tthere", &common);
        assert_eq!(
            json,
            r#"{"time":"2024-05-01T10:00:00Z","message":"said \"hi\"\tthere","severity":"warning","host":"web-1","app":"checkout","type":"audit","tags":["deploy"],"fields":{"req":{"ms":12}}}"#
        );
        let bare = CommonFields {
            severity: Severity::Info,
            host: None,
            app: None,
            kind: None,
            tags: &[],
            fields: &Map::new(),
        };
        assert_eq!(
            event_json(time, "m", &bare.to_json_tail()),
            r#"{"time":"2024-05-01T10:00:00Z","message":"m","severity":"info"}"#
        );
    }

    #[test]
    fn stdin_lines_skip_blanks_and_keep_numbers() {
        let (sender, mut receiver) = mpsc::channel(16);
        let input = "first\n\n  \r\nsecond\r\nthird without newline";
        read_lines(input.as_bytes(), ",\"severity\":\"info\"}", &sender).unwrap();
        drop(sender);
        let mut got = Vec::new();
        while let Ok(line) = receiver.try_recv() {
            let value: Value = serde_json::from_str(&line.json).unwrap();
            got.push((line.number, value["message"].as_str().unwrap().to_owned()));
        }
        assert_eq!(got, [(1, "first".to_owned()), (4, "second".to_owned()), (5, "third without newline".to_owned())]);
    }

    #[test]
    fn summaries() {
        assert_eq!(summary(1, 0), "sent 1 event");
        assert_eq!(summary(3, 2), "sent 3 events, 2 rejected");
    }
}
