//! `--protocol http-json`: NDJSON batches for `POST /api/v1/events`, the server's own format.
//!
//! Each event is one line with a host, an app, a severity, `type = bench`, a message of
//! exactly `--message-size` bytes and `fields.bench_run`/`fields.bench_sent_us`, the run id
//! and send time that the live tail measures latency with.

use rand::Rng;

use super::template::{Stamp, Template};
use super::text::{Sample, Words};

/// A batch of `events` events tagged with `run`.
pub(super) fn generate(rng: &mut impl Rng, events: usize, message_size: usize, run: &str) -> Template {
    let mut template = Template::new(Stamp::JsonNumber);
    let words = Words::new();
    let mut message = String::with_capacity(message_size + 32);
    for _ in 0..events {
        let sample = Sample::generate(rng);
        words.fill(rng, message_size, &mut message);
        for part in [
            "{\"host\":\"",
            sample.host,
            "\",\"app\":\"",
            sample.app,
            "\",\"severity\":\"",
            sample.severity.name(),
            "\",\"type\":\"bench\",\"message\":\"",
            &message,
            "\",\"fields\":{\"bench_run\":\"",
            run,
            "\",\"bench_sent_us\":",
        ] {
            template.push(part.as_bytes());
        }
        template.push_stamp();
        template.push(b"}}\n");
        template.end_message();
    }
    template
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::bench::template::sent_stamp;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn bodies_are_ndjson_with_stamps_and_exact_message_sizes() {
        let mut rng = StdRng::seed_from_u64(7);
        let template = generate(&mut rng, 50, 200, "qwertyuiopasdfgh");
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
        let template = generate(&mut rng, 10, 5, "r");
        let body = template.body(3, || 42);
        let text = std::str::from_utf8(&body).unwrap();
        assert_eq!(text.lines().count(), 3);
        for line in text.lines() {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(event["fields"]["bench_sent_us"], 42);
            assert_eq!(event["message"].as_str().unwrap().len(), 5);
        }
    }
}
