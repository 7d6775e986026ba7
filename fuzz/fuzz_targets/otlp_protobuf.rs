//! The OTLP protobuf decoder on arbitrary bytes: every body gives records (events or errors with a
//! reason) or one error for the whole body, never a panic; an event always has a message or a type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sift_core::Timestamp;

fuzz_target!(|data: &[u8]| {
    let now = Timestamp::from_micros(1_700_000_000_000_000);
    if let Ok(records) = sift_core::otlp::decode_protobuf(data, now, &sift_core::Limits::default()) {
        for event in records.into_iter().flatten() {
            assert!(!event.message.is_empty() || event.kind.is_some());
            let _ = event.approx_bytes();
        }
    }
});
