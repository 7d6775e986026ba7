//! `GET /api/v1/query` (a filter with pipes, answered as a table) and its thin forms for the
//! dashboard: `GET /api/v1/histogram` (counts per time step by severity) and
//! `GET /api/v1/facets` (the most frequent values of one field). Each compiles its query, scans
//! and makes its table off the runtime ([`off_runtime`]).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sift_core::Timestamp;
use sift_core::query::{MAX_BUCKETS, PipedQuery, Run, Table};
use sift_core::time::{format_duration_micros, parse_duration_micros};
use sift_store::TimeRange;

use super::auth::Caller;
use super::error::{ApiError, Params};
use super::events::{invalid_query, parse_range};
use super::scan::{Queries, Scan, off_runtime};

#[derive(Debug, Default, Deserialize)]
pub struct QueryParams {
    pub q: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

pub async fn query(
    State(queries): State<Arc<Queries>>,
    caller: Caller,
    Params(params): Params<QueryParams>,
) -> Result<Json<Value>, ApiError> {
    let now = Timestamp::now();
    let table = off_runtime(&queries, move |scan| {
        let text = params.q.unwrap_or_default();
        let piped = PipedQuery::parse_at(&text, now).map_err(|e| invalid_query(&e))?;
        let range = parse_range(params.since.as_deref(), params.until.as_deref(), now)?;
        run(scan, &caller.restrict_piped(piped), range, now, "q")
    })
    .await?;
    Ok(Json(json!({ "columns": table.columns, "rows": table.rows, "notes": table.notes })))
}

/// Runs a piped query over the stored events on both cores, and makes its table; call it off
/// the runtime. With a start, a `timechart` lists every bucket of the range (to `now` without
/// an end), so a chart of the last hour has a bar for each step of it; a range of more buckets
/// than a timechart may list is refused before the scan, as the fault of `param`.
fn run(scan: &Scan, piped: &PipedQuery, range: TimeRange, now: Timestamp, param: &str) -> Result<Table, ApiError> {
    let span = range.since.map(|since| (since, range.until.unwrap_or(now)));
    if let Some((since, until)) = span {
        piped.check_range(since, until).map_err(|e| {
            ApiError::bad_request(format!("invalid {param}: {e}")).because("too_many_buckets").with_detail(json!({
                "param": param,
                "limit": "timechart buckets",
                "max": MAX_BUCKETS,
                "buckets": e.buckets.to_string(),
                "step": e.step,
            }))
        })?;
    }
    let merge = |mut a: Run, b: Run| {
        a.merge(b);
        a
    };
    let view = scan.view();
    let folded = match piped.tally() {
        // Counting only: segments are counted by column.
        Some(tally) => view.tally(piped.filter(), tally, range, || piped.start(), |run, e, n| run.add_n(e, n), merge),
        None => view.fold(piped.filter(), piped.fields(), range, || piped.start(), |run, e| run.add(e), merge),
    };
    let folded = folded.map_err(|e| scan.failed(e))?;
    Ok(match span {
        Some((since, until)) => folded.finish_over(since, until),
        None => folded.finish(),
    })
}

/// A query built from a user's filter and a stage this route adds; an error past the filter
/// is the other parameter's fault. Compiles the filter: call it off the runtime.
fn piped(filter: &str, stage: &str, param: &'static str, now: Timestamp) -> Result<PipedQuery, ApiError> {
    if filter.contains('|') {
        // A pipe inside quotes is a literal, so only reject what the parser reads as one.
        if let Err(e) = sift_core::query::Query::parse_at(filter, now) {
            return Err(invalid_query(&e));
        }
    }
    let text = format!("{filter} | {stage}");
    let filter_chars = filter.chars().count();
    PipedQuery::parse_at(&text, now).map_err(|e| {
        if e.position < filter_chars || e.limit.is_some() {
            invalid_query(&e)
        } else {
            ApiError::bad_request(format!("invalid {param}: expected {}, found {}", e.expected, e.found))
                .because("invalid_param")
                .with_detail(json!({ "param": param }))
        }
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct HistogramParams {
    pub q: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub step: Option<String>,
}

/// Counts per time step by severity: `{"step": "1m", "buckets": [{"time", "counts": {"error": 3}}]}`.
pub async fn histogram(
    State(queries): State<Arc<Queries>>,
    caller: Caller,
    Params(params): Params<HistogramParams>,
) -> Result<Json<Value>, ApiError> {
    let now = Timestamp::now();
    let range = parse_range(params.since.as_deref(), params.until.as_deref(), now)?;
    let step = match params.step.filter(|s| !s.is_empty()) {
        Some(step) => step,
        None => default_step(range, now),
    };
    if parse_duration_micros(&step).is_none_or(|us| us <= 0) {
        return Err(ApiError::bad_request(format!("invalid step {step:?}: expected a duration such as 10s, 1m, 1h"))
            .because("invalid_param")
            .with_detail(json!({ "param": "step" })));
    }
    let stage = format!("timechart {step} count() by severity");
    let filter = params.q.unwrap_or_default();
    let table = off_runtime(&queries, move |scan| {
        let piped = piped(&filter, &stage, "step", now)?;
        run(scan, &caller.restrict_piped(piped), range, now, "step")
    })
    .await?;
    let buckets: Vec<Value> = table
        .rows
        .iter()
        .map(|row| {
            let counts: Map<String, Value> = table.columns[1..]
                .iter()
                .zip(&row[1..])
                .filter(|(_, n)| n.as_u64().is_some_and(|n| n > 0))
                .map(|(severity, n)| (severity.clone(), n.clone()))
                .collect();
            json!({ "time": row[0], "counts": counts })
        })
        .collect();
    Ok(Json(json!({ "step": step, "buckets": buckets, "notes": table.notes })))
}

/// A step giving about 60 buckets over the range (1 minute without a start): a round one up
/// to a week, whole days beyond, so that any range a request can name fits a timechart.
fn default_step(range: TimeRange, now: Timestamp) -> String {
    let Some(since) = range.since else { return "1m".to_owned() };
    let span = range.until.unwrap_or(now).as_micros().saturating_sub(since.as_micros()) / 1_000_000;
    const STEPS: [(i64, &str); 9] = [
        (1, "1s"),
        (10, "10s"),
        (60, "1m"),
        (300, "5m"),
        (900, "15m"),
        (3600, "1h"),
        (21600, "6h"),
        (86400, "1d"),
        (604800, "7d"),
    ];
    match STEPS.iter().find(|(seconds, _)| span / seconds <= 60) {
        Some((_, step)) => (*step).to_owned(),
        None => format_duration_micros((span / 60 / 86_400 + 1) * 86_400_000_000),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct FacetParams {
    pub q: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub field: Option<String>,
    pub limit: Option<String>,
}

/// The most frequent values of a field: `{"field": "host", "values": [{"value", "count"}]}`.
pub async fn facets(
    State(queries): State<Arc<Queries>>,
    caller: Caller,
    Params(params): Params<FacetParams>,
) -> Result<Json<Value>, ApiError> {
    let now = Timestamp::now();
    let range = parse_range(params.since.as_deref(), params.until.as_deref(), now)?;
    let Some(field) = params.field.filter(|f| !f.trim().is_empty()) else {
        return Err(ApiError::bad_request("missing field: name the field to count values of, e.g. field=host")
            .because("invalid_param")
            .with_detail(json!({ "param": "field" })));
    };
    let limit = match params.limit.as_deref().filter(|l| !l.is_empty()) {
        None => 10,
        Some(text) => text.parse::<usize>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
            ApiError::bad_request(format!("invalid limit {text:?}: expected a number from 1 to 1000"))
                .because("invalid_param")
                .with_detail(json!({ "param": "limit" }))
        })?,
    };
    let stage = format!("top {limit} {field}");
    let filter = params.q.unwrap_or_default();
    let table = off_runtime(&queries, move |scan| {
        let piped = piped(&filter, &stage, "field", now)?;
        run(scan, &caller.restrict_piped(piped), range, now, "q")
    })
    .await?;
    let values: Vec<Value> = table.rows.iter().map(|row| json!({ "value": row[0], "count": row[1] })).collect();
    Ok(Json(json!({ "field": field, "values": values, "notes": table.notes })))
}
