//! The segments a quiet server leaves after DAYS days (default 30): one event a second of
//! syslog-like text, flushed every 30 s (`storage.flush_interval`'s default), so 120 files per
//! hour of one retention class, each written by the flusher's own writer (`write_segments`:
//! sorted, statistics, n-gram filters, zstd, synced and renamed) and named as a flush names
//! them. The hours end DAYS days before now, so none is expired by the default retention, and
//! every hour is closed. What `bench/start.py` starts a server on.
//!
//!     cargo run --release -p sift-store --example quiet_month -- DATA_DIR [DAYS]
//!
//! Each call of `write_segments` writes one flush slot (30 s) of every hour at once, in
//! parallel, instead of one flush after another: the files are the same, and it takes minutes
//! instead of a month.

use std::path::PathBuf;

use sift_core::{Event, Severity, Source, Timestamp};
use sift_store::segment::{WriteOptions, write_segments};

const FLUSHES_PER_HOUR: i64 = 120;
const EVENTS_PER_FLUSH: i64 = 30;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: quiet_month DATA_DIR [DAYS]")?);
    let days: i64 = args.next().map(|d| d.parse()).transpose()?.unwrap_or(30);
    let segments = dir.join("segments");
    std::fs::create_dir_all(&segments)?;
    let hour = 3_600_000_000_i64;
    let now = Timestamp::now().as_micros();
    let first_hour = (now / hour - days * 24) * hour;
    let hours = days * 24;
    let hosts = ["web-1", "web-2", "db-1", "cache-1"];
    let apps = ["nginx", "postgres", "sshd", "cron", "kernel"];
    for slot in 0..FLUSHES_PER_HOUR {
        let mut events = Vec::with_capacity((hours * EVENTS_PER_FLUSH) as usize);
        for h in 0..hours {
            for i in 0..EVENTS_PER_FLUSH {
                let n = (h * FLUSHES_PER_HOUR + slot) * EVENTS_PER_FLUSH + i;
                let time = Timestamp::from_micros(first_hour + h * hour + (slot * EVENTS_PER_FLUSH + i) * 1_000_000);
                let (host, app) = (hosts[n as usize % hosts.len()], apps[n as usize % apps.len()]);
                let message = format!(
                    "{app}[{}]: request {n} from 10.0.{}.{} took {} ms status {}",
                    1000 + n % 97,
                    n % 256,
                    n % 253,
                    n % 1000,
                    if n % 50 == 0 { 500 } else { 200 }
                );
                let mut event = Event::new(Source::SyslogTcp, time, message);
                event.id = ulid::Ulid::from_parts(time.as_millis() as u64, n as u128);
                event.received_at = time;
                event.host = Some(host.into());
                event.app = Some(app.into());
                event.severity = if n % 50 == 0 { Severity::Error } else { Severity::Info };
                events.push(event);
            }
        }
        write_segments(&segments, &[("default", &events[..])], WriteOptions::default())?;
        eprint!("\rflush {}/{FLUSHES_PER_HOUR} of every hour", slot + 1);
    }
    eprintln!();
    Ok(())
}
