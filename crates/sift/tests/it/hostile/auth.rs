//! Password guessing as a denial of service: every wrong password for a real user costs an
//! argon2 check (about 19 MiB and tens of milliseconds), so guesses are bounded in how many run
//! at once and how many one address may make, and a guesser never locks a real user out.

use std::net::{IpAddr, Ipv4Addr};

use super::{assert_peak_rss_below, assert_serves_others, start_hostile_server};
use crate::harness::user_entry;

/// A client whose connections come from `address` (any of 127.0.0.0/8 is this machine).
fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::from(address)))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread")]
async fn r_four_hundred_concurrent_wrong_passwords_neither_kill_nor_balloon_sift() {
    let mut server = start_hostile_server(&user_entry("alice", "correct horse"));
    server.auth = Some(("alice".into(), "correct horse".into()));
    // Alice logs in before the attack; her client keeps working through it.
    assert_serves_others(&mut server, "start").await;
    let attacker = client_from([127, 0, 0, 2]);
    let guesses = (0..400).map(|i| {
        let request = attacker.get(server.url("/api/v1/events")).basic_auth("alice", Some(format!("guess {i}"))).send();
        async move { request.await.map(|r| r.status().as_u16()).unwrap_or(0) }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    assert!(statuses.iter().all(|s| [401, 429, 503].contains(s)), "every guess is refused: {statuses:?}");
    assert!(statuses.contains(&429) || statuses.contains(&503), "most guesses never reach a hash: {statuses:?}");
    assert!(server.threads() < 100, "{} threads after the guesses", server.threads());
    assert_serves_others(&mut server, "400 concurrent wrong passwords").await;
    assert_peak_rss_below(&server, 400 << 20, "400 concurrent wrong passwords");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guessing_address_gets_429_with_retry_after_and_alice_is_not_locked_out() {
    let server = start_hostile_server(&user_entry("alice", "correct horse"));
    let attacker = client_from([127, 0, 0, 3]);
    let mut last = None;
    for i in 0..11 {
        let response = attacker
            .get(server.url("/api/v1/events"))
            .basic_auth("alice", Some(format!("guess {i}")))
            .send()
            .await
            .expect("answer");
        last = Some(response);
    }
    let refused = last.expect("a last answer");
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = refused.json().await.expect("json");
    assert!(body["error"].as_str().unwrap().contains("too many failed logins"), "{body}");
    // The attacker's right guess is refused too, before any hash is computed.
    let right = attacker.get(server.url("/api/v1/events")).basic_auth("alice", Some("correct horse")).send().await;
    assert_eq!(right.expect("answer").status(), 429);
    // Alice, from her own address, is slowed down at most, never locked out.
    let alice = client_from([127, 0, 0, 1]);
    let ok = alice.get(server.url("/api/v1/events")).basic_auth("alice", Some("correct horse")).send().await;
    assert_eq!(ok.expect("answer").status(), 200);
}
