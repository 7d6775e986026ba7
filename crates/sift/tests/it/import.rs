//! `sift import` against a real server: a syslog file mixing RFC 5424 and RFC 3164 with bad
//! lines, an NDJSON file, Logplex frames, detection against `--format`, gzip on standard input,
//! old events, and an unreachable server. Times are recent (an hour ago), as the server
//! re-times events more than a year old and its retention hides those over 30 days.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::harness::{Server, sift_binary, start_server, wait_for_events};

/// What a run of `sift import` showed the user.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `sift import ARGS --url URL` with `stdin` as its input.
fn import_at(url: &str, args: &[&str], stdin: &[u8]) -> Run {
    let mut command = Command::new(sift_binary());
    command.arg("import").args(args).args(["--url", url]);
    for (key, _) in std::env::vars() {
        if key.starts_with("SIFT_") {
            command.env_remove(key);
        }
    }
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn sift");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).expect("write stdin");
    drop(input);
    let output = child.wait_with_output().expect("sift output");
    Run {
        code: output.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn import(server: &Server, args: &[&str], stdin: &[u8]) -> Run {
    import_at(&server.url(""), args, stdin)
}

/// A file holding `text` in a directory that lives as long as the returned guard.
fn file(name: &str, text: &[u8]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write fixture");
    (dir, path.display().to_string())
}

/// A time `seconds` ago as RFC 3339 (whole seconds, UTC).
fn ago(seconds: i64) -> jiff::Timestamp {
    let now = jiff::Timestamp::now().as_second();
    jiff::Timestamp::from_second(now - seconds).expect("a valid time")
}

fn events(answer: &Value) -> &Vec<Value> {
    answer["events"].as_array().expect("events")
}

#[tokio::test(flavor = "multi_thread")]
async fn syslog_file_with_bad_lines_reports_each_one() {
    let server = start_server();
    let t5424 = ago(3600).to_string();
    let cron_time = ago(3000);
    let t3164 = cron_time.strftime("%b %e %H:%M:%S").to_string();
    let text = [
        format!("<34>1 {t5424} web-1 billing 4242 ID47 [order@32473 id=\"42\"] charge failed"),
        String::new(),
        format!("<78>{t3164} web-2 cron[123]: job done"),
        "<999>1 garbage".to_owned(),
        format!("<11>1 {t5424} web-1 billing - - - {}", "x".repeat(70_000)),
        format!("{t3164} web-3 sshd[7]: no pri here"),
        "<30>1 2026-13-45T99:00:00Z host app - - - bad time".to_owned(),
    ]
    .join("\n");
    let (_dir, path) = file("app.log", text.as_bytes());

    let run = import(&server, &[&path], b"");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    let stderr = &run.stderr;
    assert!(stderr.contains(&format!("rejected line 4 of {path}: bad_pri: ")), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "rejected line 5 of {path}: message_too_large: message is 70000 bytes, over the limit of 65536 bytes"
        )),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("rejected line 7 of {path}: bad_timestamp: ")), "{stderr}");
    assert_eq!(
        stderr.lines().last(),
        Some(
            format!(
                "imported 3 events from 6 syslog lines of {path}; rejected 3: 1 bad_pri, 1 bad_timestamp, 1 message_too_large"
            )
            .as_str()
        ),
        "{stderr}"
    );

    let answer = wait_for_events(&server, "host:web-1", 1).await;
    let [billing] = &events(&answer)[..] else { panic!("one event from web-1: {answer}") };
    assert_eq!(billing["time"], t5424);
    assert_eq!(billing["app"], "billing");
    assert_eq!(billing["proc"], "4242");
    assert_eq!(billing["msgid"], "ID47");
    assert_eq!(billing["severity"], "critical");
    assert_eq!(billing["facility"], 4);
    assert_eq!(billing["message"], "charge failed");
    assert_eq!(billing["fields"], serde_json::json!({"order@32473": {"id": "42"}}));

    let answer = wait_for_events(&server, "app:cron", 1).await;
    let cron = &events(&answer)[0];
    assert_eq!(
        (&cron["host"], &cron["proc"], &cron["severity"], &cron["facility"]),
        (&Value::from("web-2"), &Value::from("123"), &Value::from("info"), &Value::from(9))
    );
    assert_eq!(cron["time"], cron_time.to_string(), "a 3164 time is read as UTC");

    let answer = wait_for_events(&server, "app:sshd", 1).await;
    let sshd = &events(&answer)[0];
    assert_eq!((&sshd["host"], &sshd["severity"]), (&Value::from("web-3"), &Value::from("notice")));
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_lines_go_as_they_are_and_rejections_name_file_lines() {
    let server = start_server();
    let time = ago(600).to_string();
    let text = format!(
        "{{\"message\":\"first\",\"app\":\"shop\",\"time\":\"{time}\",\"fields\":{{\"order\":1}}}}\n\
         \n\
         {{\"message\":\"second\",\"app\":\"shop\",\"severity\":\"loud\"}}\n\
         {{\"message\": oops}}\n\
         {{\"msg\":\"third\",\"role\":\"shop\",\"level\":\"warn\",\"hostname\":\"h1\"}}\n"
    );
    let (_dir, path) = file("events.ndjson", text.as_bytes());

    let run = import(&server, &[&path], b"");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("rejected line 3 of {path}: unknown_severity: field \"severity\"")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&format!("rejected line 4 of {path}: malformed_json: ")), "{}", run.stderr);
    assert!(
        run.stderr.ends_with(&format!(
            "imported 2 events from 4 ndjson lines of {path}; rejected 2: 1 malformed_json, 1 unknown_severity\n"
        )),
        "{}",
        run.stderr
    );

    let answer = wait_for_events(&server, "app:shop", 2).await;
    let found = events(&answer);
    assert_eq!(found.len(), 2, "{answer}");
    let first = found.iter().find(|e| e["message"] == "first").expect("first");
    assert_eq!((&first["time"], &first["fields"]["order"]), (&Value::from(time), &Value::from(1)));
    let third = found.iter().find(|e| e["message"] == "third").expect("third");
    assert_eq!((&third["severity"], &third["host"]), (&Value::from("warning"), &Value::from("h1")));
}

