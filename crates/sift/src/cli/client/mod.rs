//! The HTTP client that `send`, `tail`, `search` and `bench` share: one [`Client`] built from
//! [`ClientArgs`] (base URL, Basic credentials, user agent), one place ([`RequestError`]) that
//! turns every failure into the message a user reads, and a Server-Sent Events reader
//! ([`sse`]) for the live tail.

pub mod sse;

use std::time::Duration;

use base64::Engine as _;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ClientArgs;
use super::escape::escaped;
pub use sse::{SseMessage, SseParser, SseStream};

/// How long a client command waits for a TCP connection to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client command waits for a whole answer (not for a live stream).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// A request that did not produce the answer the command wanted, worded for the user.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No connection: the server is down, the address is wrong, or the name does not resolve.
    #[error("cannot reach sift at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// 401 without credentials.
    #[error("the server at {url} wants credentials: use --user NAME or SIFT_USER/SIFT_PASSWORD")]
    CredentialsWanted { url: String },
    /// 401 with credentials.
    #[error("the server at {url} rejected the credentials of user {user:?}")]
    CredentialsRejected { url: String, user: String },
    /// Any other non-2xx answer, with the server's `error` (and `detail`) when it sent them.
    #[error("{status}: {message}")]
    Status { status: StatusCode, message: String },
    /// The connection broke or timed out after it was made.
    #[error("request to sift at {url} failed: {reason}")]
    Transport { url: String, reason: String },
    /// A 2xx answer that is not what the API promises.
    #[error("unexpected answer from sift at {url}: {reason}")]
    Unexpected { url: String, reason: String },
}

impl RequestError {
    /// Whether retrying the same request cannot help (no server, or the wrong credentials):
    /// `bench` stops at once on these instead of counting one failure per request.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            RequestError::Unreachable { .. }
                | RequestError::CredentialsWanted { .. }
                | RequestError::CredentialsRejected { .. }
        )
    }
}

/// The answer to `POST /api/v1/events` (status 200 when at least one event was accepted,
/// 400 when none was).
#[derive(Debug, Clone, Deserialize)]
pub struct IngestAnswer {
    pub accepted: u64,
    pub rejected: u64,
    #[serde(default)]
    pub errors: Vec<IngestError>,
}

/// One rejected item of a batch: its index in the batch and why.
#[derive(Debug, Clone, Deserialize)]
pub struct IngestError {
    pub index: usize,
    /// The counter label (`message_too_large`, `malformed_json`); servers before it was added
    /// leave it out.
    #[serde(default)]
    pub reason: Option<String>,
    pub error: String,
}

/// A connection to one sift server. Cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    /// The base URL without a trailing slash, e.g. `http://127.0.0.1:9125`.
    base: String,
    user: Option<String>,
}

impl Client {
    /// Builds a client from the command line: normalises `--url`, resolves `--user` and
    /// `--password` into an `Authorization` header sent with every request.
    pub fn new(args: &ClientArgs) -> anyhow::Result<Client> {
        let base = normalize_base_url(&args.url)?;
        let credentials = credentials(args.user.as_deref(), args.password.as_deref())?;
        let mut headers = HeaderMap::new();
        if let Some((name, password)) = &credentials {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{name}:{password}"));
            let mut value = HeaderValue::from_str(&format!("Basic {token}"))?;
            value.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("sift/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .build()?;
        Ok(Client { http, base, user: credentials.map(|(name, _)| name) })
    }

    /// The base URL, as error messages show it.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The absolute URL of an API path such as `/api/v1/events`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request and returns the response when its status is 2xx; anything else
    /// becomes the [`RequestError`] that explains it. Every command's requests go through here.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, RequestError> {
        let response = request.send().await.map_err(|error| self.transport_error(&error))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        Err(self.status_error(status, &body))
    }

    /// `GET path?query` and decode the JSON answer.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T, RequestError> {
        let request = self.http.get(self.url(path)).query(query).timeout(REQUEST_TIMEOUT);
        let response = self.send(request).await?;
        let body = response.bytes().await.map_err(|error| self.transport_error(&error))?;
        serde_json::from_slice(&body).map_err(|error| self.unexpected(path, &error))
    }

