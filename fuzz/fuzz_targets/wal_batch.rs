//! The WAL's batch decoder on arbitrary bytes (a damaged disk): events or an error with an
//! offset, never a panic; what decodes re-encodes to bytes that decode to the same events.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(events) = sift_store::codec::decode_batch(data) {
        let mut again = Vec::new();
        sift_store::codec::encode_batch(&events, &mut again);
        let decoded = sift_store::codec::decode_batch(&again).expect("re-encoded batch decodes");
        assert_eq!(decoded.len(), events.len());
    }
});
