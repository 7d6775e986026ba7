//! Nanoseconds per parsed syslog message, for BENCHMARKS.md and for comparing parser changes:
//! `cargo run --release -p sift-core --example syslog_parse`. A ~200-byte RFC 5424 line with
//! structured data and one without, an RFC 3164 line, and TCP framing of a stream of the former; each timed
//! over many rounds, the best round reported (these machines are noisy).

use std::hint::black_box;
use std::time::Instant;

use sift_core::intern::Interner;
use sift_core::syslog::{self, Frame, Framer};
use sift_core::{Source, Timestamp};

const RFC5424: &[u8] = br#"<165>1 2024-05-01T10:00:00.123456+02:00 web-1.example.com checkout 4242 ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] payment accepted for order 12345 user=bob amount=12.50"#;
const RFC5424_NO_SD: &[u8] = b"<165>1 2024-05-01T10:00:00.123456+02:00 web-1.example.com checkout 4242 ID47 - payment accepted for order 12345 user=bob amount=12.50 iut=3 eventSource=Application eventID=1011 ok";
const RFC3164: &[u8] = b"<13>Feb  5 17:32:18 web-1.example.com sshd[4242]: Accepted publickey for bob from 10.0.0.7 port 52113 ssh2: ED25519 SHA256:abcdef0123456789";

const PER_ROUND: usize = 100_000;
const ROUNDS: usize = 15;

fn best_ns_per_item(mut round: impl FnMut() -> usize) -> f64 {
    (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            let items = round();
            start.elapsed().as_nanos() as f64 / items as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn parse_rounds(message: &[u8]) -> f64 {
    let received = Timestamp::from_micros(1_714_564_800_000_000);
    let mut interner = Interner::default();
    best_ns_per_item(|| {
        for _ in 0..PER_ROUND {
            let event = syslog::parse(black_box(message), Source::SyslogTcp, received, &mut interner);
            black_box(event.is_ok());
        }
        PER_ROUND
    })
}

fn main() {
    println!("RFC 5424, {} bytes: {:.0} ns/message", RFC5424.len(), parse_rounds(RFC5424));
    println!(
        "RFC 5424 without structured data, {} bytes: {:.0} ns/message",
        RFC5424_NO_SD.len(),
        parse_rounds(RFC5424_NO_SD)
    );
    println!("RFC 3164, {} bytes: {:.0} ns/message", RFC3164.len(), parse_rounds(RFC3164));

    let mut stream = Vec::new();
    for _ in 0..PER_ROUND {
        stream.extend_from_slice(format!("{} ", RFC5424.len()).as_bytes());
        stream.extend_from_slice(RFC5424);
    }
    let framing = best_ns_per_item(|| {
        let mut framer = Framer::default();
        let (mut pos, mut frames) = (0, 0);
        while let Some((used, frame)) = framer.next_frame(&stream[pos..]) {
            pos += used;
            frames += usize::from(matches!(frame, Frame::Message(_)));
        }
        black_box(frames)
    });
    println!("octet-counted framing: {framing:.1} ns/frame");
}
