//! Counters per protocol (DESIGN.md section 4): what each source received, accepted, found
//! malformed and dropped, by reason, and for connection-oriented sources the connections
//! opened and why they closed.
//!
//! Every item a source receives (a datagram, a TCP frame, a JSON item, an OTLP record) is
//! counted once in `received` and, in the end, once in `accepted`, `malformed` or `dropped`:
//! `received = accepted + malformed + dropped` once nothing is in flight. Malformed means
//! the item itself was wrong (it would be rejected again if resent); dropped means sift
//! could not take a valid item (a full queue, a full disk, a connection over the limit).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sift_core::Source;

use super::{CloseReason, DropReason};

#[derive(Default)]
pub struct ProtocolStats {
    sources: [SourceCounters; Source::ALL.len()],
}

#[derive(Default)]
struct SourceCounters {
    received: AtomicU64,
    accepted: AtomicU64,
    malformed: Mutex<BTreeMap<&'static str, u64>>,
    dropped: Mutex<BTreeMap<&'static str, u64>>,
    truncated: AtomicU64,
    connections_opened: AtomicU64,
    connections_closed: Mutex<BTreeMap<&'static str, u64>>,
}

/// One source's counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtocolSnapshot {
    pub received: u64,
    pub accepted: u64,
    pub malformed: BTreeMap<&'static str, u64>,
    pub dropped: BTreeMap<&'static str, u64>,
    /// Items cut to the size limit and then accepted (TCP frames over `syslog.max_frame`).
    pub truncated: u64,
    pub connections_opened: u64,
    /// Closed connections by reason (`client_closed`, `idle_timeout`, `unrecoverable_framing`, …).
    pub connections_closed: BTreeMap<&'static str, u64>,
}

impl ProtocolSnapshot {
    pub fn connections_open(&self) -> u64 {
        self.connections_opened.saturating_sub(self.connections_closed.values().sum())
    }
}

impl ProtocolStats {
    fn of(&self, source: Source) -> &SourceCounters {
        &self.sources[source as usize]
    }

    pub fn received(&self, source: Source, n: u64) {
        self.of(source).received.fetch_add(n, Ordering::Relaxed);
    }

    pub fn accepted(&self, source: Source, n: u64) {
        self.of(source).accepted.fetch_add(n, Ordering::Relaxed);
    }

    pub fn malformed(&self, source: Source, reason: &'static str, n: u64) {
        add(&self.of(source).malformed, reason, n);
    }

    pub fn dropped(&self, source: Source, reason: DropReason, n: u64) {
        add(&self.of(source).dropped, reason.as_str(), n);
    }

    pub fn truncated(&self, source: Source, n: u64) {
        self.of(source).truncated.fetch_add(n, Ordering::Relaxed);
    }

    pub fn connection_opened(&self, source: Source) {
        self.of(source).connections_opened.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_closed(&self, source: Source, reason: CloseReason) {
        add(&self.of(source).connections_closed, reason.as_str(), 1);
    }

    pub fn snapshot(&self, source: Source) -> ProtocolSnapshot {
        let counters = self.of(source);
        ProtocolSnapshot {
            received: counters.received.load(Ordering::Relaxed),
            accepted: counters.accepted.load(Ordering::Relaxed),
            malformed: lock(&counters.malformed).clone(),
            dropped: lock(&counters.dropped).clone(),
            truncated: counters.truncated.load(Ordering::Relaxed),
            connections_opened: counters.connections_opened.load(Ordering::Relaxed),
            connections_closed: lock(&counters.connections_closed).clone(),
        }
    }
}

fn add(map: &Mutex<BTreeMap<&'static str, u64>>, reason: &'static str, n: u64) {
    if n > 0 {
        *lock(map).entry(reason).or_default() += n;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_source_apart() {
        let stats = ProtocolStats::default();
        stats.received(Source::SyslogTcp, 5);
        stats.accepted(Source::SyslogTcp, 3);
        stats.malformed(Source::SyslogTcp, "bad_pri", 1);
        stats.dropped(Source::SyslogTcp, DropReason::DiskFull, 1);
        stats.connection_opened(Source::SyslogTcp);
        stats.connection_opened(Source::SyslogTcp);
        stats.connection_closed(Source::SyslogTcp, CloseReason::IdleTimeout);
        let tcp = stats.snapshot(Source::SyslogTcp);
        assert_eq!((tcp.received, tcp.accepted), (5, 3));
        assert_eq!(tcp.malformed["bad_pri"], 1);
        assert_eq!(tcp.dropped["disk_full"], 1);
        assert_eq!(tcp.connections_open(), 1);
        assert_eq!(stats.snapshot(Source::SyslogUdp), ProtocolSnapshot::default());
    }
}
