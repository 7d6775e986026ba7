//! Sources: the listeners for the wire protocols that are not HTTP (DESIGN.md section 4):
//! syslog over UDP and TCP on one port, and Popcorn protobuf over UDP. (HTTP ingest, JSON,
//! Logplex and OTLP, lives in `api`.)
//!
//! Each listener decodes what it reads into chunks of events and hands them to its
//! [`Submitter`], which runs them through [`Ingest::submit`](crate::ingest::Ingest::submit),
//! the one path every event takes.

mod popcorn;
mod submit;
mod syslog;
mod tcp;
mod udp;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use sift_core::Source;
use tracing::error;

pub use submit::{Chunk, Submitter};

use crate::config::Config;
use crate::ingest::Ingest;
use crate::observe::Registry;

/// The bound sockets, before anything is read from them: binding first lets `sift serve`
/// fail at start with a clear message (port in use) and announce the real addresses.
pub struct Listeners {
    syslog_udp: UdpSocket,
    syslog_tcp: TcpListener,
    popcorn: UdpSocket,
}

impl Listeners {
    pub fn bind(config: &Config) -> anyhow::Result<Listeners> {
        let (syslog_udp, syslog_tcp) = bind_syslog(config)?;
        let popcorn = udp::bind(config.popcorn.listen, config.popcorn.recv_buffer, "popcorn")
            .with_context(|| format!("cannot listen for Popcorn on {} (UDP)", config.popcorn.listen))?;
        Ok(Listeners { syslog_udp, syslog_tcp, popcorn })
    }

    /// The syslog address, UDP and TCP.
    pub fn syslog_addr(&self) -> std::io::Result<SocketAddr> {
        self.syslog_tcp.local_addr()
    }

    pub fn popcorn_addr(&self) -> std::io::Result<SocketAddr> {
        self.popcorn.local_addr()
    }

    /// Starts reading into `ingest`. Call from within the async runtime.
    pub fn start(self, config: &Config, ingest: Arc<Ingest>, registry: &Registry) -> anyhow::Result<Running> {
        let stop = Arc::new(AtomicBool::new(false));
        let cannot = "cannot start a listener thread";
        let submitter = |source, waits| Submitter::start(Arc::clone(&ingest), registry, source, waits).context(cannot);
        let (syslog_udp, syslog_udp_thread) = submitter(Source::SyslogUdp, None)?;
        let (syslog_tcp, syslog_tcp_thread) = submitter(Source::SyslogTcp, Some(Arc::clone(&stop)))?;
        let (popcorn, popcorn_thread) = submitter(Source::Popcorn, None)?;
        let receivers = vec![
            udp::spawn(
                self.syslog_udp,
                Source::SyslogUdp,
                syslog::datagram_decoder(&config.syslog.channel),
                syslog_udp,
                Arc::clone(&stop),
            )
            .context(cannot)?,
            udp::spawn(
                self.popcorn,
                Source::Popcorn,
                popcorn::datagram_decoder(&config.popcorn.channel),
                popcorn,
                Arc::clone(&stop),
            )
            .context(cannot)?,
        ];
        let tcp = tcp::spawn(self.syslog_tcp, tcp::Limits::from(&config.syslog), syslog_tcp, &ingest)
            .context("cannot start the syslog TCP listener")?;
        Ok(Running { stop, receivers, tcp, submitters: vec![syslog_udp_thread, syslog_tcp_thread, popcorn_thread] })
    }
}

/// Syslog takes UDP and TCP on the same port. With port 0 the TCP port is picked first and
/// UDP asked for the same one, which another program may hold: then try again.
fn bind_syslog(config: &Config) -> anyhow::Result<(UdpSocket, TcpListener)> {
    let addr = config.syslog.listen;
    let mut attempts = 0;
    loop {
        let tcp = TcpListener::bind(addr).with_context(|| format!("cannot listen for syslog on {addr} (TCP)"))?;
        let port = tcp.local_addr()?.port();
        match udp::bind(SocketAddr::new(addr.ip(), port), config.syslog.recv_buffer, "syslog") {
            Ok(udp) => return Ok((udp, tcp)),
            Err(error) if addr.port() == 0 && attempts < 20 => {
                attempts += 1;
                tracing::debug!(%error, port, "UDP port taken, trying another");
            }
            Err(error) => return Err(error).with_context(|| format!("cannot listen for syslog on {addr} (UDP)")),
        }
    }
}

/// The running listeners.
pub struct Running {
    stop: Arc<AtomicBool>,
    receivers: Vec<std::thread::JoinHandle<()>>,
    tcp: tcp::Handle,
    submitters: Vec<submit::SubmitterThread>,
}

impl Running {
    /// Stops reading, then waits until everything read has been submitted: after this, a
    /// final flush covers every event the listeners took.
    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        self.tcp.stop().await;
        let Running { receivers, submitters, .. } = self;
        let joined = tokio::task::spawn_blocking(move || {
            for receiver in receivers {
                if receiver.join().is_err() {
                    error!("a UDP receiver thread panicked");
                }
            }
            // Every sender is gone now, so each submitter drains its queue and ends.
            for submitter in submitters {
                submitter.join();
            }
        })
        .await;
        if let Err(error) = joined {
            error!(%error, "stopping the listeners failed");
        }
    }
}
