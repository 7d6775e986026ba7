//! Attacks on the HTTP connection layer with raw sockets: headers that never end, idle
//! kept-alive connections, more connections than allowed, a trickled body, an answer nobody
//! reads, and a request line HTTP cannot parse; and a live tail, which is never idle.
//! The servers run with small timeouts, so each attack's end comes within seconds.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{assert_peak_rss_below, assert_serves_others, start_hostile_server};
use crate::harness::{Server, client, get_json, post_events};

/// The limits of these tests' servers, far below the defaults.
const LIMITS: &str = r#"
[http]
header_timeout = "1s"
idle_timeout = "2s"
body_timeout = "1s"
body_min_rate = "1KiB"
send_timeout = "1s"
"#;

/// Far beyond every limit above and short of forever, which is what these attacks got before.
const STILL_OPEN: Duration = Duration::from_secs(20);

/// The memory a server under these attacks may reach: they hold connections, not data.
const MEMORY: u64 = 200 << 20;

/// Reads until the server closes the connection; returns what it sent, or says that the
/// connection was still open after `bound`.
async fn until_closed(stream: &mut TcpStream, bound: Duration) -> Result<Vec<u8>, String> {
    let mut received = Vec::new();
    let read_all = async {
        let mut buf = [0; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    match tokio::time::timeout(bound, read_all).await {
        Ok(()) => Ok(received),
        Err(_) => Err(format!("still open after {bound:?}, having sent {:?}", String::from_utf8_lossy(&received))),
    }
}

/// Sends `GET path` on a kept-alive connection and reads the whole answer (a `Content-Length` one).
async fn get(stream: &mut TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    let mut buf = [0; 4096];
    loop {
        let n = tokio::time::timeout(STILL_OPEN, stream.read(&mut buf)).await.expect("an answer").expect("read");
        assert!(n > 0, "closed before answering: {:?}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned))
                .and_then(|n| n.trim().parse::<usize>().ok())
                .expect("a content-length");
            if body.len() >= length {
                return text;
            }
        }
    }
}

/// The HTTP listener's connection counters once `ready` holds for them, or after 10 s.
async fn connections_when(server: &Server, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, stats) = get_json(server, "/api/v1/stats").await;
        assert_eq!(status, 200, "{stats}");
        let connections = stats["http"]["connections"].clone();
        if ready(&connections) || std::time::Instant::now() > deadline {
            return connections;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn closed(connections: &Value, reason: &str) -> u64 {
    connections["closed"][reason].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn r_half_a_header_block_is_closed_after_the_header_timeout() {
    let mut server = start_hostile_server(LIMITS);
    let addr = server.addr;
    let mut attackers = Vec::new();
    for i in 0..40 {
        attackers.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            let half = b"POST /api/v1/events HTTP/1.1\r\nhost: localhost\r\ncontent-type: app";
            if i % 2 == 0 {
                // Half a header block, then nothing.
                stream.write_all(half).await.expect("send");
                until_closed(&mut stream, STILL_OPEN).await
            } else {
                // A byte at a time, never finishing: slowloris.
                let (mut reader, mut writer) = stream.into_split();
                let trickle = tokio::spawn(async move {
                    for byte in half.iter().cycle() {
                        if writer.write_all(&[*byte]).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                });
                let mut buf = [0; 1024];
                let ended = tokio::time::timeout(STILL_OPEN, reader.read(&mut buf)).await;
                trickle.abort();
                ended
                    .map(|_| Vec::new())
                    .map_err(|_| format!("a trickled header block still open after {STILL_OPEN:?}"))
            }
        }));
    }
    for attacker in attackers {
        let answer = attacker.await.expect("attacker").expect("the server closes a connection whose headers never end");
        assert!(answer.is_empty(), "no answer to half a request: {:?}", String::from_utf8_lossy(&answer));
    }
    let connections = connections_when(&server, |c| closed(c, "header_timeout") >= 40).await;
    assert_eq!(closed(&connections, "header_timeout"), 40, "{connections}");
    assert_serves_others(&mut server, "40 connections with headers that never end").await;
    assert_peak_rss_below(&server, MEMORY, "40 connections with headers that never end");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_connections_with_60_kib_of_unfinished_headers_stay_within_memory() {
    let mut server = start_hostile_server("[http]\nheader_timeout = \"5s\"\n");
    let addr = server.addr;
    // Just under the 64 KiB a request head may have: each connection's buffer as large as it gets.
    let head = format!("GET /healthz HTTP/1.1\r\nhost: localhost\r\nx-filler: {}", "a".repeat(60 << 10));
    let mut attackers = Vec::new();
    // In waves that the kernel's listen queue takes whole (a larger burst is dropped by the
    // kernel before sift sees it), each wave accepted before the next.
    let mut polls = 0;
    for wave in 1..=10 {
        for _ in 0..100 {
            let head = head.clone();
            attackers.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                stream.write_all(head.as_bytes()).await.expect("send");
                until_closed(&mut stream, STILL_OPEN).await
            }));
        }
        let deadline = std::time::Instant::now() + STILL_OPEN;
        loop {
            let (_, stats) = get_json(&server, "/api/v1/stats").await;
            polls += 1;
            let accepted = stats["http"]["connections"]["opened"].as_u64().unwrap_or(0) - polls;
            if accepted >= wave * 100 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{accepted} connections accepted of {}", wave * 100);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for attacker in attackers {
        let answer = attacker.await.expect("attacker").expect("closed at the header timeout");
        assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));
    }
    let connections = connections_when(&server, |c| closed(c, "header_timeout") >= 1000).await;
    assert_eq!(closed(&connections, "header_timeout"), 1000, "{connections}");
    assert_serves_others(&mut server, "1,000 connections with 60 KiB of unfinished headers").await;
    assert_peak_rss_below(&server, MEMORY, "1,000 connections with 60 KiB of unfinished headers");
}

