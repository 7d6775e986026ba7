//! An OTLP JSON `ExportLogsServiceRequest` read level by level, as [`super::protobuf`] reads
//! protobuf: a first pass counts containers and records without keeping anything, a second
//! splits the body into raw resources, scopes and records, and each of those is then decoded
//! on its own with `opentelemetry-proto`'s serde types (those longer than a record may be are
//! not decoded at all) and handed to the [`Mapper`].
//!
//! The passes read the keys the specification names, as `opentelemetry-proto` does
//! (`resourceLogs`, `scopeLogs`, `logRecords`, `resource`, `scope`, `schemaUrl`; unknown keys
//! ignored), and an error inside a record names its place in the whole body.

use std::marker::PhantomData;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use serde::de::{DeserializeOwned, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::map::Mapper;
use super::protobuf::Counts;
use crate::limits::Exceeded;

/// Why a walk stopped: a message for the client (with its place in the body), or a limit.
pub(super) enum Stop {
    Malformed(String),
    Exceeded(Exceeded),
}

/// Counts a request's containers and records, checking that it is JSON of the right shape.
pub(super) fn count(body: &[u8]) -> Result<Counts, String> {
    let request: CountRequest = serde_json::from_slice(body).map_err(|error| error.to_string())?;
    Ok(request.resource_logs.counts)
}

/// Hands every record of the request, in order, to `mapper`, with its resource and scope.
pub(super) fn walk(body: &[u8], mapper: &mut Mapper) -> Result<(), Stop> {
    let text = std::str::from_utf8(body)
        .map_err(|error| Stop::Malformed(format!("invalid UTF-8 at byte {}", error.valid_up_to())))?;
    let request: Request = serde_json::from_str(text).map_err(|error| Stop::Malformed(error.to_string()))?;
    let max = mapper.max_item_bytes();
    let decode = |raw| Part { raw, body: text, max };
    for resource_logs in request.resource_logs {
        let attributes = match resource_logs.resource {
            None => Ok(Vec::new()),
            Some(raw) => decode(raw).read::<Resource>()?.map(|resource| resource.attributes),
        };
        let resource = mapper.resource(attributes);
        for scope_logs in resource_logs.scope_logs {
            let scope = match scope_logs.scope {
                None => Ok(None),
                Some(raw) => decode(raw).read::<InstrumentationScope>()?.map(Some),
            };
            let scope = mapper.scope(scope);
            for raw in scope_logs.log_records {
                let record = decode(raw).read::<LogRecord>()?;
                mapper.record(record, &resource, &scope).map_err(Stop::Exceeded)?;
            }
        }
    }
    Ok(())
}

/// A raw resource, scope or record of a body.
struct Part<'a> {
    raw: &'a RawValue,
    body: &'a str,
    max: usize,
}

impl Part<'_> {
    /// The part decoded, or `Err(bytes)` when it is too long to be.
    fn read<T: DeserializeOwned>(&self) -> Result<Result<T, usize>, Stop> {
        let text = self.raw.get();
        if text.len() > self.max {
            return Ok(Err(text.len()));
        }
        serde_json::from_str(text).map(Ok).map_err(|error| Stop::Malformed(placed(&error, self.body, text)))
    }
}

/// serde_json's message for an error in `part` (a slice of `body`), with its line and column
/// in the whole body.
fn placed(error: &serde_json::Error, body: &str, part: &str) -> String {
    let full = error.to_string();
    if error.line() == 0 {
        return full;
    }
    let message = full.strip_suffix(&format!(" at line {} column {}", error.line(), error.column())).unwrap_or(&full);
    // The offset in `part` of serde_json's position: `column` bytes into line `line`.
    let line_start =
        error.line().checked_sub(2).and_then(|n| part.match_indices('\n').nth(n)).map_or(0, |(at, _)| at + 1);
    let start = (part.as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
    let at = (start + line_start + error.column()).min(body.len());
    let before = &body.as_bytes()[..at];
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |n| n + 1);
    let line = 1 + memchr::memchr_iter(b'\n', &before[..line_start]).count();
    format!("{message} at line {line} column {}", at - line_start)
}

/// The request split into raw parts.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Request<'a> {
    #[serde(borrow)]
    resource_logs: Vec<ResourceLogs<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ResourceLogs<'a> {
    #[serde(borrow)]
    resource: Option<&'a RawValue>,
    #[serde(borrow)]
    scope_logs: Vec<ScopeLogs<'a>>,
    #[allow(dead_code, reason = "read to check its type, as opentelemetry-proto does")]
    schema_url: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ScopeLogs<'a> {
    #[serde(borrow)]
    scope: Option<&'a RawValue>,
    #[serde(borrow)]
    log_records: Vec<&'a RawValue>,
    #[allow(dead_code, reason = "read to check its type, as opentelemetry-proto does")]
    schema_url: String,
}

/// The request read for its counts only: nothing is kept.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct CountRequest {
    resource_logs: Each<CountResourceLogs>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct CountResourceLogs {
    scope_logs: Each<CountScopeLogs>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct CountScopeLogs {
    log_records: Each<IgnoredAny>,
}

/// What one element of a counted array adds.
trait Counted {
    fn counts(&self) -> Counts;
}

impl Counted for CountResourceLogs {
    fn counts(&self) -> Counts {
        Counts { containers: 1 + self.scope_logs.counts.containers, records: self.scope_logs.counts.records }
    }
}

impl Counted for CountScopeLogs {
    fn counts(&self) -> Counts {
        Counts { containers: 1, records: self.log_records.counts.records }
    }
}

impl Counted for IgnoredAny {
    fn counts(&self) -> Counts {
        Counts { containers: 0, records: 1 }
    }
}

/// An array whose elements are counted and dropped.
struct Each<T> {
    counts: Counts,
    element: PhantomData<T>,
}

impl<T> Default for Each<T> {
    fn default() -> Each<T> {
        Each { counts: Counts::default(), element: PhantomData }
    }
}

impl<'de, T: DeserializeOwned + Counted> Deserialize<'de> for Each<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Each<T>, D::Error> {
        deserializer.deserialize_seq(Each::<T>::default())
    }
}

impl<'de, T: DeserializeOwned + Counted> Visitor<'de> for Each<T> {
    type Value = Each<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Each<T>, A::Error> {
        while let Some(element) = seq.next_element::<T>()? {
            let counts = element.counts();
            self.counts.containers = self.counts.containers.saturating_add(counts.containers);
            self.counts.records = self.counts.records.saturating_add(counts.records);
        }
        Ok(self)
    }
}
