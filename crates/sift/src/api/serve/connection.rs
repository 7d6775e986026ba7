//! One HTTP connection, from accept to close: the TLS handshake (on the HTTPS listener),
//! hyper serving HTTP/1.1 or HTTP/2 over it, and the watch that closes it when it overstays
//! (see `activity.rs`); returns why it ended.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::http::{HeaderValue, Request, Response, StatusCode, Version, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tower::ServiceExt;
use tracing::{debug, warn};

use super::Shared;
use super::activity::{Activity, CloseReason, Watcher};
use super::bodies::{AnswerBody, BodyPace, PacedBody};
use super::io::Conn;
use crate::api::ApiError;
use crate::tls::HANDSHAKE_RECORD;

/// Serves one accepted connection until it ends; says why it ended.
pub(super) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
    shared: &Arc<Shared>,
) -> CloseReason {
    let connected = Instant::now();
    let Some(tls) = &shared.tls else {
        return run(stream, peer, connected, permit, shared).await;
    };
    // The handshake counts against the first request's header timeout.
    let deadline = connected + shared.limits.header_timeout;
    let mut first = [0; 1];
    match tokio::time::timeout_at(deadline, stream.peek(&mut first)).await {
        Err(_) => return CloseReason::HeaderTimeout,
        Ok(Ok(0)) => return CloseReason::ClientClosed,
        Ok(Err(_)) => return CloseReason::IoError,
        Ok(Ok(_)) => {}
    }
    if first[0] != HANDSHAKE_RECORD {
        if first[0].is_ascii_alphabetic() {
            answer_plain_http(stream, deadline).await;
        }
        if shared.log.allow("not_tls") {
            warn!(%peer, "a client spoke plain HTTP (or something else) to the HTTPS listener");
        }
        return CloseReason::NotTls;
    }
    match tokio::time::timeout_at(deadline, tls.http().accept(stream)).await {
        Err(_) => CloseReason::HeaderTimeout,
        Ok(Err(error)) => {
            if shared.log.allow("tls_handshake") {
                warn!(%peer, %error, "TLS handshake failed");
            }
            CloseReason::TlsHandshake
        }
        Ok(Ok(stream)) => run(stream, peer, connected, permit, shared).await,
    }
}

/// Answers plain HTTP on the HTTPS listener with a 400 that says so, as nginx does: the head
/// is read first (up to a bound), so that closing does not reset the answer away.
async fn answer_plain_http(mut stream: TcpStream, deadline: Instant) {
    let mut head = Vec::with_capacity(1024);
    let read_head = async {
        let mut buf = [0; 1024];
        while head.len() < PLAIN_HEAD_BYTES && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        true
    };
    if !matches!(tokio::time::timeout_at(deadline, read_head).await, Ok(true)) {
        return;
    }
    let body = json!({
        "error": "this port serves HTTPS (http.tls_cert is set): send the request with https://",
        "detail": { "reason": "not_tls" },
    })
    .to_string();
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout_at(deadline, write).await;
}

/// How much of a plain HTTP head is read before answering it.
const PLAIN_HEAD_BYTES: usize = 16 << 10;

/// Serves HTTP over `stream` (plain or decrypted) until the connection ends.
async fn run<S>(
    stream: S,
    peer: SocketAddr,
    connected: Instant,
    permit: OwnedSemaphorePermit,
    shared: &Arc<Shared>,
) -> CloseReason
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = &shared.limits;
    let activity = Arc::new(Activity::default());
    let io = TokioIo::new(Conn::new(stream, Arc::clone(&activity), limits.send_timeout, permit));
    let service =
        Service { router: shared.router.clone(), peer, activity: Arc::clone(&activity), shared: Arc::clone(shared) };
    let connection = shared.builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    let mut watcher = Watcher::new(Arc::clone(&activity), connected, limits.header_timeout, limits.idle_timeout);
    let mut closing = false;
    loop {
        tokio::select! {
            ended = connection.as_mut() => {
                return activity.reason().unwrap_or_else(|| why_ended(ended.err().as_deref()));
            }
            reason = watcher.overstayed() => {
                activity.closing(reason);
                // Half a head has nothing to finish; an idle connection is closed the polite
                // way (HTTP/2 says GOAWAY), and cut if it still lingers at the next deadline.
                if closing || reason == CloseReason::HeaderTimeout {
                    return activity.reason().unwrap_or(reason);
                }
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
            () = shared.stop.cancelled(), if !closing => {
                // Open requests finish (streams end, see `AnswerBody`); idle connections close.
                activity.closing(CloseReason::ServerStopped);
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Why hyper ended a connection that no limit closed.
fn why_ended(error: Option<&(dyn std::error::Error + Send + Sync + 'static)>) -> CloseReason {
    let Some(error) = error else { return CloseReason::ClientClosed };
    match error.downcast_ref::<hyper::Error>() {
        Some(error) if error.is_parse() || error.is_parse_too_large() => CloseReason::MalformedRequest,
        Some(error) if error.is_incomplete_message() || error.is_closed() || error.is_canceled() => {
            CloseReason::ClientClosed
        }
        _ => CloseReason::IoError,
    }
}

/// The router as hyper calls it: each request's body held to its pace, each answer's body
/// keeping the request open.
#[derive(Clone)]
struct Service {
    router: Router,
    /// The client's address, which handlers see as `ConnectInfo` (failed logins are counted by it).
    peer: SocketAddr,
    activity: Arc<Activity>,
    shared: Arc<Shared>,
}

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<AnswerBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<AnswerBody>, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let open = self.activity.begin();
        let pace = self.shared.limits.body;
        let too_slow = Arc::new(AtomicBool::new(false));
        let http1 = request.version() < Version::HTTP_2;
        let activity = Arc::clone(&self.activity);
        let mut request =
            request.map(|body| axum::body::Body::new(PacedBody::new(body, pace, Arc::clone(&too_slow), activity)));
        request.extensions_mut().insert(axum::extract::ConnectInfo(self.peer));
        let answer = self.router.clone().oneshot(request);
        let (activity, shared) = (Arc::clone(&self.activity), Arc::clone(&self.shared));
        Box::pin(async move {
            let Ok(mut response) = answer.await;
            if too_slow.load(Ordering::Acquire) {
                activity.closing(CloseReason::BodyTimeout);
                response = too_slow_answer(pace, http1);
                if shared.log.allow("body_timeout") {
                    warn!("request body too slow: closed the connection (http.body_min_rate)");
                }
            }
            let stream = is_stream(&response);
            let stop = stream.then(|| shared.stop.clone().cancelled_owned());
            Ok(response.map(|body| AnswerBody::new(body, open, stop)))
        })
    }
}

/// A stream the client keeps open on purpose (a tail), which a stop ends.
fn is_stream(response: &Response<axum::body::Body>) -> bool {
    response.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/event-stream"))
}

/// 408 for a body that fell behind its pace; the connection closes after it (the rest of the
/// body is not read).
fn too_slow_answer(pace: BodyPace, http1: bool) -> Response<axum::body::Body> {
    let error = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "the request body arrived too slowly: it must arrive within {} plus one second per {} bytes \
             (http.body_timeout, http.body_min_rate)",
            humantime::format_duration(pace.grace),
            pace.min_rate
        ),
    )
    .because("body_timeout")
    .with_detail(json!({
        "reason": "body_timeout",
        "http.body_timeout": humantime::format_duration(pace.grace).to_string(),
        "http.body_min_rate": pace.min_rate,
    }));
    let mut response = error.into_response();
    if http1 {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    debug!("answered 408 to a body too slow");
    response
}
