//! What `sift bench` measured, and its two renderings: a summary for people and one JSON
//! object for scripts (`--json`). Latencies are recorded in microseconds and shown in
//! milliseconds; MB are 10^6 bytes of request body.

use hdrhistogram::Histogram;
use serde_json::{Value, json};

use super::counters::Counters;

/// p50, p90, p99 and max of a latency histogram, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    /// From a histogram of microseconds; `None` when it recorded nothing.
    pub(super) fn of(micros: &Histogram<u64>) -> Option<Percentiles> {
        if micros.is_empty() {
            return None;
        }
        let ms = |value: u64| value as f64 / 1000.0;
        Some(Percentiles {
            p50: ms(micros.value_at_quantile(0.50)),
            p90: ms(micros.value_at_quantile(0.90)),
            p99: ms(micros.value_at_quantile(0.99)),
            max: ms(micros.max()),
        })
    }

    fn text(this: Option<Percentiles>) -> String {
        match this {
            Some(p) => format!("p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms", p.p50, p.p90, p.p99, p.max),
            None => "none measured".to_owned(),
        }
    }

    fn json(this: Option<Percentiles>) -> serde_json::Map<String, Value> {
        let value = |f: fn(&Percentiles) -> f64| this.as_ref().map(|p| round(f(p), 3));
        let mut object = serde_json::Map::new();
        object.insert("p50".into(), value(|p| p.p50).into());
        object.insert("p90".into(), value(|p| p.p90).into());
        object.insert("p99".into(), value(|p| p.p99).into());
        object.insert("max".into(), value(|p| p.max).into());
        object
    }
}

/// End-to-end latency through the live tail.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct EndToEnd {
    pub latency: Option<Percentiles>,
    /// Events the tail received.
    pub received: u64,
    /// Events the server said this tail missed.
    pub dropped: u64,
}

/// Everything one run measured.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Report {
    pub protocol: String,
    pub connections: usize,
    /// Events per request; `None` for socket protocols.
    pub batch: Option<usize>,
    pub message_size: usize,
    /// Events in every request sent, answered or not.
    pub events_sent: u64,
    pub events_accepted: u64,
    pub events_rejected: u64,
    /// Requests that failed (an error status, a broken connection, a timeout).
    pub errors: u64,
    /// From the first request to the last answer.
    pub seconds: f64,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    pub request_latency: Option<Percentiles>,
    /// `None` without `--latency`, or for a protocol whose events cannot be followed.
    pub end_to_end: Option<EndToEnd>,
    /// What the server's counters of the protocol say it took during the run.
    pub server: Counters,
}

impl Report {
    fn events_per_sec(&self) -> f64 {
        per_second(self.events_accepted as f64, self.seconds)
    }

    fn mb_per_sec(&self) -> f64 {
        per_second(self.bytes_sent as f64 / 1e6, self.seconds)
    }

    /// Events sent that the server did not accept, in percent of those sent: over UDP,
    /// datagrams the kernel dropped plus those the server dropped.
    fn loss_percent(&self) -> f64 {
        if self.events_sent == 0 {
            return 0.0;
        }
        self.events_sent.saturating_sub(self.events_accepted) as f64 * 100.0 / self.events_sent as f64
    }

    pub(super) fn to_json(&self) -> Value {
        let e2e = self.end_to_end.as_ref().map(|e2e| {
            let mut object = Percentiles::json(e2e.latency);
            object.insert("received".into(), e2e.received.into());
            object.insert("dropped".into(), e2e.dropped.into());
            Value::Object(object)
        });
        json!({
            "protocol": self.protocol,
            "events_sent": self.events_sent,
            "events_accepted": self.events_accepted,
            "events_rejected": self.events_rejected,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "events_per_sec": round(self.events_per_sec(), 1),
            "mb_per_sec": round(self.mb_per_sec(), 3),
            "loss_pct": round(self.loss_percent(), 4),
            "request_latency_ms": Percentiles::json(self.request_latency),
            "e2e_latency_ms": e2e,
            "server": {
                "received": self.server.received,
                "accepted": self.server.accepted,
                "malformed": self.server.malformed,
                "dropped": self.server.dropped,
            },
        })
    }

