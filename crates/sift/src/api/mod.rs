//! The HTTP API (DESIGN.md section 10): the only module that knows HTTP and the JSON shapes
//! of answers. Each file holds the handlers of one resource; `dto` holds the event's JSON
//! shape and `error` the one error type.
//!
//! Routes are grouped by trust (see [`router`]):
//! - probes (`/healthz`, `/readyz`): open to anyone, so load balancers need no credentials;
//! - public (`/logs`): open to strangers at the door, each route checking its own credentials
//!   (Logplex tokens) before it reads a body;
//! - protected: everything else, behind one authentication layer ([`auth::authenticate`])
//!   that puts the [`Caller`] in the request, with the channels it may use.
//!
//! Every route but the probes is also behind the same-site check ([`sites`]): browsers on
//! other sites and DNS-rebound names cannot reach it.

mod auth;
mod body;
mod channels;
mod dto;
mod error;
mod events;
mod logplex;
mod otlp;
mod query;
mod rules;
mod scan;
mod serve;
mod sites;
mod system;
mod tail;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, Uri};
use axum::routing::{get, post};

pub use auth::{Authenticator, Caller};
pub use body::Intake;
pub use dto::{EventJson, SubmitEventJson};
pub use error::ApiError;
pub use scan::Queries;
pub use serve::{Limits as ConnectionLimits, serve};
pub use sites::Sites;

use crate::app::AppState;
use crate::config::{ChannelsConfig, Config, TailConfig};
use crate::observe::{LogLimiter, Stats};

/// The API's own limits, from the configuration.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body (`http.max_body`).
    pub max_body: usize,
    pub tail: TailConfig,
    pub channels: ChannelsConfig,
}

impl From<&Config> for Limits {
    fn from(config: &Config) -> Limits {
        Limits { max_body: config.http.max_body, tail: config.tail.clone(), channels: config.channels.clone() }
    }
}

pub fn router(state: AppState) -> Router {
    let probes = Router::new().route("/healthz", get(system::healthz)).route("/readyz", get(system::readyz));
    let public = Router::new().route("/logs", post(logplex::post_logs));
    let protected = Router::new()
        .route("/api/v1/events", get(events::get_events).post(events::post_events))
        .route("/api/v1/count", get(events::count))
        .route("/api/v1/query", get(query::query))
        .route("/api/v1/histogram", get(query::histogram))
        .route("/api/v1/facets", get(query::facets))
        .route("/api/v1/tail", get(tail::tail))
        .route("/api/v1/stats", get(system::stats))
        .route("/api/v1/nodes", get(system::nodes))
        .route("/api/v1/rules", get(rules::get_rules).put(rules::put_rules))
        .route("/channels", post(channels::create_channel))
        .route("/v1/logs", post(otlp::post_logs))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate));
    let guarded =
        public.merge(protected).route_layer(axum::middleware::from_fn_with_state(state.clone(), sites::same_site));
    Router::new()
        .merge(probes)
        .merge(guarded)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), count_rejections))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::internal("a request handler panicked"))
        }))
        .with_state(state)
}

/// Counts every rejected request by reason (`/api/v1/stats` → `requests_rejected`) and logs
/// it at most once a second per reason.
async fn count_rejections(
    axum::extract::State(stats): axum::extract::State<Arc<Stats>>,
    axum::extract::State(log): axum::extract::State<Arc<LogLimiter>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if let Some(error::Rejected { reason }) = response.extensions().get::<error::Rejected>().copied() {
        stats.record_request_rejected(reason);
        if log.allow(reason) {
            tracing::warn!(%method, path, status = response.status().as_u16(), reason, "rejected request");
        }
    }
    response
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}
