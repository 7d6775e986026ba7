//! Pre-built messages with a slot for the send time: every protocol's generator fills a
//! [`Template`] before the clock starts, so that sending costs one copy and one write of the
//! send time per message, and the load generator is not what the run measures.
//!
//! The slot's encoding is the protocol's: digits padded with spaces after a JSON number,
//! zero-padded digits in a syslog structured-data value, or the eight bytes of an OTLP
//! `double` attribute. Each is read back by the tail as `..sent_us":N` in the event's JSON.

use std::ops::Range;

/// How a send time (µs since the epoch) is written into its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stamp {
    /// Left-aligned digits padded with spaces to 20 bytes (any `u64`; JSON allows the spaces).
    JsonNumber,
    /// Sixteen digits, zero-padded (µs since the epoch have 16 digits until the year 2286).
    Digits,
    /// A protobuf `double`, little-endian (exact for µs until the year 2255).
    F64,
}

impl Stamp {
    pub(super) fn width(self) -> usize {
        match self {
            Stamp::JsonNumber => 20,
            Stamp::Digits => 16,
            Stamp::F64 => 8,
        }
    }

    /// The slot's bytes for `value`; the first [`Stamp::width`] bytes are meant.
    pub(super) fn encode(self, value: u64) -> [u8; 20] {
        let mut out = [b' '; 20];
        match self {
            Stamp::JsonNumber => {
                let digits = value.to_string();
                out[..digits.len()].copy_from_slice(digits.as_bytes());
            }
            Stamp::Digits => {
                let digits = format!("{:016}", value % 10_000_000_000_000_000);
                out[..16].copy_from_slice(digits.as_bytes());
            }
            Stamp::F64 => out[..8].copy_from_slice(&(value as f64).to_le_bytes()),
        }
        out
    }
}

/// Messages laid end to end, each with at most one send-time slot.
#[derive(Debug)]
pub(super) struct Template {
    bytes: Vec<u8>,
    /// Where each message ends: message `k` is `bytes[ends[k - 1]..ends[k]]` (from 0 for the first).
    ends: Vec<usize>,
    /// Where each slot starts, in message order; empty when the messages have none.
    stamps: Vec<usize>,
    stamp: Stamp,
}

impl Template {
    pub(super) fn new(stamp: Stamp) -> Template {
        Template { bytes: Vec::new(), ends: Vec::new(), stamps: Vec::new(), stamp }
    }

