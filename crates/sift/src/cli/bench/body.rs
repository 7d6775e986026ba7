//! Request bodies for `sift bench`, generated before the clock starts so that the load
//! generator is not what it measures.
//!
//! A [`Template`] is a ready NDJSON batch of varied, realistic events (mostly info, a few
//! warnings and errors, several hosts and apps, messages of exactly `--message-size` bytes)
//! with a blank slot in each event for `fields.bench_sent_us`. Sending a batch costs one copy
//! of the template and one write of the send time per event; a smaller final batch is a
//! prefix of a template.

use rand::Rng;
use rand::seq::SliceRandom;

/// Room for the send time in µs since the epoch: any `u64`, left-aligned and padded with
/// spaces, which JSON allows after a number.
const STAMP_WIDTH: usize = 20;

const HOSTS: &[&str] = &["web-1", "web-2", "web-3", "web-4", "api-1", "api-2", "worker-1", "db-1"];
const APPS: &[&str] = &["checkout", "frontend", "payments", "search", "auth", "mailer"];

/// Words of the kind log lines are made of, separated by spaces; no quote, backslash or
/// control character, so a message needs no JSON escaping.
const WORDS: &str = "\
    GET POST PUT DELETE /api/v1/orders /api/v1/users/48213 /health /cart/checkout status=200 status=201 \
    status=404 status=500 duration_ms=12 duration_ms=348 bytes=5120 request_id=7f3a9c21 user_id=48213 \
    session=a81f trace=4bf92f3577b34da6 from to for request completed started finished in ms connection \
    accepted closed reset by peer timeout after retrying attempt 3 of 5 cache hit miss key upstream \
    responded slowly payment authorized declined card order shipped queue depth worker job failed \
    succeeded database query took rows returned TLS handshake client disconnected rate limited memory \
    usage GC pause config reloaded user logged in out #checkout #login @alice @bob 10.0.3.17 \
    192.168.1.20 port 8080 v2.4.1 deploy healthy unhealthy node";

/// One NDJSON batch with a slot for the send time in every event.
#[derive(Debug)]
pub(super) struct Template {
    bytes: Vec<u8>,
    /// Where each event's line ends (after its newline): `k` events are `bytes[..ends[k - 1]]`.
    ends: Vec<usize>,
    /// Where each event's send-time slot starts.
    stamps: Vec<usize>,
}

impl Template {
    /// A batch of `events` events, each message `message_size` bytes, tagged with `run`.
    pub(super) fn generate(rng: &mut impl Rng, events: usize, message_size: usize, run: &str) -> Template {
        let line_size = message_size + run.len() + 160;
        let mut template = Template {
            bytes: Vec::with_capacity(events * line_size),
            ends: Vec::with_capacity(events),
            stamps: Vec::with_capacity(events),
        };
        let mut message = String::with_capacity(message_size + 32);
        let words: Vec<&str> = WORDS.split_whitespace().collect();
        for _ in 0..events {
            let host = HOSTS.choose(rng).copied().unwrap_or("web-1");
            let app = APPS.choose(rng).copied().unwrap_or("checkout");
            let severity = match rng.gen_range(0..100) {
                0..2 => "error",
                2..6 => "warning",
                6..10 => "notice",
                10..15 => "debug",
                _ => "info",
            };
            fill_message(rng, &words, message_size, &mut message);
            let bytes = &mut template.bytes;
            for part in [
                "{\"host\":\"",
                host,
                "\",\"app\":\"",
                app,
                "\",\"severity\":\"",
                severity,
                "\",\"type\":\"bench\",\"message\":\"",
                &message,
                "\",\"fields\":{\"bench_run\":\"",
                run,
                "\",\"bench_sent_us\":",
            ] {
                bytes.extend_from_slice(part.as_bytes());
            }
            template.stamps.push(bytes.len());
            bytes.extend_from_slice(&stamp_text(0));
            bytes.extend_from_slice(b"}}\n");
            template.ends.push(bytes.len());
        }
        template
    }

