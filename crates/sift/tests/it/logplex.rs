//! Logplex HTTP input with `curl`, the README's flow: create a channel with a token, post
//! frames with the token, find the events under the token's name; and every answer Logplex
//! clients rely on (204, 400 malformed, 400 count mismatch, 401 with Logplex's realm, 403).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::harness::{Server, protocol_stats, start_server, start_server_with, user_entry, wait_for_events};

/// Runs curl with `body` on stdin; returns the HTTP status, the headers and the body.
fn curl(args: &[&str], body: &[u8]) -> (u16, String, String) {
    let mut child = Command::new("curl")
        .args(["-s", "-D", "/dev/stderr", "-w", "\n%{http_code}"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("curl is installed (scripts/test installs it)");
    child.stdin.take().expect("stdin").write_all(body).expect("write body");
    let output = child.wait_with_output().expect("curl runs");
    assert!(output.status.success(), "curl failed: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let (body, status) = stdout.rsplit_once('\n').expect("status line");
    (status.parse().expect("status"), String::from_utf8_lossy(&output.stderr).into_owned(), body.to_owned())
}

fn create_channel(server: &Server, request: &str, auth: Option<&str>) -> Value {
    let url = server.url("/channels");
    let mut args = vec![url.as_str(), "-H", "Content-Type: application/json", "--data-binary", "@-"];
    if let Some(auth) = auth {
        args.extend(["-u", auth]);
    }
    let (status, _, body) = curl(&args, request.as_bytes());
    assert_eq!(status, 201, "{body}");
    serde_json::from_str(&body).expect("JSON answer")
}

/// Posts Logplex frames; returns status, headers and body.
fn post_logs(server: &Server, auth: &str, body: &[u8], extra: &[&str]) -> (u16, String, String) {
    let url = server.url("/logs");
    let mut args = vec![url.as_str(), "-u", auth, "-H", "Content-Type: application/logplex-1", "--data-binary", "@-"];
    args.extend(extra);
    curl(&args, body)
}

fn frame(message: &str) -> String {
    format!("{} {message}", message.len())
}

/// A frame's timestamp without its zone, `offset` seconds after an hour ago: recent enough for
/// the default retention whenever the tests run, and in the past.
fn hour_ago(offset: i64) -> String {
    let second = jiff::Timestamp::now().as_second() - 3600 + offset;
    jiff::Timestamp::from_second(second).expect("a valid time").strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

#[tokio::test]
async fn a_channel_a_token_and_frames_found_under_the_tokens_name() {
    let server = start_server();
    let created = create_channel(&server, r#"{"tokens":["app"]}"#, None);
    let token = created["tokens"]["app"].as_str().expect("a token").to_owned();
    assert!(token.starts_with("t.") && token.len() == 38, "{created}");
    let channel = created["name"].as_str().unwrap().to_owned();
    assert_eq!(channel, format!("channel-{}", created["channel_id"]));
    let url = server.url("/channels");
    let taken = format!(r#"{{"name":"channel-{}"}}"#, created["channel_id"].as_u64().unwrap() + 1);
    let (status, _, body) =
        curl(&[&url, "-H", "Content-Type: application/json", "--data-binary", "@-"], taken.as_bytes());
    assert_eq!(status, 400, "the next unnamed channel's name is not for the taking: {body}");
    assert!(body.contains("kept for channels created without a name"), "{body}");
    let (status, _, body) =
        curl(&[&url, "-H", "Content-Type: application/json", "--data-binary", "@-"], br#"{"name":"../../etc"}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("a channel name is 1 to 128 ASCII letters, digits"), "the one rule of channel names: {body}");

    let other = create_channel(&server, r#"{"tokens":["worker"]}"#, None);
    let other_token = other["tokens"]["worker"].as_str().unwrap().to_owned();
    let (earlier, first, later) = (hour_ago(-1), hour_ago(0), hour_ago(1));
    let body = [
        frame(&format!("<134>1 {first}.123456+00:00 erlang {token} console.1 - Hi from erlang")),
        frame(&format!("<131>1 {later}Z erlang {token} web.3 - - request failed")),
        frame(&format!("<134>1 {earlier}Z erlang {other_token} run.1 - - another token's frame")),
    ]
    .concat();
    let (status, _, answer) =
        post_logs(&server, &format!("token:{token}"), body.as_bytes(), &["-H", "Logplex-Msg-Count: 3"]);
    assert_eq!(status, 204, "{answer}");

    let answer = wait_for_events(&server, &format!("channel:{channel}"), 3).await;
    let events = answer["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["app"], "worker", "another token's text is replaced by its name too");
    let newest = &events[0];
    assert_eq!(newest["message"], "request failed");
    assert_eq!(newest["app"], "app");
    assert_eq!(newest["host"], "erlang");
    assert_eq!(newest["proc"], "web.3");
    assert_eq!(newest["severity"], "error");
    assert_eq!(newest["source"], "logplex");
    assert_eq!(events[1]["time"], format!("{first}.123456Z"));
    // The token is a secret: it was replaced before the events were stored.
    let leaked = wait_for_events(&server, &format!("\"{token}\""), 0).await;
    assert_eq!(leaked["events"], json!([]));
    let stored = serde_json::to_string(&answer).unwrap();
    assert!(!stored.contains(&token) && !stored.contains(&other_token), "{stored}");
}

#[tokio::test]
async fn gzip_bodies_are_accepted() {
    let time = hour_ago(0);
    let server = start_server();
    let created = create_channel(&server, r#"{"name":"shop","tokens":["web"]}"#, None);
    let token = created["tokens"]["web"].as_str().unwrap().to_owned();
    let body = frame(&format!("<134>1 {time}Z host {token} web.1 - - compressed hello"));
    let mut gzip = Command::new("gzip").arg("-c").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("gzip");
    gzip.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let compressed = gzip.wait_with_output().unwrap().stdout;
    let (status, _, answer) =
        post_logs(&server, &format!("token:{token}"), &compressed, &["-H", "Content-Encoding: gzip"]);
    assert_eq!(status, 204, "{answer}");
    let answer = wait_for_events(&server, "channel:shop", 1).await;
    assert_eq!(answer["events"][0]["message"], "compressed hello");
    assert_eq!(answer["events"][0]["app"], "web");
}

#[tokio::test]
async fn malformed_frames_count_mismatches_and_bad_tokens_are_refused_and_nothing_is_stored() {
    let time = hour_ago(0);
    let server = start_server();
    let created = create_channel(&server, r#"{"name":"shop","tokens":["web"]}"#, None);
    let token = created["tokens"]["web"].as_str().unwrap().to_owned();
    let auth = format!("token:{token}");
    let good = frame(&format!("<134>1 {time}Z host {token} web.1 - - good frame"));

    let bad_length = format!("{good}99 <134>1 short");
    let (status, _, body) = post_logs(&server, &auth, bad_length.as_bytes(), &[]);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Malformed log messages"), "{body}");

    let not_5424 = format!("{good}{}", frame("<134>Nov 21 10:00:00 host app: a 3164 line"));
    let (status, _, body) = post_logs(&server, &auth, not_5424.as_bytes(), &[]);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Malformed log messages"), "{body}");

    let huge = frame(&format!("<134>1 {time}Z host {token} web.1 - - {}", "x".repeat(70_000)));
    let (status, _, body) = post_logs(&server, &auth, format!("{good}{huge}").as_bytes(), &[]);
    assert_eq!(status, 400, "a frame over pipeline.max_message_bytes refuses the body: {body}");
    assert!(body.contains("frame 1: message is"), "{body}");

    let (status, _, body) = post_logs(&server, &auth, good.as_bytes(), &["-H", "Logplex-Msg-Count: 3"]);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Message count mismatch"), "{body}");

    let (status, headers, _) = post_logs(&server, "token:t.00000000-0000-0000-0000-000000000000", good.as_bytes(), &[]);
    assert_eq!(status, 401);
    assert!(headers.to_ascii_lowercase().contains("www-authenticate: basic realm=logplex"), "{headers}");

    let url = server.url("/logs");
    let (status, _, body) = curl(&[&url, "-u", &auth, "--data-binary", "@-"], good.as_bytes());
    assert_eq!(status, 415, "a form content type is not Logplex input: {body}");

    let stored = wait_for_events(&server, "channel:shop", 0).await;
    assert_eq!(stored["events"], json!([]), "nothing from a refused request is stored");
    let logplex = protocol_stats(&server, "logplex").await;
    assert_eq!(logplex["accepted"], 0, "{logplex}");
    assert_eq!(
        logplex["malformed"]["malformed_frames"], 5,
        "the frames of the three bodies refused as malformed: {logplex}"
    );
    assert_eq!(logplex["malformed"]["count_mismatch"], 1, "{logplex}");
}

#[tokio::test]
async fn a_stranger_is_refused_from_the_headers_without_its_body_being_read() {
    use std::io::{Read, Write};
    let server = start_server();
    let mut socket = std::net::TcpStream::connect(server.addr).expect("connect");
    // Headers announcing a large body that never comes: the answer must not wait for it.
    let head = "POST /logs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/logplex-1\r\n\
                Authorization: Basic dG9rZW46dC4wMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA=\r\n\
                Content-Length: 900000\r\n\r\n";
    socket.write_all(head.as_bytes()).expect("send headers");
    // A bound on the wait, not a measurement: waiting for the body would hang here.
    socket.set_read_timeout(Some(std::time::Duration::from_secs(20))).expect("timeout");
    let mut answer = [0u8; 512];
    let read = socket.read(&mut answer).expect("an answer before the body was sent");
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
}

#[tokio::test]
async fn a_user_writes_by_naming_tokens_within_the_channels_it_may_write() {
    let time = hour_ago(0);
    let mut config = user_entry("deployer", "pw");
    config.push_str("channels = [\"shop\"]\n");
    config.push_str(&user_entry("admin", "pw2"));
    let mut server = start_server_with(&config);
    server.auth = Some(("admin".into(), "pw2".into()));
    let shop = create_channel(&server, r#"{"name":"shop","tokens":["web"]}"#, Some("admin:pw2"));
    let billing = create_channel(&server, r#"{"name":"billing","tokens":["worker"]}"#, Some("admin:pw2"));
    let (shop_token, billing_token) =
        (shop["tokens"]["web"].as_str().unwrap().to_owned(), billing["tokens"]["worker"].as_str().unwrap().to_owned());

    let to_shop = [
        frame(&format!("<134>1 {time}Z host {shop_token} web.1 - - shop frame")),
        frame(&format!("<134>1 {time}Z host t.unknown web.1 - - nobody's frame")),
    ]
    .concat();
    let (status, _, body) = post_logs(&server, "deployer:pw", to_shop.as_bytes(), &[]);
    assert_eq!(status, 204, "{body}");
    let answer = wait_for_events(&server, "channel:shop", 1).await;
    assert_eq!(answer["events"][0]["app"], "web");

    let to_billing = frame(&format!("<134>1 {time}Z host {billing_token} worker.1 - - billing frame"));
    let (status, _, body) = post_logs(&server, "deployer:pw", to_billing.as_bytes(), &[]);
    assert_eq!(status, 403, "{body}");
    let (status, _, body) = post_logs(&server, "admin:pw2", to_billing.as_bytes(), &[]);
    assert_eq!(status, 204, "{body}");
    let (status, headers, _) = post_logs(&server, "deployer:wrong", to_billing.as_bytes(), &[]);
    assert_eq!(status, 401);
    assert!(headers.to_ascii_lowercase().contains("basic realm=logplex"), "{headers}");

    let logplex = protocol_stats(&server, "logplex").await;
    assert_eq!(logplex["dropped"]["unknown_token"], 1, "{logplex}");
    assert_eq!(logplex["dropped"]["forbidden_channel"], 1, "{logplex}");
    assert_eq!(logplex["accepted"], 2, "{logplex}");
    assert_eq!(logplex["received"], 4, "every frame of a refused body is counted: {logplex}");
}
