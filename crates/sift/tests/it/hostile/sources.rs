//! Syslog and Popcorn listeners under floods of tiny frames: every queue between a socket and
//! the store is bounded by bytes as well as items, so frames that decode to many small events
//! cannot fill memory, however many connections send them.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use super::{assert_peak_rss_below, assert_serves_others, start_hostile_server};

/// A small ring, so that what the ring holds does not hide what the queues hold.
const SMALL_RING: &str = "[ring]\nmax_bytes = \"32MiB\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn r_eight_connections_of_one_byte_frames_stay_within_the_queues_bounds() {
    let mut server = start_hostile_server(SMALL_RING);
    let syslog = server.syslog.expect("syslog address");
    let frames = b"a\n".repeat(512 << 10);
    let senders: Vec<_> = (0..8)
        .map(|_| {
            let frames = frames.clone();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(syslog).expect("connect");
                stream.set_write_timeout(Some(Duration::from_secs(1))).expect("timeout");
                let until = Instant::now() + Duration::from_secs(4);
                let mut sent = 0usize;
                // Writes stop being taken once sift's queues are full: TCP makes the sender wait.
                while Instant::now() < until && stream.write_all(&frames).is_ok() {
                    sent += frames.len();
                }
                sent
            })
        })
        .collect();
    let sent: usize = senders.into_iter().map(|s| s.join().expect("sender")).sum();
    assert!(sent > 0);
    assert_serves_others(&mut server, "8 connections of one-byte frames").await;
    assert_peak_rss_below(&server, 400 << 20, "8 connections of one-byte frames");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_full_size_datagrams_is_dropped_and_counted_not_held() {
    let mut server = start_hostile_server(SMALL_RING);
    let target = server.syslog.expect("syslog address");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let datagram = format!("<13>1 - h a - - - {}", "x".repeat(60_000));
    let until = Instant::now() + Duration::from_secs(3);
    let mut sent = 0u64;
    while Instant::now() < until {
        if socket.send_to(datagram.as_bytes(), target).is_ok() {
            sent += 1;
        }
    }
    assert!(sent > 0);
    assert_serves_others(&mut server, "a flood of 60 kB datagrams").await;
    assert_peak_rss_below(&server, 400 << 20, "a flood of 60 kB datagrams");
}
