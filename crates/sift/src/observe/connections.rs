//! Counters of a listener's connections that are not a protocol's items: the HTTP
//! listener's (and its TLS handshakes'). Opened counts every accepted connection, closed
//! counts each one once, by why it ended, so `open = opened - closed` (a connection refused
//! over the limit is opened and closed at once, as `connection_limit`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::CloseReason;

#[derive(Default)]
pub struct ConnectionStats {
    opened: AtomicU64,
    /// By `CloseReason as usize`.
    closed: [AtomicU64; CloseReason::ALL.len() + 1],
}

/// The counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionSnapshot {
    pub opened: u64,
    /// Closed connections by reason (`client_closed`, `header_timeout`, `connection_limit`, …).
    pub closed: BTreeMap<&'static str, u64>,
}

impl ConnectionSnapshot {
    pub fn open(&self) -> u64 {
        self.opened.saturating_sub(self.closed.values().sum())
    }
}

impl ConnectionStats {
    pub fn opened(&self) {
        self.opened.fetch_add(1, Ordering::Relaxed);
    }

    pub fn closed(&self, reason: CloseReason) {
        self.closed[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> ConnectionSnapshot {
        let closed = CloseReason::ALL
            .into_iter()
            .map(|reason| (reason.as_str(), self.closed[reason as usize].load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect();
        ConnectionSnapshot { opened: self.opened.load(Ordering::Relaxed), closed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_is_opened_less_closed() {
        let stats = ConnectionStats::default();
        for _ in 0..3 {
            stats.opened();
        }
        stats.closed(CloseReason::IdleTimeout);
        stats.closed(CloseReason::ConnectionLimit);
        let snapshot = stats.snapshot();
        assert_eq!((snapshot.opened, snapshot.open()), (3, 1));
        assert_eq!(snapshot.closed["idle_timeout"], 1);
    }
}
