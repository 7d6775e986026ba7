//! The strict RFC 5424 parser (Logplex frames) on arbitrary bytes after a valid-looking
//! header start, so the fuzzer spends its time in the header fields and structured data.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sift_core::intern::Interner;
use sift_core::syslog;
use sift_core::{Source, Timestamp};

fuzz_target!(|data: &[u8]| {
    let received = Timestamp::from_micros(1_714_564_800_000_000);
    let mut interner = Interner::default();
    // As given, and behind a valid PRI and version.
    let _ = syslog::parse_5424(data, Source::Logplex, received, &mut interner);
    let mut message = b"<165>1 ".to_vec();
    message.extend_from_slice(data);
    if let Err(error) = syslog::parse_5424(&message, Source::Logplex, received, &mut interner) {
        assert!(error.offset <= message.len());
    }
});
