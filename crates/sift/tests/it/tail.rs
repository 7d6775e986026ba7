//! The live tail over Server-Sent Events: backlog, `ready`, live events filtered by the
//! query, and a reader that falls behind told how many events it missed while ingest goes on.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Server, post_events, start_server, start_server_with};

/// A raw SSE reader over a plain socket, so the test controls exactly when it reads.
struct SseReader {
    reader: BufReader<TcpStream>,
    /// Keep-alive comments would reset a read timeout forever: bound the whole test instead.
    deadline: Instant,
}

impl SseReader {
    fn open(server: &Server, query: &str) -> SseReader {
        let mut stream = TcpStream::connect(server.addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        write!(stream, "GET /api/v1/tail?{query} HTTP/1.0\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n")
            .expect("send");
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).expect("status line");
        assert!(status.contains(" 200 "), "{status}");
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).expect("header");
            if header == "\r\n" {
                break;
            }
        }
        SseReader { reader, deadline: Instant::now() + Duration::from_secs(120) }
    }

    /// The next SSE event as (event name, data), skipping comments and chunk framing.
    fn next(&mut self) -> (String, Value) {
        let mut name = String::new();
        let mut data = String::new();
        loop {
            assert!(Instant::now() < self.deadline, "no SSE event in time");
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("read");
            assert!(n > 0, "stream ended");
            let line = line.trim_end_matches(['\r', '\n']);
            if let Some(value) = line.strip_prefix("event: ") {
                name = value.to_owned();
            } else if let Some(value) = line.strip_prefix("data: ") {
                data.push_str(value);
            } else if line.is_empty() && !name.is_empty() {
                return (name, serde_json::from_str(&data).expect("json data"));
            }
        }
    }

    fn next_message(&mut self) -> String {
        let (name, data) = self.next();
        assert_eq!(name, "event", "{data}");
        data["message"].as_str().expect("message").to_owned()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn backlog_then_ready_then_live_events_matching_the_query() {
    let server = start_server();
    let body = json!([{"message": "old error", "severity": "error"}, {"message": "old info"}, {"message": "older error 2", "severity": "error"}]);
    post_events(&server, "application/json", body.to_string()).await;
    let mut tail = tokio::task::block_in_place(|| SseReader::open(&server, "q=severity%3Aerror&backlog=1"));
    let backlog = tokio::task::block_in_place(|| tail.next_message());
    assert_eq!(backlog, "older error 2");
    assert_eq!(tokio::task::block_in_place(|| tail.next()).0, "ready");
    let body = json!([{"message": "live info"}, {"message": "live error", "severity": "error"}]);
    post_events(&server, "application/json", body.to_string()).await;
    assert_eq!(tokio::task::block_in_place(|| tail.next_message()), "live error");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_that_falls_behind_is_told_and_never_slows_ingest() {
    let server = start_server_with("[tail]\nqueue = 2\n");
    let mut tail = tokio::task::block_in_place(|| SseReader::open(&server, "backlog=0"));
    assert_eq!(tokio::task::block_in_place(|| tail.next()).0, "ready");
    // The reader stops reading while 200,000 events (tens of MB of SSE) are ingested:
    // more than the socket buffers and the tail's queue can hold.
    let message = "m".repeat(100);
    let batch: String = (0..1000).map(|_| format!("{{\"message\":\"{message}\"}}\n")).collect();
    for _ in 0..200 {
        let (status, answer) = post_events(&server, "application/x-ndjson", batch.clone()).await;
        assert_eq!(status, 200, "{answer}");
    }
    // Every event is either delivered or reported as dropped: read until all are accounted for.
    let (mut received, mut dropped) = (0u64, 0u64);
    tokio::task::block_in_place(|| {
        while received + dropped < 200_000 {
            let (name, data) = tail.next();
            match name.as_str() {
                "event" => received += 1,
                "dropped" => dropped += data["dropped"].as_u64().expect("dropped count"),
                other => panic!("unexpected {other}"),
            }
        }
    });
    assert!(dropped > 0, "the reader fell behind, so it must have been told");
    assert_eq!(received + dropped, 200_000, "every event is either delivered or counted as dropped");
}

#[tokio::test]
async fn a_bad_tail_query_is_a_400_before_the_stream() {
    let server = start_server();
    let (status, answer) = crate::harness::get_json(&server, "/api/v1/tail?q=severity%3Aloud").await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().is_some_and(|e| e.contains("loud")), "{answer}");
    let (status, answer) = crate::harness::get_json(&server, "/api/v1/tail?backlog=99999999").await;
    assert_eq!((status, answer["detail"]["param"].clone()), (400, json!("backlog")));
}

#[tokio::test(flavor = "multi_thread")]
async fn r_a_clean_stop_ends_every_tail_with_a_shutdown_event_instead_of_waiting_for_it() {
    let server = start_server();
    let mut tail = tokio::task::block_in_place(|| SseReader::open(&server, "backlog=0"));
    assert_eq!(tokio::task::block_in_place(|| tail.next()).0, "ready");
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    // The reader never reads on its own accord; the server ends the stream and exits anyway.
    let (name, _) = tokio::task::block_in_place(|| tail.next());
    assert_eq!(name, "shutdown");
    tokio::task::block_in_place(|| server.wait_for_exit());
}
