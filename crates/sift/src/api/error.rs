//! The one error type of the HTTP API: a status, a short message naming what was wrong, and
//! optional structured detail, answered as `{"error": "...", "detail": ...}`. Internal error
//! text is logged, never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
    /// Boxed: errors travel in `Result`s, which should stay small.
    pub detail: Option<Box<Value>>,
    /// A short label for the counters of rejected requests (`invalid_query`, `not_found`).
    pub reason: &'static str,
    /// The `WWW-Authenticate` challenge of a 401, when not sift's own.
    pub realm: Option<&'static str>,
    /// The `Retry-After` of a refusal that a later retry may pass, in seconds.
    pub retry_after: Option<u64>,
}

/// Marks a response as a rejected request, for the counting middleware.
#[derive(Debug, Clone, Copy)]
pub struct Rejected {
    pub reason: &'static str,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> ApiError {
        let reason = match status {
            StatusCode::BAD_REQUEST => "bad_request",
            StatusCode::UNAUTHORIZED => "unauthorized",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            s if s.is_server_error() => "internal",
            _ => "other",
        };
        ApiError { status, error: error.into(), detail: None, reason, realm: None, retry_after: None }
    }

    /// Names the reason this request was rejected, for the counters.
    pub fn because(mut self, reason: &'static str) -> ApiError {
        self.reason = reason;
        self
    }

    pub fn bad_request(error: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, error)
    }

    pub fn not_found(error: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, error)
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "authentication required: use HTTP Basic with a configured user")
    }

    /// A failure of the server itself; the cause is logged here and not sent.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "internal error answering a request");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }

    pub fn with_detail(mut self, detail: Value) -> ApiError {
        self.detail = Some(Box::new(detail));
        self
    }

    /// Tells the client when to retry (`Retry-After`).
    pub fn with_retry_after(mut self, seconds: u64) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.error });
        if let Some(detail) = self.detail {
            body["detail"] = *detail;
        }
        let mut response = (self.status, Json(body)).into_response();
        response.extensions_mut().insert(Rejected { reason: self.reason });
        if self.status == StatusCode::UNAUTHORIZED {
            let realm = self.realm.unwrap_or("Basic realm=\"sift\"");
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(realm));
        }
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// 503: the store could not take a submission; retrying later may work.
impl From<crate::ingest::Unavailable> for ApiError {
    fn from(unavailable: crate::ingest::Unavailable) -> ApiError {
        let reason = unavailable.reason().as_str();
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, unavailable.to_string())
            .because(reason)
            .with_detail(json!({ "reason": reason }))
            .with_retry_after(1)
    }
}

/// Query-string parameters, with a malformed query string answered in the API's error shape.
pub struct Params<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Params<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(params)| Params(params))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}
