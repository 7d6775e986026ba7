//! The Popcorn datagram decoder on arbitrary bytes: every datagram gives an event or an error
//! with a reason, never a panic, and an event always has a message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sift_core::Timestamp;
use sift_core::intern::Interner;

fuzz_target!(|data: &[u8]| {
    let now = Timestamp::from_micros(1_700_000_000_000_000);
    if let Ok(event) = sift_core::popcorn::decode(data, now, &mut Interner::default()) {
        assert!(!event.message.is_empty());
        let _ = event.approx_bytes();
    }
});