    /// A `POST` to an API path with the usual timeout, for [`Client::send`]; the caller adds
    /// the body and headers (a request's own `Authorization` wins over `--user`'s).
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(self.url(path)).timeout(REQUEST_TIMEOUT)
    }

    /// `POST /api/v1/events` with a body of `content_type` (`application/json` for one object
    /// or an array, `application/x-ndjson` for lines). Both 200 and 400 carry the per-item
    /// answer; other statuses are errors.
    pub async fn post_events(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: &'static str,
    ) -> Result<IngestAnswer, RequestError> {
        let request = self
            .http
            .post(self.url("/api/v1/events"))
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .timeout(REQUEST_TIMEOUT);
        let response = request.send().await.map_err(|error| self.transport_error(&error))?;
        let status = response.status();
        if status != StatusCode::OK && status != StatusCode::BAD_REQUEST {
            let body = response.bytes().await.unwrap_or_default();
            return Err(self.status_error(status, &body));
        }
        let body = response.bytes().await.map_err(|error| self.transport_error(&error))?;
        match serde_json::from_slice::<IngestAnswer>(&body) {
            Ok(answer) => Ok(answer),
            Err(_) if status == StatusCode::BAD_REQUEST => Err(self.status_error(status, &body)),
            Err(error) => Err(self.unexpected("/api/v1/events", &error)),
        }
    }

    /// Opens a Server-Sent Events stream (`GET path?query`, no overall timeout). A bad query
    /// is answered with an error status before the stream starts, and fails here.
    pub async fn open_sse(&self, path: &str, query: &[(&str, &str)]) -> Result<SseStream, RequestError> {
        let request = self.http.get(self.url(path)).query(query).header(header::ACCEPT, "text/event-stream");
        let response = self.send(request).await?;
        Ok(SseStream::new(response, self.base.clone()))
    }

    fn transport_error(&self, error: &reqwest::Error) -> RequestError {
        transport_error(&self.base, error)
    }

    fn status_error(&self, status: StatusCode, body: &[u8]) -> RequestError {
        if status == StatusCode::UNAUTHORIZED {
            return match &self.user {
                Some(user) => RequestError::CredentialsRejected { url: self.base.clone(), user: user.clone() },
                None => RequestError::CredentialsWanted { url: self.base.clone() },
            };
        }
        RequestError::Status { status, message: error_message(status, body) }
    }

    fn unexpected(&self, path: &str, error: &serde_json::Error) -> RequestError {
        RequestError::Unexpected { url: self.base.clone(), reason: escaped(&format!("{path}: {error}")) }
    }
}

/// Explains a failed request: connection refused gets a hint to start the server; any
/// other failure names its innermost cause ("operation timed out", "connection reset").
pub(crate) fn transport_error(base: &str, error: &reqwest::Error) -> RequestError {
    let mut cause: &dyn std::error::Error = error;
    let mut refused = false;
    while let Some(source) = cause.source() {
        if let Some(io) = source.downcast_ref::<std::io::Error>() {
            refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        cause = source;
    }
    let url = base.to_owned();
    if refused {
        let reason = "connection refused (is `sift serve` running?)".to_owned();
        return RequestError::Unreachable { url, reason };
    }
    let reason = if error.is_timeout() { "timed out".to_owned() } else { cause.to_string() };
    if error.is_connect() { RequestError::Unreachable { url, reason } } else { RequestError::Transport { url, reason } }
}

/// The text after `STATUS: ` for an error answer: the server's `error`, then its `detail`:
/// after a colon when it is text, as `(key=value ...)` when it is an object (`(param=limit)`),
/// else as JSON. Without a JSON body: the body's first line, or the status's reason. Control
/// characters are escaped: the text may quote what a client logged.
pub(crate) fn error_message(status: StatusCode, body: &[u8]) -> String {
    escaped(&server_message(status, body))
}

fn server_message(status: StatusCode, body: &[u8]) -> String {
    use serde_json::Value;
    #[derive(Deserialize)]
    struct ErrorBody {
        error: String,
        #[serde(default)]
        detail: Option<Value>,
    }
    /// A detail value as text: plain when it is one word, else JSON.
    fn plain(value: &Value) -> String {
        match value {
            Value::String(s) if !s.is_empty() && !s.contains(char::is_whitespace) => s.clone(),
            other => other.to_string(),
        }
    }
    if let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) {
        return match parsed.detail {
            None | Some(Value::Null) => parsed.error,
            Some(Value::String(detail)) => format!("{}: {detail}", parsed.error),
            Some(Value::Object(detail)) if detail.is_empty() => parsed.error,
            Some(Value::Object(detail)) => {
                let pairs: Vec<String> = detail.iter().map(|(key, value)| format!("{key}={}", plain(value))).collect();
                format!("{} ({})", parsed.error, pairs.join(" "))
            }
            Some(detail) => format!("{} ({detail})", parsed.error),
        };
    }
    let text = String::from_utf8_lossy(body);
    let first_line = text.lines().map(str::trim).find(|line| !line.is_empty());
    match first_line {
        Some(line) => line.chars().take(200).collect(),
        None => status.canonical_reason().unwrap_or("no reason given").to_owned(),
    }
}

