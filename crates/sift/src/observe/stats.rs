//! Totals since start: events by severity, by app and by host; rejections by source and
//! reason; and the nodes (hosts and apps) seen, with first and last sighting.
//!
//! Counters are updated once per batch (a local tally in maps of the batch's own, then one
//! lock), never per event, and outside the store's gate.
//! The node tables are bounded: past `MAX_NODES` distinct names, further new names are
//! counted in `nodes_overflow` instead of remembered.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sift_core::{Event, Severity, Source, Str, Timestamp};

use super::{DropReason, ProtocolStats};

/// Most distinct hosts (and, separately, apps) remembered.
pub const MAX_NODES: usize = 10_000;

pub struct Stats {
    pub started: Timestamp,
    accepted: AtomicU64,
    rejected: AtomicU64,
    by_severity: [AtomicU64; 8],
    rejections: Mutex<BTreeMap<(Source, &'static str), u64>>,
    requests_rejected: Mutex<BTreeMap<&'static str, u64>>,
    nodes: Mutex<Nodes>,
    /// Received, accepted, malformed and dropped per protocol.
    pub protocols: ProtocolStats,
}

#[derive(Debug, Clone, Default)]
pub struct Nodes {
    pub hosts: HashMap<Str, NodeStat>,
    pub apps: HashMap<Str, NodeStat>,
    /// Events from hosts or apps not remembered because the tables were full.
    pub overflow: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeStat {
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub count: u64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone)]
pub struct StatsSnapshot {
    pub started: Timestamp,
    pub accepted: u64,
    pub rejected: u64,
    pub by_severity: [u64; 8],
    pub rejections: BTreeMap<(Source, &'static str), u64>,
    /// API requests answered with an error, by reason.
    pub requests_rejected: BTreeMap<&'static str, u64>,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats {
            started: Timestamp::now(),
            accepted: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            by_severity: Default::default(),
            rejections: Mutex::default(),
            requests_rejected: Mutex::default(),
            nodes: Mutex::default(),
            protocols: ProtocolStats::default(),
        }
    }
}

impl Stats {
    /// Counts accepted events. Call it outside any lock that others wait on (the store's
    /// gate above all): it tallies the batch per event, in maps of its own, then takes the
    /// node tables' lock once to add what it found.
    pub fn record_accepted(&self, events: &[Event]) {
        if events.is_empty() {
            return;
        }
        let mut severities = [0u64; 8];
        let mut hosts = Tally::default();
        let mut apps = Tally::default();
        for event in events {
            severities[usize::from(event.severity.syslog())] += 1;
            if let Some(host) = &event.host {
                hosts.add(host, event.received_at);
            }
            if let Some(app) = &event.app {
                apps.add(app, event.received_at);
            }
        }
        self.accepted.fetch_add(events.len() as u64, Ordering::Relaxed);
        for (counter, n) in self.by_severity.iter().zip(severities) {
            if n > 0 {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        }
        let mut nodes = self.nodes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Nodes { hosts: all_hosts, apps: all_apps, overflow } = &mut *nodes;
        merge(all_hosts, hosts, overflow);
        merge(all_apps, apps, overflow);
    }

    /// Counts items rejected because they were wrong (undecodable, over a limit, ...).
    pub fn record_malformed(&self, source: Source, reason: &'static str, n: u64) {
        self.protocols.malformed(source, reason, n);
        self.record_rejected(source, reason, n);
    }

    /// Counts valid items sift could not take (a full queue, a full disk).
    pub fn record_dropped(&self, source: Source, reason: DropReason, n: u64) {
        self.protocols.dropped(source, reason, n);
        self.record_rejected(source, reason.as_str(), n);
    }

    fn record_rejected(&self, source: Source, reason: &'static str, n: u64) {
        self.rejected.fetch_add(n, Ordering::Relaxed);
        let mut rejections = self.rejections.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *rejections.entry((source, reason)).or_default() += n;
    }

    /// Counts one API request answered with an error.
    pub fn record_request_rejected(&self, reason: &'static str) {
        let mut rejected = self.requests_rejected.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *rejected.entry(reason).or_default() += 1;
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            started: self.started,
            accepted: self.accepted.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            by_severity: std::array::from_fn(|i| self.by_severity[i].load(Ordering::Relaxed)),
            rejections: self.rejections.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone(),
            requests_rejected: self.requests_rejected.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone(),
        }
    }

