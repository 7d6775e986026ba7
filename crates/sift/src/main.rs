//! The `sift` binary: parse arguments, set up logging, run the command.

use std::process::ExitCode;

use clap::Parser;

/// jemalloc keeps freed memory for reuse instead of handing it back to the kernel and faulting
/// it in again: with the default allocator, zeroing fresh pages took 40% of ingest time.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, which it reads before `main` (its `malloc_conf`, prefixed as
/// `tikv-jemallocator` builds it; `_RJEM_MALLOC_CONF` in the environment still overrides them):
/// a background thread hands pages freed for a second back to the kernel, instead of each
/// arena keeping them for ten until it next allocates. A durable sift taking 100,000 syslog
/// events a second held 190 MB resident without them, 137 MB with them (BENCHMARKS.md,
/// issue 16).
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: &[u8; 60] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() -> ExitCode {
    let cli = sift::cli::Cli::parse();
    // `sift serve` sets up its log from its configuration, once that has loaded.
    if !cli.command.is_server() {
        sift::observe::init_client_logging();
    }
    match sift::cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
