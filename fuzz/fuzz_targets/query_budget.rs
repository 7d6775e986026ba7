//! The query compiler's resource use on arbitrary text, as a filter and as a piped query: not
//! only no panic, but the heap it takes while parsing stays under a bound (what one query may
//! compile, `sift_core::query::budget`, plus the work space of compiling the regex that goes
//! over it), and matching what it compiled against a few events returns (libFuzzer's
//! `-timeout` catches one that does not).
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use libfuzzer_sys::fuzz_target;
use sift_core::query::budget::MAX_COMPILED_BYTES;
use sift_core::query::{PipedQuery, Query};
use sift_core::{Event, Severity, Source, Timestamp};

/// The system allocator, counting the bytes in use and the most in use since the last reset.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on to the system allocator as it came; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the system allocator's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
            let now = IN_USE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The most heap one parse may take above what was in use before it: the query's compiled
/// matchers (their lazy DFA caches stay empty until matching), and as much again for the
/// compiler's work space. 200 regexes like `\w{100}N`, which took 1.2 GB before the budget,
/// peak at 34 MiB.
const PEAK_BOUND: usize = 2 * MAX_COMPILED_BYTES;

/// Parses with `parse`, and asserts that the heap it took at its peak stayed under the bound.
fn parse_within_bound<T>(text: &str, parse: impl FnOnce() -> T) -> T {
    let before = IN_USE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let parsed = parse();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    assert!(peak <= PEAK_BOUND, "parsing took {peak} bytes of heap, over {PEAK_BOUND}: {text:?}");
    parsed
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let now = Timestamp::from_micros(1_700_000_000_000_000);
    let events = events(text, now);
    if let Ok(query) = parse_within_bound(text, || Query::parse_at(text, now)) {
        for event in &events {
            let _ = query.matches(event);
        }
    }
    if let Ok(piped) = parse_within_bound(text, || PipedQuery::parse_at(text, now)) {
        let mut run = piped.start();
        for event in events.iter().filter(|event| piped.filter().matches(event)) {
            run.add(event);
        }
        let _ = run.finish_over(Timestamp(now.as_micros() - 3_600_000_000), now);
    }
});

/// A few events for the query to match: one with the input as its message (what a regex of the
/// input is likeliest to work hard on), one long, one with fields.
fn events(text: &str, now: Timestamp) -> Vec<Event> {
    let mut echo = Event::new(Source::HttpJson, now, text);
    echo.host = Some(Arc::from("web-1"));
    let long = Event::new(Source::SyslogTcp, now, "abcdefghijklmnopqrstuvwxyz 0123456789 ".repeat(200));
    let mut fields = Event::new(Source::Otlp, Timestamp(now.as_micros() - 60_000_000), "request done");
    fields.severity = Severity::Error;
    fields.app = Some(Arc::from("checkout"));
    fields.tags = vec![Arc::from("payments")];
    fields.fields = serde_json::json!({"url": "/pay", "ms": 12.5, "user": {"name": text}})
        .as_object()
        .cloned()
        .unwrap_or_default();
    vec![echo, long, fields]
}