    /// How many events the template holds.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The first `events` events (at most [`Template::len`]) as a request body, each stamped
    /// with `sent_us()`, read after the copy so that it is as close to the send as it can be.
    pub(super) fn body(&self, events: usize, sent_us: impl FnOnce() -> u64) -> Vec<u8> {
        let events = events.min(self.len());
        let end = if events == 0 { 0 } else { self.ends[events - 1] };
        let mut body = self.bytes[..end].to_vec();
        let stamp = stamp_text(sent_us());
        for &at in &self.stamps[..events] {
            body[at..at + STAMP_WIDTH].copy_from_slice(&stamp);
        }
        body
    }
}

/// A number left-aligned in [`STAMP_WIDTH`] bytes, padded with spaces.
fn stamp_text(value: u64) -> [u8; STAMP_WIDTH] {
    let mut text = [b' '; STAMP_WIDTH];
    let digits = value.to_string();
    text[..digits.len()].copy_from_slice(digits.as_bytes());
    text
}

/// Random words up to exactly `size` bytes (all ASCII, so any cut is a character boundary).
fn fill_message(rng: &mut impl Rng, words: &[&str], size: usize, message: &mut String) {
    message.clear();
    while message.len() < size {
        if !message.is_empty() {
            message.push(' ');
        }
        message.push_str(words.choose(rng).copied().unwrap_or("event"));
    }
    message.truncate(size);
    if message.ends_with(' ') {
        message.pop();
        message.push('x');
    }
}

/// Reads `"bench_sent_us":N` from an event's JSON text without parsing the rest: the tail
/// reader does this for every event it receives. The search starts from the end, where the
/// API writes `fields`.
pub(super) fn sent_stamp(event_json: &str) -> Option<u64> {
    const KEY: &str = "\"bench_sent_us\":";
    let at = event_json.rfind(KEY)? + KEY.len();
    let digits = event_json[at..].trim_start();
    let end = digits.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn bodies_are_ndjson_with_stamps_and_exact_message_sizes() {
        let mut rng = StdRng::seed_from_u64(7);
        let template = Template::generate(&mut rng, 50, 200, "qwertyuiopasdfgh");
        assert_eq!(template.len(), 50);
        let body = template.body(50, || 1_714_557_600_123_456);
        let text = std::str::from_utf8(&body).unwrap();
        assert_eq!(text.lines().count(), 50);
        let mut severities = std::collections::BTreeSet::new();
        for line in text.lines() {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(event["message"].as_str().unwrap().len(), 200);
            assert_eq!(event["fields"]["bench_run"], "qwertyuiopasdfgh");
            assert_eq!(event["fields"]["bench_sent_us"], 1_714_557_600_123_456u64);
            assert_eq!(sent_stamp(line), Some(1_714_557_600_123_456));
            severities.insert(event["severity"].as_str().unwrap().to_owned());
        }
        assert!(severities.contains("info") && severities.len() > 1, "{severities:?}");
    }

    #[test]
    fn a_short_batch_is_a_prefix() {
        let mut rng = StdRng::seed_from_u64(1);
        let template = Template::generate(&mut rng, 10, 5, "r");
        let body = template.body(3, || 42);
        let text = std::str::from_utf8(&body).unwrap();
        assert_eq!(text.lines().count(), 3);
        for line in text.lines() {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(event["fields"]["bench_sent_us"], 42);
            assert_eq!(event["message"].as_str().unwrap().len(), 5);
        }
        assert!(template.body(0, || 1).is_empty());
    }

    #[test]
    fn stamps_from_event_json() {
        assert_eq!(sent_stamp(r#"{"fields":{"bench_run":"x","bench_sent_us":17}}"#), Some(17));
        assert_eq!(sent_stamp(r#"{"fields":{"bench_sent_us": 17.0}}"#), Some(17));
        assert_eq!(sent_stamp(r#"{"fields":{"bench_sent_us":"x"}}"#), None);
        assert_eq!(sent_stamp(r#"{"fields":{}}"#), None);
    }
}
