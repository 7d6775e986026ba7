//! `POST /api/v1/events` (JSON ingest), `GET /api/v1/events` (search) and
//! `GET /api/v1/count`.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sift_core::query::{ParseError, Query};
use sift_core::{Source, Timestamp};
use sift_store::{Cursor, TimeRange};

use super::auth::Caller;
use super::body::{BodyError, Intake, decode};
use super::dto::EventsJson;
use super::error::{ApiError, Params};
use super::scan::{Queries, off_runtime};
use crate::pipeline::Rejection;

/// At most this many per-item errors are listed in an ingest answer; the counts are exact.
const MAX_LISTED_ERRORS: usize = 1000;
/// Default and largest page sizes of a search.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 10_000;

pub async fn post_events(
    State(intake): State<Arc<Intake>>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let ndjson = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("ndjson") || ct.contains("jsonl") || ct.contains("json-seq"));
    let submitted = decode(&intake, &headers, body, move |ingest, limits, body| {
        let decoded =
            sift_core::json::decode_body(body, ndjson, Timestamp::now(), limits).map_err(BodyError::Exceeded)?;
        let items = decoded
            .items
            .into_iter()
            .map(|item| item.map_err(|e| Rejection::new(e.kind.as_str(), e.message)).and_then(|e| caller.admit(e)));
        Ok(ingest.submit(Source::HttpJson, items))
    })
    .await;
    let report = match submitted {
        Ok(Ok(report)) => report,
        Ok(Err(unavailable)) => return ApiError::from(unavailable).into_response(),
        Err(error) => {
            intake.count_refused(Source::HttpJson, &error);
            return ApiError::from(error).into_response();
        }
    };
    let status = if report.accepted > 0 { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let errors: Vec<_> = report
        .rejected
        .iter()
        .take(MAX_LISTED_ERRORS)
        .map(|(index, rejection)| json!({ "index": index, "reason": rejection.reason, "error": rejection.message }))
        .collect();
    let answer = json!({ "accepted": report.accepted, "rejected": report.rejected.len(), "errors": errors });
    (status, Json(answer)).into_response()
}

#[derive(Serialize)]
struct Page<'a> {
    events: EventsJson<'a>,
    next_cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchParams {
    pub q: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// The query and time range of a request, or a 400 naming the parameter and the problem.
/// Compiling a query can take milliseconds: call this off the runtime ([`off_runtime`]).
pub fn parse_filter(q: Option<&str>, since: Option<&str>, until: Option<&str>) -> Result<(Query, TimeRange), ApiError> {
    let now = Timestamp::now();
    let query = Query::parse_at(q.unwrap_or(""), now).map_err(|e| invalid_query(&e))?;
    Ok((query, parse_range(since, until, now)?))
}

/// A query (the `q` parameter) that does not parse: 400 with the position, what was expected
/// and found, and, for a query over what one query may compile, the limit (`query_terms`, ...),
/// counted as `query_too_large` instead of `invalid_query`.
pub fn invalid_query(e: &ParseError) -> ApiError {
    let detail = json!({ "param": "q", "position": e.position, "expected": e.expected, "found": e.found });
    let error = ApiError::bad_request(format!("invalid query: {e}"));
    match e.limit {
        None => error.because("invalid_query").with_detail(detail),
        Some(limit) => {
            let mut detail = detail;
            detail["limit"] = json!(limit.as_str());
            error.because("query_too_large").with_detail(detail)
        }
    }
}

/// `since` and `until` (RFC 3339 or an age such as `15m`), or a 400 naming the bad one.
pub fn parse_range(since: Option<&str>, until: Option<&str>, now: Timestamp) -> Result<TimeRange, ApiError> {
    let point = |name: &str, value: Option<&str>| {
        value.filter(|v| !v.is_empty()).map(|v| Timestamp::parse_point(v, now)).transpose().map_err(|e| {
            ApiError::bad_request(format!("invalid {name}: {e}"))
                .because("invalid_param")
                .with_detail(json!({ "param": name }))
        })
    };
    Ok(TimeRange { since: point("since", since)?, until: point("until", until)? })
}

pub async fn get_events(
    State(queries): State<Arc<Queries>>,
    caller: Caller,
    Params(params): Params<SearchParams>,
) -> Result<Response, ApiError> {
    let limit = match params.limit.as_deref().filter(|l| !l.is_empty()) {
        None => DEFAULT_LIMIT,
        Some(text) => text.parse::<usize>().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
            ApiError::bad_request(format!("invalid limit {text:?}: expected a number from 1 to {MAX_LIMIT}"))
                .because("invalid_param")
                .with_detail(json!({ "param": "limit" }))
        })?,
    };
    let before = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => Some(text.parse::<Cursor>().map_err(|e| {
            ApiError::bad_request(e.to_string()).because("invalid_param").with_detail(json!({ "param": "cursor" }))
        })?),
    };
    let body = off_runtime(&queries, move |scan| {
        let (query, range) = parse_filter(params.q.as_deref(), params.since.as_deref(), params.until.as_deref())?;
        let query = caller.restrict(&query);
        let events = scan.view().search(&query, range, before, limit).map_err(|e| scan.failed(e))?;
        let next_cursor = (events.len() == limit).then(|| events.last().map(|e| Cursor::of(e).to_string())).flatten();
        serde_json::to_vec(&Page { events: EventsJson(&events), next_cursor }).map_err(ApiError::internal)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct CountParams {
    pub q: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

pub async fn count(
    State(queries): State<Arc<Queries>>,
    caller: Caller,
    Params(params): Params<CountParams>,
) -> Result<Response, ApiError> {
    let count = off_runtime(&queries, move |scan| {
        let (query, range) = parse_filter(params.q.as_deref(), params.since.as_deref(), params.until.as_deref())?;
        let query = caller.restrict(&query);
        scan.view().count(&query, range).map_err(|e| scan.failed(e))
    })
    .await?;
    Ok(Json(json!({ "count": count })).into_response())
}
