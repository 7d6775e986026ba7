//! Logplex bodies on arbitrary bytes: `split_logplex` gives frames that lie inside the body in
//! order, or an error; every frame then parses or is rejected without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sift_core::intern::Interner;
use sift_core::syslog;
use sift_core::{Source, Timestamp};

fuzz_target!(|data: &[u8]| {
    let Ok(frames) = syslog::split_logplex(data) else { return };
    let received = Timestamp::from_micros(1_714_564_800_000_000);
    let mut interner = Interner::default();
    let mut total = 0;
    for frame in frames {
        assert!(!frame.is_empty());
        total += frame.len();
        let _ = syslog::parse_5424(frame, Source::Logplex, received, &mut interner);
    }
    assert!(total <= data.len());
});
