//! Ingest request bodies (`POST /api/v1/events`, `/logs`, `/v1/logs`), from the socket to the
//! decoder, within the bounds that keep a request's memory a small multiple of its body and
//! the server's bounded whatever many clients send (DESIGN.md section 1, principle 4):
//!
//! - a body is at most `http.max_body` bytes, as sent and once gunzipped (413);
//! - the bodies held at once, all requests together, are at most `http.max_inflight_bytes`:
//!   each chunk is counted before it is buffered, and a request that finds no room within
//!   [`ADMISSION_WAIT`] is answered 503 with `Retry-After`;
//! - the events being decoded and stored, all requests together, are at most
//!   `http.max_decoding_bytes`: a request reserves what its body may decode to (up to its
//!   `http.max_decoded_bytes`) before it decodes, waiting for room as a body does;
//! - at most `http.max_decodes` bodies are inflated, decoded and stored at once (a request
//!   waits for its turn holding only its body), each within the request's [`Limits`] (413).
//!
//! A body refused before it was read to its end is read on and discarded, up to a bound in
//! time and bytes (as nginx's lingering close does), so that a client that sends its whole
//! body before it reads the answer (Python's `urllib`) reads the answer instead of a reset.
//!
//! Reading is async; inflating and decoding are CPU work, done off the runtime's workers.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::json;
use sift_core::{Exceeded, Limits, Source};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::error::ApiError;
use crate::config::Config;
use crate::ingest::Ingest;
use crate::observe::{DropReason, IntakeFigures};
use crate::pipeline::Rejection;

/// How long, in all, a request may wait for room among the bodies in flight before it is
/// answered 503.
pub const ADMISSION_WAIT: Duration = Duration::from_secs(5);
/// The `Retry-After` of that 503, in seconds.
const RETRY_AFTER: u64 = 1;
/// How long a refused body is read on and discarded before the connection is closed.
const LINGER_TIME: Duration = Duration::from_secs(10);
/// The least of a refused body that is read on and discarded (or four times `http.max_body`).
const LINGER_BYTES: usize = 64 << 20;
/// What one byte of body may decode to at most, as the budget counts it: a JSON array of
/// `{"type":"a"}` (13 bytes an item) decodes to about 400 bytes an item.
const DECODED_PER_BODY_BYTE: usize = 40;
/// The first room a body is given, doubled as it grows: a client holds at most about twice
/// what it has sent, whatever length it declares.
const FIRST_ROOM: usize = 64 << 10;

/// HTTP ingest's way in: the ingest path, the bounds of one request, and what all requests
/// hold at once (the bytes of request bodies, and the decodes running).
pub struct Intake {
    ingest: Arc<Ingest>,
    /// `http.max_body`.
    max_body: usize,
    /// What one decoded request may hold.
    limits: Limits,
    bytes: Arc<Semaphore>,
    max_bytes: usize,
    /// Bytes of events being decoded and stored, reserved before decoding.
    decoding: Arc<Semaphore>,
    max_decoding: usize,
    decodes: Arc<Semaphore>,
    max_decodes: usize,
}

impl Intake {
    /// Room for `http.max_inflight_bytes` of bodies, and `http.max_decodes` decodes.
    pub fn new(ingest: Arc<Ingest>, config: &Config) -> Intake {
        let max_bytes = config.http.max_inflight_bytes.min(Semaphore::MAX_PERMITS);
        let max_decoding = config.http.max_decoding_bytes.min(Semaphore::MAX_PERMITS).min(u32::MAX as usize);
        let max_decodes = config.http.max_decodes;
        Intake {
            ingest,
            max_body: config.http.max_body,
            limits: limits(config),
            bytes: Arc::new(Semaphore::new(max_bytes)),
            max_bytes,
            decoding: Arc::new(Semaphore::new(max_decoding)),
            max_decoding,
            decodes: Arc::new(Semaphore::new(max_decodes)),
            max_decodes,
        }
    }

    /// What is held now, against the bounds.
    pub fn figures(&self) -> IntakeFigures {
        IntakeFigures {
            inflight_bytes: self.inflight_bytes(),
            max_inflight_bytes: self.max_bytes,
            decodes: self.decodes(),
            max_decodes: self.max_decodes,
            decoding_bytes: self.max_decoding - self.decoding.available_permits(),
            max_decoding_bytes: self.max_decoding,
        }
    }

    /// Bytes of bodies held now.
    pub fn inflight_bytes(&self) -> usize {
        self.max_bytes - self.bytes.available_permits()
    }

