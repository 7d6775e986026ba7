//! OTLP amplification (issue 15, finding 1): arbitrary bytes decoded as an OTLP protobuf and an
//! OTLP JSON request (and as a JSON events body) with the server's limits, the heap the decode
//! holds at its peak counted by the global allocator: at most a small multiple of the input,
//! plus the request's budget of decoded bytes, plus a constant, whatever the input.
//!
//! The budget is the server's mechanism with its size scaled to the fuzzer's inputs (a few KB):
//! under the server's 64 MiB, an input of 4 KB that copied a 2 KB resource into each of 400
//! records (about 1 MB, 250 times the input) would pass unseen. Without the limits, this target
//! fails within a minute (a JSON body of 3.6 KB held 400 KB: an empty item's rejection costs
//! its place in the decoded list, about 400 bytes).
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use libfuzzer_sys::fuzz_target;
use sift_core::{Limits, Timestamp};

/// The system allocator, counting the bytes held now and the most held since the last reset.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let held = HELD.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(held, Ordering::Relaxed);
}

// SAFETY: every call is passed on to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // The old block is held until the new one is filled: count both at the peak.
            grew(new_size);
            HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The server's limits, with the decoded budget scaled to fuzzing inputs (module docs).
const BUDGET: usize = 64 << 10;

/// Heap per input byte a decode may hold besides the budget: a copy of a body that is not
/// UTF-8, an array's items split into raw slices, prost's and serde's structs for the one
/// resource, scope or record being decoded (16 per byte was never exceeded in a minute's run).
const PER_INPUT_BYTE: usize = 32;

/// Heap that any decode may hold besides: the interner and a few buffers. The budget itself
/// counts three times: events are charged as the ring estimates them, and a
/// `serde_json::Value` takes up to about twice its estimate.
const CONSTANT: usize = 128 << 10;

/// Runs `decode` and returns the most heap it held at once.
fn peak_of<T>(decode: impl FnOnce() -> T) -> usize {
    let before = HELD.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let kept = decode();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    drop(kept);
    peak
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_decoded_bytes: BUDGET, ..Limits::default() };
    let now = Timestamp::from_micros(1_700_000_000_000_000);
    let bound = data.len() * PER_INPUT_BYTE + 3 * BUDGET + CONSTANT;
    let decoders: [(&str, &dyn Fn() -> usize); 3] = [
        ("OTLP protobuf", &|| peak_of(|| sift_core::otlp::decode_protobuf(data, now, &limits))),
        ("OTLP JSON", &|| peak_of(|| sift_core::otlp::decode_json(data, now, &limits))),
        ("JSON events", &|| peak_of(|| sift_core::json::decode_body(data, false, now, &limits))),
    ];
    for (what, peak) in decoders {
        let peak = peak();
        assert!(peak <= bound, "{what}: {} bytes of input held {peak} bytes of heap (bound {bound})", data.len());
    }
});
