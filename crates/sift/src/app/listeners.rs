//! Every listening socket, bound before anything else starts: binding first lets `sift serve`
//! fail at once with a clear message (a port in use) and announce the real addresses (port 0
//! in tests).

use anyhow::Context;

use super::Addresses;
use crate::config::Config;
use crate::sources;

pub struct Listeners {
    pub(super) http: std::net::TcpListener,
    pub(super) sources: sources::Listeners,
}

impl Listeners {
    pub fn bind(config: &Config) -> anyhow::Result<Listeners> {
        let http = std::net::TcpListener::bind(config.http.listen)
            .with_context(|| format!("cannot listen for HTTP on {}", config.http.listen))?;
        http.set_nonblocking(true).context("cannot listen for HTTP")?;
        let sources = sources::Listeners::bind(config)?;
        Ok(Listeners { http, sources })
    }

    pub fn addresses(&self) -> anyhow::Result<Addresses> {
        Ok(Addresses {
            http: self.http.local_addr().context("the HTTP listener has no address")?,
            syslog: self.sources.syslog_addr().context("the syslog listener has no address")?,
            syslog_tls: self.sources.syslog_tls_addr().context("the syslog over TLS listener has no address")?,
            popcorn: self.sources.popcorn_addr().context("the Popcorn listener has no address")?,
        })
    }
}
