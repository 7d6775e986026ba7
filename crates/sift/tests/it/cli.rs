//! The client commands against a real server: `sift send` (a message and standard input),
//! `sift search` (lines and `--json`), `sift tail` (a backlog event, then a live one) and
//! `sift bench --json`, each run as the built binary, as a user runs it.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{Server, sift_binary, start_server, start_server_with};

/// `sift ARGS --url SERVER`, with no `SIFT_*` settings from the environment.
fn sift(server: &Server, args: &[&str]) -> Command {
    sift_at(&server.url(""), args)
}

fn sift_at(url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(sift_binary());
    command.args(args).args(["--url", url]);
    for (key, _) in std::env::vars() {
        if key.starts_with("SIFT_") || key == "NO_COLOR" {
            command.env_remove(key);
        }
    }
    command
}

/// Runs a command to the end with `stdin` as its input.
fn run(mut command: Command, stdin: &str) -> Output {
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn sift");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.as_bytes()).expect("write stdin");
    drop(input);
    child.wait_with_output().expect("sift output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts success and returns (stdout, stderr).
fn success(output: Output) -> (String, String) {
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "status {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status);
    (stdout, stderr)
}

#[test]
fn send_a_message_and_standard_input_then_search_them() {
    let server = start_server();
    let args = [
        "send",
        "--app",
        "checkout",
        "--host",
        "web-1",
        "--severity",
        "err",
        "--type",
        "payment",
        "--tag",
        "eu",
        "--field",
        "order.id=42",
        "--field",
        "user=bob",
        "payment",
        "declined",
    ];
    let (stdout, stderr) = success(run(sift(&server, &args), ""));
    assert_eq!((stdout.as_str(), stderr.trim()), ("", "sent 1 event"));
    let args = ["send", "--app", "worker", "--host", "web-2", "--batch", "2"];
    let (_, stderr) =
        success(run(sift(&server, &args), "job one started\n\n   \njob two started\r\njob three started"));
    assert_eq!(stderr.trim(), "sent 3 events");

    let (stdout, stderr) = success(run(sift(&server, &["search", "app:checkout"]), ""));
    assert_eq!(stderr, "");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(lines[0].ends_with("Z error   web-1 checkout: payment declined"), "{stdout}");

    let (stdout, _) = success(run(sift(&server, &["search", "--json", "--limit", "10"]), ""));
    let events: Vec<Value> =
        stdout.lines().map(|line| serde_json::from_str(line).expect("one JSON event per line")).collect();
    let mut messages: Vec<&str> = events.iter().map(|e| e["message"].as_str().unwrap_or_default()).collect();
    assert_eq!(messages.pop(), Some("payment declined"), "newest first: the message was sent first");
    messages.sort_unstable();
    assert_eq!(messages, ["job one started", "job three started", "job two started"]);
    let payment = &events[3];
    assert_eq!(payment["severity"], "error");
    assert_eq!(payment["type"], "payment");
    assert_eq!(payment["tags"], serde_json::json!(["eu"]));
    assert_eq!(payment["fields"], serde_json::json!({"order": {"id": 42}, "user": "bob"}));

    let (stdout, _) = success(run(sift(&server, &["search", "app:worker", "--limit", "2", "--json"]), ""));
    assert_eq!(stdout.lines().count(), 2, "--limit stops printing: {stdout}");
    let (stdout, stderr) = success(run(sift(&server, &["search", "app:nothing-like-this"]), ""));
    assert_eq!((stdout.as_str(), stderr.trim()), ("", "no events match"));
}

#[test]
fn client_errors_are_explained() {
    let server = start_server();
    let output = run(sift(&server, &["search", "app:("]), "");
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("error: 400 Bad Request: invalid query"), "{stderr}");

    let output = run(sift(&server, &["send", "--severity", "loud", "x"]), "");
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("unknown severity \"loud\""), "{}", text(&output.stderr));

    let output = run(sift(&server, &["send", "--field", "no-equals", "x"]), "");
    assert!(text(&output.stderr).contains("has no '='"), "{}", text(&output.stderr));

    let output = run(sift_at("http://127.0.0.1:1", &["send", "x"]), "");
    assert!(!output.status.success());
    assert_eq!(
        text(&output.stderr).trim(),
        "error: cannot reach sift at http://127.0.0.1:1: connection refused (is `sift serve` running?)"
    );
}

/// A running `sift tail` whose output lines arrive on a channel; killed when dropped.
struct Tail {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Tail {
    fn start(server: &Server, args: &[&str]) -> Tail {
        let mut child = sift(server, args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn tail");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Tail { child, lines }
    }

    fn next_line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(30)).expect("a line from sift tail within 30 s")
    }
}

impl Drop for Tail {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn tail_prints_the_backlog_then_live_events() {
    let server = start_server();
    success(run(sift(&server, &["send", "--app", "tailtest", "--host", "h1", "from the backlog"]), ""));
    success(run(sift(&server, &["send", "--app", "other", "not for this tail"]), ""));
    let tail = Tail::start(&server, &["tail", "--backlog", "10", "app:tailtest"]);
    // The backlog line is printed once the stream is open, so the next event is live.
    let backlog = tail.next_line();
    assert!(backlog.ends_with("Z info    h1 tailtest: from the backlog"), "{backlog}");
    success(run(sift(&server, &["send", "--app", "tailtest", "--host", "h1", "-s", "warning", "live one"]), ""));
    let live = tail.next_line();
    assert!(live.ends_with("Z warning h1 tailtest: live one"), "{live}");
    assert!(!live.contains('\u{1b}'), "no colour when standard output is not a terminal: {live:?}");

