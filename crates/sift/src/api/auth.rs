//! HTTP Basic authentication for every route but `/healthz` and `/readyz`, when users are
//! configured. Passwords are stored as argon2 hashes; because verifying one costs tens of
//! milliseconds of CPU, verified credentials are remembered (a bounded set, cleared when
//! full) so a client sending many requests pays once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sift_store::StateKey;

use super::error::ApiError;
use crate::app::AppState;
use crate::config::User;
use crate::config::users::verify_password;

/// Most verified credentials remembered.
const MAX_REMEMBERED: usize = 1024;

/// Routes this middleware lets through: load balancers and orchestrators probe the health
/// routes without credentials, and Logplex input (`/logs`) checks tokens and users itself.
const OPEN_ROUTES: [&str; 3] = ["/healthz", "/readyz", "/logs"];

pub struct Authenticator {
    users: Vec<User>,
    /// `Authorization` header values already verified, by their hash keyed with
    /// `cache_key` (never the header itself, which holds the password), with the index of
    /// their user.
    verified: Mutex<HashMap<[u8; 32], usize>>,
    /// This process's own key for those hashes.
    cache_key: StateKey,
}

impl Authenticator {
    pub fn new(users: Vec<User>) -> Authenticator {
        Authenticator { users, verified: Mutex::default(), cache_key: StateKey::random() }
    }

    pub fn enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// The user the `Authorization` header value names, if the password is right.
    /// Costs an argon2 verification the first time a header value is seen: call it off the
    /// async runtime's worker threads.
    pub fn user(&self, authorization: &str) -> Option<&User> {
        let remembered_as = self.cache_key.hash(authorization);
        if let Some(&index) = self.remembered().get(&remembered_as) {
            return Some(&self.users[index]);
        }
        let (name, password) = decode_basic(authorization)?;
        let index =
            self.users.iter().position(|user| user.name == name && verify_password(&user.password_hash, &password))?;
        let mut remembered = self.remembered();
        if remembered.len() >= MAX_REMEMBERED {
            remembered.clear();
        }
        remembered.insert(remembered_as, index);
        Some(&self.users[index])
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], usize>> {
        self.verified.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `Basic base64(name:password)` into its parts.
pub fn decode_basic(authorization: &str) -> Option<(String, String)> {
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
    let valid = tokio::task::spawn_blocking(move || checker.auth.user(&header).is_some()).await.unwrap_or(false);
    if valid { next.run(request).await } else { ApiError::unauthorized().into_response() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_the_credential_cache_keeps_a_keyed_hash_of_the_header_not_the_password() {
        let hash = crate::config::users::hash_password("s3cret").unwrap();
        let auth = Authenticator::new(vec![User { name: "alice".into(), password_hash: hash, channels: None }]);
        let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("alice:s3cret"));
        assert_eq!(auth.user(&header).map(|user| user.name.as_str()), Some("alice"));
        assert_eq!(auth.user(&header).map(|user| user.name.as_str()), Some("alice"), "from the cache");
        let remembered = auth.remembered();
        assert_eq!(remembered.keys().collect::<Vec<_>>(), [&auth.cache_key.hash(&header)]);
        assert_ne!(auth.cache_key.hash(&header), StateKey::random().hash(&header), "keyed by this process alone");
    }

    #[test]
    fn decodes_basic_credentials() {
        let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("alice:s3cret:x"));
        assert_eq!(decode_basic(&header), Some(("alice".into(), "s3cret:x".into())));
        assert_eq!(decode_basic("Bearer abc"), None);
        assert_eq!(decode_basic("Basic !!!"), None);
    }
}
