//! UDP receiving, shared by syslog and Popcorn: one thread per socket reads up to
//! [`BATCH`] datagrams per system call (`recvmmsg`), decodes them into one chunk and hands
//! the chunk to the listener's submitter without waiting.
//!
//! Memory stays bounded under a flood: the receive buffers are allocated once, the kernel's
//! socket buffer is the only queue in front of them, and when the submitter has no room the
//! receiver holds what it read, merging later reads into it, up to [`HOLD`] items; beyond
//! that (or past [`HOLD_BYTES`]) the held items are dropped and counted (`queue_full`), never
//! queued without bound.
//! Holding matters because a read at a steady rate takes only a few datagrams: the
//! submitter's queue of 256 chunks then holds a few hundred events, less than one WAL sync
//! or segment flush lets arrive (measured: 1% lost at 100k datagrams/s before, see
//! BENCHMARKS.md).

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, setsockopt, sockopt};
use sift_core::intern::Interner;
use sift_core::{Event, Source, Timestamp};
use socket2::{Domain, Protocol, Socket, Type};
use tracing::{info, warn};

use super::submit::{Chunk, Submitter};
use crate::pipeline::Rejection;

/// Datagrams read per system call.
const BATCH: usize = 64;
/// The largest UDP payload over IPv4 and IPv6 without jumbograms.
const MAX_DATAGRAM: usize = 65_535;
/// Items a receiver holds while the submitter's queue is full: at 100k datagrams/s, 160 ms of
/// them, a few MB.
const HOLD: usize = 16_384;
/// Bytes of decoded events a receiver holds at most (datagrams of up to 64 KiB each would
/// otherwise make [`HOLD`] items a gigabyte).
const HOLD_BYTES: usize = 16 << 20;
/// How long a read waits before the thread looks at the stop flag again.
const POLL: Duration = Duration::from_millis(200);
/// How long a read waits while items are held for a full submitter queue.
const RETRY: Duration = Duration::from_millis(5);

/// Turns one datagram into an event, or says why it is not one.
pub type Decode = Arc<dyn Fn(&[u8], Timestamp, &mut Interner) -> Result<Event, Rejection> + Send + Sync>;

/// Binds a UDP socket with a receive buffer of (at most) `recv_buffer` bytes.
pub fn bind(addr: SocketAddr, recv_buffer: usize, what: &str) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    set_recv_buffer(&socket, recv_buffer, what);
    socket.bind(&addr.into())?;
    socket.set_read_timeout(Some(POLL))?;
    Ok(socket.into())
}

/// Asks for `bytes` of receive buffer. Linux caps SO_RCVBUF at `net.core.rmem_max`;
/// SO_RCVBUFFORCE passes the cap when sift may (as root). The size granted is logged.
fn set_recv_buffer(socket: &Socket, bytes: usize, what: &str) {
    let _ = socket.set_recv_buffer_size(bytes);
    // Linux reports twice the size asked for (it counts its bookkeeping too).
    let granted = || socket.recv_buffer_size().unwrap_or(0) / 2;
    if granted() < bytes {
        let _ = setsockopt(socket, sockopt::RcvBufForce, &bytes);
    }
    let granted = granted();
    if granted < bytes {
        warn!(
            listener = what,
            asked = bytes,
            granted,
            "UDP receive buffer smaller than configured: raise net.core.rmem_max or run as root"
        );
    } else {
        info!(listener = what, bytes = granted, "UDP receive buffer");
    }
}

/// Starts the receiving thread; it stops within [`POLL`] of `stop` being set.
pub fn spawn(
    socket: UdpSocket,
    source: Source,
    decode: Decode,
    submitter: Submitter,
    stop: Arc<AtomicBool>,
) -> io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("sift-{}-recv", source.name()))
        .spawn(move || receive(&socket, &decode, &submitter, &stop))
}

fn receive(socket: &UdpSocket, decode: &Decode, submitter: &Submitter, stop: &AtomicBool) {
    let mut buffers = vec![vec![0u8; MAX_DATAGRAM]; BATCH];
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, None);
    let mut lengths = Vec::with_capacity(BATCH);
    let mut held = Chunk::default();
    let mut holding = false;
    while !stop.load(Ordering::Relaxed) {
        // Held items must not wait for the next datagram: while holding, reads time out soon
        // so the submitter is offered them again even when the senders have gone quiet.
        if holding == held.is_empty() {
            holding = !held.is_empty();
            let _ = socket.set_read_timeout(Some(if holding { RETRY } else { POLL }));
        }
        lengths.clear();
        match read_batch(socket, &mut headers, &mut buffers, &mut lengths) {
            Ok(()) => {}
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            Err(error) => {
                warn!(%error, "UDP receive failed");
                std::thread::sleep(POLL);
            }
        }
        if !lengths.is_empty() {
            let received_at = Timestamp::now();
            let mut interner = Interner::default();
            for (&length, buffer) in lengths.iter().zip(&buffers) {
                held.push(decode(&buffer[..length], received_at, &mut interner));
            }
        }
        if held.is_empty() {
            continue;
        }
        match submitter.try_send(std::mem::take(&mut held)) {
            Ok(()) => {}
            Err(back) if back.len() < HOLD && back.bytes() < HOLD_BYTES => held = back,
            Err(back) => submitter.drop_full(back),
        }
    }
    // Stopping: what is held is offered once more, else dropped and counted.
    if !held.is_empty() {
        let _ = submitter.try_send(held).map_err(|back| submitter.drop_full(back));
    }
}

/// Waits up to [`POLL`] for a first datagram, then takes every one already queued, up to
/// [`BATCH`], and records their lengths.
fn read_batch(
    socket: &UdpSocket,
    headers: &mut MultiHeaders<SockaddrStorage>,
    buffers: &mut [Vec<u8>],
    lengths: &mut Vec<usize>,
) -> Result<(), Errno> {
    let mut slices: Vec<[io::IoSliceMut<'_>; 1]> =
        buffers.iter_mut().map(|buffer| [io::IoSliceMut::new(buffer.as_mut_slice())]).collect();
    let received = recvmmsg(socket.as_raw_fd(), headers, slices.iter_mut(), MsgFlags::MSG_WAITFORONE, None)?;
    lengths.extend(received.map(|message| message.bytes));
    Ok(())
}
