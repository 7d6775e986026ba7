//! The HTTP API (DESIGN.md section 10): the only module that knows HTTP and the JSON shapes
//! of answers. Each file holds the handlers of one resource; `dto` holds the event's JSON
//! shape and `error` the one error type.

mod auth;
mod dto;
mod error;
mod events;
mod rules;
mod system;
mod tail;

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, Uri};
use axum::routing::get;

pub use auth::Authenticator;
pub use dto::EventJson;
pub use error::ApiError;

use crate::app::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/api/v1/events", get(events::get_events).post(events::post_events))
        .route("/api/v1/count", get(events::count))
        .route("/api/v1/tail", get(tail::tail))
        .route("/api/v1/stats", get(system::stats))
        .route("/api/v1/nodes", get(system::nodes))
        .route("/api/v1/rules", get(rules::get_rules).put(rules::put_rules))
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), auth::require_user))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::internal("a request handler panicked"))
        }))
        .with_state(state)
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}
