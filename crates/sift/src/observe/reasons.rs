//! The reasons sift counts things by, as enums: every label a counter can carry is known
//! here, so `/api/v1/stats` and, later, `/metrics` have fixed label sets.
//!
//! (Why an item is malformed is said by the codec that found it, through its own error kind's
//! `as_str`, and by the pipeline's rejections; those are fixed sets too.)

/// Why sift did not take a valid item: the label it is counted under as dropped, per protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// A listener's queue was full (UDP, which cannot make its sender wait).
    QueueFull,
    /// The server was stopping.
    ShuttingDown,
    /// The disk holding the data directory was full.
    DiskFull,
    /// The WAL backlog was at `storage.max_backlog` for too long.
    StoreBehind,
    /// The store failed to write.
    StorageError,
    /// A Logplex user wrote to a channel it may not use.
    ForbiddenChannel,
    /// A Logplex frame named a token sift does not know.
    UnknownToken,
    /// HTTP ingest held as many request bodies as `http.max_inflight_bytes` allows.
    Busy,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::ShuttingDown => "shutting_down",
            DropReason::DiskFull => "disk_full",
            DropReason::StoreBehind => "store_behind",
            DropReason::StorageError => "storage_error",
            DropReason::ForbiddenChannel => "forbidden_channel",
            DropReason::UnknownToken => "unknown_token",
            DropReason::Busy => "busy",
        }
    }
}

/// Why a connection ended (HTTP's, syslog over TCP's): the label it is counted under in
/// `/api/v1/stats` (`http.connections.closed`, `protocols.syslog_tcp.connections.closed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CloseReason {
    /// The client closed it, or asked for it to be closed after an answer.
    ClientClosed = 1,
    /// A request's headers (or the first request, TLS handshake included) took longer than
    /// `http.header_timeout`.
    HeaderTimeout,
    /// No request came for `http.idle_timeout` on a kept-alive connection.
    IdleTimeout,
    /// A request body arrived slower than `http.body_min_rate` allows (answered 408).
    BodyTimeout,
    /// The client took no byte of an answer for `http.send_timeout`.
    SendTimeout,
    /// Over `http.max_connections`: closed at once.
    ConnectionLimit,
    /// The TLS handshake failed (a client that does not trust the certificate, a scanner).
    TlsHandshake,
    /// Plain HTTP (answered 400) or other bytes that are not TLS on the HTTPS port.
    NotTls,
    /// A request hyper could not parse (answered with its bare 400 or 431).
    MalformedRequest,
    /// The connection failed under it (a reset, a broken pipe).
    IoError,
    /// The server stopped.
    ServerStopped,
    /// Syslog over TCP: an octet count that is not a length; the framing is lost.
    UnrecoverableFraming,
}

impl CloseReason {
    pub const ALL: [CloseReason; 12] = [
        CloseReason::ClientClosed,
        CloseReason::HeaderTimeout,
        CloseReason::IdleTimeout,
        CloseReason::BodyTimeout,
        CloseReason::SendTimeout,
        CloseReason::ConnectionLimit,
        CloseReason::TlsHandshake,
        CloseReason::NotTls,
        CloseReason::MalformedRequest,
        CloseReason::IoError,
        CloseReason::ServerStopped,
        CloseReason::UnrecoverableFraming,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::ClientClosed => "client_closed",
            CloseReason::HeaderTimeout => "header_timeout",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::BodyTimeout => "body_timeout",
            CloseReason::SendTimeout => "send_timeout",
            CloseReason::ConnectionLimit => "connection_limit",
            CloseReason::TlsHandshake => "tls_handshake",
            CloseReason::NotTls => "not_tls",
            CloseReason::MalformedRequest => "malformed_request",
            CloseReason::IoError => "io_error",
            CloseReason::ServerStopped => "server_stopped",
            CloseReason::UnrecoverableFraming => "unrecoverable_framing",
        }
    }

    pub fn from_u8(n: u8) -> Option<CloseReason> {
        CloseReason::ALL.into_iter().find(|reason| *reason as u8 == n)
    }
}
