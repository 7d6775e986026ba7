//! A request's query work, off the async runtime's workers: compiling its query (milliseconds
//! for a few regexes) and scanning the stored events run on the blocking pool, under a deadline
//! of `query.timeout` from the request's start and a cancellation that fires when the request's
//! future is dropped (hyper drops it when its client closes the connection), so that a client
//! that goes away stops its scan within milliseconds.
//!
//! A scan stopped at its deadline is answered 503 naming `query.timeout` (counted as the
//! rejection reason `query_timeout`); stopped scans of either kind are counted in
//! `/api/v1/stats` under `queries`.

use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use serde_json::json;
use sift_store::{Interrupt, Interrupted, StoreError, View};

use super::error::ApiError;
use crate::app::AppState;

/// Runs `work` on the blocking pool with the request's [`Scan`], and waits for its answer.
/// Dropping the returned future (the client went away) interrupts the scans `work` runs.
pub async fn off_runtime<T: Send + 'static>(
    state: &Arc<AppState>,
    work: impl FnOnce(&Scan) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let deadline = Instant::now() + state.config.query.timeout;
    // Held by this future: dropped with it, it cancels the scan.
    let (interrupt, _cancel_on_drop) = Interrupt::new(Some(deadline));
    let scan = Scan { state: Arc::clone(state), interrupt };
    tokio::task::spawn_blocking(move || work(&scan)).await.map_err(ApiError::internal)?
}

/// What a request's work off the runtime scans with.
pub struct Scan {
    state: Arc<AppState>,
    interrupt: Interrupt,
}

impl Scan {
    /// The stored events, whose scans stop at the request's deadline or when it is dropped.
    pub fn view(&self) -> View {
        self.state.ingest.view().with_interrupt(self.interrupt.clone())
    }

    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    pub fn interrupt(&self) -> &Interrupt {
        &self.interrupt
    }

    /// A scan that failed, as the API answers it; a stopped one is counted.
    pub fn failed(&self, error: StoreError) -> ApiError {
        match error.interrupted() {
            Some(why) => self.stopped(why),
            None => ApiError::internal(error),
        }
    }

    /// A scan stopped for `why`, counted: 503 naming `query.timeout` when it timed out. A
    /// cancelled scan's answer goes nowhere (its client has gone).
    pub fn stopped(&self, why: Interrupted) -> ApiError {
        self.state.queries.record(why);
        let timeout = humantime::format_duration(self.state.config.query.timeout);
        match why {
            Interrupted::TimedOut => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the query ran longer than query.timeout ({timeout}) and was stopped: \
                     narrow it with since and until or a more selective filter"
                ),
            )
            .because("query_timeout")
            .with_detail(json!({ "limit": "query.timeout", "timeout": timeout.to_string() })),
            Interrupted::Cancelled => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the client went away")
                .because("query_cancelled")
                .with_detail(json!({ "reason": "query_cancelled" })),
        }
    }
}
