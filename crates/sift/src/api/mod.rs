//! The HTTP API (DESIGN.md section 10): the only module that knows HTTP and the JSON shapes
//! of answers. Each file holds the handlers of one resource; `dto` holds the event's JSON
//! shape and `error` the one error type.

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
mod system;
mod tail;

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, Uri};
use axum::routing::{get, post};

pub use auth::Authenticator;
pub use body::Intake;
pub use dto::{EventJson, SubmitEventJson};
pub use error::ApiError;

use crate::app::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/events", get(events::get_events).post(events::post_events))
        .route("/api/v1/count", get(events::count))
        .route("/api/v1/query", get(query::query))
        .route("/api/v1/histogram", get(query::histogram))
        .route("/api/v1/facets", get(query::facets))
        .route("/api/v1/tail", get(tail::tail))
        .route("/api/v1/stats", get(system::stats))
        .route("/api/v1/nodes", get(system::nodes))
        .route("/api/v1/rules", get(rules::get_rules).put(rules::put_rules))
        .route("/channels", axum::routing::post(channels::create_channel))
        .route("/logs", axum::routing::post(logplex::post_logs))
        .route("/v1/logs", post(otlp::post_logs))
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), auth::require_user))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), count_rejections))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::internal("a request handler panicked"))
        }))
        .with_state(state)
}

/// Counts every rejected request by reason (`/api/v1/stats` → `requests_rejected`) and logs
/// it at most once a second per reason.
async fn count_rejections(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if let Some(error::Rejected { reason }) = response.extensions().get::<error::Rejected>().copied() {
        state.ingest.stats.record_request_rejected(reason);
        if state.api_log.allow(reason) {
            tracing::warn!(%method, path, status = response.status().as_u16(), reason, "rejected request");
        }
    }
    response
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}
