//! The syslog parser (RFC 5424 or RFC 3164, detected) on arbitrary bytes: every input gives an
//! event or a `Malformed`, never a panic, and an event's time is set and its text is UTF-8.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sift_core::intern::Interner;
use sift_core::syslog::{self, MalformedReason};
use sift_core::{Source, Timestamp};

fuzz_target!(|data: &[u8]| {
    let received = Timestamp::from_micros(1_714_564_800_000_000);
    match syslog::parse(data, Source::SyslogUdp, received, &mut Interner::default()) {
        Ok(event) => {
            assert!(event.facility.is_some_and(|f| f <= 23));
            assert!(event.message.len() <= data.len() * 3);
            let _ = event.approx_bytes();
        }
        Err(error) => {
            assert!(MalformedReason::ALL.contains(&error.reason));
            assert!(error.offset <= data.len());
        }
    }
});