    /// The most bytes of bodies held at once.
    pub fn max_inflight_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Decodes running now.
    pub fn decodes(&self) -> usize {
        self.max_decodes - self.decodes.available_permits()
    }

    /// The most decodes run at once.
    pub fn max_decodes(&self) -> usize {
        self.max_decodes
    }
}

/// A request body in memory, holding its share of `http.max_inflight_bytes` until dropped.
#[derive(Debug)]
pub struct Held {
    bytes: Bytes,
    gzipped: bool,
    _room: Option<OwnedSemaphorePermit>,
}

/// Why a body was not decoded: each kind is answered with its status, counted under its reason.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body is over the limit of {max} bytes (http.max_body){}", if *.decompressed { " once decompressed" } else { "" })]
    TooLarge { max: usize, decompressed: bool },
    #[error("the request body could not be read: {0}")]
    Unreadable(String),
    #[error("the body says Content-Encoding: gzip but does not gunzip: {0}")]
    BadGzip(String),
    #[error("Content-Encoding {0:?} is not supported; send the body as is or with gzip")]
    UnsupportedEncoding(String),
    #[error(
        "sift holds as many request bodies as it may (http.max_inflight_bytes, {max} bytes) and found no room \
         for this one within {} s; retry shortly",
        ADMISSION_WAIT.as_secs()
    )]
    Busy { limit: &'static str, max: usize },
    #[error("{0}")]
    Exceeded(Exceeded),
    #[error("internal error")]
    Internal,
}

impl BodyError {
    /// The counter label.
    pub fn reason(&self) -> &'static str {
        match self {
            BodyError::TooLarge { .. } => "body_too_large",
            BodyError::Unreadable(_) => "body_unreadable",
            BodyError::BadGzip(_) => "bad_gzip",
            BodyError::UnsupportedEncoding(_) => "unsupported_encoding",
            BodyError::Busy { .. } => "busy",
            BodyError::Exceeded(exceeded) => exceeded.as_str(),
            BodyError::Internal => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge { .. } | BodyError::Exceeded(_) => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Unreadable(_) | BodyError::BadGzip(_) => StatusCode::BAD_REQUEST,
            BodyError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            BodyError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            BodyError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Seconds after which a retry may succeed, for a refusal that is not the request's fault.
    pub fn retry_after(&self) -> Option<u64> {
        matches!(self, BodyError::Busy { .. }).then_some(RETRY_AFTER)
    }

    /// The limit this request went over: its configuration key and value.
    fn limit(&self) -> Option<(&'static str, usize)> {
        match self {
            BodyError::TooLarge { max, .. } => Some(("http.max_body", *max)),
            BodyError::Busy { limit, max } => Some((limit, *max)),
            BodyError::Exceeded(exceeded) => Some((exceeded.key(), exceeded.limit())),
            _ => None,
        }
    }
}

impl From<BodyError> for ApiError {
    fn from(error: BodyError) -> ApiError {
        let mut api = ApiError::new(error.status(), error.to_string()).because(error.reason());
        if let Some((key, max)) = error.limit() {
            api = api.with_detail(json!({ "reason": error.reason(), "limit": key, "max": max }));
        }
        if let Some(seconds) = error.retry_after() {
            api = api.with_retry_after(seconds);
        }
        api
    }
}

impl Intake {
    /// The ingest path requests are decoded into.
    pub fn ingest(&self) -> &Arc<Ingest> {
        &self.ingest
    }