#[tokio::test(flavor = "multi_thread")]
async fn r_a_silent_connection_is_closed_after_the_header_timeout() {
    let mut server = start_hostile_server(LIMITS);
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    let answer = until_closed(&mut stream, STILL_OPEN).await.expect("a connection that never says a word is closed");
    assert!(answer.is_empty());
    let connections = connections_when(&server, |c| closed(c, "header_timeout") >= 1).await;
    assert_eq!(closed(&connections, "header_timeout"), 1, "{connections}");
    assert_serves_others(&mut server, "a silent connection").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn r_an_idle_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let mut server = start_hostile_server(LIMITS);
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    // Kept alive between requests...
    for _ in 0..2 {
        let answer = get(&mut stream, "/healthz").await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
    // ...and closed once idle.
    let rest = until_closed(&mut stream, STILL_OPEN).await.expect("an idle connection is closed");
    assert!(rest.is_empty(), "{:?}", String::from_utf8_lossy(&rest));
    let connections = connections_when(&server, |c| closed(c, "idle_timeout") >= 1).await;
    assert_eq!(closed(&connections, "idle_timeout"), 1, "{connections}");
    assert_serves_others(&mut server, "an idle kept-alive connection").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn r_connections_over_the_limit_are_refused_counted_and_others_served_once_they_close() {
    let config = "[http]\nmax_connections = 8\nheader_timeout = \"30s\"\nidle_timeout = \"60s\"\n";
    let mut server = start_hostile_server(config);
    // Eight kept-alive connections, each answered: the server holds them all.
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut stream = TcpStream::connect(server.addr).await.expect("connect");
        assert!(get(&mut stream, "/healthz").await.starts_with("HTTP/1.1 200"));
        held.push(stream);
    }
    // Every connection beyond them is closed at once, without an answer.
    let addr = server.addr;
    let refused: Vec<_> = (0..100)
        .map(|_| {
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n").await;
                until_closed(&mut stream, STILL_OPEN).await
            })
        })
        .collect();
    for attempt in refused {
        let answer = attempt.await.expect("client").expect("a connection over the limit is closed at once");
        assert!(answer.is_empty(), "{:?}", String::from_utf8_lossy(&answer));
    }
    // Once the eight leave, others are served again.
    drop(held);
    let http = client();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while http.get(server.url("/healthz")).send().await.is_err() {
        assert!(std::time::Instant::now() < deadline, "no connection accepted after the held ones closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The 100, and any try above that came before the eight were gone.
    let connections = connections_when(&server, |c| closed(c, "connection_limit") >= 100).await;
    assert!(closed(&connections, "connection_limit") >= 100, "{connections}");
    assert_serves_others(&mut server, "100 connections over the limit").await;
    assert_peak_rss_below(&server, MEMORY, "100 connections over the limit");
}

#[tokio::test(flavor = "multi_thread")]
async fn r_a_trickled_body_is_answered_408_and_closed() {
    let mut server = start_hostile_server(LIMITS);
    let addr = server.addr;
    let attackers: Vec<_> = (0..10)
        .map(|_| {
            tokio::spawn(async move {
                let stream = TcpStream::connect(addr).await.expect("connect");
                let (mut reader, mut writer) = stream.into_split();
                let head = "POST /api/v1/events HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-ndjson\r\n\
                            content-length: 1000000\r\n\r\n";
                writer.write_all(head.as_bytes()).await.expect("send");
                // 64 bytes a second, far below 1 KiB/s.
                let trickle = tokio::spawn(async move {
                    loop {
                        if writer.write_all(b"{\"message\":\"a\"}\n").await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(250)).await;
                    }
                });
                let mut answer = Vec::new();
                let read = tokio::time::timeout(STILL_OPEN, reader.read_to_end(&mut answer)).await;
                trickle.abort();
                let _ = read.map_err(|_| "a trickled body still open".to_owned())?;
                Ok::<_, String>(String::from_utf8_lossy(&answer).into_owned())
            })
        })
        .collect();
    for attacker in attackers {
        let answer = attacker.await.expect("attacker").expect("the server gives up on a trickled body");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        let body: Value = serde_json::from_str(answer.split_once("\r\n\r\n").expect("a body").1).expect("JSON");
        assert_eq!(body["detail"]["reason"], "body_timeout", "{body}");
        assert!(body["error"].as_str().is_some_and(|e| e.contains("http.body_min_rate")), "{body}");
    }
    let connections = connections_when(&server, |c| closed(c, "body_timeout") >= 10).await;
    assert_eq!(closed(&connections, "body_timeout"), 10, "{connections}");
    assert_serves_others(&mut server, "10 trickled bodies").await;
    assert_peak_rss_below(&server, MEMORY, "10 trickled bodies");
}

