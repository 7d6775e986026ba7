//! Tails that never read: each holds a bounded number of bytes (`tail.max_bytes`, for its
//! backlog and apart for its queue of live batches), all backlogs together at most
//! `tail.max_total_bytes`, live batches only while the ring holds them, and there are at most
//! `tail.max_clients` tails.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::{assert_peak_rss_below, assert_serves_others, start_hostile_server};
use crate::harness::{Server, client};

/// Opens a tail over a raw socket and reads only its status line, then never again.
fn stalled_tail(server: &Server, backlog: usize) -> (String, TcpStream) {
    let mut stream = TcpStream::connect(server.addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    write!(stream, "GET /api/v1/tail?backlog={backlog} HTTP/1.1\r\nHost: localhost\r\n\r\n").expect("send");
    let mut status = String::new();
    BufReader::new(&stream).read_line(&mut status).expect("status line");
    (status, stream)
}

#[tokio::test(flavor = "multi_thread")]
async fn r_five_tails_that_never_read_a_backlog_of_big_events_hold_bounded_bytes() {
    let mut server = start_hostile_server("[tail]\nmax_clients = 5\n");
    let big = "x".repeat(60_000);
    for batch in 0..150 {
        let events: Vec<_> = (0..20).map(|i| serde_json::json!({ "message": format!("{batch}-{i} {big}") })).collect();
        let posted = client().post(server.url("/api/v1/events")).json(&events).send().await.expect("post");
        assert_eq!(posted.status(), 200);
    }
    let mut tails = Vec::new();
    for _ in 0..5 {
        let (status, stream) = tokio::task::block_in_place(|| stalled_tail(&server, 3000));
        assert!(status.contains(" 200 "), "{status}");
        tails.push(stream);
    }
    let (status, _) = tokio::task::block_in_place(|| stalled_tail(&server, 10));
    assert!(status.contains(" 503 "), "a sixth tail is one too many: {status}");
    // Live events keep coming while the tails never read.
    for batch in 0..50 {
        let events: Vec<_> =
            (0..20).map(|i| serde_json::json!({ "message": format!("live {batch}-{i} {big}") })).collect();
        client().post(server.url("/api/v1/events")).json(&events).send().await.expect("post");
    }
    let (_, stats) = crate::harness::get_json(&server, "/api/v1/stats").await;
    assert_eq!(stats["queues"]["tail"]["queues"], 5, "{stats}");
    assert!(stats["queues"]["tail"]["depth_bytes"].as_u64().unwrap() <= 5 * (8 << 20) + 5 * 1_300_000, "{stats}");
    assert_serves_others(&mut server, "five stalled tails of 3000 big events").await;
    // The ring holds about 240 MB of these events; five whole backlogs would add 900 MB.
    assert_peak_rss_below(&server, 500 << 20, "five stalled tails of 3000 big events");
    drop(tails);
}

/// 100 tails that never read, each asking for a backlog the ring could fill with 8 MiB: their
/// copies share `tail.max_total_bytes`, and their live queues hold only batches the ring still
/// holds, so together they cost about the ring and that budget, not 100 times 8 MiB.
#[tokio::test(flavor = "multi_thread")]
async fn r_a_hundred_stalled_tails_share_one_backlog_budget_and_the_rings_memory() {
    let mut server = start_hostile_server("[ring]\nmax_bytes = \"32MiB\"\n[tail]\nmax_total_bytes = \"16MiB\"\n");
    let big = "x".repeat(60_000);
    let post = |label: String| {
        let events: Vec<_> = (0..20).map(|i| serde_json::json!({ "message": format!("{label}-{i} {big}") })).collect();
        client().post(server.url("/api/v1/events")).json(&events).send()
    };
    for batch in 0..30 {
        assert_eq!(post(format!("old {batch}")).await.expect("post").status(), 200);
    }
    let mut tails = Vec::new();
    for _ in 0..100 {
        let (status, stream) = tokio::task::block_in_place(|| stalled_tail(&server, 3000));
        assert!(status.contains(" 200 "), "{status}");
        tails.push(stream);
    }
    // Live events pass through the whole ring while no tail reads.
    for batch in 0..40 {
        assert_eq!(post(format!("live {batch}")).await.expect("post").status(), 200);
    }
    let (_, stats) = crate::harness::get_json(&server, "/api/v1/stats").await;
    assert!(stats["queues"]["tail"]["dropped"].as_u64().unwrap() > 0, "evicted batches left the queues: {stats}");
    assert_serves_others(&mut server, "100 stalled tails").await;
    // Each backlog alone could copy 8 MiB: 800 MB for 100 of them. The ring holds 32 MiB.
    assert_peak_rss_below(&server, 300 << 20, "100 stalled tails");
    drop(tails);
}