    /// Counts a refused body against its protocol, by reason: as malformed when it was the
    /// client's fault, as dropped when sift had no room for it; a failure of sift's own is left
    /// to the log.
    pub fn count_refused(&self, source: Source, error: &BodyError) {
        match error {
            BodyError::Internal => {}
            BodyError::Busy { .. } => self.ingest.reject_dropped(source, DropReason::Busy, 1),
            _ => self.ingest.reject_whole(source, &Rejection::new(error.reason(), error.to_string())),
        }
    }
}

/// The limits of a decoded request, from the configuration.
fn limits(config: &Config) -> Limits {
    Limits::new(
        config.http.max_items,
        config.pipeline.max_message_bytes,
        config.pipeline.max_field_bytes,
        config.http.max_decoded_bytes,
    )
}

/// Reads an ingest body within the intake's bounds, then, once a decode may start, inflates it
/// and runs `work` on it off the runtime, holding the body's room and the decode's turn
/// until `work` returns.
pub async fn decode<T: Send + 'static>(
    intake: &Arc<Intake>,
    headers: &HeaderMap,
    body: Body,
    work: impl FnOnce(&Ingest, &Limits, &[u8]) -> Result<T, BodyError> + Send + 'static,
) -> Result<T, BodyError> {
    let max = intake.max_body;
    let held = read(intake, headers, body, max).await?;
    // Room for what the body may decode to, among the events all requests are decoding: at
    // most its budget, and for a small body what even the tiniest items would make of it.
    let may_decode = if held.gzipped { max } else { held.bytes.len() };
    let reserved = may_decode.saturating_mul(DECODED_PER_BODY_BYTE).min(intake.limits.max_decoded_bytes).max(1);
    let mut waited = Duration::ZERO;
    let Some(decoding) = take_room(&intake.decoding, reserved, &mut waited).await else {
        return Err(BodyError::Busy { limit: "http.max_decoding_bytes", max: intake.max_decoding });
    };
    // The queue is fair and each decode is bounded, so the wait is too; meanwhile only the
    // body and its room are held.
    let turn = Arc::clone(&intake.decodes).acquire_owned().await.map_err(|_| BodyError::Internal)?;
    let worker = Arc::clone(intake);
    tokio::task::spawn_blocking(move || {
        let (_turn, _decoding) = (turn, decoding);
        let body = inflate(&held, max)?;
        work(&worker.ingest, &worker.limits, &body)
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, "a decode task failed");
        BodyError::Internal
    })?
}

/// Reads a body: at most `max` bytes, each chunk counted against `http.max_inflight_bytes`
/// before it is buffered. A body refused before its end is read on and discarded (module docs).
pub async fn read(intake: &Intake, headers: &HeaderMap, body: Body, max: usize) -> Result<Held, BodyError> {
    let gzipped = gzipped(headers)?;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let mut body = body;
    if declared.is_some_and(|len| len > max as u64) {
        // A client waiting for `100 Continue` sends nothing more once answered: hyper sends
        // the 100 only when the body is first read, so this one was never asked for its body.
        if !expects_continue(headers) {
            linger(&mut body, max).await;
        }
        return Err(BodyError::TooLarge { max, decompressed: false });
    }
    let bound = declared.map_or(max, |len| len as usize);
    let mut buffer: Vec<u8> = Vec::new();
    let mut room: Option<OwnedSemaphorePermit> = None;
    let mut waited = Duration::ZERO;
    loop {
        let chunk = match body.frame().await {
            None => break,
            Some(Err(error)) => return Err(BodyError::Unreadable(error.to_string())),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(chunk) => chunk,
                Err(_) => continue,
            },
        };
        let needed = buffer.len() + chunk.len();
        if needed > max {
            linger(&mut body, max).await;
            return Err(BodyError::TooLarge { max, decompressed: false });
        }
        if needed > buffer.capacity() {
            let held = room.as_ref().map_or(0, OwnedSemaphorePermit::num_permits);
            let wanted = needed.max(held.saturating_mul(2).clamp(FIRST_ROOM, bound.max(FIRST_ROOM))).min(max);
            let more = match make_room(intake, wanted.saturating_sub(held), &mut waited).await {
                Some(more) => more,
                None => {
                    drop(room);
                    linger(&mut body, max).await;
                    return Err(BodyError::Busy { limit: "http.max_inflight_bytes", max: intake.max_bytes });
                }
            };
            match &mut room {
                Some(room) => room.merge(more),
                None => room = Some(more),
            }
            buffer.reserve_exact(wanted - buffer.len());
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(Held { bytes: Bytes::from(buffer), gzipped, _room: room })
}

/// `bytes` more of room among the bodies in flight, waiting for it at most what is left of
/// [`ADMISSION_WAIT`] after `waited`.
async fn make_room(intake: &Intake, bytes: usize, waited: &mut Duration) -> Option<OwnedSemaphorePermit> {
    take_room(&intake.bytes, bytes, waited).await
}

/// `bytes` of room in `pool`, waiting for it at most what is left of [`ADMISSION_WAIT`] after
/// `waited`.
async fn take_room(pool: &Arc<Semaphore>, bytes: usize, waited: &mut Duration) -> Option<OwnedSemaphorePermit> {
    let bytes = u32::try_from(bytes).ok()?;
    if let Ok(permit) = Arc::clone(pool).try_acquire_many_owned(bytes) {
        return Some(permit);
    }
    let started = Instant::now();
    let left = ADMISSION_WAIT.checked_sub(*waited)?;
    let acquired = tokio::time::timeout(left, Arc::clone(pool).acquire_many_owned(bytes)).await;
    *waited += started.elapsed();
    acquired.ok()?.ok()
}

fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"))
}

