//! Topic and identity extraction, normalization and fingerprinting on arbitrary messages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sift_core::enrich::{extract, fingerprint, normalize};
use sift_core::{Event, Source, Timestamp};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (mut topics, mut identities) = (Vec::new(), Vec::new());
    extract(text, &mut topics, &mut identities);
    let _ = normalize(text);
    let event = Event::new(Source::HttpJson, Timestamp(0), text);
    let _ = fingerprint(&event, &["checkout".to_owned()]);
});
