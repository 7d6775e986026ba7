//! `POST /logs`: Logplex HTTP input (DESIGN.md section 4). The body is `LEN SP MSG` frames
//! (RFC 5424 messages) with no separator, as `application/logplex-1`, maybe gzipped.
//! Everything or nothing: one malformed frame rejects the request and stores no frame.
//!
//! Two ways in:
//! - a token: HTTP Basic `token:t.<uuid>`. Events go to the token's channel, and a frame
//!   whose APP-NAME is the token text gets the token's name instead (`t.feff…` → `app`), so
//!   the secret never reaches storage, tails or drains (so does any other token's text);
//! - a credential (a configured user, or anyone when no users are configured and sift is
//!   on loopback): each frame's APP-NAME must then be a token, which names the channel and
//!   the app. Frames with unknown tokens are dropped and counted (`unknown_token`); a user
//!   whose `channels` do not include a frame's channel gets 403 and nothing is stored.
//!
//! Either is checked from the headers before the body is read: a client without them gets
//! 401 and its body is never buffered.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sift_core::intern::Interner;
use sift_core::{Event, Exceeded, Limits, Source, Str, Timestamp};
use sift_store::{StateDb, Token};

use super::auth::{Authenticator, Peer, Refusal, decode_basic, refused};
use super::body::{BodyError, Intake, decode};
use super::error::ApiError;
use crate::config::User;
use crate::ingest::Ingest;
use crate::observe::DropReason;
use crate::pipeline::Rejection;

const SOURCE: Source = Source::Logplex;

/// What Logplex input uses: the ingest path, the tokens and channels, and the users.
#[derive(Clone)]
struct Parts {
    ingest: Arc<Ingest>,
    state_db: Arc<StateDb>,
    auth: Arc<Authenticator>,
}

pub async fn post_logs(
    State(intake): State<Arc<Intake>>,
    State(state_db): State<Arc<StateDb>>,
    State(auth): State<Arc<Authenticator>>,
    peer: Peer,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let parts = Parts { ingest: Arc::clone(intake.ingest()), state_db, auth };
    if let Err(error) = check_content_type(&headers) {
        parts.ingest.reject_whole(SOURCE, &Rejection::new(error.reason, error.error.clone()));
        return error.into_response();
    }
    // Who writes is known from the headers: a stranger's body is never read (nor buffered).
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let writer = match authenticate(&parts, authorization.as_deref(), peer.0).await {
        Ok(writer) => writer,
        Err(error) => return error.into_response(),
    };
    let declared_count = headers.get("logplex-msg-count").map(|v| v.to_str().ok().and_then(|v| v.trim().parse().ok()));
    let worker = parts.clone();
    let answer = decode(&intake, &headers, body, move |_, limits, body| {
        Ok(store_frames(&worker, &writer, body, declared_count, limits))
    })
    .await;
    match answer {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(error)) => error.into_response(),
        Err(error) => {
            intake.count_refused(SOURCE, &error);
            ApiError::from(error).into_response()
        }
    }
}

fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence == "application/logplex-1" || essence == "application/x-logplex-1" {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!("Content-Type {content_type:?} is not Logplex input; send application/logplex-1"),
    )
    .because("unsupported_media_type"))
}

/// Who writes.
enum Writer {
    /// The token's text (as the client sent it: the database keeps only its hash), the
    /// token, and its channel's name.
    Token(String, Token, String),
    /// A user (or anyone, without configured users), naming tokens frame by frame.
    Credential(Option<Arc<User>>),
}

async fn authenticate(state: &Parts, authorization: Option<&str>, peer: IpAddr) -> Result<Writer, ApiError> {
    let basic = authorization.and_then(decode_basic);
    match basic {
        Some((name, password)) if name == "token" => {
            let state_db = Arc::clone(&state.state_db);
            let found = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
                let Some(token) = state_db.token(&password).map_err(ApiError::internal)? else { return Ok(None) };
                let channel = state_db.channel(token.channel_id).map_err(ApiError::internal)?;
                Ok(Some((password, token, channel)))
            })
            .await
            .map_err(ApiError::internal)??;
            match found {
                Some((text, token, Some(channel))) => Ok(Writer::Token(text, token, channel.name)),
                Some((_, _, None)) => Err(logplex_unauthorized("the token's channel is gone")),
                None => Err(logplex_unauthorized("unknown token")),
            }
        }
        _ if !state.auth.enabled() => Ok(Writer::Credential(None)),
        Some(_) => match state.auth.check(authorization, peer).await {
            Ok(user) => Ok(Writer::Credential(Some(user))),
            Err(Refusal::Unauthorized) => Err(logplex_unauthorized("unknown user or wrong password")),
            Err(refusal) => Err(refused(refusal)),
        },
        None => Err(logplex_unauthorized("send HTTP Basic token:t.<uuid>, or a user's credentials")),
    }
}

