//! `--protocol otlp`: OpenTelemetry logs over OTLP/HTTP, `POST /v1/logs` with protobuf
//! `ExportLogsServiceRequest` bodies of `--batch` records, as an SDK's batch exporter sends
//! them: records grouped by resource (`service.name`, `service.version`, `host.name`), one
//! instrumentation scope, a severity number and text, a string body of `--message-size`
//! bytes, and the attributes `bench_run` and `bench_sent_us` (into `fields`, as with JSON).
//!
//! The send time is a `double` attribute: eight bytes at a fixed place in the encoded body,
//! so a pre-encoded body is stamped without encoding it again (µs since the epoch fit a
//! double's 53 bits exactly, and the event shows it as a number the tail reads).

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use rand::Rng;
use reqwest::header;
use sift_core::Severity;

use super::super::client::Client;
use super::template::{Stamp, Template};
use super::text::{Sample, Words};

/// What the send-time slots hold until they are stamped: a value no other eight bytes of the
/// body are (checked: the template must find exactly one slot per record).
const MARKER_US: u64 = 9_007_199_254_740_881;

/// One request body of `records` records tagged with `run`.
pub(super) fn generate(rng: &mut impl Rng, records: usize, message_size: usize, run: &str) -> Template {
    let words = Words::new();
    let mut message = String::with_capacity(message_size + 32);
    let now = jiff::Timestamp::now().as_nanosecond() as u64;
    let mut resources: BTreeMap<(&str, &str), Vec<LogRecord>> = BTreeMap::new();
    for _ in 0..records {
        let sample = Sample::generate(rng);
        words.fill(rng, message_size, &mut message);
        let record = LogRecord {
            time_unix_nano: now,
            observed_time_unix_nano: now,
            severity_number: severity_number(sample.severity),
            severity_text: sample.severity.name().to_uppercase(),
            body: Some(value(Any::StringValue(message.clone()))),
            attributes: vec![
                attribute("bench_run", Any::StringValue(run.to_owned())),
                attribute("bench_sent_us", Any::DoubleValue(MARKER_US as f64)),
                attribute("http.route", Any::StringValue("/api/v1/orders".to_owned())),
            ],
            ..LogRecord::default()
        };
        resources.entry((sample.host, sample.app)).or_default().push(record);
    }
    let request = ExportLogsServiceRequest {
        resource_logs: resources
            .into_iter()
            .map(|((host, app), log_records)| ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![
                        attribute("service.name", Any::StringValue(app.to_owned())),
                        attribute("service.version", Any::StringValue("2.4.1".to_owned())),
                        attribute("host.name", Any::StringValue(host.to_owned())),
                    ],
                    ..Resource::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope { name: "bench".to_owned(), ..InstrumentationScope::default() }),
                    log_records,
                    ..ScopeLogs::default()
                }],
                ..ResourceLogs::default()
            })
            .collect(),
    };
    let marker = Stamp::F64.encode(MARKER_US);
    let template = Template::from_marked(request.encode_to_vec(), &marker[..Stamp::F64.width()], Stamp::F64);
    assert_eq!(template.slots(), records, "the send-time marker must occur once per record");
    template
}

/// The request for one body.
pub(super) fn request(client: &Client, body: Vec<u8>) -> reqwest::RequestBuilder {
    client.post("/v1/logs").header(header::CONTENT_TYPE, "application/x-protobuf").body(body)
}

/// The first number of the severity's OTLP range.
fn severity_number(severity: Severity) -> i32 {
    match severity {
        Severity::Debug => 5,
        Severity::Info => 9,
        Severity::Notice => 10,
        Severity::Warning => 13,
        Severity::Error => 17,
        Severity::Critical => 21,
        Severity::Alert => 22,
        Severity::Emergency => 23,
    }
}

fn value(value: Any) -> AnyValue {
    AnyValue { value: Some(value) }
}

fn attribute(key: &str, any: Any) -> KeyValue {
    KeyValue { key: key.to_owned(), value: Some(value(any)), ..KeyValue::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::bench::template::sent_stamp;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use sift_core::Timestamp;

    #[test]
    fn bodies_decode_with_the_stamp_in_every_record() {
        let mut rng = StdRng::seed_from_u64(9);
        let template = generate(&mut rng, 40, 200, "abcdefghijklmnop");
        let body = template.body(1, || 1_714_557_600_123_456);
        let events = sift_core::otlp::decode_protobuf(&body, Timestamp::now(), &sift_core::Limits::default()).unwrap();
        assert_eq!(events.len(), 40);
        for event in events {
            let event = event.unwrap();
            assert_eq!(event.message.len(), 200);
            assert_eq!(event.fields["bench_run"], "abcdefghijklmnop");
            let json = serde_json::Value::Object(event.fields.clone()).to_string();
            assert_eq!(sent_stamp(&json), Some(1_714_557_600_123_456), "{json}");
            assert!(event.host.is_some() && event.app.is_some());
        }
    }
}
