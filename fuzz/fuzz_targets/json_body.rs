//! The JSON ingest decoder on arbitrary bytes, as NDJSON and as auto-detected bodies:
//! it must answer every input with events or item errors, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sift_core::Timestamp;

fuzz_target!(|data: &[u8]| {
    let now = Timestamp::from_micros(1_700_000_000_000_000);
    for ndjson in [false, true] {
        let Ok(decoded) = sift_core::json::decode_body(data, ndjson, now, &sift_core::Limits::default()) else { continue };
        for item in decoded.items {
            if let Ok(event) = item {
                let _ = event.approx_bytes();
            }
        }
    }
});
