//! Channel names from the network: a name that breaks the one rule of channel names
//! (`sift_core::event::check_channel`) is refused on every ingest path with reason
//! `invalid_channel`, never stored (a durable server would have made it a retention class and
//! segment files), and a huge one costs no more than its request.

use serde_json::{Value, json};

use super::{assert_peak_rss_below, assert_serves_others, start_hostile_durable_server};
use crate::harness::{get_json, post_events, protocol_stats};

#[tokio::test(flavor = "multi_thread")]
async fn r_events_naming_a_bad_channel_are_refused() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut server = start_hostile_durable_server(data.path(), "");

    let (status, answer) = post_events(&server, "application/json", r#"{"message":"m","channel":"../../etc"}"#).await;
    assert_eq!(status, 400, "{answer}");
    let error = &answer["errors"][0];
    assert_eq!(error["reason"], "invalid_channel", "{answer}");
    let message = error["error"].as_str().expect("error text");
    assert!(message.contains("a channel name is 1 to 128 ASCII letters, digits, '-', '_' or '.'"), "{message}");

    // Many items naming a 256 KiB channel each (under the length at which an item is refused
    // unread), mixed with good ones: each bad one is refused with its name cut short in the
    // answer, the good ones are kept.
    let huge = "x".repeat(256 << 10);
    let mut body = String::new();
    for i in 0..12 {
        let channel = if i % 3 == 0 { "web-1" } else { &huge };
        body.push_str(&json!({"message": format!("item {i}"), "channel": channel}).to_string());
        body.push('\n');
    }
    let (status, answer) = post_events(&server, "application/x-ndjson", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["accepted"].as_u64(), answer["rejected"].as_u64()), (Some(4), Some(8)), "{answer}");
    assert!(
        answer.to_string().len() < 8 * 1024,
        "the answer quotes the names whole: {} bytes",
        answer.to_string().len()
    );

    let stats = protocol_stats(&server, "http_json").await;
    assert_eq!(stats["malformed"]["invalid_channel"], 9, "{stats}");
    let (_, found) = get_json(&server, "/api/v1/events?q=channel:web-1").await;
    assert_eq!(found["events"].as_array().map(Vec::len), Some(4), "{found}");
    let (_, count) = get_json(&server, "/api/v1/count").await;
    assert_eq!(count["count"], Value::from(4), "nothing of a bad channel was stored: {count}");

    assert_serves_others(&mut server, "events naming bad channels").await;
    assert_peak_rss_below(&server, 400 << 20, "events naming bad channels");
}
