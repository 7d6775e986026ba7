//! Cross-site requests and DNS rebinding: with the default loopback, no-user setup, a web page
//! the operator visits must not be able to inject events, create channels or read logs through
//! the operator's browser.

use crate::harness::{client, start_server};

#[tokio::test]
async fn r_a_cross_site_text_plain_post_neither_creates_a_channel_nor_stores_an_event() {
    let server = start_server();
    // What a form or fetch() on http://evil.example sends without asking the user.
    let channel = client()
        .post(server.url("/channels"))
        .header("origin", "http://evil.example")
        .header("content-type", "text/plain")
        .body(r#"{"name":"evil","tokens":["x"]}"#)
        .send()
        .await
        .expect("answer");
    assert_eq!(channel.status(), 403);
    let body: serde_json::Value = channel.json().await.expect("json");
    assert!(body["error"].as_str().unwrap().contains("another site"), "{body}");
    let event = client()
        .post(server.url("/api/v1/events"))
        .header("referer", "http://evil.example/page.html")
        .header("content-type", "text/plain")
        .body(r#"{"message":"injected"}"#)
        .send()
        .await
        .expect("answer");
    assert_eq!(event.status(), 403);
    // The same requests from a program (no Origin, no Referer) work, as the README's curl does.
    let (status, answer) = crate::harness::get_json(&server, "/api/v1/count?q=injected").await;
    assert_eq!((status, answer["count"].as_u64()), (200, Some(0)));
    let own = client()
        .post(server.url("/channels"))
        .header("origin", format!("http://{}", server.addr))
        .body(r#"{"name":"mine","tokens":["x"]}"#)
        .send()
        .await
        .expect("answer");
    assert_eq!(own.status(), 201, "a page served by sift itself may");
    let curl = client().post(server.url("/channels")).body(r#"{"name":"evil","tokens":["x"]}"#).send().await;
    assert_eq!(curl.expect("answer").status(), 201);
}

#[tokio::test]
async fn r_a_request_for_another_name_is_refused_so_dns_rebinding_reads_nothing() {
    let server = start_server();
    for path in ["/api/v1/events", "/api/v1/tail", "/api/v1/stats"] {
        let response = client().get(server.url(path)).header("host", "attacker.example").send().await.expect("answer");
        assert_eq!(response.status(), 403, "{path}");
        let body: serde_json::Value = response.json().await.expect("json");
        assert!(body["error"].as_str().unwrap().contains("http.allowed_hosts"), "{body}");
    }
    let named = client().get(server.url("/api/v1/events")).header("host", format!("localhost:{}", server.addr.port()));
    assert_eq!(named.send().await.expect("answer").status(), 200);
    let probe = client().get(server.url("/healthz")).header("host", "attacker.example").send().await;
    assert_eq!(probe.expect("answer").status(), 200, "health probes reveal nothing and stay open");
}

#[tokio::test]
async fn allowed_hosts_and_public_url_name_sift() {
    let config = "[http]\npublic_url = \"https://logs.example.com\"\nallowed_hosts = [\"*.corp.example\"]\n";
    let server = crate::harness::start_server_with(config);
    for (host, status) in [("logs.example.com", 200), ("sift.corp.example:9125", 200), ("corp.example", 403)] {
        let response = client().get(server.url("/api/v1/events")).header("host", host).send().await.expect("answer");
        assert_eq!(response.status(), status, "{host}");
    }
    let from_public = client()
        .post(server.url("/api/v1/events"))
        .header("host", "logs.example.com")
        .header("origin", "https://logs.example.com")
        .body(r#"{"message":"from the UI"}"#)
        .send()
        .await
        .expect("answer");
    assert_eq!(from_public.status(), 200);
}
