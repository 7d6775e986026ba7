//! The bodies OTLP/HTTP answers with, in the request's own encoding: an
//! `ExportLogsServiceResponse` on success (with `partial_success` when records were rejected)
//! and a `google.rpc.Status` on failure.

use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceResponse};
use prost::Message;
use serde_json::json;

use super::Format;

/// `google.rpc.Status` without `details`, which sift never fills (clients decode failures
/// with it too).
#[derive(Clone, PartialEq, Message)]
pub struct Status {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// The success answer. With `rejected > 0` it carries `partial_success` with the count and
/// `message`; without, it is empty (full success).
pub fn export_response(rejected: usize, message: &str, format: Format) -> Vec<u8> {
    let rejected = i64::try_from(rejected).unwrap_or(i64::MAX);
    match format {
        Format::Protobuf => {
            let partial_success = (rejected > 0).then(|| ExportLogsPartialSuccess {
                rejected_log_records: rejected,
                error_message: message.to_owned(),
            });
            ExportLogsServiceResponse { partial_success }.encode_to_vec()
        }
        // Hand-written rather than serde: the protobuf JSON mapping writes an int64 as a string.
        Format::Json if rejected > 0 => {
            json!({ "partialSuccess": { "rejectedLogRecords": rejected.to_string(), "errorMessage": message } })
                .to_string()
                .into_bytes()
        }
        Format::Json => b"{}".to_vec(),
    }
}

/// gRPC status codes that sift's failures map to.
pub mod code {
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const INTERNAL: i32 = 13;
    pub const UNAVAILABLE: i32 = 14;
}

/// A failure answer: a `google.rpc.Status` with a gRPC `code` (see [`code`]) and a message.
pub fn status(code: i32, message: &str, format: Format) -> Vec<u8> {
    match format {
        Format::Protobuf => Status { code, message: message.to_owned() }.encode_to_vec(),
        Format::Json => json!({ "code": code, "message": message }).to_string().into_bytes(),
    }
}