    pub(super) fn to_text(&self) -> String {
        let batches = self.batch.map(|batch| format!(", batches of {batch}")).unwrap_or_default();
        let mut text = format!(
            "sent               {} events in {:.3} s ({}, {} connections{batches}, {}-byte messages)\n\
             accepted           {}, rejected {}, failed {} {}, not accepted {:.3}%\n\
             server counted     received {}, accepted {}, malformed {}, dropped {}\n\
             throughput         {:.0} events/s accepted, {:.2} MB/s sent\n",
            self.events_sent,
            self.seconds,
            self.protocol,
            self.connections,
            self.message_size,
            self.events_accepted,
            self.events_rejected,
            self.errors,
            if self.batch.is_some() { "requests" } else { "writes" },
            self.loss_percent(),
            self.server.received,
            self.server.accepted,
            self.server.malformed,
            self.server.dropped,
            self.events_per_sec(),
            self.mb_per_sec(),
        );
        if self.request_latency.is_some() {
            text.push_str(&format!("request latency    {}\n", Percentiles::text(self.request_latency)));
        }
        if let Some(e2e) = &self.end_to_end {
            text.push_str(&format!(
                "end-to-end latency {} (ingest to live tail; received {}, dropped {})\n",
                Percentiles::text(e2e.latency),
                e2e.received,
                e2e.dropped
            ));
        }
        text
    }
}

fn per_second(amount: f64, seconds: f64) -> f64 {
    if seconds > 0.0 { amount / seconds } else { 0.0 }
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    fn histogram(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
        let mut histogram = Histogram::new_with_max(3_600_000_000, 3).unwrap();
        for value in values {
            histogram.record(value).unwrap();
        }
        histogram
    }

    #[test]
    fn percentiles_in_milliseconds() {
        let p = Percentiles::of(&histogram(1..=1000)).unwrap();
        assert_eq!(p, Percentiles { p50: 0.5, p90: 0.9, p99: 0.99, max: 1.0 });
        let p = Percentiles::of(&histogram([250_000])).unwrap();
        assert_eq!((p.p50.round(), p.max.round()), (250.0, 250.0));
        assert_eq!(Percentiles::of(&histogram([])), None);
    }

    fn report() -> Report {
        Report {
            protocol: "http-json".into(),
            connections: 4,
            batch: Some(1000),
            message_size: 200,
            events_sent: 2000,
            events_accepted: 1990,
            events_rejected: 10,
            errors: 0,
            seconds: 0.5,
            bytes_sent: 700_000,
            request_latency: Percentiles::of(&histogram([1200, 1900])),
            end_to_end: Some(EndToEnd { latency: Percentiles::of(&histogram(1..=1000)), received: 1900, dropped: 90 }),
            server: Counters { received: 2000, accepted: 1990, malformed: 10, dropped: 0 },
        }
    }

    #[test]
    fn json_summary() {
        expect![[r#"{"protocol":"http-json","events_sent":2000,"events_accepted":1990,"events_rejected":10,"errors":0,"seconds":0.5,"events_per_sec":3980.0,"mb_per_sec":1.4,"loss_pct":0.5,"request_latency_ms":{"p50":1.2,"p90":1.9,"p99":1.9,"max":1.9},"e2e_latency_ms":{"p50":0.5,"p90":0.9,"p99":0.99,"max":1.0,"received":1900,"dropped":90},"server":{"received":2000,"accepted":1990,"malformed":10,"dropped":0}}"#]]
        .assert_eq(&report().to_json().to_string());
        let without = Report { end_to_end: None, request_latency: None, ..report() };
        let json = without.to_json();
        assert_eq!(json["e2e_latency_ms"], Value::Null);
        assert_eq!(json["request_latency_ms"]["p99"], Value::Null);
    }

    #[test]
    fn text_summary() {
        expect![[r#"
            sent               2000 events in 0.500 s (http-json, 4 connections, batches of 1000, 200-byte messages)
            accepted           1990, rejected 10, failed 0 requests, not accepted 0.500%
            server counted     received 2000, accepted 1990, malformed 10, dropped 0
            throughput         3980 events/s accepted, 1.40 MB/s sent
            request latency    p50 1.20 ms, p90 1.90 ms, p99 1.90 ms, max 1.90 ms
            end-to-end latency p50 0.50 ms, p90 0.90 ms, p99 0.99 ms, max 1.00 ms (ingest to live tail; received 1900, dropped 90)
        "#]]
        .assert_eq(&report().to_text());
    }
}
