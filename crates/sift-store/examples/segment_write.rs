//! What writing segments costs per event: reads every event of the segments under a directory
//! (for example the `segments/` of a data directory filled by `sift bench`), then writes them
//! again into a scratch directory several times, with and without the n-gram filters, and
//! prints the time and CPU time per event and the bytes per event written.
//!
//!     cargo run --release -p sift-store --example segment_write -- DATA_DIR/segments [RUNS]
//!
//! The wall time includes syncing each file; the CPU time is what a flush takes from ingest.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use sift_core::Event;
use sift_core::query::Query;
use sift_store::TimeRange;
use sift_store::segment::{WriteOptions, scan_segment, write_segment_with};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: segment_write SEGMENTS_DIR [RUNS]")?);
    let runs: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(3);
    let listing = sift_store::list_segments(&dir)?;
    let everything = Query::parse("*")?;
    let mut events: Vec<Event> = Vec::new();
    for meta in &listing.segments {
        scan_segment(meta, &everything, TimeRange::default(), &mut |event| {
            events.push(event);
            ControlFlow::Continue(())
        })?;
    }
    let raw: usize = events.iter().map(|e| e.message.len()).sum();
    println!("{} events, {:.1} message bytes per event", events.len(), raw as f64 / events.len() as f64);
    for ngram_filter in [true, false] {
        for _ in 0..runs {
            let scratch = tempfile::tempdir()?;
            let options = WriteOptions { ngram_filter, ..WriteOptions::default() };
            let (began, cpu) = (Instant::now(), cpu_seconds());
            let written = write_segment_with(scratch.path(), &events, "default", options)?;
            let (seconds, cpu) = (began.elapsed().as_secs_f64(), cpu_seconds() - cpu);
            let bytes: u64 = written.iter().map(|s| s.bytes).sum();
            println!(
                "n-gram filters {ngram_filter:5}: {:6.3} us per event, {:6.3} us of CPU, {:5.1} bytes per event ({:.2}x of the messages)",
                seconds * 1e6 / events.len() as f64,
                cpu * 1e6 / events.len() as f64,
                bytes as f64 / events.len() as f64,
                raw as f64 / bytes as f64
            );
        }
    }
    Ok(())
}

/// The CPU time of this process so far (user and system), from `/proc/self/stat`, whose
/// times are in Linux's USER_HZ, 100 per second on every architecture.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: Vec<f64> = rest.split_whitespace().skip(11).take(2).filter_map(|t| t.parse().ok()).collect();
    ticks.iter().sum::<f64>() / 100.0
}
