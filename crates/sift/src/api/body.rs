//! Reading request bodies for ingest: bounded by `http.max_body`, and gunzipped when the
//! client says `Content-Encoding: gzip` (Logplex and OTLP exporters do), with the same bound
//! on the decompressed size so a small bomb cannot fill memory. Reading is async; inflating
//! is CPU work, done where the handler decodes, off the runtime's workers.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sift_core::Source;

use super::error::ApiError;
use crate::ingest::Ingest;
use crate::pipeline::Rejection;

/// The body as sent, or 413 over the limit (`body_too_large`) and 400 for a body cut short.
pub async fn read_body(headers: &HeaderMap, body: Body, max: usize) -> Result<Bytes, ApiError> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max as u64) {
        return Err(too_large(max));
    }
    axum::body::to_bytes(body, max).await.map_err(|error| {
        if is_length_limit(&error) {
            too_large(max)
        } else {
            ApiError::bad_request(format!("the request body could not be read: {error}")).because("body_unreadable")
        }
    })
}

/// An ingest body as sent, with whether it is gzipped; a body refused (too large, cut
/// short, an unknown encoding) is counted against `source` and answered.
pub async fn read_ingest_body(
    ingest: &Ingest,
    max_body: usize,
    source: Source,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Bytes, bool), Response> {
    let read = match gzipped(headers) {
        Ok(gzipped) => read_body(headers, body, max_body).await.map(|body| (body, gzipped)),
        Err(error) => Err(error),
    };
    read.map_err(|error| {
        ingest.reject_whole(source, &Rejection::new(error.reason, error.error.clone()));
        error.into_response()
    })
}

/// Whether `Content-Encoding` says gzip; an encoding other than gzip or none is 415.
pub fn gzipped(headers: &HeaderMap) -> Result<bool, ApiError> {
    let Some(encoding) = headers.get(header::CONTENT_ENCODING) else { return Ok(false) };
    let encoding = encoding.to_str().unwrap_or("?").trim().to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => Ok(false),
        "gzip" | "x-gzip" => Ok(true),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Encoding {encoding:?} is not supported; send the body as is or with gzip"),
        )
        .because("unsupported_encoding")),
    }
}

/// The body decompressed when it is gzipped, bounded by `max` once decompressed (413), or
/// 400 when it does not gunzip. CPU-bound: call it off the async runtime's workers.
pub fn inflate(body: Bytes, gzipped: bool, max: usize) -> Result<Bytes, ApiError> {
    if gzipped { gunzip(&body, max) } else { Ok(body) }
}

fn gunzip(compressed: &[u8], max: usize) -> Result<Bytes, ApiError> {
    let mut out = Vec::with_capacity(compressed.len().saturating_mul(4).min(max));
    // One byte more than the limit tells a body at the limit from one over it.
    let mut decoder = flate2::read::MultiGzDecoder::new(compressed).take(max as u64 + 1);
    decoder.read_to_end(&mut out).map_err(|error| {
        ApiError::bad_request(format!("the body says Content-Encoding: gzip but does not gunzip: {error}"))
            .because("bad_gzip")
    })?;
    if out.len() > max {
        let mut error = too_large(max);
        error.error.push_str(" once decompressed");
        return Err(error);
    }
    Ok(Bytes::from(out))
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body is over the limit of {max} bytes (http.max_body)"),
    )
    .with_detail(json!({ "limit": max }))
}

fn is_length_limit(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
}