/// 401 the way Logplex answers it, so Logplex clients recognize it.
fn logplex_unauthorized(why: &str) -> ApiError {
    let mut error = ApiError::new(StatusCode::UNAUTHORIZED, format!("Unauthorized: {why}")).because("unauthorized");
    error.realm = Some("Basic realm=Logplex");
    error
}

fn store_frames(
    state: &Parts,
    writer: &Writer,
    body: &[u8],
    declared_count: Option<Option<usize>>,
    limits: &Limits,
) -> Result<(), ApiError> {
    let frames = match sift_core::syslog::split_logplex(body) {
        Ok(frames) => frames,
        Err(malformed) => return Err(malformed_request(state, 1, &format!("{malformed}"))),
    };
    let over = |exceeded: Exceeded| {
        let error = BodyError::Exceeded(exceeded);
        state.ingest.reject_whole(SOURCE, &Rejection::new(error.reason(), error.to_string()));
        ApiError::from(error)
    };
    if frames.len() > limits.max_items {
        return Err(over(Exceeded::Items { limit: limits.max_items }));
    }
    let mut budget = limits.budget();
    match declared_count {
        None => {}
        Some(Some(count)) if count == frames.len() => {}
        Some(declared) => {
            let declared = declared.map_or_else(|| "not a number".to_owned(), |n| n.to_string());
            state.ingest.reject_malformed(SOURCE, "count_mismatch", frames.len() as u64);
            return Err(ApiError::bad_request(format!(
                "Message count mismatch: Logplex-Msg-Count says {declared}, the body has {} frames",
                frames.len()
            ))
            .because("count_mismatch"));
        }
    }
    let received_at = Timestamp::now();
    let mut interner = Interner::default();
    let mut events = Vec::with_capacity(frames.len());
    for (index, frame) in frames.iter().enumerate() {
        let mut event = sift_core::syslog::parse_5424(frame, SOURCE, received_at, &mut interner)
            .map_err(|malformed| malformed_request(state, frames.len(), &format!("frame {index}: {malformed}")))?;
        // Checked here, not only in the pipeline: a frame over a limit must refuse the whole
        // body, or its neighbours would be stored under a 204 that says all was.
        state
            .ingest
            .validate(&mut event)
            .map_err(|rejection| malformed_request(state, frames.len(), &format!("frame {index}: {rejection}")))?;
        budget.spend_event(&event).map_err(over)?;
        events.push(event);
    }
    let mut tokens = Tokens::default();
    let mut unknown = 0;
    let mut kept = Vec::with_capacity(events.len());
    for mut event in events {
        match writer {
            Writer::Token(text, token, channel) => {
                if event.app.as_deref() == Some(text.as_str()) {
                    event.app = Some(interner.intern(&token.name));
                } else if let Some((name, _)) = tokens.find(state, event.app.as_deref())? {
                    // Another token's text is as secret as the writer's own.
                    event.app = Some(name);
                }
                event.channel = interner.intern(channel);
            }
            Writer::Credential(user) => {
                let Some((name, channel)) = tokens.find(state, event.app.as_deref())? else {
                    unknown += 1;
                    continue;
                };
                if let Some(user) = user
                    && !user.may_write(&channel)
                {
                    state.ingest.reject_dropped(SOURCE, DropReason::ForbiddenChannel, frames.len() as u64);
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        format!("user {:?} may not write to channel {channel:?}", user.name),
                    )
                    .because("forbidden_channel"));
                }
                event.app = Some(name);
                event.channel = channel;
            }
        }
        kept.push(event);
    }
    if unknown > 0 {
        state.ingest.reject_dropped(SOURCE, DropReason::UnknownToken, unknown);
    }
    state.ingest.submit(SOURCE, kept.into_iter().map(Ok::<Event, Rejection>))?;
    Ok(())
}

fn malformed_request(state: &Parts, frames: usize, detail: &str) -> ApiError {
    state.ingest.reject_malformed(SOURCE, "malformed_frames", frames as u64);
    ApiError::bad_request(format!("Malformed log messages: {detail}")).because("malformed_frames")
}

/// Tokens looked up once per request: a body usually names one or two.
#[derive(Default)]
struct Tokens {
    known: HashMap<String, Option<(Str, Str)>>,
}

impl Tokens {
    /// The token's name and its channel's name, for a frame's APP-NAME.
    fn find(&mut self, state: &Parts, app: Option<&str>) -> Result<Option<(Str, Str)>, ApiError> {
        // Every token is `t.<uuid>`: anything else is no token, without asking the database.
        let Some(app) = app.filter(|app| app.starts_with("t.")) else { return Ok(None) };
        if let Some(known) = self.known.get(app) {
            return Ok(known.clone());
        }
        let found = match state.state_db.token(app).map_err(ApiError::internal)? {
            Some(token) => state
                .state_db
                .channel(token.channel_id)
                .map_err(ApiError::internal)?
                .map(|channel| (Str::from(token.name), Str::from(channel.name))),
            None => None,
        };
        self.known.insert(app.to_owned(), found.clone());
        Ok(found)
    }
}
