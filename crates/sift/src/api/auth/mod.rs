//! Who is calling: HTTP Basic authentication for the protected routes, and the [`Caller`] it
//! puts in each request, with the channels the caller may see and write.
//!
//! The protected router sits behind [`authenticate`], one layer: with users configured, a
//! request without valid credentials never reaches a handler; without users (allowed on
//! loopback only), every request comes from the anonymous caller, who may use every channel.
//! Routes open to strangers (health probes, Logplex input with its own tokens) are on the
//! public router and never see this layer.

mod authenticator;
mod failures;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sift_core::Event;
use sift_core::query::{PipedQuery, Query};

pub use authenticator::{Authenticator, Refusal, decode_basic};

use super::error::ApiError;
use crate::config::User;
use crate::pipeline::Rejection;

/// The authenticated caller of a protected route.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `None` for the anonymous caller of a server without users.
    user: Option<Arc<User>>,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller { user: None }
    }

    pub fn user(user: Arc<User>) -> Caller {
        Caller { user: Some(user) }
    }

    /// The channels this caller is limited to; `None` for every channel.
    pub fn channels(&self) -> Option<&[String]> {
        self.user.as_ref().and_then(|user| user.channels.as_deref())
    }

    /// Whether this caller may read and write the channel named `channel`.
    pub fn may_use(&self, channel: &str) -> bool {
        self.user.as_ref().is_none_or(|user| user.may_write(channel))
    }

    /// 403 for a caller limited to some channels, for routes that see or change every
    /// channel (counters of all events, classification rules).
    pub fn require_every_channel(&self, what: &str) -> Result<(), ApiError> {
        match (&self.user, self.channels()) {
            (Some(user), Some(_)) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("user {:?} is limited to some channels and may not {what}", user.name),
            )
            .because("forbidden_channel")),
            _ => Ok(()),
        }
    }

    /// `query` held to this caller's channels: unchanged for a caller who may see them all.
    pub fn restrict(&self, query: &Query) -> Query {
        match self.scope() {
            Some(scope) => scope.and(query),
            None => query.clone(),
        }
    }

    /// A piped query held to this caller's channels.
    pub fn restrict_piped(&self, piped: PipedQuery) -> PipedQuery {
        match self.scope() {
            Some(scope) => piped.within(&scope),
            None => piped,
        }
    }

    /// The filter of this caller's channels (`channel:"a" OR channel:"b"`); `None` for all.
    fn scope(&self) -> Option<Query> {
        let channels = self.channels()?;
        if channels.is_empty() {
            // Matches nothing: a user allowed no channel sees no event.
            return Query::parse("-*").ok();
        }
        let text: Vec<String> =
            channels.iter().map(|c| format!("channel:\"{}\"", c.replace('\\', "\\\\").replace('"', "\\\""))).collect();
        // Channel names are checked when the configuration loads, so this parses; if it ever
        // did not, matching nothing is the safe answer.
        Some(Query::parse(&text.join(" OR ")).unwrap_or_else(|_| Query::parse("-*").expect("parses")))
    }

    /// An event this caller sends, or why it may not: a rejection naming the channel when the
    /// caller may not write to it.
    pub fn admit(&self, event: Event) -> Result<Event, Rejection> {
        if self.may_use(&event.channel) {
            return Ok(event);
        }
        let name = self.user.as_ref().map_or("anonymous", |user| user.name.as_str());
        Err(Rejection::new("forbidden_channel", format!("user {name:?} may not write to channel {:?}", event.channel)))
    }

    /// 403 naming the channel, for a write or read outside this caller's channels.
    pub fn forbidden(&self, channel: &str) -> ApiError {
        let name = self.user.as_ref().map_or("anonymous", |user| user.name.as_str());
        ApiError::new(StatusCode::FORBIDDEN, format!("user {name:?} may not use channel {channel:?}"))
            .because("forbidden_channel")
            .with_detail(json!({ "channel": channel }))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    /// The caller [`authenticate`] found; a route outside the protected router has none, and
    /// refusing is the safe answer to that mistake.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Caller, ApiError> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(ApiError::unauthorized)
    }
}

/// The client's address, or the unspecified address where the server was not told it (an
/// in-process test).
pub fn peer(request: &Request) -> IpAddr {
    peer_of(request.extensions())
}

fn peer_of(extensions: &axum::http::Extensions) -> IpAddr {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |ConnectInfo(addr)| addr.ip())
}

/// The client's address, as an extractor (see [`peer`]).
pub struct Peer(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Peer, Self::Rejection> {
        Ok(Peer(peer_of(&parts.extensions)))
    }
}

/// The protected router's one authentication layer: puts the [`Caller`] in the request, or
/// answers 401 (no or wrong credentials), 429 (this address failed too often) or 503 (too
/// many checks waiting).
pub async fn authenticate(State(auth): State<Arc<Authenticator>>, mut request: Request, next: Next) -> Response {
    if !auth.enabled() {
        request.extensions_mut().insert(Caller::anonymous());
        return next.run(request).await;
    }
    let authorization = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match auth.check(authorization.as_deref(), peer(&request)).await {
        Ok(user) => {
            request.extensions_mut().insert(Caller::user(user));
            next.run(request).await
        }
        Err(refusal) => refused(refusal).into_response(),
    }
}

/// The answer to a refused check.
pub fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Unauthorized => ApiError::unauthorized(),
        Refusal::TooManyFailures(wait) => {
            let seconds = wait.as_secs().max(1);
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many failed logins from this address; try again in {seconds} s"),
            )
            .because("too_many_failures")
            .with_detail(json!({ "retry_after": seconds }))
            .with_retry_after(seconds)
        }
        Refusal::Busy => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "too many password checks are waiting; try again shortly")
                .because("auth_busy")
                .with_retry_after(1)
        }
    }
}
