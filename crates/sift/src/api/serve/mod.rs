//! sift's HTTP accept loop (in place of `axum::serve`), so that no client can hold the
//! server by being slow or many: hyper serves each connection (HTTP/1.1, or HTTP/2 by
//! prior knowledge or ALPN), and sift bounds what hyper leaves open.
//!
//! - At most `http.max_connections` connections; one over is closed at once and counted.
//! - The first request's headers (TLS handshake included) within `http.header_timeout` of
//!   connecting, and a later request's within `http.header_timeout` of its first byte.
//! - The next request within `http.idle_timeout` of the last answer on a kept-alive
//!   connection. A request stays open while its answer's body lives, so a stream the client
//!   reads (an SSE tail) is never idle; it sends its own keep-alives.
//! - A request body at `http.body_min_rate` on average after `http.body_timeout`, else 408.
//! - An answer taken by the client: a write that makes no progress for `http.send_timeout`
//!   closes the connection.
//! - A request head within 64 KiB (hyper answers 431 beyond), and HTTP/2 flow-control
//!   windows small enough that 1,024 connections cannot make the server buffer much.
//!
//! On stop the listener closes, idle connections close, open requests finish and streams
//! end; what is left after `STOP_GRACE` is cut. Every connection is counted once when it
//! opens and once when it closes, by reason (`/api/v1/stats` → `http.connections`).

mod activity;
mod bodies;
mod connection;
mod io;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use activity::CloseReason;
use bodies::BodyPace;

use crate::config::HttpConfig;
use crate::observe::{ConnectionStats, LogLimiter};
use crate::tls::Tls;

/// Longest a stop waits for open requests to finish before it closes their connections.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// hyper's read buffer, and so the largest request head (request line and headers).
const MAX_HEAD_BYTES: usize = 64 << 10;
/// HTTP/2 flow-control windows: what a client may send before the server reads it.
const H2_STREAM_WINDOW: u32 = 64 << 10;
const H2_CONNECTION_WINDOW: u32 = 256 << 10;
/// Requests at once on one HTTP/2 connection.
const H2_MAX_STREAMS: u32 = 64;

/// The connection layer's limits, from `[http]`.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    body: BodyPace,
    pub send_timeout: Duration,
}

impl From<&HttpConfig> for Limits {
    fn from(config: &HttpConfig) -> Limits {
        Limits {
            max_connections: config.max_connections,
            header_timeout: config.header_timeout,
            idle_timeout: config.idle_timeout,
            body: BodyPace { grace: config.body_timeout, min_rate: config.body_min_rate as u64 },
            send_timeout: config.send_timeout,
        }
    }
}

/// What every connection of the listener shares.
struct Shared {
    router: Router,
    limits: Limits,
    tls: Option<Tls>,
    builder: auto::Builder<TokioExecutor>,
    /// Cancelled on stop.
    stop: CancellationToken,
    log: LogLimiter,
}

/// Serves the API on `listener` (HTTPS with `tls`) until `shutdown` completes, then lets open
/// requests finish (at most `STOP_GRACE`).
pub async fn serve(
    router: Router,
    limits: Limits,
    stats: Arc<ConnectionStats>,
    listener: TcpListener,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let stop = CancellationToken::new();
    let shared =
        Arc::new(Shared { router, builder: builder(), limits, tls, stop: stop.clone(), log: LogLimiter::default() });
    let permits = Arc::new(Semaphore::new(shared.limits.max_connections));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    stats.opened();
                    let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
                        // Closed at once: the client learns it from the close instead of
                        // waiting on a connection nobody reads.
                        drop(stream);
                        stats.closed(CloseReason::ConnectionLimit);
                        if shared.log.allow("connection_limit") {
                            warn!(%peer, limit = shared.limits.max_connections, "HTTP connection refused: http.max_connections reached");
                        }
                        continue;
                    };
                    let (shared, stats) = (Arc::clone(&shared), Arc::clone(&stats));
                    connections.spawn(async move {
                        let reason = connection::serve(stream, peer, permit, &shared).await;
                        stats.closed(reason);
                    });
                }
                Err(error) => {
                    // Out of file descriptors, most likely: wait for connections to end.
                    if shared.log.allow("accept") {
                        warn!(%error, "HTTP accept failed");
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = connections.join_next() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    stop.cancel();
    let drained = tokio::time::timeout(STOP_GRACE, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        connections.abort_all();
        while let Some(ended) = connections.join_next().await {
            if ended.is_err() {
                stats.closed(CloseReason::ServerStopped);
            }
        }
    }
    Ok(())
}

/// hyper's settings: HTTP/1.1 with keep-alive and HTTP/2, the timeouts left to sift.
fn builder() -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(None).keep_alive(true).max_buf_size(MAX_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_STREAMS)
        .max_header_list_size(MAX_HEAD_BYTES as u32)
        .initial_stream_window_size(H2_STREAM_WINDOW)
        .initial_connection_window_size(H2_CONNECTION_WINDOW);
    builder
}