#[tokio::test(flavor = "multi_thread")]
async fn r_a_client_that_takes_none_of_its_answer_is_disconnected() {
    let mut server = start_hostile_server(LIMITS);
    // 2,000 events of 8 KiB: an answer of some 17 MB, more than the sockets hold.
    let message = "x".repeat(8 << 10);
    for _ in 0..4 {
        let lines: String = (0..500).map(|_| format!("{{\"message\":\"{message}\"}}\n")).collect();
        let (status, answer) = post_events(&server, "application/x-ndjson", lines).await;
        assert_eq!(status, 200, "{answer}");
    }
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(64 << 10).expect("receive buffer");
    let mut stream = socket.connect(server.addr).await.expect("connect");
    let request = "GET /api/v1/events?limit=2000 HTTP/1.1\r\nhost: localhost\r\n\r\n";
    stream.write_all(request.as_bytes()).await.expect("send");
    // Never read: the server gives up on the answer.
    let connections = connections_when(&server, |c| closed(c, "send_timeout") >= 1).await;
    assert_eq!(closed(&connections, "send_timeout"), 1, "{connections}");
    drop(stream);
    assert_serves_others(&mut server, "a client that reads none of its answer").await;
    assert_peak_rss_below(&server, MEMORY, "a client that reads none of its answer");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_tail_stays_open_past_the_idle_timeout() {
    let mut server = start_hostile_server(LIMITS);
    let http = client();
    let tail = http.get(server.url("/api/v1/tail?backlog=0")).send().await.expect("tail");
    assert_eq!(tail.status(), 200);
    let mut stream = tail.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("event: ready") {
        let chunk = tokio::time::timeout(STILL_OPEN, stream.next()).await.expect("ready").expect("a chunk");
        seen.push_str(&String::from_utf8_lossy(&chunk.expect("bytes")));
    }
    // An idle connection opened after the tail is closed: the idle timeout has passed for both.
    let mut idle = TcpStream::connect(server.addr).await.expect("connect");
    assert!(get(&mut idle, "/healthz").await.starts_with("HTTP/1.1 200"));
    until_closed(&mut idle, STILL_OPEN).await.expect("the idle connection is closed");
    let (status, answer) = post_events(&server, "application/json", r#"{"message":"after the idle timeout"}"#).await;
    assert_eq!(status, 200, "{answer}");
    while !seen.contains("after the idle timeout") {
        let chunk =
            tokio::time::timeout(STILL_OPEN, stream.next()).await.expect("the event").expect("the tail is open");
        seen.push_str(&String::from_utf8_lossy(&chunk.expect("bytes")));
    }
    assert_serves_others(&mut server, "a tail past the idle timeout").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_line_http_cannot_parse_gets_a_bare_400_and_the_server_goes_on() {
    let mut server = start_hostile_server(LIMITS);
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    // `>` is not allowed in a URI; hyper refuses it before sift sees the request.
    stream.write_all(b"GET /api/v1/events?q=severity>=error HTTP/1.1\r\nhost: localhost\r\n\r\n").await.expect("send");
    let answer = until_closed(&mut stream, STILL_OPEN).await.expect("closed after the 400");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let connections = connections_when(&server, |c| closed(c, "malformed_request") >= 1).await;
    assert_eq!(closed(&connections, "malformed_request"), 1, "{connections}");
    assert_serves_others(&mut server, "a request line HTTP cannot parse").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn r_a_client_that_sends_its_whole_body_before_reading_gets_its_413() {
    let mut server = start_hostile_server("");
    // Python's urllib writes all 40 MB before it reads the answer: closing after the 413
    // without reading the rest reset the connection, and urllib saw a broken pipe.
    let script = r#"
import sys, urllib.request, urllib.error
request = urllib.request.Request(sys.argv[1], data=b"x" * (40 << 20), headers={"content-type": "application/json"})
try:
    urllib.request.urlopen(request, timeout=60)
    print("accepted")
except urllib.error.HTTPError as error:
    print(error.code, error.read().decode())
except Exception as error:
    print("failed:", repr(error))
"#;
    let url = server.url("/api/v1/events");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3").args(["-c", script, &url]).output().expect("python3 is installed")
    })
    .await
    .expect("python");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.starts_with("413 ") && printed.contains("http.max_body"), "{printed}");
    assert_serves_others(&mut server, "a body over the limit sent whole").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn r_a_stop_ends_live_tails_instead_of_waiting_for_their_clients() {
    let mut server = start_hostile_server("");
    let http = client();
    let tail = http.get(server.url("/api/v1/tail?backlog=0")).send().await.expect("tail");
    let mut stream = tail.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("event: ready") {
        let chunk = tokio::time::timeout(STILL_OPEN, stream.next()).await.expect("ready").expect("a chunk");
        seen.push_str(&String::from_utf8_lossy(&chunk.expect("bytes")));
    }
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    // The tail ends cleanly, and the process exits, while this client is still reading.
    let ended = tokio::time::timeout(STILL_OPEN, async {
        while let Some(chunk) = stream.next().await {
            chunk.expect("the tail ends cleanly, not with an error");
        }
    })
    .await;
    assert!(ended.is_ok(), "the tail was still open {STILL_OPEN:?} after SIGTERM");
    let deadline = std::time::Instant::now() + STILL_OPEN;
    while server.is_alive() {
        assert!(
            std::time::Instant::now() < deadline,
            "sift still running {STILL_OPEN:?} after SIGTERM with a tail open"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = server.child.wait().expect("exit status");
    assert!(status.success(), "sift exited with {status}:\n{}", server.log.text());
}
