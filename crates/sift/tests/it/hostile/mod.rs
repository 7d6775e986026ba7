//! The hostile-client suite: for every way one request, connection or datagram has crashed,
//! stalled or ballooned sift, a test that does it again to a server started under an
//! address-space limit and asserts that the server stays alive, answers a small request from
//! someone else, and keeps its peak resident memory under a stated bound.
//!
//! Each file holds the attacks on one surface; this file holds what they share.

mod auth;
mod channel_names;
mod decode;
mod http;
mod query;
mod sites;
mod sources;
mod store;
mod tails;

use std::time::Duration;

use serde_json::json;

use crate::harness::{Server, client, enc, start_limited_server};

/// The address space a hostile test's server may use: well past what any bounded work needs,
/// well short of what the machine has, so a runaway allocation ends the process (and the test
/// says so) instead of the machine's other work.
pub const ADDRESS_SPACE: u64 = 2 << 30;

/// A memory-only server with this configuration under [`ADDRESS_SPACE`].
pub fn start_hostile_server(config: &str) -> Server {
    start_limited_server(config, None, ADDRESS_SPACE)
}

/// A durable server keeping its data in `data_dir`, under [`ADDRESS_SPACE`].
pub fn start_hostile_durable_server(data_dir: &std::path::Path, config: &str) -> Server {
    start_limited_server(config, Some(data_dir), ADDRESS_SPACE)
}

/// How long an innocent request may take while an attack goes on before the server counts as
/// stalled: a liveness bound, far above any normal answer, not a measure of speed.
pub const PROMPTLY: Duration = Duration::from_secs(10);

/// Asserts that the server is alive and serves someone else: an event posted now is accepted
/// and found by a search, each request answered within [`PROMPTLY`].
pub async fn assert_serves_others(server: &mut Server, after: &str) {
    assert!(server.is_alive(), "sift died after {after}:\n{}", server.log.text());
    let marker = format!("innocent-{}", uuid::Uuid::new_v4().simple());
    let http = client();
    let mut post = http
        .post(server.url("/api/v1/events"))
        .timeout(PROMPTLY)
        .header("content-type", "application/json")
        .body(json!({ "message": marker }).to_string());
    let mut search = http.get(server.url(&format!("/api/v1/events?q={}", enc(&marker)))).timeout(PROMPTLY);
    if let Some((user, password)) = &server.auth {
        post = post.basic_auth(user, Some(password));
        search = search.basic_auth(user, Some(password));
    }
    let posted =
        post.send().await.unwrap_or_else(|error| panic!("no answer to an innocent post after {after}: {error}"));
    assert_eq!(posted.status().as_u16(), 200, "an innocent post after {after}: {:?}", posted.text().await);
    let found =
        search.send().await.unwrap_or_else(|error| panic!("no answer to an innocent search after {after}: {error}"));
    let answer: serde_json::Value = found.json().await.expect("json answer");
    assert_eq!(answer["events"].as_array().map(Vec::len), Some(1), "the innocent event after {after}: {answer}");
    assert!(server.is_alive(), "sift died after {after}:\n{}", server.log.text());
}

/// Asserts that the server's peak resident memory stayed under `bound` bytes.
pub fn assert_peak_rss_below(server: &Server, bound: u64, after: &str) {
    let peak = server.peak_rss();
    assert!(peak > 0, "cannot read the server's memory");
    assert!(
        peak < bound,
        "sift's resident memory peaked at {} MiB after {after}, over the bound of {} MiB",
        peak >> 20,
        bound >> 20
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_under_the_address_space_limit_serves_normally() {
    let mut server = start_hostile_server("");
    assert_serves_others(&mut server, "start").await;
    assert_peak_rss_below(&server, 200 << 20, "start");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_durable_server_under_the_address_space_limit_serves_normally() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut server = start_hostile_durable_server(data.path(), "");
    assert_serves_others(&mut server, "start").await;
    assert_peak_rss_below(&server, 200 << 20, "start");
}
