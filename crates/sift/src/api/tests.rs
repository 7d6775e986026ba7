//! The shapes of answers, in process: the router called with `oneshot`, no socket, so each
//! case is one request and its status, headers and JSON body. (What needs a socket, a real
//! client or the process, such as timeouts, TLS or memory, is tested black-box in `tests/it`.)

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::app::AppState;
use crate::config::{Config, User};

fn state(users: Vec<User>) -> AppState {
    let mut config = Config::default();
    config.storage.memory_only = true;
    config.auth.users = users;
    AppState::open(&config).expect("state").0
}

/// One request through the whole router: status, the named headers, and the JSON body.
async fn call(state: &AppState, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = super::router(state.clone()).oneshot(request).await.expect("an answer");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (parts.status, parts.headers, json)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).header("host", "localhost").body(Body::empty()).expect("request")
}

fn post(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri).header("host", "localhost").body(Body::from(body.to_owned())).expect("request")
}

#[tokio::test]
async fn errors_name_what_was_wrong_with_a_reason_and_detail() {
    let state = state(Vec::new());
    let (status, _, body) = call(&state, get("/api/v1/nope")).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({ "error": "no route for GET /api/v1/nope" })));
    let (status, _, body) = call(&state, get("/api/v1/events?q=severity%3E%3Dloud")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["detail"]["param"], "q", "{body}");
    assert!(body["detail"]["position"].is_u64(), "{body}");
    let (status, _, body) = call(&state, get("/api/v1/events?limit=0")).await;
    assert_eq!((status, &body["detail"]), (StatusCode::BAD_REQUEST, &json!({ "param": "limit" })));
}

#[tokio::test]
async fn ingest_answers_with_counts_and_per_item_errors() {
    let state = state(Vec::new());
    let (status, _, body) = call(&state, post("/api/v1/events", r#"[{"message":"ok"},{"severity":"loud"}]"#)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((body["accepted"].as_u64(), body["rejected"].as_u64()), (Some(1), Some(1)), "{body}");
    assert_eq!(body["errors"][0]["index"], 1, "{body}");
    let (status, _, body) = call(&state, post("/api/v1/events", "[]")).await;
    assert_eq!((status, &body["accepted"]), (StatusCode::BAD_REQUEST, &json!(0)));
}

#[tokio::test]
async fn protected_routes_need_credentials_and_probes_do_not() {
    let user = User {
        name: "alice".into(),
        password_hash: crate::config::users::hash_password("pw").expect("hash"),
        channels: None,
    };
    let state = state(vec![user]);
    let (status, headers, body) = call(&state, get("/api/v1/events")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers["www-authenticate"], "Basic realm=\"sift\"");
    assert!(body["error"].as_str().unwrap().contains("HTTP Basic"), "{body}");
    assert_eq!(call(&state, get("/healthz")).await.0, StatusCode::OK);
    assert_eq!(call(&state, get("/readyz")).await.0, StatusCode::SERVICE_UNAVAILABLE, "not started yet");
    let (status, headers, _) = call(&state, post("/logs", "")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "the public route checks its own way in");
    assert!(headers.get("www-authenticate").is_none());
}

#[tokio::test]
async fn the_same_site_check_comes_before_anything_else() {
    let state = state(Vec::new());
    let request = Request::post("/channels")
        .header("host", "localhost")
        .header("origin", "http://evil.example")
        .body(Body::empty());
    let (status, _, body) = call(&state, request.expect("request")).await;
    assert_eq!((status, &body["detail"]), (StatusCode::FORBIDDEN, &json!({ "origin": "http://evil.example" })));
    let request = Request::get("/api/v1/stats").header("host", "evil.example").body(Body::empty());
    let (status, _, body) = call(&state, request.expect("request")).await;
    assert_eq!((status, &body["detail"]), (StatusCode::FORBIDDEN, &json!({ "host": "evil.example" })));
}
