//! The query parser on arbitrary text: a query or a parse error with a position inside the
//! input, never a panic; a parsed query must evaluate against an event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sift_core::query::Query;
use sift_core::{Event, Source, Timestamp};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let now = Timestamp::from_micros(1_700_000_000_000_000);
    match Query::parse_at(text, now) {
        Ok(query) => {
            let mut event = Event::new(Source::HttpJson, now, text);
            event.host = Some("web-1".into());
            let _ = query.matches(&event);
        }
        Err(error) => assert!(error.position <= text.chars().count()),
    }
});
