//! Attacks on the query surface: times and steps at the ends of what can be written, queries
//! that compile to huge automata, regexes slow enough to occupy every core, and clients that
//! leave in the middle of a scan.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::{assert_peak_rss_below, assert_serves_others, start_hostile_server};
use crate::harness::{Server, client, enc, get_json, sift_binary};

/// `message:/\w{100}N/`: 5.6 MB once compiled; 200 of them took 1.2 GB.
const HUGE_REGEX: &str = r"message:/\w{100}N/";
/// A regex that costs about a millisecond per event on a short message: 200,000 events kept
/// both cores busy for 25 s.
const SLOW_REGEX: &str = r"message:/[a-z]{3}.{0,60}q.{30}z/";

/// The counters of `/api/v1/stats` under `queries`.
async fn queries(server: &Server) -> Value {
    let (status, stats) = get_json(server, "/api/v1/stats").await;
    assert_eq!(status, 200, "{stats}");
    stats["queries"].clone()
}

/// Waits until `ready` holds for the `queries` counters, at most 30 s, and returns them.
async fn queries_when(server: &Server, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = queries(server).await;
        if ready(&now) || std::time::Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Fills the ring with `n` events whose messages are 100 pseudo-random lowercase letters and
/// spaces, in NDJSON requests of 20,000.
async fn fill_ring(server: &Server, n: usize) {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut letter = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        match state % 27 {
            26 => ' ',
            k => char::from(b'a' + k as u8),
        }
    };
    for _ in 0..n / 20_000 {
        let body: String = (0..20_000)
            .map(|_| {
                let message: String = (0..100).map(|_| letter()).collect();
                format!("{}\n", json!({ "message": message }))
            })
            .collect();
        let answer = client()
            .post(server.url("/api/v1/events"))
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .expect("post");
        assert_eq!(answer.status().as_u16(), 200, "{:?}", answer.text().await);
    }
}

/// `since=9223372036854775807us` (an age reaching before any time RFC 3339 can name) with an
/// `until` in 2200 wrapped the timechart's bucket count past its cap, and the histogram filled
/// memory until the process died. Every route that takes times answers such values with a 400
/// naming the parameter, or a bounded answer.
#[tokio::test(flavor = "multi_thread")]
async fn r_histogram_and_timechart_over_all_of_time_are_refused_not_ballooned() {
    let mut server = start_hostile_server("");
    let all_of_time = "since=9223372036854775807us&until=2200-01-01T00:00:00Z";
    let (status, answer) = get_json(&server, &format!("/api/v1/histogram?{all_of_time}&step=1h")).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["detail"]["param"], "step", "{answer}");
    assert_eq!(answer["detail"]["max"], 10_000, "{answer}");
    assert!(answer["error"].as_str().is_some_and(|e| e.contains("10000") && e.contains("1h")), "{answer}");
    let timechart = enc("* | timechart 1h count()");
    let (status, answer) = get_json(&server, &format!("/api/v1/query?q={timechart}&{all_of_time}")).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["detail"]["param"], "q", "{answer}");
    // Without a step, the histogram picks one that fits.
    let (status, answer) = get_json(&server, &format!("/api/v1/histogram?{all_of_time}")).await;
    assert_eq!(status, 200, "{answer}");
    let buckets = answer["buckets"].as_array().map_or(0, Vec::len);
    assert!((1..=62).contains(&buckets), "{buckets} buckets: {}", answer["step"]);
    // Every route with every extreme: a 400 naming the parameter, or an answer.
    let extremes = [
        ("since", "9223372036854775807us"),
        ("since", "-9223372036854775808us"),
        ("until", "9223372036854775807us"),
        ("since", "999999999999d"),
        ("since", "-1us"),
        ("since", "0000-01-01T00:00:00Z"),
        ("until", "9999-12-30T00:00:00Z"),
        ("since", "-009999-01-02T01:59:59Z"),
        ("step", "9223372036854775807us"),
        ("step", "1us"),
        ("step", "-1us"),
    ];
    let routes = ["/api/v1/events?", "/api/v1/count?", "/api/v1/facets?field=host&", "/api/v1/histogram?"];
    for route in routes {
        for (param, value) in extremes {
            let path = format!("{route}{param}={}", enc(value));
            let (status, answer) = get_json(&server, &path).await;
            match status {
                200 => {}
                400 => assert!(
                    answer["detail"]["param"] == param || answer["detail"]["param"] == "step",
                    "{path}: {answer}"
                ),
                _ => panic!("{path}: {status} {answer}"),
            }
        }
    }
    assert_eq!(tail_status(&server, "time>9223372036854775807us").await, 200);
    assert_eq!(tail_status(&server, "time<-9999d").await, 400);
    // The command line says what the server said.
    let output = std::process::Command::new(sift_binary())
        .args(["query", "--url", &server.url(""), "* | timechart 1h count()"])
        .args(["--since", "9223372036854775807us", "--until", "2200-01-01T00:00:00Z"])
        .output()
        .expect("sift query");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("10000"), "{stderr}");
    assert_serves_others(&mut server, "histograms over all of time").await;
    assert_peak_rss_below(&server, 128 << 20, "histograms over all of time");
}

/// The status of `GET /api/v1/tail?q=QUERY`, answered once the tail's backlog is scanned; the
/// stream is then dropped.
async fn tail_status(server: &Server, query: &str) -> u16 {
    let url = server.url(&format!("/api/v1/tail?backlog=1&q={}", enc(query)));
    client().get(url).send().await.expect("tail").status().as_u16()
}

