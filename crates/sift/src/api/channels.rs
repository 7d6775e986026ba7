//! `POST /channels`: creates a Logplex channel with named tokens, the way Logplex's API
//! does (`{"tokens":["app"]}` answers `{"channel_id":N,"tokens":{"app":"t.<uuid>"}}`).
//! A client then writes to the channel with `POST /logs` and a token. Channels and tokens
//! live in the state database, so they survive restarts. (Drains, sessions and the rest of
//! the channel API come later.)

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sift_store::StateError;

use super::Limits;
use super::auth::Caller;
use super::error::ApiError;
use sift_store::StateDb;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewChannel {
    /// The channel's name, as events carry it in `channel`; default `channel-<id>`.
    name: Option<String>,
    #[serde(default)]
    tokens: Vec<String>,
}

pub async fn create_channel(
    State(state_db): State<Arc<StateDb>>,
    State(limits): State<Arc<Limits>>,
    caller: Caller,
    body: Bytes,
) -> Response {
    let request: NewChannel = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return ApiError::bad_request(format!(
                "invalid channel request: {error}; expected {{\"tokens\":[\"app\"]}} with an optional \"name\""
            ))
            .because("invalid_channel")
            .into_response();
        }
    };
    let limits = &limits.channels;
    if request.tokens.len() > limits.max_tokens_per_channel {
        return ApiError::bad_request(format!(
            "{} tokens asked for, at most {} per channel (channels.max_tokens_per_channel)",
            request.tokens.len(),
            limits.max_tokens_per_channel
        ))
        .with_detail(json!({ "limit": "channels.max_tokens_per_channel", "max": limits.max_tokens_per_channel }))
        .because("token_limit")
        .into_response();
    }
    if let Err(error) = check(&request) {
        return ApiError::bad_request(error).because("invalid_channel").into_response();
    }
    // A caller limited to some channels may create only those it names.
    if caller.channels().is_some() {
        match &request.name {
            Some(name) if caller.may_use(name) => {}
            Some(name) => return caller.forbidden(name).into_response(),
            None => {
                return caller
                    .forbidden("channel-<id>")
                    .with_detail(json!({ "hint": "name one of your channels with \"name\"" }))
                    .into_response();
            }
        }
    }
    let max_channels = limits.max_channels;
    let tokens: Vec<(String, String)> =
        request.tokens.iter().map(|name| (name.clone(), format!("t.{}", uuid::Uuid::new_v4()))).collect();
    let created = tokio::task::spawn_blocking(move || {
        state_db.create_channel(request.name.as_deref(), &tokens, max_channels).map(|c| (c, tokens))
    })
    .await;
    match created {
        Ok(Ok((channel, tokens))) => {
            let tokens: Map<String, Value> = tokens.into_iter().map(|(name, token)| (name, json!(token))).collect();
            let answer = json!({ "channel_id": channel.id, "name": channel.name, "tokens": tokens });
            (StatusCode::CREATED, Json(answer)).into_response()
        }
        Ok(Err(StateError::DuplicateChannel(name))) => {
            ApiError::new(StatusCode::CONFLICT, format!("a channel named {name:?} already exists"))
                .because("duplicate_channel")
                .into_response()
        }
        Ok(Err(StateError::TooManyChannels { max })) => ApiError::new(
            StatusCode::CONFLICT,
            format!("{max} channels exist, the most allowed (channels.max_channels): no channel was created"),
        )
        .with_detail(json!({ "limit": "channels.max_channels", "max": max }))
        .because("channel_limit")
        .into_response(),
        Ok(Err(error)) => ApiError::internal(error).into_response(),
        Err(error) => ApiError::internal(error).into_response(),
    }
}

/// Names become `channel` and `app` values in queries: keep them to what a query can write.
fn check(request: &NewChannel) -> Result<(), String> {
    if let Some(name) = &request.name {
        sift_core::event::check_channel(name).map_err(|invalid| format!("channel name: {invalid}"))?;
        // An unnamed channel is named `channel-<id>`: a name of that shape, taken first,
        // would make a later unnamed creation fail.
        if name.strip_prefix("channel-").is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())) {
            return Err(format!(
                "channel name: {name:?} has the shape kept for channels created without a name; choose another"
            ));
        }
    }
    for (i, token) in request.tokens.iter().enumerate() {
        // 48 is the longest APP-NAME RFC 5424 allows, and the token's name becomes the app.
        check_name(&format!("tokens[{i}]"), token, 48)?;
        if request.tokens[..i].contains(token) {
            return Err(format!("tokens[{i}]: {token:?} is named twice"));
        }
    }
    Ok(())
}

fn check_name(what: &str, name: &str, max: usize) -> Result<(), String> {
    if sift_core::event::is_plain_name(name, max) {
        Ok(())
    } else {
        Err(format!("{what}: {name:?} must be 1 to {max} letters, digits, '-', '_' or '.'"))
    }
}
