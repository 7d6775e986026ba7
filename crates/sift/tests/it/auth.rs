//! The secure default: loopback only unless users are configured, and with users every
//! route but the health checks needs HTTP Basic.

use crate::harness::{client, start_server_with, try_start_server, user_entry};

#[test]
fn a_public_listener_without_users_is_refused_with_the_fix() {
    let refused = try_start_server("", &["--http", "0.0.0.0:0"]).err().expect("must refuse to start");
    assert!(refused.contains("not a loopback address"), "{refused}");
    assert!(refused.contains("sift user add"), "{refused}");
}

#[tokio::test]
async fn with_users_every_route_but_health_needs_basic_auth() {
    let config = user_entry("alice", "correct horse");
    let server = start_server_with(&config);
    let get = |path: &str, auth: Option<(&str, &str)>| {
        let mut request = client().get(server.url(path));
        if let Some((user, password)) = auth {
            request = request.basic_auth(user, Some(password));
        }
        async move { request.send().await.unwrap() }
    };
    let denied = get("/api/v1/events", None).await;
    assert_eq!(denied.status(), 401);
    assert_eq!(denied.headers()["www-authenticate"], "Basic realm=\"sift\"");
    assert_eq!(get("/api/v1/events", Some(("alice", "wrong"))).await.status(), 401);
    assert_eq!(get("/api/v1/events", Some(("bob", "correct horse"))).await.status(), 401);
    assert_eq!(get("/api/v1/events", Some(("alice", "correct horse"))).await.status(), 200);
    assert_eq!(get("/api/v1/stats", Some(("alice", "correct horse"))).await.status(), 200);
    assert_eq!(get("/healthz", None).await.status(), 200);
    assert_eq!(get("/readyz", None).await.status(), 200);
    let posted = client().post(server.url("/api/v1/events")).body("{\"message\":\"x\"}").send().await.unwrap();
    assert_eq!(posted.status(), 401, "ingest needs credentials too");
}

#[tokio::test]
async fn a_public_listener_with_users_starts() {
    let config = user_entry("alice", "pw");
    let server = try_start_server(&config, &["--http", "0.0.0.0:0"]).expect("starts with users configured");
    let port = server.addr.port();
    let response = client().get(format!("http://127.0.0.1:{port}/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

/// A request as `user` with `password`, answered with its status and JSON body.
async fn as_user(request: reqwest::RequestBuilder, user: &str, password: &str) -> (u16, serde_json::Value) {
    let response = request.basic_auth(user, Some(password)).send().await.expect("answer");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn r_a_user_limited_to_channels_reads_and_writes_only_those_on_every_route() {
    let mut config = user_entry("admin", "pw");
    config.push_str(&user_entry("shopper", "pw"));
    config.push_str("channels = [\"shop\"]\n");
    let server = start_server_with(&config);
    let http = client();
    let post = |body: &str| http.post(server.url("/api/v1/events")).body(body.to_owned());
    // The admin writes to both channels.
    let (status, _) = as_user(
        post(r#"[{"message":"shop line","channel":"shop"},{"message":"billing secret","channel":"billing"}]"#),
        "admin",
        "pw",
    )
    .await;
    assert_eq!(status, 200);

    // Writes: the shopper's event for billing is refused by name, its shop event kept.
    let (status, answer) = as_user(
        post(r#"[{"message":"mine","channel":"shop"},{"message":"not mine","channel":"billing"}]"#),
        "shopper",
        "pw",
    )
    .await;
    assert_eq!((status, answer["accepted"].as_u64()), (200, Some(1)), "{answer}");
    assert_eq!(answer["errors"][0]["reason"], "forbidden_channel", "{answer}");
    let (status, _) = as_user(post(r#"{"message":"default is not mine"}"#), "shopper", "pw").await;
    assert_eq!(status, 400, "an event without a channel goes to `default`, not the shopper's");

    // Reads: every route sees only shop, whatever the query asks for.
    let get = |path: &str| http.get(server.url(path));
    let (status, answer) = as_user(get("/api/v1/events?q=channel%3Abilling"), "shopper", "pw").await;
    assert_eq!((status, answer["events"].as_array().map(Vec::len)), (200, Some(0)), "{answer}");
    let (_, answer) = as_user(get("/api/v1/events"), "shopper", "pw").await;
    let messages: Vec<&str> =
        answer["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["mine", "shop line"]);
    let (_, answer) = as_user(get("/api/v1/count?q=secret"), "shopper", "pw").await;
    assert_eq!(answer["count"], 0);
    let (_, answer) = as_user(get("/api/v1/query?q=*%20%7C%20stats%20count()%20by%20channel"), "shopper", "pw").await;
    assert_eq!(answer["rows"], serde_json::json!([["shop", 2]]), "{answer}");
    let (_, answer) = as_user(get("/api/v1/facets?field=channel"), "shopper", "pw").await;
    assert_eq!(answer["values"], serde_json::json!([{"value": "shop", "count": 2}]), "{answer}");
    let (_, answer) = as_user(get("/api/v1/histogram?since=1h"), "shopper", "pw").await;
    let counted: u64 =
        answer["buckets"].as_array().unwrap().iter().map(|b| b["counts"]["info"].as_u64().unwrap_or(0)).sum();
    assert_eq!(counted, 2, "{answer}");
    let (_, answer) = as_user(get("/api/v1/count"), "admin", "pw").await;
    assert_eq!(answer["count"], 3, "the admin sees every channel");

    // The tail's backlog holds only shop's events too.
    let mut tail =
        http.get(server.url("/api/v1/tail?backlog=10")).basic_auth("shopper", Some("pw")).send().await.unwrap();
    let mut seen = String::new();
    while !seen.contains("event: ready") {
        let chunk = tail.chunk().await.expect("read").expect("the tail goes on");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("shop line") && !seen.contains("billing secret"), "{seen}");

    // Routes over every channel, and channels outside the scope, are refused.
    for path in ["/api/v1/stats", "/api/v1/nodes", "/api/v1/rules"] {
        assert_eq!(as_user(get(path), "shopper", "pw").await.0, 403, "{path}");
    }
    let create = |body: &str| http.post(server.url("/channels")).body(body.to_owned());
    assert_eq!(as_user(create(r#"{"name":"billing2","tokens":["x"]}"#), "shopper", "pw").await.0, 403);
    assert_eq!(as_user(create(r#"{"tokens":["x"]}"#), "shopper", "pw").await.0, 403);
    assert_eq!(as_user(create(r#"{"name":"shop","tokens":["x"]}"#), "shopper", "pw").await.0, 201);
}
