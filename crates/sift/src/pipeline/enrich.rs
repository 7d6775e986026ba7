//! Enrichment: topics and identities from the message, and the fingerprint that groups
//! alerting events (DESIGN.md sections 5 and 8).

use sift_core::Event;
use sift_core::enrich::{fingerprint, topics};

use crate::config::AlertsConfig;

pub fn enrich(alerts: &AlertsConfig, event: &mut Event) {
    topics::extract(&event.message, &mut event.topics, &mut event.identities);
    let alerting = event.severity <= alerts.min_severity
        || event.topics.iter().any(|t| alerts.topics.iter().any(|a| a.eq_ignore_ascii_case(t)));
    if event.fingerprint.is_none() && alerting {
        event.fingerprint = Some(fingerprint::fingerprint(event, &alerts.topics));
    }
}
