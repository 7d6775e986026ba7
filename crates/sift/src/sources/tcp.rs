//! Syslog over TCP, and over TLS (RFC 5425, the same framing inside TLS): an accept loop
//! per listener, the two holding at most `syslog.max_connections` connections together, and
//! one task per connection that reads large buffers (after the TLS handshake, within
//! [`HANDSHAKE_TIMEOUT`]), cuts them into frames in place (octet-counted or
//! newline-delimited, detected per frame by [`sift_core::syslog::Framer`]), decodes the
//! frames of one read into one chunk and hands it to the submitter. Events and counters are
//! `syslog_tcp`'s either way: TLS is how the bytes travel, not another protocol.
//!
//! A connection's memory is bounded by its read buffer: the framer never needs more than
//! `syslog.max_frame` of it. A connection that sends nothing for `syslog.idle_timeout` is
//! closed; one whose framing cannot be recovered (an octet count that is no number) is closed
//! after what came before is kept. One client's garbage costs only its own task, so it never
//! delays another client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use sift_core::intern::Interner;
use sift_core::syslog::{Frame, Framer};
use sift_core::{Source, Str, Timestamp};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::warn;

use super::submit::{Chunk, Submitter};
use super::syslog;
use crate::config::SyslogConfig;
use crate::ingest::Ingest;
use crate::observe::{CloseReason, LogLimiter};
use crate::pipeline::Rejection;

/// How long a stop waits for connections to hand over the chunks they hold (the submitter
/// gives up on a refusing store once stopping: within a second on a full disk, 10 s on a full
/// backlog) before aborting them.
const STOP_GRACE: Duration = Duration::from_secs(15);
/// Bytes asked of the socket per read.
const READ_SIZE: usize = 64 << 10;
/// Frames decoded at a time, once the submitter's queue has room for them.
const PIECE_FRAMES: usize = 512;
/// What a frame's event holds beyond the frame's own bytes, for reserving room before decoding.
const DECODED_OVERHEAD: usize = std::mem::size_of::<sift_core::Event>() + 64;
/// Longest a syslog over TLS client may take to finish its handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const SOURCE: Source = Source::SyslogTcp;

#[derive(Clone)]
pub struct Limits {
    pub max_frame: usize,
    pub max_connections: usize,
    pub idle_timeout: Duration,
    pub channel: Str,
}

impl From<&SyslogConfig> for Limits {
    fn from(config: &SyslogConfig) -> Limits {
        Limits {
            max_frame: config.max_frame,
            max_connections: config.max_connections,
            idle_timeout: config.idle_timeout,
            channel: Str::from(config.channel.as_str()),
        }
    }
}

/// The accept loop, to be stopped.
pub struct Handle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Handle {
    /// Stops accepting, closes every connection and waits until their tasks are gone (so
    /// their submitter handles are dropped).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Where a listener's connections come from and what they share with the other listener.
pub struct Accept {
    pub listener: std::net::TcpListener,
    /// Syslog over TLS: the handshake comes first.
    pub tls: Option<TlsAcceptor>,
    /// Places under `syslog.max_connections`, shared by the plain and TLS listeners.
    pub permits: Arc<Semaphore>,
}

pub fn spawn(accept: Accept, limits: Limits, submitter: Submitter, ingest: &Arc<Ingest>) -> std::io::Result<Handle> {
    let Accept { listener, tls, permits } = accept;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let (stop, stopped) = watch::channel(false);
    let ingest = Arc::clone(ingest);
    let task = tokio::spawn(accept_loop(listener, tls, permits, limits, submitter, ingest, stopped));
    Ok(Handle { stop, task })
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    tls: Option<TlsAcceptor>,
    permits: Arc<Semaphore>,
    limits: Limits,
    submitter: Submitter,
    ingest: Arc<Ingest>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let log = Arc::new(LogLimiter::default());
    let stats = ingest.protocols();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    stats.connection_opened(SOURCE);
                    let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                        // Closed at once: a client over the limit learns it from the reset
                        // instead of waiting on a connection nobody reads.
                        drop(stream);
                        stats.connection_closed(SOURCE, CloseReason::ConnectionLimit);
                        if log.allow("connection_limit") {
                            warn!(%peer, limit = limits.max_connections, "syslog TCP connection refused: syslog.max_connections reached");
                        }
                        continue;
                    };
                    let (limits, submitter, ingest) = (limits.clone(), submitter.clone(), Arc::clone(&ingest));
                    let (tls, stopping, log) = (tls.clone(), stopped.clone(), Arc::clone(&log));
                    connections.spawn(async move {
                        let reason = match tls {
                            None => serve(stream, peer, &limits, &submitter, &ingest, stopping).await,
                            Some(tls) => match handshake(&tls, stream, peer, &mut stopping.clone(), &log).await {
                                Ok(stream) => serve(stream, peer, &limits, &submitter, &ingest, stopping).await,
                                Err(reason) => reason,
                            },
                        };
                        ingest.protocols().connection_closed(SOURCE, reason);
                        drop(permit);
                    });
                }
                Err(error) => {
                    // Out of file descriptors, most likely: wait for connections to end.
                    if log.allow("accept") {
                        warn!(%error, "syslog TCP accept failed");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next() => {}
            _ = stopped.changed() => break,
        }
    }
    // Each connection stops reading and hands over the chunk it holds, which the submitter,
    // draining on stop, takes (or drops and counts): nothing read is lost uncounted.
    let drained = tokio::time::timeout(STOP_GRACE, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        connections.abort_all();
        while let Some(ended) = connections.join_next().await {
            if ended.is_err() {
                stats.connection_closed(SOURCE, CloseReason::ServerStopped);
            }
        }
    }
}