/// Reads the rest of a refused body and discards it, for at most [`LINGER_TIME`] and
/// [`LINGER_BYTES`] (or four times `max`), so that the client reads the answer.
async fn linger(body: &mut Body, max: usize) {
    let bound = LINGER_BYTES.max(max.saturating_mul(4));
    let mut read = 0usize;
    let drain = async {
        while read <= bound {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, Bytes::len),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, drain).await;
}

/// Whether `Content-Encoding` says gzip; an encoding other than gzip or none is 415.
pub fn gzipped(headers: &HeaderMap) -> Result<bool, BodyError> {
    let Some(encoding) = headers.get(header::CONTENT_ENCODING) else { return Ok(false) };
    let encoding = encoding.to_str().unwrap_or("?").trim().to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => Ok(false),
        "gzip" | "x-gzip" => Ok(true),
        _ => Err(BodyError::UnsupportedEncoding(encoding)),
    }
}

/// The body decompressed when it is gzipped, bounded by `max` once decompressed. CPU-bound:
/// call it off the async runtime's workers.
fn inflate(held: &Held, max: usize) -> Result<Bytes, BodyError> {
    if !held.gzipped {
        return Ok(held.bytes.clone());
    }
    let compressed = &held.bytes[..];
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).min(max));
    // One byte more than the limit tells a body at the limit from one over it.
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed).take(max as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|error| BodyError::BadGzip(error.to_string()))?;
    if out.len() > max {
        return Err(BodyError::TooLarge { max, decompressed: true });
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An intake of `max_inflight_bytes` over a memory-only ingest path.
    fn intake(max_inflight_bytes: usize) -> Intake {
        let mut config = Config::default();
        config.storage.memory_only = true;
        config.http.max_inflight_bytes = max_inflight_bytes;
        let rules = std::sync::Arc::new(crate::pipeline::rules::RuleSet::default());
        let ingest = Ingest::new(&config, None, Vec::new(), rules, Default::default(), Default::default());
        Intake::new(Arc::new(ingest), &config)
    }

    fn request(chunks: &[&'static [u8]]) -> Body {
        let chunks: Vec<Result<Bytes, std::io::Error>> = chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
        Body::from_stream(futures_util::stream::iter(chunks))
    }

    #[tokio::test]
    async fn a_body_holds_its_room_until_dropped() {
        let intake = intake(1 << 20);
        let held = read(&intake, &HeaderMap::new(), request(&[b"ab", b"cd"]), 100).await.unwrap();
        assert_eq!(&held.bytes[..], b"abcd");
        assert_eq!(intake.inflight_bytes(), 100, "the first room, bounded by the body's limit");
        drop(held);
        assert_eq!(intake.inflight_bytes(), 0);
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused() {
        let intake = intake(1 << 20);
        let refused = read(&intake, &HeaderMap::new(), request(&[b"abc", b"def"]), 5).await;
        assert!(matches!(refused, Err(BodyError::TooLarge { max: 5, decompressed: false })), "{refused:?}");
        assert_eq!(intake.inflight_bytes(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_finds_no_room_is_refused_after_a_wait() {
        let intake = intake(FIRST_ROOM);
        let first = read(&intake, &HeaderMap::new(), request(&[b"a"]), 1 << 20).await.unwrap();
        let second = read(&intake, &HeaderMap::new(), request(&[b"b"]), 1 << 20).await;
        assert!(matches!(second, Err(BodyError::Busy { max: FIRST_ROOM, .. })), "{second:?}");
        drop(first);
        assert!(read(&intake, &HeaderMap::new(), request(&[b"b"]), 1 << 20).await.is_ok());
    }

    #[tokio::test]
    async fn room_grows_with_what_was_sent_not_with_what_was_declared() {
        let intake = intake(64 << 20);
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, (16 << 20).into());
        let chunk: &'static [u8] = Box::leak(vec![b'x'; 40 << 10].into_boxed_slice());
        let held = read(&intake, &headers, request(&[chunk, chunk, chunk]), 16 << 20).await.unwrap();
        assert_eq!(held.bytes.len(), 120 << 10);
        assert_eq!(intake.inflight_bytes(), 128 << 10);
    }
}
