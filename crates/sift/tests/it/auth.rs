//! The secure default: loopback only unless users are configured, and with users every
//! route but the health checks needs HTTP Basic.

use crate::harness::{client, start_server_with, try_start_server};

#[test]
fn a_public_listener_without_users_is_refused_with_the_fix() {
    let refused = try_start_server("", &["--http", "0.0.0.0:0"]).err().expect("must refuse to start");
    assert!(refused.contains("not a loopback address"), "{refused}");
    assert!(refused.contains("sift user add"), "{refused}");
}

pub(crate) fn user_entry(name: &str, password: &str) -> String {
    let output = std::process::Command::new(crate::harness::sift_binary())
        .args(["user", "add", name, "--password", password])
        .output()
        .expect("sift user add");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
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
