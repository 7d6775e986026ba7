//! `GET /api/v1/rules` and `PUT /api/v1/rules`: the classification rules in force. A PUT
//! replaces all rules at once, after every rule has compiled; a rule that does not compile
//! is answered with 400 naming the rule, the key and (for queries) the position.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Caller;
use super::error::ApiError;
use crate::pipeline::classify::RawRule;
use crate::pipeline::rules::{MAX_RULES, MAX_RULES_COMPILED_BYTES, ReplaceError, Rules};

pub async fn get_rules(State(rules): State<Arc<Rules>>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.require_every_channel("read the classification rules, which apply to every channel")?;
    let rules = rules.current();
    let raw: Vec<&RawRule> = rules.iter().map(|r| &r.raw).collect();
    Ok(Json(json!({ "rules": raw })))
}

/// The body of a PUT: `{"rules": [...]}` (a bare array is accepted too).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesBody {
    rules: Vec<RawRule>,
}

pub async fn put_rules(State(rules): State<Arc<Rules>>, caller: Caller, body: Bytes) -> Result<Json<Value>, ApiError> {
    caller.require_every_channel("change the classification rules, which apply to every channel")?;
    let raw = parse_rules(&body)?;
    let replaced = tokio::task::spawn_blocking(move || rules.replace(raw)).await.map_err(ApiError::internal)?;
    match replaced {
        Ok(count) => Ok(Json(json!({ "rules": count }))),
        Err(ReplaceError::Invalid(problems)) => {
            let (index, name, first) = &problems[0];
            let label = name.as_ref().map(|n| format!("rules[{index}] ({n:?})")).unwrap_or(format!("rules[{index}]"));
            let detail: Vec<Value> = problems
                .iter()
                .map(|(index, name, e)| json!({ "index": index, "name": name, "key": e.key, "error": e.message }))
                .collect();
            Err(ApiError::bad_request(format!("invalid rule {label}.{}: {}", first.key, first.message))
                .because("invalid_rules")
                .with_detail(json!(detail)))
        }
        Err(ReplaceError::TooLarge(why)) => {
            Err(ApiError::bad_request(format!("rules not put in force: {why}")).because("rules_too_large").with_detail(
                json!({ "limit": "rules", "max_rules": MAX_RULES, "max_compiled_bytes": MAX_RULES_COMPILED_BYTES }),
            ))
        }
        Err(error @ ReplaceError::Storage(_)) => Err(ApiError::internal(error)),
    }
}

fn parse_rules(body: &[u8]) -> Result<Vec<RawRule>, ApiError> {
    let parsed = match serde_json::from_slice::<Value>(body) {
        Err(e) => return Err(ApiError::bad_request(format!("invalid JSON: {e}")).because("invalid_rules")),
        Ok(Value::Array(_)) => serde_json::from_slice::<Vec<RawRule>>(body),
        Ok(_) => serde_json::from_slice::<RulesBody>(body).map(|b| b.rules),
    };
    parsed.map_err(|e| ApiError::bad_request(format!("invalid rules: {e}")).because("invalid_rules"))
}