    /// Appends text to the message being built.
    pub(super) fn push(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Appends an empty slot for the send time to the message being built.
    pub(super) fn push_stamp(&mut self) {
        self.stamps.push(self.bytes.len());
        let empty = self.stamp.encode(0);
        self.bytes.extend_from_slice(&empty[..self.stamp.width()]);
    }

    /// Ends the message being built.
    pub(super) fn end_message(&mut self) {
        self.ends.push(self.bytes.len());
    }

    /// A template that is one message already encoded (an OTLP request) whose slots are
    /// where `marker` occurs, in order.
    pub(super) fn from_marked(bytes: Vec<u8>, marker: &[u8], stamp: Stamp) -> Template {
        debug_assert_eq!(marker.len(), stamp.width());
        let stamps = bytes.windows(marker.len()).enumerate().filter(|(_, w)| *w == marker).map(|(at, _)| at).collect();
        let ends = vec![bytes.len()];
        Template { bytes, ends, stamps, stamp }
    }

    /// How many messages the template holds.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// How many send-time slots the template holds.
    pub(super) fn slots(&self) -> usize {
        self.stamps.len()
    }

    /// The byte range of message `index`.
    pub(super) fn message(&self, index: usize) -> Range<usize> {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        start..self.ends[index]
    }

    #[cfg(test)]
    pub(super) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Messages `range` appended to `out`, each slot stamped with `sent_us()`, read after the
    /// copy so that it is as close to the send as it can be.
    pub(super) fn copy_into(&self, range: Range<usize>, out: &mut Vec<u8>, sent_us: impl FnOnce() -> u64) {
        if range.is_empty() {
            return;
        }
        let (start, end) = (self.message(range.start).start, self.ends[range.end - 1]);
        let base = out.len();
        out.extend_from_slice(&self.bytes[start..end]);
        if self.stamps.is_empty() {
            return;
        }
        let stamp = self.stamp.encode(sent_us());
        let width = self.stamp.width();
        let first = self.stamps.partition_point(|&at| at < start);
        for &at in self.stamps[first..].iter().take_while(|&&at| at < end) {
            let at = base + at - start;
            out[at..at + width].copy_from_slice(&stamp[..width]);
        }
    }

    /// The first `events` messages (all of a one-message template) as one request body.
    pub(super) fn body(&self, events: usize, sent_us: impl FnOnce() -> u64) -> Vec<u8> {
        let events = events.min(self.len());
        let mut body = Vec::with_capacity(if events == 0 { 0 } else { self.ends[events - 1] });
        self.copy_into(0..events, &mut body, sent_us);
        body
    }
}

/// Reads a send time from an event's JSON as the tail receives it: the number after the last
/// `sent_us":` (`fields.bench_sent_us` of JSON and OTLP events, `fields.bench@32473.sent_us`
/// of syslog ones), bare or quoted, without parsing the rest.
pub(super) fn sent_stamp(event_json: &str) -> Option<u64> {
    const KEY: &str = "sent_us\":";
    let at = event_json.rfind(KEY)? + KEY.len();
    let digits = event_json[at..].trim_start().trim_start_matches('"');
    let end = digits.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(stamp: Stamp) -> Template {
        let mut template = Template::new(stamp);
        for text in ["a=", "bb=", "ccc="] {
            template.push(text.as_bytes());
            template.push_stamp();
            template.push(b";");
            template.end_message();
        }
        template
    }

    #[test]
    fn prefixes_and_ranges_are_stamped() {
        let template = template(Stamp::Digits);
        assert_eq!(template.len(), 3);
        let body = template.body(2, || 1_714_557_600_123_456);
        assert_eq!(body, b"a=1714557600123456;bb=1714557600123456;");
        let mut out = b"x".to_vec();
        template.copy_into(1..3, &mut out, || 7);
        assert_eq!(out, b"xbb=0000000000000007;ccc=0000000000000007;");
        assert_eq!(&template.bytes()[template.message(2)], b"ccc=0000000000000000;");
        assert!(template.body(0, || 1).is_empty());
    }

    #[test]
    fn slot_encodings() {
        let json = template(Stamp::JsonNumber).body(1, || 17);
        assert_eq!(json, b"a=17                  ;");
        let marker = Stamp::F64.encode(123_456_789);
        let bytes = [b"<".as_slice(), &marker[..8], b">", &marker[..8]].concat();
        let marked = Template::from_marked(bytes, &marker[..8], Stamp::F64);
        assert_eq!(marked.slots(), 2);
        let body = marked.body(1, || 5);
        assert_eq!(&body[1..9], &5f64.to_le_bytes());
        assert_eq!(&body[10..], &5f64.to_le_bytes());
    }

    #[test]
    fn stamps_from_event_json() {
        assert_eq!(sent_stamp(r#"{"fields":{"bench_run":"x","bench_sent_us":17}}"#), Some(17));
        assert_eq!(sent_stamp(r#"{"fields":{"bench_sent_us": 17.0}}"#), Some(17));
        assert_eq!(
            sent_stamp(r#"{"fields":{"bench@32473":{"run":"x","sent_us":"0001714557600123"}}}"#),
            Some(1_714_557_600_123)
        );
        assert_eq!(sent_stamp(r#"{"fields":{"bench_sent_us":"x"}}"#), None);
        assert_eq!(sent_stamp(r#"{"fields":{}}"#), None);
    }
}
