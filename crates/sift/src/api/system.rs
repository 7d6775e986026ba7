//! `GET /api/v1/stats`, `GET /api/v1/nodes`, `/healthz` and `/readyz`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use sift_core::{Severity, Source, Str, Timestamp};

use crate::app::AppState;
use crate::observe::{NodeStat, ProtocolStats};

/// Per protocol: received, accepted, malformed and dropped by reason, and connections for
/// the TCP listeners.
fn protocols(counters: &ProtocolStats) -> Map<String, Value> {
    let mut out = Map::new();
    for source in Source::ALL {
        if source == Source::Internal {
            continue;
        }
        let c = counters.snapshot(source);
        let mut entry = json!({
            "received": c.received,
            "accepted": c.accepted,
            "malformed": c.malformed,
            "dropped": c.dropped,
        });
        if matches!(source, Source::SyslogTcp) {
            entry["truncated"] = json!(c.truncated);
            entry["connections"] = json!({
                "open": c.connections_open(),
                "opened": c.connections_opened,
                "closed": c.connections_closed,
            });
        }
        out.insert(source.name().to_owned(), entry);
    }
    out
}

pub async fn stats(State(state): State<Arc<AppState>>) -> Json<Value> {
    let ingest = &state.ingest;
    let stats = ingest.stats.snapshot();
    let nodes = ingest.stats.nodes();
    let ring = ingest.ring.stats();
    let limits = ingest.ring.limits();
    let by_severity: Map<String, Value> =
        Severity::ALL.iter().map(|s| (s.name().to_owned(), json!(stats.severity(*s)))).collect();
    let mut rejected_by: Map<String, Value> = Map::new();
    for ((source, reason), n) in &stats.rejections {
        let per_source = rejected_by.entry(source.name()).or_insert_with(|| json!({}));
        per_source[*reason] = json!(n);
    }
    let counts = |table: &std::collections::HashMap<Str, NodeStat>| -> Map<String, Value> {
        let mut rows: Vec<_> = table.iter().collect();
        rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
        rows.into_iter().map(|(name, stat)| (name.to_string(), json!(stat.count))).collect()
    };
    let now = Timestamp::now();
    Json(json!({
        "started": stats.started.to_rfc3339(),
        "uptime_seconds": (now.as_micros() - stats.started.as_micros()) / 1_000_000,
        "events": {
            "accepted": stats.accepted,
            "rejected": stats.rejected,
            "by_severity": by_severity,
            "by_app": counts(&nodes.apps),
            "by_host": counts(&nodes.hosts),
            "unlisted_nodes": nodes.overflow,
        },
        "rejected": rejected_by,
        "protocols": protocols(&ingest.stats.protocols),
        "requests_rejected": stats.requests_rejected,
        "ring": {
            "events": ring.events,
            "bytes": ring.bytes,
            "max_events": limits.max_events,
            "max_bytes": limits.max_bytes,
            "evicted": ring.evicted,
        },
        "store": store_stats(&state),
        "intake": {
            "inflight_bytes": state.intake.inflight_bytes(),
            "max_inflight_bytes": state.intake.max_inflight_bytes(),
            "decodes": state.intake.decodes(),
            "max_decodes": state.intake.max_decodes(),
        },
        "tails": {
            "subscribers": ingest.bus.subscribers(),
            "dropped": ingest.bus.dropped_total(),
        },
    }))
}

/// The durable store's tiers, or `null` with `--memory-only`.
fn store_stats(state: &AppState) -> Value {
    let Some(store) = &state.ingest.store else { return Value::Null };
    let backlog = store.backlog();
    let (segments, bytes) = store.segment_stats();
    let recovered = store.recovered();
    json!({
        "pending_events": backlog.events,
        "pending_in_memory": backlog.in_memory,
        "pending_wal_bytes": backlog.wal_bytes,
        "damaged_events": backlog.damaged_events,
        "segments": segments,
        "segment_bytes": bytes,
        "wal_truncated_bytes": recovered.wal_truncated_bytes,
        "broken_segments": recovered.broken_segments,
    })
}

pub async fn nodes(State(state): State<Arc<AppState>>) -> Json<Value> {
    let total = state.ingest.stats.snapshot().accepted.max(1) as f64;
    let nodes = state.ingest.stats.nodes();
    let list = |table: &std::collections::HashMap<Str, NodeStat>| -> Vec<Value> {
        let mut rows: Vec<_> = table.iter().collect();
        rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
        rows.into_iter()
            .map(|(name, stat)| {
                json!({
                    "name": &**name,
                    "first_seen": stat.first_seen.to_rfc3339(),
                    "last_seen": stat.last_seen.to_rfc3339(),
                    "count": stat.count,
                    "share": stat.count as f64 / total,
                })
            })
            .collect()
    };
    Json(json!({ "hosts": list(&nodes.hosts), "apps": list(&nodes.apps), "unlisted": nodes.overflow }))
}

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.ready.load(Ordering::Acquire) {
        Json(json!({ "status": "ready" })).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "starting" }))).into_response()
    }
}
