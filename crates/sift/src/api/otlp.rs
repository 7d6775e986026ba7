//! `POST /v1/logs`: OpenTelemetry logs over OTLP/HTTP, as the OTLP specification prescribes.
//!
//! - The body is an `ExportLogsServiceRequest`, `Content-Type: application/x-protobuf` or
//!   `application/json`, optionally `Content-Encoding: gzip`; any other type or encoding is
//!   answered 415.
//! - Success is 200 with an `ExportLogsServiceResponse` in the request's encoding. Records that
//!   cannot become events are counted and reported in its `partial_success` (how many, and
//!   why); the others are stored. Retrying would not help them, so this is still a success.
//! - Failures carry a `google.rpc.Status` in the request's encoding: 400 for a body that does
//!   not decode (not retryable), 413 over `http.max_body` (compressed or not), 503 when the
//!   store cannot take the events (retryable: nothing was kept).

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sift_core::otlp::{self, Format, code};
use sift_core::{Source, Timestamp};

use super::Limits;
use super::auth::Caller;
use super::body::{gzipped, inflate, read_body};
use super::error::{ApiError, Rejected};
use crate::ingest::{Ingest, Report};
use crate::pipeline::Rejection;

/// At most this many rejected records are described in `partial_success.error_message`.
const MAX_DESCRIBED: usize = 5;

pub async fn post_logs(
    State(ingest): State<Arc<Ingest>>,
    State(limits): State<Arc<Limits>>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let format = match format(&headers) {
        Ok(format) => format,
        Err(error) => return error.into_response(),
    };
    let gzip = match gzipped(&headers) {
        Ok(gzip) => gzip,
        Err(error) => return error.into_response(),
    };
    let max_body = limits.max_body;
    let body = match read_body(&headers, body, max_body).await {
        Ok(body) => body,
        Err(error) if error.status == StatusCode::PAYLOAD_TOO_LARGE => return too_large(&ingest, format, error.error),
        Err(error) => return invalid(&ingest, format, &Rejection::new(error.reason, error.error)),
    };
    let worker = Arc::clone(&ingest);
    let outcome =
        tokio::task::spawn_blocking(move || decode_and_submit(&worker, &caller, body, gzip, format, max_body)).await;
    match outcome {
        Ok(Outcome::Stored(report)) => {
            let total = report.accepted + report.rejected.len();
            let body = otlp::export_response(report.rejected.len(), &describe(&report, total), format);
            answer(StatusCode::OK, format, body)
        }
        Ok(Outcome::Malformed(rejection)) => invalid(&ingest, format, &rejection),
        Ok(Outcome::TooLarge(message)) => too_large(&ingest, format, message),
        Ok(Outcome::Unavailable(unavailable)) => {
            let body = otlp::status(code::UNAVAILABLE, &unavailable.to_string(), format);
            rejected(answer(StatusCode::SERVICE_UNAVAILABLE, format, body), unavailable.reason().as_str())
        }
        Err(error) => ApiError::internal(error).into_response(),
    }
}

enum Outcome {
    Stored(Report),
    Malformed(Rejection),
    TooLarge(String),
    Unavailable(crate::ingest::Unavailable),
}

/// Decompresses, decodes and submits a body: the CPU-bound part, off the async workers.
fn decode_and_submit(
    ingest: &Ingest,
    caller: &Caller,
    body: Bytes,
    gzip: bool,
    format: Format,
    max_body: usize,
) -> Outcome {
    let body = match inflate(body, gzip, max_body) {
        Ok(body) => body,
        Err(error) if error.status == StatusCode::PAYLOAD_TOO_LARGE => return Outcome::TooLarge(error.error),
        Err(error) => return Outcome::Malformed(Rejection::new(error.reason, error.error)),
    };
    let records = match otlp::decode(&body, format, Timestamp::now()) {
        Ok(records) => records,
        Err(error) => return Outcome::Malformed(Rejection::new(error.kind.as_str(), error.message)),
    };
    let items = records
        .into_iter()
        .map(|record| record.map_err(|e| Rejection::new(e.kind.as_str(), e.message)).and_then(|e| caller.admit(e)));
    match ingest.submit(Source::Otlp, items) {
        Ok(report) => Outcome::Stored(report),
        Err(unavailable) => Outcome::Unavailable(unavailable),
    }
}

/// The encoding `Content-Type` names, or 415.
fn format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Format::Protobuf),
        "application/json" => Ok(Format::Json),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "unsupported Content-Type {content_type:?}: OTLP/HTTP takes application/x-protobuf or application/json"
            ),
        )
        .because("unsupported_media_type")
        .with_detail(json!({ "content_type": content_type }))),
    }
}

/// 400 with `INVALID_ARGUMENT`, counted: a request that cannot be read or decoded.
fn invalid(ingest: &Ingest, format: Format, rejection: &Rejection) -> Response {
    ingest.reject_whole(Source::Otlp, rejection);
    let body = otlp::status(code::INVALID_ARGUMENT, &rejection.message, format);
    rejected(answer(StatusCode::BAD_REQUEST, format, body), rejection.reason)
}

fn too_large(ingest: &Ingest, format: Format, message: String) -> Response {
    ingest.reject_whole(Source::Otlp, &Rejection::new("body_too_large", message.clone()));
    let body = otlp::status(code::RESOURCE_EXHAUSTED, &message, format);
    rejected(answer(StatusCode::PAYLOAD_TOO_LARGE, format, body), "body_too_large")
}

/// `partial_success.error_message`: how many were rejected and why, for the first few.
fn describe(report: &Report, total: usize) -> String {
    if report.rejected.is_empty() {
        return String::new();
    }
    let mut message = format!("{} of {total} log records rejected", report.rejected.len());
    for (index, rejection) in report.rejected.iter().take(MAX_DESCRIBED) {
        message.push_str(&format!("; record {index}: {rejection}"));
    }
    if report.rejected.len() > MAX_DESCRIBED {
        message.push_str("; ...");
    }
    message
}

fn answer(status: StatusCode, format: Format, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()))], body).into_response()
}

/// Marks a failure answer for the counters of rejected requests, as `ApiError` does.
fn rejected(mut response: Response, reason: &'static str) -> Response {
    response.extensions_mut().insert(Rejected { reason });
    response
}
