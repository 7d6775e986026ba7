//! Popcorn protobuf over UDP, with a client that encodes datagrams the way Popcorn's
//! clients do (v0, v1 and v2 layouts), and datagrams that are counted and dropped.

use std::net::UdpSocket;

use serde_json::json;
use sift_core::Timestamp;
use sift_core::popcorn::{Client, LegacyLogMessage, LogMessage, encode};

use crate::harness::{protocol_stats_when, start_server_with, wait_for_events};

fn text(s: &str) -> Option<Vec<u8>> {
    Some(s.as_bytes().to_vec())
}

#[tokio::test]
async fn datagrams_of_every_layout_become_events_and_bad_ones_are_counted() {
    let server = start_server_with("[popcorn]\nchannel = \"mobile\"\n");
    let addr = server.popcorn.expect("the server announces its Popcorn listener");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let an_hour_ago = Timestamp::from_micros((Timestamp::now().as_micros() / 1_000_000 - 3600) * 1_000_000);

    let v2 = LogMessage {
        packet_version: Some(2),
        node: text("api-1"),
        node_role: text("checkout"),
        node_version: text("4.2.0"),
        severity: Some(8),
        message: text("payment gateway timeout"),
        module: text("cart"),
        function: text("pay/2"),
        line: text("54"),
        pid: text("<0.123.0>"),
        timestamp: text(&an_hour_ago.as_micros().to_string()),
        client: Some(Client {
            account_token: text("acct-9"),
            r#type: text("ios"),
            version: text("7.1"),
            os: text("iOS"),
            os_version: text(""),
        }),
    };
    let v1 = LogMessage {
        packet_version: Some(1),
        node: text("api-2"),
        node_role: text("checkout"),
        severity: Some(16),
        message: text("slow response"),
        ..Default::default()
    };
    let v0 = LegacyLogMessage {
        node: text("old-1"),
        node_role: text("legacy"),
        node_version: text("0.9"),
        severity: Some(64),
        message: text("hello from v0"),
    };
    let unknown = LogMessage { packet_version: Some(7), message: text("from the future"), ..Default::default() };
    for datagram in [encode(&v2), encode(&v1), encode(&v0), encode(&unknown), b"\xff\xff not protobuf".to_vec()] {
        socket.send_to(&datagram, addr).unwrap();
    }

    let answer = wait_for_events(&server, "channel:mobile", 3).await;
    let events = answer["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{answer}");
    let by_host = |host: &str| events.iter().find(|e| e["host"] == host).unwrap_or_else(|| panic!("{host}: {answer}"));

    let first = by_host("api-1");
    assert_eq!(first["source"], "popcorn");
    assert_eq!(first["app"], "checkout");
    assert_eq!(first["version"], "4.2.0");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["message"], "payment gateway timeout");
    assert_eq!((&first["module"], &first["function"], &first["line"]), (&json!("cart"), &json!("pay/2"), &json!(54)));
    assert_eq!(first["proc"], "<0.123.0>");
    assert_eq!(first["time"], an_hour_ago.to_rfc3339());
    // Empty strings mean absent.
    assert_eq!(
        first["fields"]["client"],
        json!({"account_token": "acct-9", "type": "ios", "version": "7.1", "os": "iOS"})
    );

    assert_eq!(by_host("api-2")["severity"], "warning");
    let old = by_host("old-1");
    assert_eq!((&old["app"], &old["version"], &old["severity"]), (&json!("legacy"), &json!("0.9"), &json!("info")));

    let popcorn = protocol_stats_when(&server, "popcorn", |p| p["received"] == 5).await;
    assert_eq!(popcorn["accepted"], 3, "{popcorn}");
    assert_eq!(popcorn["malformed"], json!({"unknown_version": 1, "malformed_protobuf": 1}), "{popcorn}");
}
