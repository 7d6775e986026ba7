//! The queries running (compiling or scanning, in a query slot) and counters of those stopped
//! before their end: at their deadline (`query.timeout`), or because the client that asked went
//! away. Shown in `/api/v1/stats` as `queries`.

use std::sync::atomic::{AtomicU64, Ordering};

use sift_store::Interrupted;

#[derive(Debug, Default)]
pub struct QueryStats {
    running: AtomicU64,
    timed_out: AtomicU64,
    cancelled: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueriesSnapshot {
    pub running: u64,
    pub timed_out: u64,
    pub cancelled: u64,
}

/// Counts a query as running while it lives.
pub struct Running<'a>(&'a AtomicU64);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl QueryStats {
    /// Counts a query as running until the returned guard is dropped.
    pub fn running(&self) -> Running<'_> {
        self.running.fetch_add(1, Ordering::Relaxed);
        Running(&self.running)
    }

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
            running: self.running.load(Ordering::Relaxed),
            timed_out: self.timed_out.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
        }
    }
}
