//! Attacks on the store's path: one request's work per event done while the store's
//! append/flush gate was held, so that everyone else's events waited for it.

use std::time::Duration;

use serde_json::{Value, json};

use super::{assert_peak_rss_below, assert_serves_others, start_hostile_durable_server};
use crate::harness::{client, protocol_stats_when};

/// 100,000 events from as many hosts in one request: counting them searched linearly per
/// event under the gate (44 s), and a one-line event sent meanwhile waited 39 s behind the
/// flusher, which waited for the gate.
#[tokio::test(flavor = "multi_thread")]
async fn r_a_request_from_100k_distinct_hosts_holds_no_one_up() {
    let data = tempfile::tempdir().expect("temp dir");
    // The flusher asks for the gate a second after an event is pending (the innocent
    // client's events, here), as it does after `flush_interval` in production.
    let mut server = start_hostile_durable_server(data.path(), "[storage]\nflush_interval = \"1s\"\n");
    let body: String =
        (0..100_000).map(|n| json!({ "message": "m", "host": format!("host-{n:06}") }).to_string() + "\n").collect();
    let big = {
        let url = server.url("/api/v1/events");
        let request = client().post(url).header("content-type", "application/x-ndjson").body(body);
        tokio::spawn(async move { request.timeout(Duration::from_secs(600)).send().await })
    };
    let received = |stats: &Value| stats["received"].as_u64().is_some_and(|n| n >= 100_000);
    let stats = protocol_stats_when(&server, "http_json", received).await;
    assert!(received(&stats), "the server never took the request: {stats}");
    // One-line events, one after another, while the request is worked on.
    let mut innocents = 0;
    while !big.is_finished() && innocents < 2_000 {
        assert_serves_others(&mut server, "a request from 100,000 distinct hosts began").await;
        innocents += 1;
    }
    let answer = big.await.expect("the request's task").expect("an answer to the request");
    assert_eq!(answer.status().as_u16(), 200);
    let answer: Value = answer.json().await.expect("json");
    assert_eq!(answer["accepted"], 100_000, "{answer}");
    assert_serves_others(&mut server, "a request from 100,000 distinct hosts").await;
    // Its 4 MB body, its events in the ring and the WAL: 130 MB measured (debug build).
    assert_peak_rss_below(&server, 512 << 20, "a request from 100,000 distinct hosts");
}

/// Channels and their tokens were made without bound: a client could fill the state
/// database one `POST /channels` at a time.
#[tokio::test(flavor = "multi_thread")]
async fn r_channels_and_tokens_stop_at_their_limits_with_an_answer_naming_them() {
    let data = tempfile::tempdir().expect("temp dir");
    let config = "[channels]\nmax_channels = 3\nmax_tokens_per_channel = 2\n";
    let mut server = start_hostile_durable_server(data.path(), config);
    let http = client();
    let create = |body: Value| {
        let request = http.post(server.url("/channels")).json(&body);
        async move {
            let answer = request.send().await.expect("an answer");
            (answer.status().as_u16(), answer.json::<Value>().await.expect("json"))
        }
    };
    let (status, answer) = create(json!({ "tokens": ["a", "b", "c"] })).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["detail"]["limit"], "channels.max_tokens_per_channel", "{answer}");
    for n in 0..3 {
        let (status, answer) = create(json!({ "name": format!("c{n}"), "tokens": ["a", "b"] })).await;
        assert_eq!(status, 201, "{answer}");
    }
    for n in 3..6 {
        let (status, answer) = create(json!({ "name": format!("c{n}") })).await;
        assert_eq!(status, 409, "{answer}");
        assert_eq!(answer["detail"], json!({ "limit": "channels.max_channels", "max": 3 }), "{answer}");
        assert!(answer["error"].as_str().unwrap_or_default().contains("channels.max_channels"), "{answer}");
    }
    let (_, stats) = crate::harness::get_json(&server, "/api/v1/stats").await;
    assert_eq!(stats["requests_rejected"]["channel_limit"], 3, "{stats}");
    assert_eq!(stats["requests_rejected"]["token_limit"], 1, "{stats}");
    assert_serves_others(&mut server, "channels made up to the limit and past it").await;
    assert_peak_rss_below(&server, 200 << 20, "channels made up to the limit and past it");
}
