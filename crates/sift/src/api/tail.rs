//! `GET /api/v1/tail`: a live tail as Server-Sent Events. Each event is `event: event` with
//! the event's JSON as data; one `event: ready` marks the end of the backlog; a reader that
//! falls behind gets `event: dropped` with `{"dropped": N}` and never slows ingest.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::dto::EventJson;
use super::error::{ApiError, Params};
use super::events::parse_filter;
use super::scan::off_runtime;
use crate::app::AppState;
use crate::tail::{Tail, TailItem};

#[derive(Debug, Default, Deserialize)]
pub struct TailParams {
    pub q: Option<String>,
    pub backlog: Option<String>,
}

/// Backlog when the client asks for none in particular.
const DEFAULT_BACKLOG: usize = 100;

pub async fn tail(
    State(state): State<Arc<AppState>>,
    Params(params): Params<TailParams>,
) -> Result<Response, ApiError> {
    let max = state.config.tail.max_backlog;
    let backlog = match params.backlog.as_deref().filter(|b| !b.is_empty()) {
        None => DEFAULT_BACKLOG.min(max),
        Some(text) => text.parse::<usize>().ok().filter(|n| *n <= max).ok_or_else(|| {
            ApiError::bad_request(format!(
                "invalid backlog {text:?}: expected a number from 0 to {max} (tail.max_backlog)"
            ))
            .because("invalid_param")
            .with_detail(json!({ "param": "backlog" }))
        })?,
    };
    let queue = state.config.tail.queue;
    // The query is compiled and the backlog scanned off the runtime, within query.timeout.
    let tail = off_runtime(&state, move |scan| {
        let (query, _) = parse_filter(params.q.as_deref(), None, None)?;
        let ingest = &scan.state().ingest;
        let expiry = Arc::new(ingest.retention.expiry(sift_core::Timestamp::now()));
        let interrupt = scan.interrupt().clone();
        Tail::open(&ingest.ring, &ingest.bus, Some(expiry), query, backlog, queue, interrupt)
            .map_err(|why| scan.stopped(why))
    })
    .await?;
    let stream = futures_util::stream::unfold(tail, |mut tail| async move {
        let item = tail.next().await?;
        Some((Ok::<_, Infallible>(to_sse(&item)), tail))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

fn to_sse(item: &TailItem) -> SseEvent {
    match item {
        TailItem::Event(event) => SseEvent::default()
            .event("event")
            .json_data(EventJson(event))
            .unwrap_or_else(|_| SseEvent::default().event("error").data("event could not be encoded")),
        TailItem::Ready => SseEvent::default().event("ready").data("{}"),
        TailItem::Dropped(n) => SseEvent::default().event("dropped").data(json!({ "dropped": n }).to_string()),
    }
}
