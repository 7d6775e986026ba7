//! HTTP Basic authentication for every route but `/healthz` and `/readyz`, when users are
//! configured. Passwords are stored as argon2 hashes; because verifying one costs tens of
//! milliseconds of CPU, verified credentials are remembered (a bounded set, cleared when
//! full) so a client sending many requests pays once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

use super::error::ApiError;
use crate::app::AppState;
use crate::config::User;
use crate::config::users::verify_password;

/// Most verified credentials remembered.
const MAX_REMEMBERED: usize = 1024;

/// Routes open to anyone: load balancers and orchestrators probe them without credentials.
const OPEN_ROUTES: [&str; 2] = ["/healthz", "/readyz"];

#[derive(Default)]
pub struct Authenticator {
    users: Vec<User>,
    verified: Mutex<HashSet<String>>,
}

impl Authenticator {
    pub fn new(users: Vec<User>) -> Authenticator {
        Authenticator { users, verified: Mutex::default() }
    }

    pub fn enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// Whether the `Authorization` header value names a user with the right password.
    fn check(&self, authorization: &str) -> bool {
        if self.remembered().contains(authorization) {
            return true;
        }
        let Some((name, password)) = decode_basic(authorization) else { return false };
        let valid = self.users.iter().any(|user| user.name == name && verify_password(&user.password_hash, &password));
        if valid {
            let mut remembered = self.remembered();
            if remembered.len() >= MAX_REMEMBERED {
                remembered.clear();
            }
            remembered.insert(authorization.to_owned());
        }
        valid
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `Basic base64(name:password)` into its parts.
fn decode_basic(authorization: &str) -> Option<(String, String)> {
    let encoded = authorization.strip_prefix("Basic ").or_else(|| authorization.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (name, password) = text.split_once(':')?;
    Some((name.to_owned(), password.to_owned()))
}

pub async fn require_user(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let auth = &state.auth;
    if !auth.enabled() || OPEN_ROUTES.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let Some(header) = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return ApiError::unauthorized().into_response();
    };
    let header = header.to_owned();
    let checker = Arc::clone(&state);
    let valid = tokio::task::spawn_blocking(move || checker.auth.check(&header)).await.unwrap_or(false);
    if valid { next.run(request).await } else { ApiError::unauthorized().into_response() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_basic_credentials() {
        let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("alice:s3cret:x"));
        assert_eq!(decode_basic(&header), Some(("alice".into(), "s3cret:x".into())));
        assert_eq!(decode_basic("Bearer abc"), None);
        assert_eq!(decode_basic("Basic !!!"), None);
    }
}
