//! Queries with pipes through `GET /api/v1/query` and `sift query`, and the dashboard's thin
//! forms of them: `/api/v1/histogram` and `/api/v1/facets`.

use std::process::Command;

use serde_json::json;

use crate::harness::{KEEP_EVERYTHING, Server, enc, get_json, post_events, sift_binary, start_server_with};

const HOSTS: [&str; 3] = ["web-1", "web-2", "web-3"];

async fn seed(server: &Server) {
    let events: Vec<_> = (0..12)
        .map(|n| {
            json!({
                "message": format!("request {n}"),
                "time": format!("2026-03-01T10:0{}:{:02}Z", n / 4, n * 5),
                "host": HOSTS[n % 3],
                "app": if n < 8 { "api" } else { "worker" },
                "severity": if n % 4 == 0 { "error" } else { "info" },
                "fields": {"ms": n * 10},
            })
        })
        .collect();
    let (status, _) = post_events(server, "application/json", json!(events).to_string()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn stats_top_sort_and_limit_answer_tables() {
    let server = start_server_with(KEEP_EVERYTHING);
    seed(&server).await;
    let (status, table) = get_json(
        &server,
        &format!("/api/v1/query?q={}", enc("* | stats count(), max(fields.ms) by app | sort -count")),
    )
    .await;
    assert_eq!(status, 200, "{table}");
    assert_eq!(table["columns"], json!(["app", "count", "max(fields.ms)"]));
    assert_eq!(table["rows"], json!([["api", 8, 70], ["worker", 4, 110]]));
    let (_, table) = get_json(&server, &format!("/api/v1/query?q={}", enc("severity>=error | top 2 app"))).await;
    assert_eq!(table["rows"], json!([["api", 2], ["worker", 1]]));
    let (_, table) = get_json(
        &server,
        &format!("/api/v1/query?q={}", enc("app:worker | sort fields.ms | limit 2 | fields message")),
    )
    .await;
    assert_eq!(table["rows"], json!([["request 8"], ["request 9"]]));
}

#[tokio::test]
async fn a_bad_pipe_is_a_400_with_its_position() {
    let server = start_server_with(KEEP_EVERYTHING);
    let (status, answer) = get_json(&server, &format!("/api/v1/query?q={}", enc("* | stats cuont()"))).await;
    assert_eq!(status, 400);
    assert_eq!(answer["detail"]["position"], 10, "{answer}");
}

#[tokio::test]
async fn histogram_counts_per_step_by_severity() {
    let server = start_server_with(KEEP_EVERYTHING);
    seed(&server).await;
    let range = "since=2026-03-01T10:00:00Z&until=2026-03-01T10:03:00Z";
    let (status, histogram) = get_json(&server, &format!("/api/v1/histogram?{range}&step=1m")).await;
    assert_eq!(status, 200, "{histogram}");
    assert_eq!(histogram["step"], "1m");
    assert_eq!(
        histogram["buckets"],
        json!([
            {"time": "2026-03-01T10:00:00Z", "counts": {"error": 1, "info": 3}},
            {"time": "2026-03-01T10:01:00Z", "counts": {"error": 1, "info": 3}},
            {"time": "2026-03-01T10:02:00Z", "counts": {"error": 1, "info": 3}},
        ])
    );
    // Every step of the range is listed, the empty ones with no counts, for a chart to draw.
    let wider = "since=2026-03-01T09:58:30Z&until=2026-03-01T10:05:00Z";
    let (status, histogram) = get_json(&server, &format!("/api/v1/histogram?{wider}&step=1m")).await;
    assert_eq!(status, 200, "{histogram}");
    let steps: Vec<(&str, usize)> = histogram["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| {
            (
                b["time"].as_str().unwrap(),
                b["counts"].as_object().unwrap().values().map(|n| n.as_u64().unwrap() as usize).sum(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("2026-03-01T09:58:00Z", 0),
            ("2026-03-01T09:59:00Z", 0),
            ("2026-03-01T10:00:00Z", 4),
            ("2026-03-01T10:01:00Z", 4),
            ("2026-03-01T10:02:00Z", 4),
            ("2026-03-01T10:03:00Z", 0),
            ("2026-03-01T10:04:00Z", 0),
        ]
    );
    // The pipe's timechart lists the same steps of its range, with zero counts.
    let (status, chart) =
        get_json(&server, &format!("/api/v1/query?q=*%20%7C%20timechart%201m%20count()&{wider}")).await;
    assert_eq!(status, 200, "{chart}");
    assert_eq!(chart["columns"], json!(["time", "count"]));
    let rows: Vec<(&str, u64)> =
        chart["rows"].as_array().unwrap().iter().map(|r| (r[0].as_str().unwrap(), r[1].as_u64().unwrap())).collect();
    assert_eq!(rows, steps.iter().map(|&(time, n)| (time, n as u64)).collect::<Vec<_>>());
    let (status, answer) = get_json(&server, "/api/v1/histogram?step=soon").await;
    assert_eq!((status, answer["detail"]["param"].clone()), (400, json!("step")));
}

#[tokio::test]
async fn facets_are_the_most_frequent_values() {
    let server = start_server_with(KEEP_EVERYTHING);
    seed(&server).await;
    let (status, facets) = get_json(&server, "/api/v1/facets?field=app&q=severity%3Ainfo").await;
    assert_eq!(status, 200, "{facets}");
    assert_eq!(facets["values"], json!([{"value": "api", "count": 6}, {"value": "worker", "count": 3}]));
    let (status, answer) = get_json(&server, "/api/v1/facets?field=colour").await;
    assert_eq!((status, answer["detail"]["param"].clone()), (400, json!("field")), "{answer}");
    let (status, answer) = get_json(&server, "/api/v1/facets").await;
    assert_eq!((status, answer["detail"]["param"].clone()), (400, json!("field")));
}

#[tokio::test]
async fn sift_query_prints_a_table_json_or_csv() {
    let server = start_server_with(KEEP_EVERYTHING);
    seed(&server).await;
    let url = format!("http://{}", server.addr);
    let run = |extra: &[&str]| {
        let output = Command::new(sift_binary())
            .args(["query", "--url", &url, "* | stats count() by app"])
            .args(extra)
            .output()
            .expect("sift query");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf-8")
    };
    assert_eq!(run(&[]), "app     count\n------  -----\napi     8\nworker  4\n");
    assert_eq!(run(&["--csv"]), "app,count\napi,8\nworker,4\n");
    let json: serde_json::Value = serde_json::from_str(&run(&["--json"])).expect("json");
    assert_eq!(json["rows"], json!([["api", 8], ["worker", 4]]));
}