/// The TLS handshake of a syslog over TLS connection (within [`HANDSHAKE_TIMEOUT`]), or why
/// the connection ended.
async fn handshake(
    tls: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
    stopped: &mut watch::Receiver<bool>,
    log: &LogLimiter,
) -> Result<tokio_rustls::server::TlsStream<TcpStream>, CloseReason> {
    let handshake = tokio::select! {
        handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)) => handshake,
        _ = stopped.wait_for(|&stop| stop) => return Err(CloseReason::ServerStopped),
    };
    let error = match handshake {
        Ok(Ok(stream)) => return Ok(stream),
        Ok(Err(error)) => error.to_string(),
        Err(_) => format!("no handshake within {HANDSHAKE_TIMEOUT:?}"),
    };
    if log.allow("tls_handshake") {
        warn!(%peer, error, "syslog TLS handshake failed");
    }
    Err(CloseReason::TlsHandshake)
}

/// Reads one connection (plain or decrypted) until it ends; returns why it ended.
async fn serve(
    mut stream: impl AsyncRead + Unpin,
    peer: SocketAddr,
    limits: &Limits,
    submitter: &Submitter,
    ingest: &Ingest,
    mut stopped: watch::Receiver<bool>,
) -> CloseReason {
    let mut buffer = BytesMut::with_capacity(READ_SIZE);
    let mut framer = Framer::new(limits.max_frame);
    loop {
        buffer.reserve(READ_SIZE);
        // What is left in the buffer on stop is an unfinished frame: every whole one is queued.
        let read = tokio::select! {
            read = tokio::time::timeout(limits.idle_timeout, stream.read_buf(&mut buffer)) => read,
            _ = stopped.wait_for(|&stop| stop) => return CloseReason::ServerStopped,
        };
        let ended = match read {
            Err(_) => Some(CloseReason::IdleTimeout),
            Ok(Err(_)) => Some(CloseReason::IoError),
            Ok(Ok(0)) => Some(CloseReason::ClientClosed),
            Ok(Ok(_)) => None,
        };
        // Frames are cut a piece at a time, and each piece decoded once the submitter's queue
        // has room for what it will decode to: decoded events never wait outside its bound.
        let received_at = Timestamp::now();
        let mut interner = Interner::default();
        let mut consumed = 0;
        let mut unrecoverable = false;
        let mut piece: Vec<(&[u8], bool)> = Vec::with_capacity(PIECE_FRAMES);
        loop {
            piece.clear();
            let mut framed_all = false;
            while piece.len() < PIECE_FRAMES {
                let Some((used, frame)) = framer.next_frame(&buffer[consumed..]) else {
                    framed_all = true;
                    break;
                };
                consumed += used;
                match frame {
                    Frame::Message(message) => piece.push((message, false)),
                    Frame::Truncated(message) => piece.push((message, true)),
                    Frame::Skipped(_) => {}
                    Frame::Unrecoverable => {
                        unrecoverable = true;
                        framed_all = true;
                        break;
                    }
                }
            }
            if framed_all && ended.is_some() && !unrecoverable {
                // The peer is gone: what is left is its last, unterminated frame.
                match framer.finish(&buffer[consumed..]) {
                    Some(Frame::Message(message)) => piece.push((message, false)),
                    Some(Frame::Truncated(message)) => piece.push((message, true)),
                    _ => {}
                }
            }
            if !piece.is_empty() {
                let estimate = piece.iter().map(|(message, _)| message.len() + DECODED_OVERHEAD).sum();
                let Some(room) = submitter.reserve(estimate).await else { return CloseReason::ServerStopped };
                let mut chunk = Chunk::default();
                for (message, truncated) in &piece {
                    if *truncated {
                        ingest.protocols().truncated(SOURCE, 1);
                    }
                    chunk.push(syslog::decode(message, SOURCE, &limits.channel, received_at, &mut interner));
                }
                room.send(chunk);
            }
            if framed_all {
                break;
            }
        }
        if unrecoverable {
            let mut chunk = Chunk::default();
            chunk.push(Err(Rejection::new(
                "unrecoverable_framing",
                format!(
                    "syslog TCP from {peer}: an octet count that is not a length; the framing is lost, connection closed"
                ),
            )));
            if let Some(room) = submitter.reserve(chunk.bytes()).await {
                room.send(chunk);
            }
        }
        drop(piece);
        buffer.advance(consumed);
        if unrecoverable {
            return CloseReason::UnrecoverableFraming;
        }
        if let Some(reason) = ended {
            return reason;
        }
    }
}