    let json_tail = Tail::start(&server, &["tail", "--json", "--backlog", "1", "app:tailtest"]);
    let event: Value = serde_json::from_str(&json_tail.next_line()).expect("JSON line");
    assert_eq!(event["message"], "live one");
}

#[test]
fn bench_reports_throughput_and_end_to_end_latency_as_json() {
    let server = start_server();
    let args = ["bench", "--count", "2000", "--batch", "250", "--connections", "2", "--json", "--quiet"];
    let (stdout, _) = success(run(sift(&server, &args), ""));
    let report: Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(report["protocol"], "http-json");
    assert_eq!(report["events_sent"], 2000);
    assert_eq!(report["events_accepted"], 2000);
    assert_eq!(report["events_rejected"], 0);
    assert_eq!(report["errors"], 0);
    let e2e = &report["e2e_latency_ms"];
    let seen = e2e["received"].as_u64().expect("received") + e2e["dropped"].as_u64().expect("dropped");
    assert_eq!(seen, 2000, "{report}");
    assert!(report["request_latency_ms"]["p99"].is_number(), "{report}");
    if e2e["received"].as_u64() > Some(0) {
        assert!(e2e["p50"].is_number(), "{report}");
    }
    // The benchmark's events are stored like any others.
    let (stdout, _) = success(run(sift(&server, &["search", "--json", "--limit", "5", "type:bench"]), ""));
    assert_eq!(stdout.lines().count(), 5);
}

#[test]
fn bench_refuses_an_unknown_protocol() {
    let server = start_server();
    let output = run(sift(&server, &["bench", "--protocol", "carrier-pigeon"]), "");
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(stderr.contains("invalid value 'carrier-pigeon'") && stderr.contains("syslog-tcp"), "{stderr}");
}

#[test]
fn credentials_from_flags_and_environment() {
    let entry =
        Command::new(sift_binary()).args(["user", "add", "alice", "--password", "pw"]).output().expect("user add");
    assert!(entry.status.success(), "{}", text(&entry.stderr));
    let server = start_server_with(&text(&entry.stdout));
    let url = server.url("");

    let output = run(sift(&server, &["search"]), "");
    assert!(!output.status.success());
    let wanted = format!("error: the server at {url} wants credentials: use --user NAME or SIFT_USER/SIFT_PASSWORD");
    assert_eq!(text(&output.stderr).trim(), wanted);

    let output = run(sift(&server, &["search", "--user", "alice", "--password", "wrong"]), "");
    assert!(!output.status.success());
    let rejected = format!("error: the server at {url} rejected the credentials of user \"alice\"");
    assert_eq!(text(&output.stderr).trim(), rejected);

    success(run(sift(&server, &["send", "--user", "alice:pw", "with inline password"]), ""));
    let mut from_env = sift(&server, &["search", "--json"]);
    from_env.env("SIFT_USER", "alice").env("SIFT_PASSWORD", "pw");
    let (stdout, _) = success(run(from_env, ""));
    assert!(stdout.contains("with inline password"), "{stdout}");
}

/// A logged `\e[31m` (colour) and `\e]0;...\a` (window title) in a message, a host and an
/// app: what `sift search`, `sift tail` and `sift query` print for a person shows them
/// escaped, so log content cannot drive the operator's terminal.
#[test]
fn r_terminal_escapes_in_log_content_are_printed_escaped() {
    let server = start_server();
    let evil = "\u{1b}[31mred\u{1b}]0;owned\u{7} \u{9b}2J";
    let event = serde_json::json!({"message": format!("evil {evil}"), "host": evil, "app": format!("x{evil}")});
    let (status, answer) = tokio::runtime::Runtime::new().expect("runtime").block_on(crate::harness::post_events(
        &server,
        "application/json",
        event.to_string(),
    ));
    assert_eq!(status, 200, "{answer}");
    let raw = |out: &str| out.contains(['\u{1b}', '\u{7}', '\u{9b}']);
    let shown = r"\u{1b}[31mred\u{1b}]0;owned\u{7} \u{9b}2J";

    let (stdout, _) = success(run(sift(&server, &["search", "evil"]), ""));
    assert!(!raw(&stdout) && stdout.contains(&format!("evil {shown}")), "sift search printed {stdout:?}");

    for query in ["evil | fields host, app, message", "* | stats count() by app", "* | top 5 host"] {
        let (stdout, _) = success(run(sift(&server, &["query", query]), ""));
        assert!(!raw(&stdout) && stdout.contains(shown), "sift query {query:?} printed {stdout:?}");
    }

    let tail = Tail::start(&server, &["tail", "--backlog", "10", "evil"]);
    let line = tail.next_line();
    assert!(!raw(&line) && line.ends_with(&format!("evil {shown}")), "sift tail printed {line:?}");

    // `--json` stays JSON, whose strings escape control characters themselves.
    let (stdout, _) = success(run(sift(&server, &["search", "--json", "evil"]), ""));
    let found: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(found["host"], evil);
}
