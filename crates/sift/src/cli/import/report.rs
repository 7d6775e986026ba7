//! What `sift import` tells the user, on standard error (what came from the file or the server
//! with its control characters escaped): each rejected record (the first
//! [`MAX_LISTED`] of a file) with its line and reason as it goes, a warning the first time an
//! event is old enough for the server to hide or re-time it, and a summary per file:
//!
//! ```text
//! rejected line 3 of app.log: bad_pri: PRI above 191 (facility 23, severity 7) (at byte 4)
//! imported 8 events from 10 syslog lines of app.log; rejected 2: 1 bad_pri, 1 message_too_large
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sift_core::Timestamp;

use super::input::Format;
use crate::cli::escape::Escaped;

/// Rejected records listed one by one per file; past this, only counted.
pub const MAX_LISTED: u64 = 20;
/// The server's default `[retention] default`: older events are accepted and not kept.
const RETENTION_DAYS: i64 = 30;
/// The server's default `[pipeline] max_past`: older times are replaced by the arrival time.
const MAX_PAST_DAYS: i64 = 365;
const DAY_MICROS: i64 = 86_400 * 1_000_000;

/// The tally of one input.
#[derive(Debug)]
pub struct FileReport {
    pub name: String,
    format: Format,
    pub records: u64,
    pub imported: u64,
    rejected: BTreeMap<String, u64>,
    rejected_total: u64,
}

impl FileReport {
    pub fn new(name: &str, format: Format) -> FileReport {
        FileReport {
            name: name.to_owned(),
            format,
            records: 0,
            imported: 0,
            rejected: BTreeMap::new(),
            rejected_total: 0,
        }
    }

    pub fn rejected(&self) -> u64 {
        self.rejected_total
    }

    /// `line 17` or `frame 17`.
    pub fn record(&self, at: u64) -> String {
        format!("{} {at}", if self.format == Format::Logplex { "frame" } else { "line" })
    }

    /// Counts a rejected record and returns the line to print for it, while under the limit.
    pub fn reject(&mut self, at: u64, reason: &str, detail: &str) -> Option<String> {
        *self.rejected.entry(reason.to_owned()).or_default() += 1;
        self.rejected_total += 1;
        match self.rejected_total {
            n if n <= MAX_LISTED => Some(format!(
                "rejected {} of {}: {}: {}",
                self.record(at),
                Escaped(&self.name),
                Escaped(reason),
                Escaped(detail)
            )),
            _ => None,
        }
    }

    /// `imported 8 events from 10 syslog lines of app.log; rejected 2: 1 bad_pri, 1 message_too_large`.
    pub fn summary(&self) -> String {
        let unit = if self.format == Format::Logplex { "frame" } else { "line" };
        let records = plural(self.records, &format!("{} {unit}", self.format.name()));
        let mut text = format!("imported {} from {records} of {}", plural(self.imported, "event"), Escaped(&self.name));
        if self.rejected_total > 0 {
            let reasons: Vec<String> =
                self.rejected.iter().map(|(reason, n)| format!("{n} {}", Escaped(reason))).collect();
            let _ = write!(text, "; rejected {}: {}", self.rejected_total, reasons.join(", "));
            if self.rejected_total > MAX_LISTED {
                let _ = write!(text, " (the first {MAX_LISTED} listed above)");
            }
        }
        text
    }
}

/// The warnings about old events, each given once per run.
#[derive(Debug)]
pub struct AgeWarnings {
    now: Timestamp,
    retention_given: bool,
    max_past_given: bool,
}

impl AgeWarnings {
    pub fn new(now: Timestamp) -> AgeWarnings {
        AgeWarnings { now, retention_given: false, max_past_given: false }
    }

    /// The warnings `time` (of record `place`, such as `line 3 of app.log`) calls for that
    /// were not given yet. The server's settings are not visible to a client, so these speak
    /// of its defaults and say which keys change them.
    pub fn check(&mut self, time: Timestamp, place: &str) -> Vec<String> {
        let age_days = (self.now.as_micros() - time.as_micros()) / DAY_MICROS;
        let mut warnings = Vec::new();
        if age_days >= RETENTION_DAYS && !self.retention_given {
            self.retention_given = true;
            warnings.push(format!(
                "warning: {place} is from {time}, more than {RETENTION_DAYS} days ago: a server with the \
                 default retention ([retention] default = \"30d\") accepts such events but does not keep \
                 them, so searches will not find them; raise [retention] default (or a \
                 [retention.channel] or [retention.severity] rule) on the server to keep old logs"
            ));
        }
        if age_days >= MAX_PAST_DAYS && !self.max_past_given {
            self.max_past_given = true;
            warnings.push(format!(
                "warning: {place} is from {time}, more than {MAX_PAST_DAYS} days ago: the server stores \
                 such events with their arrival time as time and the original in fields._original_time \
                 ([pipeline] max_past, 365d by default)"
            ));
        }
        warnings
    }
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        let mut report = FileReport::new("app.log", Format::Syslog);
        report.records = 10;
        report.imported = 7;
        assert_eq!(
            report.reject(3, "bad_pri", "expected '>'").as_deref(),
            Some("rejected line 3 of app.log: bad_pri: expected '>'")
        );
        report.reject(9, "message_too_large", "message is 70000 bytes");
        report.reject(4, "bad_pri", "expected '>'");
        assert_eq!(
            report.summary(),
            "imported 7 events from 10 syslog lines of app.log; rejected 3: 2 bad_pri, 1 message_too_large"
        );

        let mut report = FileReport::new("body", Format::Logplex);
        report.records = 1;
        report.imported = 1;
        assert_eq!(report.summary(), "imported 1 event from 1 logplex frame of body");
        for at in 0..=MAX_LISTED {
            let listed = report.reject(at, "bad_pri", "x");
            assert_eq!(listed.is_some(), at < MAX_LISTED);
        }
        assert!(
            report.summary().ends_with("rejected 21: 21 bad_pri (the first 20 listed above)"),
            "{}",
            report.summary()
        );
    }

    #[test]
    fn r_rejections_print_the_servers_text_escaped() {
        let mut report = FileReport::new("app.log", Format::Ndjson);
        let listed = report.reject(2, "bad\u{1b}[2J", "field \u{1b}]0;x\u{7}\nfake line");
        assert_eq!(
            listed.as_deref(),
            Some(r"rejected line 2 of app.log: bad\u{1b}[2J: field \u{1b}]0;x\u{7}\nfake line")
        );
        assert!(report.summary().ends_with(r"rejected 1: 1 bad\u{1b}[2J"), "{}", report.summary());
    }

    #[test]
    fn old_events_warn_once_each() {
        let now = Timestamp::now();
        let days = |n: i64| Timestamp::from_micros(now.as_micros() - n * DAY_MICROS);
        let mut warnings = AgeWarnings::new(now);
        assert!(warnings.check(days(29), "line 1 of a").is_empty());
        let first = warnings.check(days(31), "line 2 of a");
        assert_eq!(first.len(), 1);
        assert!(first[0].contains("line 2 of a is from") && first[0].contains("[retention] default"), "{first:?}");
        assert!(warnings.check(days(40), "line 3 of a").is_empty());
        let second = warnings.check(days(400), "line 4 of a");
        assert_eq!(second.len(), 1);
        assert!(second[0].contains("fields._original_time"), "{second:?}");
        assert!(warnings.check(days(800), "line 5 of a").is_empty());
    }
}
