//! Counters of scans stopped before their end: at their deadline (`query.timeout`), or because
//! the client that asked went away. Shown in `/api/v1/stats` as `queries`.

use std::sync::atomic::{AtomicU64, Ordering};

use sift_store::Interrupted;

#[derive(Debug, Default)]
pub struct QueryStats {
    timed_out: AtomicU64,
    cancelled: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueriesSnapshot {
    pub timed_out: u64,
    pub cancelled: u64,
}

impl QueryStats {
    /// Counts a scan that stopped for `why`.
    pub fn record(&self, why: Interrupted) {
        let counter = match why {
            Interrupted::TimedOut => &self.timed_out,
            Interrupted::Cancelled => &self.cancelled,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> QueriesSnapshot {
        QueriesSnapshot {
            timed_out: self.timed_out.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
        }
    }
}
