//! `GET /api/v1/stats`, `GET /api/v1/nodes`, `/healthz` and `/readyz`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use sift_core::{Severity, Source, Str};

use super::auth::Caller;
use super::error::ApiError;
use crate::app::Readiness;
use crate::ingest::{Figures, Ingest};
use crate::observe::{NodeStat, Observer, ProtocolSnapshot, QueueFigures, Snapshot};

/// Per protocol: received, accepted, malformed and dropped by reason, and connections for
/// the TCP listeners.
fn protocols(protocols: &[(Source, ProtocolSnapshot)]) -> Map<String, Value> {
    let mut out = Map::new();
    for (source, c) in protocols {
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

pub async fn stats(State(observer): State<Observer>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require_every_channel("read the counters of every channel")?;
    let snapshot = observer.snapshot();
    let Snapshot {
        taken,
        events: stats,
        nodes,
        protocols: per_protocol,
        http,
        ingest: figures,
        queues: queue_figures,
        queries,
        intake,
    } = &snapshot;
    let (ring, limits) = (&figures.ring, &figures.ring_limits);
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
    Ok(Json(json!({
        "started": stats.started.to_rfc3339(),
        "uptime_seconds": (taken.as_micros() - stats.started.as_micros()) / 1_000_000,
        "events": {
            "accepted": stats.accepted,
            "rejected": stats.rejected,
            "by_severity": by_severity,
            "by_app": counts(&nodes.apps),
            "by_host": counts(&nodes.hosts),
            "unlisted_nodes": nodes.overflow,
        },
        "rejected": rejected_by,
        "protocols": protocols(per_protocol),
        "http": {
            "connections": {
                "open": http.open(),
                "opened": http.opened,
                "closed": http.closed,
            },
        },
        "requests_rejected": stats.requests_rejected,
        "ring": {
            "events": ring.events,
            "bytes": ring.bytes,
            "max_events": limits.max_events,
            "max_bytes": limits.max_bytes,
            "evicted": ring.evicted,
        },
        "store": store_stats(figures),
        "intake": {
            "inflight_bytes": intake.inflight_bytes,
            "max_inflight_bytes": intake.max_inflight_bytes,
            "decodes": intake.decodes,
            "max_decodes": intake.max_decodes,
            "decoding_bytes": intake.decoding_bytes,
            "max_decoding_bytes": intake.max_decoding_bytes,
        },
        "tails": {
            "subscribers": figures.tail_subscribers,
            "dropped": figures.tail_dropped,
        },
        "queues": queues(queue_figures),
        "queries": { "running": queries.running, "timed_out": queries.timed_out, "cancelled": queries.cancelled },
    })))
}

/// The durable store's tiers, or `null` with `--memory-only`.
fn store_stats(figures: &Figures) -> Value {
    let Some(store) = &figures.store else { return Value::Null };
    let (backlog, segments, bytes, recovered) = (&store.backlog, store.segments, store.segment_bytes, &store.recovered);
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

/// Every bounded queue by name: its policy when full, capacity in items and bytes, how
/// many queues share the name, what they hold now and what they dropped.
fn queues(figures: &[QueueFigures]) -> Map<String, Value> {
    figures
        .iter()
        .map(|q| {
            let entry = json!({
                "policy": q.policy.as_str(),
                "capacity": q.capacity,
                "capacity_bytes": q.capacity_bytes,
                "queues": q.queues,
                "depth": q.depth,
                "depth_bytes": q.depth_bytes,
                "dropped": q.dropped,
            });
            (q.name.clone(), entry)
        })
        .collect()
}

pub async fn nodes(State(ingest): State<Arc<Ingest>>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require_every_channel("list the hosts and apps of every channel")?;
    let total = ingest.stats().snapshot().accepted.max(1) as f64;
    let nodes = ingest.stats().nodes();
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
    Ok(Json(json!({ "hosts": list(&nodes.hosts), "apps": list(&nodes.apps), "unlisted": nodes.overflow })))
}

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(ready): State<Readiness>) -> Response {
    if ready.is_ready() {
        Json(json!({ "status": "ready" })).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "starting" }))).into_response()
    }
}