#[tokio::test(flavor = "multi_thread")]
async fn logplex_frames_are_detected_and_parsed() {
    let server = start_server();
    let time = ago(1200).to_string();
    let one = format!("<134>1 {time} host-a web web.1 - - hello from logplex");
    let two = format!("<131>1 {time} host-a web web.2 - - second frame");
    let body = format!("{} {one}{} {two}\n", one.len(), two.len());
    let (_dir, path) = file("drain.log", body.as_bytes());

    let run = import(&server, &[&path, "--channel", "imported"], b"");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr.trim(), format!("imported 2 events from 2 logplex frames of {path}"));

    let answer = wait_for_events(&server, "channel:imported app:web", 2).await;
    let found = events(&answer);
    let second = found.iter().find(|e| e["proc"] == "web.2").expect("web.2");
    assert_eq!((&second["message"], &second["severity"]), (&Value::from("second frame"), &Value::from("error")));
    assert_eq!((&second["host"], &second["time"]), (&Value::from("host-a"), &Value::from(time)));
}

#[tokio::test(flavor = "multi_thread")]
async fn format_option_beats_detection() {
    let server = start_server();
    let (_dir, path) = file("odd.log", b"{\"message\":\"json as text\"}\n");

    let run = import(&server, &[&path, "--format", "syslog", "--app", "forced"], b"");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr.trim(), format!("imported 1 event from 1 syslog line of {path}"));
    let answer = wait_for_events(&server, "app:forced", 1).await;
    assert_eq!(events(&answer)[0]["message"], "{\"message\":\"json as text\"}");

    let run = import(&server, &[&path], b"");
    assert_eq!(run.stderr.trim(), format!("imported 1 event from 1 ndjson line of {path}"));
    let answer = wait_for_events(&server, "\"json as text\" -app:forced", 1).await;
    assert_eq!(events(&answer)[0]["message"], "json as text");
}

#[tokio::test(flavor = "multi_thread")]
async fn gzipped_standard_input_and_old_events() {
    let server = start_server();
    let recent = ago(60);
    let old = ago(40 * 86_400);
    let text = format!("<14>1 {recent} h1 piped - - - from a pipe\n<14>1 {old} h1 piped - - - forty days old\n");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(text.as_bytes()).expect("gzip");
    let compressed = gzip.finish().expect("gzip");

    let run = import(&server, &["-"], &compressed);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    let [warning, summary] = &lines[..] else { panic!("a warning and a summary: {}", run.stderr) };
    assert!(
        warning.starts_with(&format!("warning: line 2 of standard input is from {old}, more than 30 days ago")),
        "{warning}"
    );
    assert!(warning.contains("[retention] default"), "{warning}");
    assert_eq!(*summary, "imported 2 events from 2 syslog lines of standard input");
    let answer = wait_for_events(&server, "app:piped", 1).await;
    assert_eq!(events(&answer)[0]["message"], "from a pipe");
}

#[test]
fn an_unreachable_server_exits_2_and_a_missing_file_is_named() {
    let (_dir, path) = file("app.log", b"<13>hello\n");
    let run = import_at("http://127.0.0.1:1", &[&path], b"");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("error: cannot reach sift at http://127.0.0.1:1: connection refused"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&format!("the import stopped at line 1 of {path}")), "{}", run.stderr);

    let run = import_at("http://127.0.0.1:1", &["/nonexistent/app.log"], b"");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.starts_with("error: cannot read /nonexistent/app.log: "), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn r_import_refuses_a_bad_channel_before_sending() {
    let server = start_server();
    let (_dir, path) = file("app.log", b"<13>hello\n");
    let run = import(&server, &["--channel", "bad channel!", &path], b"");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(
            "error: invalid value 'bad channel!' for '--channel <CHANNEL>': invalid channel \"bad channel!\": \
             a channel name is 1 to 128 ASCII letters, digits, '-', '_' or '.'"
        ),
        "{}",
        run.stderr
    );
    let stats = crate::harness::protocol_stats(&server, "http_json").await;
    assert_eq!(stats["received"], 0, "nothing was sent: {stats}");

    // A channel in an NDJSON line is the server's to refuse, and the refusal is listed.
    let (_dir, path) = file("events.ndjson", b"{\"message\":\"m\",\"channel\":\"../../etc\"}\n");
    let run = import(&server, &[&path], b"");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("rejected line 1 of {path}: invalid_channel: invalid channel \"../../etc\"")),
        "{}",
        run.stderr
    );
}
