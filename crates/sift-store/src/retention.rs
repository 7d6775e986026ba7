//! Retention: how long events are kept, per severity and per channel (DESIGN.md section 7).
//!
//! Every event belongs to one retention *class*: its channel's when `[retention.channel]`
//! names the channel, else its severity's when `[retention.severity]` names it, else
//! `default`. Segments hold one class each, so a whole file expires at once. An [`Expiry`]
//! (the cutoffs at one moment) also hides expired events that still sit in memory or in a
//! file not yet deleted, so an expired event is never returned from any tier.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use sift_core::{Event, Severity, Timestamp};

/// The class of events no rule names.
pub const DEFAULT_CLASS: &str = "default";

#[derive(Debug, Clone)]
pub struct Retention {
    /// How long events of the default class are kept.
    pub default: Duration,
    /// Per severity (syslog number as index), when configured.
    pub by_severity: [Option<Duration>; 8],
    /// Per channel name, when configured.
    pub by_channel: HashMap<String, Duration>,
    /// Most bytes of segments kept (0: no bound); the oldest go first.
    pub max_bytes: u64,
    /// The free space kept on the segments' file system: below it, the oldest go first too.
    pub min_free: MinFree,
}

/// The free space to keep on the file system that holds the segments (`storage.min_free`):
/// while less is free, the oldest segments are deleted, as `max_bytes` deletes them.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum MinFree {
    /// No floor.
    #[default]
    None,
    Bytes(u64),
    /// A share of the file system's size, in percent (above 0, below 100).
    Percent(f64),
}

impl MinFree {
    /// The bytes to keep free on a file system of `size` bytes.
    pub fn bytes(self, size: u64) -> u64 {
        match self {
            MinFree::None => 0,
            MinFree::Bytes(bytes) => bytes,
            MinFree::Percent(percent) => (size as f64 * percent / 100.0) as u64,
        }
    }
}

impl Default for Retention {
    /// Keep everything (for tests and tools).
    fn default() -> Retention {
        Retention {
            default: Duration::MAX,
            by_severity: [None; 8],
            by_channel: HashMap::new(),
            max_bytes: 0,
            min_free: MinFree::None,
        }
    }
}

impl Retention {
    /// The class an event is stored under: a valid segment class name.
    pub fn class_of(&self, event: &Event) -> Cow<'static, str> {
        if self.by_channel.contains_key(&*event.channel) {
            return Cow::Owned(channel_class(&event.channel));
        }
        if self.by_severity[usize::from(event.severity.syslog())].is_some() {
            return Cow::Borrowed(event.severity.name());
        }
        Cow::Borrowed(DEFAULT_CLASS)
    }

    /// How long events of a class are kept; unknown classes (from an older configuration)
    /// get the default.
    pub fn max_age(&self, class: &str) -> Duration {
        if let Some(severity) = Severity::from_name(class).filter(|s| s.name() == class)
            && let Some(age) = self.by_severity[usize::from(severity.syslog())]
        {
            return age;
        }
        self.by_channel.iter().find(|(name, _)| channel_class(name) == class).map_or(self.default, |(_, age)| *age)
    }

    /// The cutoffs at `now`.
    pub fn expiry(&self, now: Timestamp) -> Expiry {
        let cutoff = |age: Duration| Timestamp::from_micros(now.as_micros().saturating_sub(micros(age)));
        Expiry {
            default: cutoff(self.default),
            by_severity: self.by_severity.map(|age| age.map(cutoff)),
            by_channel: self.by_channel.iter().map(|(name, age)| (name.clone(), cutoff(*age))).collect(),
        }
    }
}

fn micros(age: Duration) -> i64 {
    i64::try_from(age.as_micros()).unwrap_or(i64::MAX)
}

/// The class name of a channel: lower-case letters, digits and `_` (segment file names allow
/// no more), plus a hash of the exact name so that `Web-1` and `web_1` stay apart.
pub fn channel_class(name: &str) -> String {
    let clean: String =
        name.chars().take(40).map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    // FNV-1a: stable across versions and platforms, which file names need.
    let hash = name.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    format!("channel_{clean}_{hash:08x}")
}

