//! Search and count over the ring: newest first, cursor paging, time ranges, the query
//! language through HTTP, and every bad parameter answered with a 400 that names it.

use serde_json::json;

use crate::harness::{KEEP_EVERYTHING, enc, get_json, messages, post_events, start_server_with};

async fn seed(server: &crate::harness::Server) {
    let events: Vec<_> = (0..30)
        .map(|n| {
            json!({
                "message": format!("request {n} served"),
                "time": format!("2026-03-01T10:{n:02}:00Z"),
                "host": if n % 2 == 0 { "web-1" } else { "web-2" },
                "app": "api",
                "severity": if n % 10 == 0 { "error" } else { "info" },
                "fields": {"ms": n * 10},
            })
        })
        .collect();
    let (status, _) = post_events(server, "application/json", json!(events).to_string()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn newest_first_with_cursor_paging_and_no_gaps() {
    let server = start_server_with(KEEP_EVERYTHING);
    seed(&server).await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = get_json(&server, &format!("/api/v1/events?limit=7&cursor={}", enc(&cursor))).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(messages(&page));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    let expected: Vec<String> = (0..30).rev().map(|n| format!("request {n} served")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn time_ranges_filter_and_count() {
    let server = start_server_with(KEEP_EVERYTHING);
    seed(&server).await;
    let range = "since=2026-03-01T10:05:00Z&until=2026-03-01T10:08:00Z";
    let (_, page) = get_json(&server, &format!("/api/v1/events?{range}")).await;
    assert_eq!(messages(&page), ["request 7 served", "request 6 served", "request 5 served"]);
    let (_, count) = get_json(&server, &format!("/api/v1/count?{range}")).await;
    assert_eq!(count, json!({"count": 3}));
    let (_, count) = get_json(&server, "/api/v1/count?since=1h").await;
    assert_eq!(count, json!({"count": 0}), "seeded events are from March 2026");
}

#[tokio::test]
async fn queries_filter_through_http() {
    let server = start_server_with(KEEP_EVERYTHING);
    seed(&server).await;
    let count = |q: &'static str| {
        let server = &server;
        async move { get_json(server, &format!("/api/v1/count?q={}", enc(q))).await.1["count"].clone() }
    };
    assert_eq!(count("severity>=error").await, 3);
    assert_eq!(count("host:web-1").await, 15);
    assert_eq!(count("host:web-* -host:web-2").await, 15);
    assert_eq!(count("\"request 2\"").await, 11, "2 and 20-29");
    assert_eq!(count("fields.ms>=250").await, 5);
    assert_eq!(count("(host:web-1 AND severity:error) OR fields.ms:10").await, 4);
    assert_eq!(count("message:/request [0-9] served/").await, 10);
}

#[tokio::test]
async fn bad_parameters_are_400s_that_name_them() {
    let server = start_server_with(KEEP_EVERYTHING);
    let (status, answer) = get_json(&server, &format!("/api/v1/events?q={}", enc("host:(a"))).await;
    assert_eq!(status, 400);
    assert_eq!(answer["detail"]["param"], "q");
    assert!(answer["detail"]["position"].is_number(), "{answer}");
    assert!(answer["error"].as_str().is_some_and(|e| e.starts_with("invalid query: at position")), "{answer}");
    let (status, answer) = get_json(&server, "/api/v1/events?since=yesterday").await;
    assert_eq!((status, answer["detail"]["param"].clone()), (400, json!("since")), "{answer}");
    let (status, answer) = get_json(&server, "/api/v1/events?limit=lots").await;
    assert_eq!((status, answer["detail"]["param"].clone()), (400, json!("limit")), "{answer}");
    let (status, answer) = get_json(&server, "/api/v1/events?cursor=nonsense").await;
    assert_eq!((status, answer["detail"]["param"].clone()), (400, json!("cursor")), "{answer}");
    let (status, answer) = get_json(&server, "/api/v1/count?q=%22unterminated").await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = get_json(&server, "/api/v1/nothing-here").await;
    assert_eq!(status, 404);
    assert_eq!(answer["error"], "no route for GET /api/v1/nothing-here");
    let (_, stats) = get_json(&server, "/api/v1/stats").await;
    assert_eq!(
        stats["requests_rejected"],
        json!({"invalid_query": 2, "invalid_param": 3, "not_found": 1}),
        "every rejected request is counted by reason"
    );
}

#[tokio::test]
async fn the_ring_does_not_return_events_past_their_retention() {
    let server = crate::harness::start_server();
    let forty_days_ago = sift_core::Timestamp(sift_core::Timestamp::now().0 - 40 * 86_400_000_000).to_rfc3339();
    let body = format!("{{\"message\":\"too old\",\"time\":\"{forty_days_ago}\"}}\n{{\"message\":\"recent\"}}\n");
    let (status, _) = post_events(&server, "application/x-ndjson", body).await;
    assert_eq!(status, 200);
    let (_, page) = get_json(&server, "/api/v1/events").await;
    assert_eq!(messages(&page), ["recent"], "the default retention is 30 days, in memory too");
}