    pub fn nodes(&self) -> Nodes {
        self.nodes.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

impl StatsSnapshot {
    pub fn severity(&self, severity: Severity) -> u64 {
        self.by_severity[usize::from(severity.syslog())]
    }
}

/// One batch's sightings of hosts (or apps): a map, so that a batch from many names costs
/// a lookup per event, and a shortcut for runs of one name (the usual batch, whose repeated
/// names share one allocation) that skips the hashing.
#[derive(Default)]
struct Tally<'a> {
    seen: Vec<(&'a Str, NodeStat)>,
    index: HashMap<&'a Str, usize>,
    /// Where the name seen last is in `seen`.
    last: Option<usize>,
}

impl<'a> Tally<'a> {
    fn add(&mut self, name: &'a Str, at: Timestamp) {
        let Tally { seen, index, last } = self;
        let at_index = match *last {
            Some(i) if Arc::ptr_eq(seen[i].0, name) => i,
            _ => *index.entry(name).or_insert_with(|| {
                seen.push((name, NodeStat { first_seen: at, last_seen: at, count: 0 }));
                seen.len() - 1
            }),
        };
        *last = Some(at_index);
        let stat = &mut seen[at_index].1;
        stat.count += 1;
        stat.first_seen = stat.first_seen.min(at);
        stat.last_seen = stat.last_seen.max(at);
    }
}

fn merge(all: &mut HashMap<Str, NodeStat>, batch: Tally<'_>, overflow: &mut u64) {
    for (name, stat) in batch.seen {
        if let Some(known) = all.get_mut(name) {
            known.count += stat.count;
            known.first_seen = known.first_seen.min(stat.first_seen);
            known.last_seen = known.last_seen.max(stat.last_seen);
        } else if all.len() < MAX_NODES {
            all.insert(name.clone(), stat);
        } else {
            *overflow += stat.count;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(host: &str, app: &str, severity: Severity, at: i64) -> Event {
        let mut event = Event::new(Source::HttpJson, Timestamp(at), "x");
        event.host = Some(host.into());
        event.app = Some(app.into());
        event.severity = severity;
        event
    }

    #[test]
    fn counts_by_severity_host_and_app_with_first_and_last_seen() {
        let stats = Stats::default();
        stats.record_accepted(&[event("web-1", "api", Severity::Error, 10), event("web-2", "api", Severity::Info, 20)]);
        stats.record_accepted(&[event("web-1", "worker", Severity::Info, 30)]);
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.accepted, 3);
        assert_eq!(snapshot.severity(Severity::Error), 1);
        assert_eq!(snapshot.severity(Severity::Info), 2);
        let nodes = stats.nodes();
        let web1 = nodes.hosts["web-1"];
        assert_eq!((web1.count, web1.first_seen, web1.last_seen), (2, Timestamp(10), Timestamp(30)));
        assert_eq!(nodes.apps["api"].count, 2);
    }

    #[test]
    fn a_batch_from_more_hosts_than_remembered_counts_the_rest_as_overflow() {
        let stats = Stats::default();
        let events: Vec<Event> =
            (0..MAX_NODES + 500).map(|n| event(&format!("host-{n}"), "api", Severity::Info, n as i64)).collect();
        stats.record_accepted(&events);
        stats.record_accepted(&events[..10]);
        let nodes = stats.nodes();
        assert_eq!(nodes.hosts.len(), MAX_NODES);
        let remembered: u64 = nodes.hosts.values().map(|stat| stat.count).sum();
        assert_eq!(remembered + nodes.overflow, (MAX_NODES + 510) as u64, "every event counted once");
        assert!(nodes.overflow >= 500);
        assert_eq!(nodes.apps["api"].count, (MAX_NODES + 510) as u64);
    }

    #[test]
    fn rejections_count_by_source_and_reason() {
        let stats = Stats::default();
        stats.record_malformed(Source::HttpJson, "malformed_json", 2);
        stats.record_dropped(Source::HttpJson, DropReason::QueueFull, 1);
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.rejected, 3);
        assert_eq!(snapshot.rejections[&(Source::HttpJson, "malformed_json")], 2);
        assert_eq!(snapshot.rejections[&(Source::HttpJson, "queue_full")], 1);
    }
}
