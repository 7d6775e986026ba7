//! Sources: the listeners for the wire protocols that are not HTTP (DESIGN.md section 4):
//! syslog over UDP and TCP on one port, syslog over TLS when a certificate is configured,
//! and Popcorn protobuf over UDP. (HTTP ingest, JSON, Logplex and OTLP, lives in `api`.)
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
use tokio::sync::Semaphore;
use tracing::error;

pub use submit::{Chunk, Submitter};

use crate::config::Config;
use crate::ingest::Ingest;
use crate::observe::Registry;
use crate::tls::Tls;

/// The bound sockets, before anything is read from them: binding first lets `sift serve`
/// fail at start with a clear message (port in use) and announce the real addresses.
pub struct Listeners {
    syslog_udp: UdpSocket,
    syslog_tcp: TcpListener,
    /// Syslog over TLS (RFC 5425), when `syslog.tls_listen` is on.
    syslog_tls: Option<TcpListener>,
    popcorn: UdpSocket,
}

impl Listeners {
    pub fn bind(config: &Config) -> anyhow::Result<Listeners> {
        let (syslog_udp, syslog_tcp) = bind_syslog(config)?;
        let syslog_tls = match config.syslog.tls_listen {
            Some(addr) => {
                Some(TcpListener::bind(addr).with_context(|| format!("cannot listen for syslog over TLS on {addr}"))?)
            }
            None => None,
        };
        let popcorn = udp::bind(config.popcorn.listen, config.popcorn.recv_buffer, "popcorn")
            .with_context(|| format!("cannot listen for Popcorn on {} (UDP)", config.popcorn.listen))?;
        Ok(Listeners { syslog_udp, syslog_tcp, syslog_tls, popcorn })
    }

    /// The syslog address, UDP and TCP.
    pub fn syslog_addr(&self) -> std::io::Result<SocketAddr> {
        self.syslog_tcp.local_addr()
    }

    /// The syslog over TLS address, when that listener is on.
    pub fn syslog_tls_addr(&self) -> std::io::Result<Option<SocketAddr>> {
        self.syslog_tls.as_ref().map(TcpListener::local_addr).transpose()
    }

    pub fn popcorn_addr(&self) -> std::io::Result<SocketAddr> {
        self.popcorn.local_addr()
    }

    /// Starts reading into `ingest`; `tls` serves syslog over TLS (its listener is bound only
    /// when the configuration has a certificate). Call from within the async runtime.
    pub fn start(
        self,
        config: &Config,
        ingest: Arc<Ingest>,
        registry: &Registry,
        tls: Option<&Tls>,
    ) -> anyhow::Result<Running> {
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
        // Plain and TLS connections share the limit, the submitter and the counters.
        let permits = Arc::new(Semaphore::new(config.syslog.max_connections));
        let limits = tcp::Limits::from(&config.syslog);
        let plain = tcp::Accept { listener: self.syslog_tcp, tls: None, permits: Arc::clone(&permits) };
        let mut tcp = vec![
            tcp::spawn(plain, limits.clone(), syslog_tcp.clone(), &ingest)
                .context("cannot start the syslog TCP listener")?,
        ];
        if let (Some(listener), Some(tls)) = (self.syslog_tls, tls) {
            let accept = tcp::Accept { listener, tls: Some(tls.syslog().clone()), permits };
            tcp.push(
                tcp::spawn(accept, limits, syslog_tcp, &ingest).context("cannot start the syslog over TLS listener")?,
            );
        }
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
    tcp: Vec<tcp::Handle>,
    submitters: Vec<submit::SubmitterThread>,
}

impl Running {
    /// Stops reading, then waits until everything read has been submitted: after this, a
    /// final flush covers every event the listeners took.
    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let Running { receivers, submitters, tcp, .. } = self;
        futures_util::future::join_all(tcp.into_iter().map(tcp::Handle::stop)).await;
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
