//! `GET /api/v1/rules` and `PUT /api/v1/rules`: the classification rules in force. A PUT
//! replaces all rules at once, after every rule has compiled; a rule that does not compile
//! is answered with 400 naming the rule, the key and (for queries) the position.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::scan::off_runtime;
use crate::app::AppState;
use crate::pipeline::classify::{RawRule, Rule};

pub async fn get_rules(State(state): State<Arc<AppState>>) -> Json<Value> {
    let rules = state.ingest.pipeline.rules();
    let raw: Vec<&RawRule> = rules.iter().map(|r| &r.raw).collect();
    Json(json!({ "rules": raw }))
}

/// The body of a PUT: `{"rules": [...]}` (a bare array is accepted too).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesBody {
    rules: Vec<RawRule>,
}

pub async fn put_rules(State(state): State<Arc<AppState>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let raw = parse_rules(&body)?;
    // Compiling a rule's query can take milliseconds: off the runtime, as queries are.
    let (compiled, problems) = off_runtime(&state, move |_| {
        let mut compiled = Vec::with_capacity(raw.len());
        let mut problems = Vec::new();
        for (index, rule) in raw.into_iter().enumerate() {
            let name = rule.name.clone();
            match Rule::compile(rule, index) {
                Ok(rule) => compiled.push(rule),
                Err(errors) => problems.extend(errors.into_iter().map(|e| (index, name.clone(), e))),
            }
        }
        Ok((compiled, problems))
    })
    .await?;
    if let Some((index, name, first)) = problems.first() {
        let label = name.as_ref().map(|n| format!("rules[{index}] ({n:?})")).unwrap_or(format!("rules[{index}]"));
        let detail: Vec<Value> = problems
            .iter()
            .map(|(index, name, e)| json!({ "index": index, "name": name, "key": e.key, "error": e.message }))
            .collect();
        return Err(ApiError::bad_request(format!("invalid rule {label}.{}: {}", first.key, first.message))
            .because("invalid_rules")
            .with_detail(json!(detail)));
    }
    let count = compiled.len();
    let texts: Vec<String> = compiled
        .iter()
        .map(|rule| serde_json::to_string(&rule.raw))
        .collect::<Result<_, _>>()
        .map_err(ApiError::internal)?;
    let stored = Arc::clone(&state);
    tokio::task::spawn_blocking(move || stored.state_db.set_rules(&texts))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    state.ingest.pipeline.set_rules(compiled);
    tracing::info!(rules = count, "classification rules replaced through the API");
    Ok(Json(json!({ "rules": count })))
}

fn parse_rules(body: &[u8]) -> Result<Vec<RawRule>, ApiError> {
    let parsed = match serde_json::from_slice::<Value>(body) {
        Err(e) => return Err(ApiError::bad_request(format!("invalid JSON: {e}")).because("invalid_rules")),
        Ok(Value::Array(_)) => serde_json::from_slice::<Vec<RawRule>>(body),
        Ok(_) => serde_json::from_slice::<RulesBody>(body).map(|b| b.rules),
    };
    parsed.map_err(|e| ApiError::bad_request(format!("invalid rules: {e}")).because("invalid_rules"))
}
