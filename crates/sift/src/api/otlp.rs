//! `POST /v1/logs`: OpenTelemetry logs over OTLP/HTTP, as the OTLP specification prescribes.
//!
//! - The body is an `ExportLogsServiceRequest`, `Content-Type: application/x-protobuf` or
//!   `application/json`, optionally `Content-Encoding: gzip`; any other type or encoding is
//!   answered 415.
//! - Success is 200 with an `ExportLogsServiceResponse` in the request's encoding. Records that
//!   cannot become events are counted and reported in its `partial_success` (how many, and
//!   why); the others are stored. Retrying would not help them, so this is still a success.
//! - Failures carry a `google.rpc.Status` in the request's encoding: 400 for a body that does
//!   not decode (not retryable), 413 over `http.max_body` (compressed or not), `http.max_items`
//!   or `http.max_decoded_bytes` (not retryable: the exporter must send less at once), 503 when
//!   the store cannot take the events or too many bodies are in flight (retryable: nothing was
//!   kept).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sift_core::otlp::{self, DecodeError, Format, code};
use sift_core::{Source, Timestamp};

use super::auth::Caller;
use super::body::{BodyError, Intake, decode};
use super::error::{ApiError, Rejected};
use crate::ingest::{Ingest, Report};
use crate::pipeline::Rejection;

/// At most this many rejected records are described in `partial_success.error_message`.
const MAX_DESCRIBED: usize = 5;

pub async fn post_logs(State(intake): State<Arc<Intake>>, caller: Caller, headers: HeaderMap, body: Body) -> Response {
    let format = match format(&headers) {
        Ok(format) => format,
        Err(error) => return error.into_response(),
    };
    let outcome = decode(&intake, &headers, body, move |ingest, limits, body| {
        let records = match otlp::decode(body, format, Timestamp::now(), limits) {
            Ok(records) => records,
            Err(DecodeError::Exceeded(exceeded)) => return Err(BodyError::Exceeded(exceeded)),
            Err(DecodeError::Malformed(error)) => {
                return Ok(Outcome::Malformed(Rejection::new(error.kind.as_str(), error.message)));
            }
        };
        let items = records
            .into_iter()
            .map(|record| record.map_err(|e| Rejection::new(e.kind.as_str(), e.message)).and_then(|e| caller.admit(e)));
        Ok(match ingest.submit(Source::Otlp, items) {
            Ok(report) => Outcome::Stored(report),
            Err(unavailable) => Outcome::Unavailable(unavailable),
        })
    })
    .await;
    match outcome {
        Ok(Outcome::Stored(report)) => {
            let total = report.accepted + report.rejected.len();
            let body = otlp::export_response(report.rejected.len(), &describe(&report, total), format);
            answer(StatusCode::OK, format, body)
        }
        Ok(Outcome::Malformed(rejection)) => invalid(intake.ingest(), format, &rejection),
        Ok(Outcome::Unavailable(unavailable)) => {
            let body = otlp::status(code::UNAVAILABLE, &unavailable.to_string(), format);
            let mut response = answer(StatusCode::SERVICE_UNAVAILABLE, format, body);
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(1u64));
            rejected(response, unavailable.reason().as_str())
        }
        Err(error @ BodyError::UnsupportedEncoding(_)) => ApiError::from(error).into_response(),
        Err(error) => refused(&intake, format, &error),
    }
}

enum Outcome {
    Stored(Report),
    Malformed(Rejection),
    Unavailable(crate::ingest::Unavailable),
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

/// A body refused before it was decoded, or for a limit of the whole request, counted and
/// answered with the OTLP status its kind maps to (413 is `RESOURCE_EXHAUSTED`, which
/// exporters do not retry; 503 is `UNAVAILABLE`, which they retry after `Retry-After`).
fn refused(intake: &Intake, format: Format, error: &BodyError) -> Response {
    let rejection = Rejection::new(error.reason(), error.to_string());
    if matches!(error.status(), StatusCode::BAD_REQUEST) {
        return invalid(intake.ingest(), format, &rejection);
    }
    intake.count_refused(Source::Otlp, error);
    let code = match error.status() {
        StatusCode::PAYLOAD_TOO_LARGE => code::RESOURCE_EXHAUSTED,
        StatusCode::SERVICE_UNAVAILABLE => code::UNAVAILABLE,
        _ => code::INTERNAL,
    };
    let mut response = answer(error.status(), format, otlp::status(code, &rejection.message, format));
    if let Some(seconds) = error.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    rejected(response, error.reason())
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