/// `--url` as a base for API paths: a scheme is added when missing (`localhost:9125`),
/// trailing slashes are dropped, and a path prefix (a server behind a proxy) is kept.
pub(crate) fn normalize_base_url(url: &str) -> anyhow::Result<String> {
    let url = url.trim();
    let with_scheme = if url.contains("://") { url.to_owned() } else { format!("http://{url}") };
    let parsed =
        reqwest::Url::parse(&with_scheme).map_err(|error| anyhow::anyhow!("invalid --url {url:?}: {error}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        anyhow::bail!("invalid --url {url:?}: the scheme must be http or https");
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        anyhow::bail!("invalid --url {url:?}: a base URL has no query or fragment");
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// `--user NAME:PASSWORD`, or `--user NAME` with `--password`/`SIFT_PASSWORD`.
pub(crate) fn credentials(user: Option<&str>, password: Option<&str>) -> anyhow::Result<Option<(String, String)>> {
    let Some(user) = user.filter(|user| !user.is_empty()) else {
        return Ok(None);
    };
    if let Some((name, inline)) = user.split_once(':') {
        return Ok(Some((name.to_owned(), inline.to_owned())));
    }
    match password {
        Some(password) => Ok(Some((user.to_owned(), password.to_owned()))),
        None => anyhow::bail!("--user {user} has no password: use --user {user}:PASSWORD, --password or SIFT_PASSWORD"),
    }
}

/// A single-threaded runtime for the commands that wait on one thing at a time.
pub fn current_thread_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let n = |url| normalize_base_url(url).map_err(|error| error.to_string());
        assert_eq!(n("http://127.0.0.1:9125").unwrap(), "http://127.0.0.1:9125");
        assert_eq!(n("http://127.0.0.1:9125/").unwrap(), "http://127.0.0.1:9125");
        assert_eq!(n("localhost:9125").unwrap(), "http://localhost:9125");
        assert_eq!(n("https://logs.example.com/sift/").unwrap(), "https://logs.example.com/sift");
        assert!(n("ftp://x").unwrap_err().contains("http or https"));
        assert!(n("http://x/?a=b").unwrap_err().contains("no query"));
        assert!(n("http://").is_err());
    }

    #[test]
    fn credentials_from_user_and_password() {
        assert_eq!(credentials(None, Some("pw")).unwrap(), None);
        assert_eq!(credentials(Some("bob:s3:cret"), None).unwrap(), Some(("bob".into(), "s3:cret".into())));
        assert_eq!(credentials(Some("bob"), Some("pw")).unwrap(), Some(("bob".into(), "pw".into())));
        assert!(credentials(Some("bob"), None).unwrap_err().to_string().contains("SIFT_PASSWORD"));
    }

    #[test]
    fn error_messages() {
        let bad = StatusCode::BAD_REQUEST;
        assert_eq!(error_message(bad, br#"{"error":"invalid query"}"#), "invalid query");
        assert_eq!(
            error_message(bad, br#"{"error":"invalid query","detail":"at 4: expected a value"}"#),
            "invalid query: at 4: expected a value"
        );
        assert_eq!(
            error_message(
                bad,
                br#"{"error":"invalid query","detail":{"param":"q","position":4,"expected":"a value"}}"#
            ),
            r#"invalid query (param=q position=4 expected="a value")"#
        );
        assert_eq!(error_message(bad, br#"{"error":"e","detail":[1,2]}"#), "e ([1,2])");
        assert_eq!(error_message(StatusCode::BAD_GATEWAY, b"\n upstream down\nmore"), "upstream down");
        assert_eq!(error_message(StatusCode::PAYLOAD_TOO_LARGE, b""), "Payload Too Large");
        assert_eq!(
            error_message(bad, br#"{"error":"unknown severity \"\u001b[31mloud\u0007\""}"#),
            r#"unknown severity "\u{1b}[31mloud\u{7}""#
        );
        let error = RequestError::Status { status: bad, message: "invalid query".into() };
        assert_eq!(error.to_string(), "400 Bad Request: invalid query");
    }
}
