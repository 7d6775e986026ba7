//! The server's own count of what it took, per protocol: `protocols.<name>` of
//! `GET /api/v1/stats`, read before and after a run. Over UDP this is the only way to know
//! what arrived (the sender learns nothing), and for every protocol it is what was stored,
//! whatever the client believes it sent.
//!
//! The difference counts everything the server took meanwhile, so a run's figures are exact
//! only when nothing else sends the same protocol to the server.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use super::super::client::{Client, RequestError};

/// How often the counters are read while waiting for them to settle.
const POLL: Duration = Duration::from_millis(50);

/// One protocol's counters; `malformed` and `dropped` summed over their reasons.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Counters {
    pub received: u64,
    pub accepted: u64,
    pub malformed: u64,
    pub dropped: u64,
}

impl Counters {
    pub(super) fn since(self, before: Counters) -> Counters {
        Counters {
            received: self.received.saturating_sub(before.received),
            accepted: self.accepted.saturating_sub(before.accepted),
            malformed: self.malformed.saturating_sub(before.malformed),
            dropped: self.dropped.saturating_sub(before.dropped),
        }
    }
}

/// Reads the counters of `protocol` (`syslog_tcp`, `popcorn`, ...).
pub(super) async fn read(client: &Client, protocol: &str) -> Result<Counters, RequestError> {
    let stats: Value = client.get_json("/api/v1/stats", &[]).await?;
    let entry = &stats["protocols"][protocol];
    if !entry.is_object() {
        return Err(RequestError::Unexpected {
            url: client.base().to_owned(),
            reason: format!("/api/v1/stats has no counters for protocol {protocol}"),
        });
    }
    Ok(Counters {
        received: number(&entry["received"]),
        accepted: number(&entry["accepted"]),
        malformed: number(&entry["malformed"]),
        dropped: number(&entry["dropped"]),
    })
}

/// A counter, or the sum of a counter by reason.
fn number(value: &Value) -> u64 {
    match value {
        Value::Object(reasons) => reasons.values().map(number).sum(),
        other => other.as_u64().unwrap_or(0),
    }
}

/// Waits until the server has accounted for `sent` items since `before`, or until its
/// counters have not moved for `quiet` (datagrams the kernel dropped never arrive).
/// Returns the difference and when it was first seen, the end of the run.
pub(super) async fn settle(
    client: &Client,
    protocol: &str,
    before: Counters,
    sent: u64,
    quiet: Duration,
) -> Result<(Counters, Instant), RequestError> {
    let mut last = read(client, protocol).await?.since(before);
    let mut changed = Instant::now();
    while last.received < sent && changed.elapsed() < quiet {
        tokio::time::sleep(POLL).await;
        let now = read(client, protocol).await?.since(before);
        if now != last {
            last = now;
            changed = Instant::now();
        }
    }
    // Accepted lags received by the moment a submission takes; a last look at it.
    if last.accepted + last.malformed + last.dropped < last.received {
        tokio::time::sleep(POLL).await;
        last = read(client, protocol).await?.since(before);
    }
    Ok((last, changed))
}