/// 1,200 terms like `message:/\w{100}N/` killed the process, and 200 of them peaked at 1.2 GB.
/// Sent by several clients at once to every route that compiles a query, each is answered 400
/// at once, naming the limit it went over.
#[tokio::test(flavor = "multi_thread")]
async fn r_queries_of_huge_regexes_from_several_clients_are_refused_fast() {
    let mut server = start_hostile_server("");
    let terms = |n| vec![HUGE_REGEX; n].join(" ");
    let (long, large) = (enc(&terms(1_200)), enc(&terms(200)));
    let mut attacks = tokio::task::JoinSet::new();
    for client_no in 0..8 {
        let q = if client_no % 2 == 0 { long.clone() } else { large.clone() };
        let paths = [
            format!("/api/v1/events?q={q}"),
            format!("/api/v1/count?q={q}"),
            format!("/api/v1/query?q={q}"),
            format!("/api/v1/histogram?since=1h&q={q}"),
            format!("/api/v1/facets?field=host&q={q}"),
            format!("/api/v1/tail?q={q}"),
        ];
        let url = server.url("");
        attacks.spawn(async move {
            let mut answers = Vec::new();
            for path in paths {
                let answer = client().get(format!("{url}{path}")).send().await.expect("answer");
                let status = answer.status().as_u16();
                answers.push((status, answer.json::<Value>().await.expect("json answer")));
            }
            answers
        });
    }
    let mut limits = std::collections::BTreeSet::new();
    while let Some(answers) = attacks.join_next().await {
        for (status, answer) in answers.expect("client") {
            assert_eq!(status, 400, "{answer}");
            assert_eq!(answer["detail"]["param"], "q", "{answer}");
            let limit = answer["detail"]["limit"].as_str().unwrap_or_default().to_owned();
            assert!(answer["error"].as_str().is_some_and(|e| e.contains("limit")), "{answer}");
            limits.insert(limit);
        }
    }
    assert_eq!(limits.into_iter().collect::<Vec<_>>(), ["compiled_bytes", "query_bytes"]);
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    assert_eq!(stats["requests_rejected"]["query_too_large"], 48, "{stats}");
    assert_serves_others(&mut server, "queries of huge regexes from 8 clients").await;
    assert_peak_rss_below(&server, 400 << 20, "queries of huge regexes from 8 clients");
}

/// A regex that keeps both cores busy for 25 s over 200,000 ring events is stopped at
/// `query.timeout` and answered 503 naming it, while others are served.
#[tokio::test(flavor = "multi_thread")]
async fn r_a_slow_regex_over_the_ring_stops_at_the_query_timeout() {
    let mut server = start_hostile_server("[query]\ntimeout = \"3s\"\n");
    fill_ring(&server, 200_000).await;
    let path = format!("/api/v1/count?q={}", enc(SLOW_REGEX));
    let url = server.url(&path);
    let slow = tokio::spawn(async move {
        let answer = client().get(url).send().await.expect("answer");
        (answer.status().as_u16(), answer.json::<Value>().await.expect("json answer"))
    });
    let running = queries_when(&server, |q| q["running"] == 1).await;
    assert_eq!(running["running"], 1, "the slow query never ran: {running}");
    assert_serves_others(&mut server, "a slow regex over 200,000 events").await;
    let (status, answer) = slow.await.expect("slow query");
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["detail"]["limit"], "query.timeout", "{answer}");
    assert!(answer["error"].as_str().is_some_and(|e| e.contains("query.timeout (3s)")), "{answer}");
    let stopped = queries(&server).await;
    assert_eq!((stopped["timed_out"].as_u64(), stopped["running"].as_u64()), (Some(1), Some(0)), "{stopped}");
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    assert_eq!(stats["requests_rejected"]["query_timeout"], 1, "{stats}");
    assert_peak_rss_below(&server, 256 << 20, "a slow regex over 200,000 events");
}

/// A client that closes its connection in the middle of a slow scan stops the scan: hyper drops
/// the request's future, which cancels the scan, and its query slot is free again.
#[tokio::test(flavor = "multi_thread")]
async fn r_a_client_that_leaves_mid_scan_cancels_it() {
    let mut server = start_hostile_server("[query]\ntimeout = \"10m\"\n");
    fill_ring(&server, 200_000).await;
    for round in 1..=2 {
        let mut connection = tokio::net::TcpStream::connect(server.addr).await.expect("connect");
        let request = format!("GET /api/v1/count?q={} HTTP/1.1\r\nHost: {}\r\n\r\n", enc(SLOW_REGEX), server.addr);
        connection.write_all(request.as_bytes()).await.expect("request");
        let running = queries_when(&server, |q| q["running"] == 1).await;
        assert_eq!(running["running"], 1, "round {round}: the slow query never ran: {running}");
        drop(connection);
        let stopped = queries_when(&server, |q| q["cancelled"] == round && q["running"] == 0).await;
        assert_eq!(
            (stopped["cancelled"].as_u64(), stopped["running"].as_u64()),
            (Some(round), Some(0)),
            "round {round}: the scan went on after its client left: {stopped}"
        );
    }
    assert_eq!(queries(&server).await["timed_out"], 0);
    assert_serves_others(&mut server, "clients that left in the middle of slow scans").await;
    assert_peak_rss_below(&server, 256 << 20, "clients that left in the middle of slow scans");
}
