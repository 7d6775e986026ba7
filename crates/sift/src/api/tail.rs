//! `GET /api/v1/tail`: a live tail as Server-Sent Events. Each event is `event: event` with
//! the event's JSON as data; one `event: ready` marks the end of the backlog; a reader that
//! falls behind gets `event: dropped` with `{"dropped": N}` and never slows ingest. When the
//! server stops, the stream ends with `event: shutdown`, so a stop never waits for a reader.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::Limits;
use super::auth::Caller;
use super::dto::EventJson;
use super::error::{ApiError, Params};
use super::events::parse_filter;
use super::scan::{Queries, off_runtime};
use crate::app::Shutdown;
use crate::ingest::OpenTailError;
use crate::tail::TailItem;

#[derive(Debug, Default, Deserialize)]
pub struct TailParams {
    pub q: Option<String>,
    pub backlog: Option<String>,
}

/// Backlog when the client asks for none in particular.
const DEFAULT_BACKLOG: usize = 100;

pub async fn tail(
    State(queries): State<Arc<Queries>>,
    State(limits): State<Arc<Limits>>,
    State(shutdown): State<Shutdown>,
    caller: Caller,
    Params(params): Params<TailParams>,
) -> Result<Response, ApiError> {
    let max = limits.tail.max_backlog;
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
    // The query is compiled and the backlog scanned off the runtime, within query.timeout.
    let (tail, permit) = off_runtime(&queries, move |scan| {
        let (query, _) = parse_filter(params.q.as_deref(), None, None)?;
        let query = caller.restrict(&query);
        scan.ingest().open_tail(query, backlog, scan.interrupt().clone()).map_err(|error| match error {
            OpenTailError::TooMany(max) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{max} live tails are open already (tail.max_clients): try again once one ends"),
            )
            .because("too_many_tails")
            .with_detail(json!({ "limit": "tail.max_clients", "max": max })),
            OpenTailError::Interrupted(why) => scan.stopped(why),
        })
    })
    .await?;
    // Ends after `event: shutdown` once the server stops (the `Option` is the tail while it runs).
    // The permit goes with the tail, so the tail counts against tail.max_clients until it ends.
    let stream = futures_util::stream::unfold(Some((tail, permit)), move |tail| {
        let shutdown = shutdown.clone();
        async move {
            let (mut tail, permit) = tail?;
            let item = tokio::select! {
                item = tail.next() => item,
                () = shutdown.stopping() => None,
            };
            match item {
                Some(item) => Some((Ok::<_, Infallible>(to_sse(&item)), Some((tail, permit)))),
                None => Some((Ok(SseEvent::default().event("shutdown").data("{}")), None)),
            }
        }
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
