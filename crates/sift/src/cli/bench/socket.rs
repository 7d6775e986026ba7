//! The socket senders, for `syslog-tcp`, `syslog-udp` and `popcorn`: one thread per
//! `--connections` (a TCP connection or a UDP socket) takes the next chunk of messages from
//! the shared count, waits for its time under `--rate` (message `n` is due at
//! `start + n / rate`), stamps and sends it.
//!
//! TCP writes a chunk of octet-counted frames with one `write`; UDP hands a chunk of
//! datagrams to the kernel with one `sendmmsg`. Threads rather than tasks: each sender only
//! ever waits on its own socket, and a blocking write is the back-pressure TCP gives.
//! A UDP sender learns nothing of what arrived: the server's counters say that.

use std::io::{IoSlice, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use nix::errno::Errno;
use nix::sys::socket::{ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, sendmmsg};

use super::now_us;
use super::template::Template;

/// Messages per TCP write at full speed: about 50 KB of 200-byte messages.
const TCP_CHUNK: usize = 256;
/// Datagrams per `sendmmsg` at full speed (the kernel takes up to 1024).
const UDP_CHUNK: usize = 64;
/// Socket send buffer asked for UDP, so bursts are not refused by the sender's own kernel.
const UDP_SEND_BUFFER: usize = 4 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Transport {
    Tcp,
    Udp,
}

/// The messages and how many go out, where and when.
pub(super) struct Plan {
    pub transport: Transport,
    pub target: SocketAddr,
    /// Messages used in turn: octet-counted frames for TCP, datagrams for UDP.
    pub template: Template,
    pub count: u64,
    /// Messages a second overall; 0 for as fast as the sockets take them.
    pub rate: u64,
    pub connections: usize,
}

impl Plan {
    /// Messages per write: smaller under `--rate`, so that sending stays smooth (about one
    /// chunk a millisecond overall).
    fn chunk(&self) -> u64 {
        let most = match self.transport {
            Transport::Tcp => TCP_CHUNK,
            Transport::Udp => UDP_CHUNK,
        } as u64;
        if self.rate == 0 { most } else { (self.rate / 1000).clamp(1, most) }
    }
}

/// What the senders did.
#[derive(Default)]
pub(super) struct Sent {
    /// Messages written to a socket (for UDP: handed to the kernel, which may still drop them).
    pub events: u64,
    pub bytes: u64,
    /// Messages that could not be written.
    pub failed: u64,
    pub first_error: Option<String>,
}

impl Sent {
    fn merge(&mut self, other: Sent) {
        self.events += other.events;
        self.bytes += other.bytes;
        self.failed += other.failed;
        self.first_error = self.first_error.take().or(other.first_error);
    }
}

struct Shared {
    plan: Plan,
    next: AtomicU64,
    abort: AtomicBool,
    start: Instant,
}

/// Runs every sender to the end (blocking) and returns their tally, with the time the first
/// message went out.
pub(super) fn run(plan: Plan, progress: ProgressBar) -> (Sent, Instant) {
    let shared =
        Arc::new(Shared { plan, next: AtomicU64::new(0), abort: AtomicBool::new(false), start: Instant::now() });
    let threads: Vec<_> = (0..shared.plan.connections)
        .map(|_| {
            let (shared, progress) = (Arc::clone(&shared), progress.clone());
            std::thread::spawn(move || sender(&shared, &progress))
        })
        .collect();
    let mut total = Sent::default();
    for thread in threads {
        match thread.join() {
            Ok(sent) => total.merge(sent),
            Err(_) => total.first_error = Some("a sender thread panicked".to_owned()),
        }
    }
    (total, shared.start)
}

fn sender(shared: &Shared, progress: &ProgressBar) -> Sent {
    let plan = &shared.plan;
    let mut sent = Sent::default();
    let mut socket = match Socket::connect(plan.transport, plan.target) {
        Ok(socket) => socket,
        Err(error) => {
            shared.abort.store(true, Ordering::Relaxed);
            sent.first_error = Some(format!("cannot connect to {}: {error}", plan.target));
            return sent;
        }
    };
    let chunk = plan.chunk();
    let mut buffer = Vec::new();
    let mut lengths = Vec::new();
    while !shared.abort.load(Ordering::Relaxed) {
        let first = shared.next.fetch_add(chunk, Ordering::Relaxed);
        if first >= plan.count {
            break;
        }
        let messages = chunk.min(plan.count - first);
        if plan.rate > 0 {
            let due = shared.start + Duration::from_secs_f64(first as f64 / plan.rate as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        buffer.clear();
        lengths.clear();
        let stamp = now_us();
        for range in wrapped(first, messages, plan.template.len()) {
            lengths.extend(range.clone().map(|index| plan.template.message(index).len()));
            plan.template.copy_into(range, &mut buffer, || stamp);
        }
        match socket.send(&buffer, &lengths) {
            Ok(()) => {
                sent.events += messages;
                sent.bytes += buffer.len() as u64;
            }
            Err(error) => {
                sent.failed += messages;
                sent.first_error.get_or_insert(error);
                // A broken TCP connection stays broken; over UDP the next chunk may pass.
                if plan.transport == Transport::Tcp {
                    break;
                }
            }
        }
        progress.inc(messages);
    }
    sent
}

/// Messages `first..first + count` of the run as ranges of a template of `len` messages,
/// which is used in turn.
fn wrapped(first: u64, count: u64, len: usize) -> impl Iterator<Item = Range<usize>> {
    let len = len as u64;
    let mut at = first;
    let end = first + count;
    std::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let start = at % len;
        let take = (end - at).min(len - start);
        at += take;
        Some(start as usize..(start + take) as usize)
    })
}

enum Socket {
    Tcp(TcpStream),
    Udp { socket: UdpSocket, headers: MultiHeaders<SockaddrStorage> },
}

impl Socket {
    fn connect(transport: Transport, target: SocketAddr) -> std::io::Result<Socket> {
        match transport {
            Transport::Tcp => Ok(Socket::Tcp(TcpStream::connect(target)?)),
            Transport::Udp => {
                let local: SocketAddr = if target.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                };
                let socket = UdpSocket::bind(local)?;
                let _ = socket2::SockRef::from(&socket).set_send_buffer_size(UDP_SEND_BUFFER);
                socket.connect(target)?;
                Ok(Socket::Udp { socket, headers: MultiHeaders::preallocate(UDP_CHUNK, None) })
            }
        }
    }

    /// Sends `buffer`: one write over TCP, or one datagram per length over UDP.
    fn send(&mut self, buffer: &[u8], lengths: &[usize]) -> Result<(), String> {
        match self {
            Socket::Tcp(stream) => stream.write_all(buffer).map_err(|error| format!("TCP write failed: {error}")),
            Socket::Udp { socket, headers } => {
                let mut done = 0;
                while done < lengths.len() {
                    // Built per call: the kernel's headers borrow the slices only that long.
                    let mut at = lengths[..done].iter().sum::<usize>();
                    let slices: Vec<[IoSlice<'_>; 1]> = lengths[done..]
                        .iter()
                        .map(|&length| {
                            let slice = [IoSlice::new(&buffer[at..at + length])];
                            at += length;
                            slice
                        })
                        .collect();
                    let addresses = vec![None; slices.len()];
                    let no_control: [ControlMessage<'_>; 0] = [];
                    let result =
                        sendmmsg(socket.as_raw_fd(), headers, &slices, addresses, no_control, MsgFlags::empty());
                    match result {
                        Ok(sent) => done += sent.count().max(1),
                        // The sender's own buffer is full: let the kernel drain it.
                        Err(Errno::ENOBUFS | Errno::EAGAIN | Errno::EINTR) => std::thread::yield_now(),
                        Err(Errno::ECONNREFUSED) => {
                            return Err(format!(
                                "nothing listens on {} (UDP port unreachable)",
                                socket.peer_addr().map_or_else(|_| "the target".to_owned(), |a| a.to_string())
                            ));
                        }
                        Err(error) => return Err(format!("UDP send failed: {error}")),
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_wrap_around_the_template() {
        let ranges: Vec<_> = wrapped(8, 5, 10).collect();
        assert_eq!(ranges, vec![8..10, 0..3]);
        let ranges: Vec<_> = wrapped(0, 25, 10).collect();
        assert_eq!(ranges, vec![0..10, 0..10, 0..5]);
        assert_eq!(wrapped(3, 0, 10).count(), 0);
    }
}