/// Retention cutoffs at one moment: events older than their class's cutoff are expired.
#[derive(Debug, Clone)]
pub struct Expiry {
    default: Timestamp,
    by_severity: [Option<Timestamp>; 8],
    by_channel: HashMap<String, Timestamp>,
}

impl Expiry {
    /// Nothing expires.
    pub fn never() -> Expiry {
        Expiry { default: Timestamp::MIN, by_severity: [None; 8], by_channel: HashMap::new() }
    }

    pub fn is_expired(&self, event: &Event) -> bool {
        event.time < self.cutoff_of(event)
    }

    fn cutoff_of(&self, event: &Event) -> Timestamp {
        if !self.by_channel.is_empty()
            && let Some(cutoff) = self.by_channel.get(&*event.channel)
        {
            return *cutoff;
        }
        self.by_severity[usize::from(event.severity.syslog())].unwrap_or(self.default)
    }

    /// The time from which nothing is expired, whatever its class: the latest cutoff.
    pub fn keeps_all_from(&self) -> Timestamp {
        self.by_severity.iter().flatten().chain(self.by_channel.values()).fold(self.default, |a, &b| a.max(b))
    }

    /// The cutoff of a segment class (`Retention::class_of`'s names).
    pub fn cutoff_of_class(&self, retention: &Retention, class: &str) -> Timestamp {
        if let Some(severity) = Severity::from_name(class).filter(|s| s.name() == class)
            && let Some(cutoff) = self.by_severity[usize::from(severity.syslog())]
        {
            return cutoff;
        }
        retention
            .by_channel
            .keys()
            .find(|name| channel_class(name) == class)
            .and_then(|name| self.by_channel.get(name))
            .copied()
            .unwrap_or(self.default)
    }
}

#[cfg(test)]
mod tests {
    use sift_core::Source;

    use super::*;

    fn retention() -> Retention {
        let mut by_severity = [None; 8];
        by_severity[Severity::Debug.syslog() as usize] = Some(Duration::from_secs(3600));
        Retention {
            default: Duration::from_secs(30 * 86_400),
            by_severity,
            by_channel: HashMap::from([("audit".to_owned(), Duration::from_secs(365 * 86_400))]),
            max_bytes: 0,
            min_free: MinFree::None,
        }
    }

    fn event(severity: Severity, channel: &str, hours_ago: i64, now: Timestamp) -> Event {
        let mut event = Event::new(Source::HttpJson, Timestamp(now.0 - hours_ago * 3_600_000_000), "x");
        event.severity = severity;
        event.channel = channel.into();
        event
    }

    #[test]
    fn classes_by_channel_then_severity_then_default() {
        let r = retention();
        let now = Timestamp::now();
        assert_eq!(r.class_of(&event(Severity::Debug, "audit", 0, now)), channel_class("audit"));
        assert_eq!(r.class_of(&event(Severity::Debug, "default", 0, now)), "debug");
        assert_eq!(r.class_of(&event(Severity::Error, "default", 0, now)), "default");
        assert_eq!(r.max_age("debug"), Duration::from_secs(3600));
        assert_eq!(r.max_age(&channel_class("audit")), Duration::from_secs(365 * 86_400));
        assert_eq!(r.max_age("info"), r.default, "a class no rule names any more keeps the default");
    }

    #[test]
    fn expiry_per_class() {
        let r = retention();
        let now = Timestamp::now();
        let expiry = r.expiry(now);
        assert!(expiry.is_expired(&event(Severity::Debug, "default", 3, now)));
        assert!(!expiry.is_expired(&event(Severity::Error, "default", 3, now)));
        assert!(!expiry.is_expired(&event(Severity::Debug, "audit", 3, now)));
        assert!(expiry.is_expired(&event(Severity::Error, "default", 31 * 24, now)));
        assert!(!Expiry::never().is_expired(&event(Severity::Debug, "default", 1_000_000, now)));
        assert!(expiry.cutoff_of_class(&r, "debug") > expiry.cutoff_of_class(&r, "default"));
    }

    #[test]
    fn channel_classes_are_valid_file_classes() {
        let class = channel_class("Web-1/prod");
        assert!(class.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'), "{class}");
        assert_ne!(channel_class("Web-1"), channel_class("web_1"));
    }
}
