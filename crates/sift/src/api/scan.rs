//! A request's query work, off the async runtime's workers: compiling its query (milliseconds
//! for a few regexes) and scanning the stored events run on the blocking pool, in one of
//! `query.max_concurrent` query slots, under a deadline of `query.timeout` from the request's
//! start (waiting for a slot included) and a cancellation that fires when the request's future
//! is dropped (hyper drops it when its client closes the connection), so that a client that
//! goes away stops its scan within milliseconds.
//!
//! Each slot scans in a rayon pool of its own, one thread per core: rayon runs the tasks a
//! worker already holds before new ones, so in one shared pool a slow scan would hold every
//! other scan back until it ended; in pools of their own, concurrent scans share the cores as
//! the operating system shares them between threads. The slots also bound what the queries
//! running at once may hold: each at most its compile budget and the lazy DFA caches of its
//! threads.
//!
//! A scan stopped at its deadline is answered 503 naming `query.timeout` (counted as the
//! rejection reason `query_timeout`); stopped scans of either kind are counted in
//! `/api/v1/stats` under `queries`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;
use sift_store::{Interrupt, Interrupted, StoreError, View};
use tokio::sync::Semaphore;

use super::error::ApiError;
use crate::ingest::Ingest;
use crate::observe::QueryStats;

/// What query routes scan with: the stored events, `query.timeout`, the query slots and the
/// counters of stopped queries.
pub struct Queries {
    ingest: Arc<Ingest>,
    timeout: Duration,
    permits: Arc<Semaphore>,
    /// The pools of the slots not in use, each made when first needed.
    idle: Mutex<Vec<Option<Arc<rayon::ThreadPool>>>>,
    stats: Arc<QueryStats>,
}

impl Queries {
    /// `slots` queries may run at once, each for at most `timeout`.
    pub fn new(ingest: Arc<Ingest>, slots: usize, timeout: Duration, stats: Arc<QueryStats>) -> Queries {
        Queries {
            ingest,
            timeout,
            permits: Arc::new(Semaphore::new(slots)),
            idle: Mutex::new(vec![None; slots]),
            stats,
        }
    }

    /// An idle slot's pool, made if it has none yet; the caller holds a permit, so one is idle.
    fn take_pool(&self) -> Result<Arc<rayon::ThreadPool>, ApiError> {
        let slot = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop().flatten();
        match slot {
            Some(pool) => Ok(pool),
            None => {
                let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("sift-query-{i}"))
                    .build()
                    .map_err(ApiError::internal)?;
                Ok(Arc::new(pool))
            }
        }
    }

    fn put_pool(&self, pool: Arc<rayon::ThreadPool>) {
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(Some(pool));
    }
}

/// Runs `work` on the blocking pool in a query slot with the request's [`Scan`], and waits for
/// its answer. Dropping the returned future (the client went away) interrupts the scans `work`
/// runs, or gives up waiting for a slot.
pub async fn off_runtime<T: Send + 'static>(
    queries: &Arc<Queries>,
    work: impl FnOnce(&Scan) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let deadline = Instant::now() + queries.timeout;
    // Held by this future: dropped with it, it cancels the scan.
    let (interrupt, _cancel_on_drop) = Interrupt::new(Some(deadline));
    let scan = Scan { queries: Arc::clone(queries), interrupt };
    let permits = Arc::clone(&queries.permits);
    let permit = match tokio::time::timeout_at(deadline.into(), permits.acquire_owned()).await {
        Ok(Ok(permit)) => permit,
        Ok(Err(closed)) => return Err(ApiError::internal(closed)),
        Err(_) => return Err(scan.stopped(Interrupted::TimedOut)),
    };
    tokio::task::spawn_blocking(move || {
        let _running = scan.queries.stats.running();
        let pool = scan.queries.take_pool()?;
        let answer = pool.install(|| work(&scan));
        scan.queries.put_pool(pool);
        drop(permit);
        answer
    })
    .await
    .map_err(ApiError::internal)?
}

/// What a request's work off the runtime scans with.
pub struct Scan {
    queries: Arc<Queries>,
    interrupt: Interrupt,
}

impl Scan {
    /// The stored events, whose scans stop at the request's deadline or when it is dropped.
    pub fn view(&self) -> View {
        self.queries.ingest.view().with_interrupt(self.interrupt.clone())
    }

    /// The ingest path, for work that opens what is not a view (a tail).
    pub fn ingest(&self) -> &Arc<Ingest> {
        &self.queries.ingest
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
        self.queries.stats.record(why);
        let timeout = humantime::format_duration(self.queries.timeout);
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
