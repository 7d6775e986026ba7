//! `GET /api/v1/tail`: a live tail as Server-Sent Events. Each event is `event: event` with
//! the event's JSON as data; one `event: ready` marks the end of the backlog; a reader that
//! falls behind gets `event: dropped` with `{"dropped": N}` and never slows ingest. When the
//! server stops, the stream ends with `event: shutdown`, so a stop never waits for a reader.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::buf::Writer;
use bytes::{BufMut, Bytes, BytesMut};
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
use crate::tail::{MATCH_BUDGET, Tail, TailItem};

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
    let stream = futures_util::stream::unfold(Some((tail, permit, BytesMut::new())), move |tail| {
        let shutdown = shutdown.clone();
        async move {
            let (mut tail, permit, mut buffer) = tail?;
            let first = tokio::select! {
                item = tail.next() => item,
                () = shutdown.stopping() => None,
                () = tokio::time::sleep(KEEP_ALIVE) => {
                    return Some((Ok(Bytes::from_static(b":\n\n")), Some((tail, permit, buffer))));
                }
            };
            let Some(first) = first else {
                return Some((Ok(Bytes::from_static(b"event: shutdown\ndata: {}\n\n")), None));
            };
            let chunk = chunk(&mut tail, &mut buffer, first);
            Some((Ok::<_, Infallible>(chunk), Some((tail, permit, buffer))))
        }
    });
    let headers = [(header::CONTENT_TYPE, "text/event-stream"), (header::CACHE_CONTROL, "no-cache")];
    Ok((headers, Body::from_stream(stream)).into_response())
}

/// How long a quiet stream waits before it sends a comment, so that proxies and clients
/// see the connection is alive.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Bytes of encoded items past which a chunk is sent rather than grown.
const CHUNK_BYTES: usize = 64 * 1024;

/// `first` and whatever else the tail has ready without waiting, encoded into one chunk of
/// at most about [`CHUNK_BYTES`] in the tail's own buffer: a tail of everything at full speed
/// then costs one write per chunk rather than one per event, and no allocation per chunk
/// once the buffer has grown.
fn chunk(tail: &mut Tail, buffer: &mut BytesMut, first: TailItem) -> Bytes {
    let mut out = buffer.writer();
    write_item(&mut out, &first);
    let mut budget = MATCH_BUDGET;
    while out.get_ref().len() < CHUNK_BYTES {
        match tail.ready(&mut budget) {
            Some(item) => write_item(&mut out, &item),
            None => break,
        }
    }
    buffer.split().freeze()
}

/// One item as a Server-Sent Event. Compact JSON never holds a line break (serde_json
/// escapes them), so an event's JSON is one `data:` line.
fn write_item(out: &mut Writer<&mut BytesMut>, item: &TailItem) {
    match item {
        TailItem::Event(event) => {
            let start = out.get_ref().len();
            out.get_mut().extend_from_slice(b"event: event\ndata: ");
            if serde_json::to_writer(&mut *out, &EventJson(event.get())).is_ok() {
                out.get_mut().extend_from_slice(b"\n\n");
            } else {
                out.get_mut().truncate(start);
                out.get_mut().extend_from_slice(b"event: error\ndata: event could not be encoded\n\n");
            }
        }
        TailItem::Ready => out.get_mut().extend_from_slice(b"event: ready\ndata: {}\n\n"),
        TailItem::Dropped(n) => {
            out.get_mut().extend_from_slice(format!("event: dropped\ndata: {{\"dropped\":{n}}}\n\n").as_bytes())
        }
    }
}
