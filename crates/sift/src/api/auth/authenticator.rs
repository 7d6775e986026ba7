//! Checking HTTP Basic credentials against the configured users, at a bounded cost.
//!
//! A password is stored as an argon2 hash, whose check costs tens of milliseconds and about
//! 19 MiB by design. So:
//! - verified credentials are remembered (a bounded set, cleared when full), keyed by a MAC of
//!   the `Authorization` header under a key made at start, so the cache never holds a
//!   password; a client sending many requests pays once;
//! - at most [`Authenticator::CONCURRENT_CHECKS`] hashes are computed at once (about one per
//!   core); a check that waits longer than [`CHECK_WAIT`] for its turn is answered 503;
//! - an unknown user name costs a check of a dummy hash, so that timing does not tell which
//!   names exist;
//! - failures are counted per client address and per user ([`super::failures`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use blake2::digest::{Mac, consts::U32};
use tokio::sync::Semaphore;

use super::failures::Failures;
use crate::config::User;
use crate::config::users::{hash_password, verify_password};

/// Most verified credentials remembered.
const MAX_REMEMBERED: usize = 1024;
/// Longest a check waits for its turn to compute a hash.
pub const CHECK_WAIT: Duration = Duration::from_secs(5);

type CredentialMac = blake2::Blake2bMac<U32>;

pub struct Authenticator {
    users: Vec<Arc<User>>,
    /// A hash checked for unknown names, with the parameters `sift user add` uses.
    dummy_hash: String,
    /// The key of the MACs the cache is keyed by: random, made at start, never stored.
    cache_key: [u8; 32],
    /// MACs of `Authorization` header values already verified, with the index of their user.
    verified: Mutex<HashMap<[u8; 32], usize>>,
    checks: Arc<Semaphore>,
    failures: Failures,
}

/// Why credentials were not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No credentials, or wrong ones: 401.
    Unauthorized,
    /// This client address failed too often: 429, try again after this long.
    TooManyFailures(Duration),
    /// Too many checks are waiting for their turn: 503.
    Busy,
}

impl Authenticator {
    /// Hashes computed at once: about one per core, so checks never take more CPU than the
    /// machine has, nor argon2's memory more than that many times over.
    pub const CONCURRENT_CHECKS: usize = 2;

    pub fn new(users: Vec<User>) -> Authenticator {
        let concurrent = std::thread::available_parallelism().map_or(Self::CONCURRENT_CHECKS, |n| n.get().max(1));
        // Made once at start: only ever compared against, so its password does not matter.
        let dummy_hash = if users.is_empty() {
            String::new()
        } else {
            hash_password(&uuid::Uuid::new_v4().to_string()).unwrap_or_default()
        };
        Authenticator {
            users: users.into_iter().map(Arc::new).collect(),
            dummy_hash,
            cache_key: rand::random(),
            verified: Mutex::default(),
            checks: Arc::new(Semaphore::new(concurrent)),
            failures: Failures::default(),
        }
    }

    /// Whether users are configured (without any, every route is open, on loopback only).
    pub fn enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// The user whose credentials `authorization` carries, checked at a bounded cost for a
    /// client at `peer`.
    pub async fn check(&self, authorization: Option<&str>, peer: IpAddr) -> Result<Arc<User>, Refusal> {
        let Some(authorization) = authorization else { return Err(Refusal::Unauthorized) };
        let key = self.mac(authorization);
        if let Some(&index) = self.remembered().get(&key) {
            return Ok(Arc::clone(&self.users[index]));
        }
        let now = Instant::now();
        if let Some(wait) = self.failures.refused_for(peer, now) {
            return Err(Refusal::TooManyFailures(wait));
        }
        let Some((name, password)) = decode_basic(authorization) else {
            self.failures.record(peer, None, now);
            return Err(Refusal::Unauthorized);
        };
        let user = self.users.iter().position(|user| user.name == name);
        if let Some(index) = user {
            let delay = self.failures.user_delay(index, now);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        let permit = tokio::time::timeout(CHECK_WAIT, Arc::clone(&self.checks).acquire_owned())
            .await
            .map_err(|_| Refusal::Busy)?
            .map_err(|_| Refusal::Busy)?;
        let hash = match user {
            Some(index) => self.users[index].password_hash.clone(),
            None => self.dummy_hash.clone(),
        };
        let verified = tokio::task::spawn_blocking(move || {
            let verified = verify_password(&hash, &password);
            drop(permit);
            verified
        })
        .await
        .unwrap_or(false);
        match user {
            Some(index) if verified => {
                let mut remembered = self.remembered();
                if remembered.len() >= MAX_REMEMBERED {
                    remembered.clear();
                }
                remembered.insert(key, index);
                Ok(Arc::clone(&self.users[index]))
            }
            _ => {
                self.failures.record(peer, user, Instant::now());
                Err(Refusal::Unauthorized)
            }
        }
    }

    fn mac(&self, authorization: &str) -> [u8; 32] {
        let mut mac = <CredentialMac as Mac>::new_from_slice(&self.cache_key).expect("a 32-byte key suits BLAKE2b");
        mac.update(authorization.as_bytes());
        mac.finalize().into_bytes().into()
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

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn basic(name: &str, password: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{name}:{password}")))
    }

    fn alice() -> Authenticator {
        let user = User { name: "alice".into(), password_hash: hash_password("s3cret").unwrap(), channels: None };
        Authenticator::new(vec![user])
    }

    #[test]
    fn decodes_basic_credentials() {
        let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("alice:s3cret:x"));
        assert_eq!(decode_basic(&header), Some(("alice".into(), "s3cret:x".into())));
        assert_eq!(decode_basic("Bearer abc"), None);
        assert_eq!(decode_basic("Basic !!!"), None);
    }

    #[tokio::test]
    async fn right_credentials_pass_and_are_remembered_without_the_password() {
        let auth = alice();
        let header = basic("alice", "s3cret");
        assert_eq!(auth.check(Some(&header), PEER).await.map(|u| u.name.clone()), Ok("alice".to_owned()));
        let remembered = auth.remembered();
        assert_eq!(remembered.keys().collect::<Vec<_>>(), [&auth.mac(&header)], "keyed by a MAC, not the header");
    }

    #[tokio::test]
    async fn a_guessing_address_is_refused_before_any_hash_is_computed() {
        let auth = alice();
        for _ in 0..super::super::failures::MAX_FAILURES_PER_ADDRESS {
            assert_eq!(auth.check(Some(&basic("mallory", "guess")), PEER).await.err(), Some(Refusal::Unauthorized));
        }
        let refused = auth.check(Some(&basic("alice", "s3cret")), PEER).await;
        assert!(matches!(refused, Err(Refusal::TooManyFailures(_))), "{refused:?}");
        let elsewhere = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 9));
        assert!(auth.check(Some(&basic("alice", "s3cret")), elsewhere).await.is_ok());
    }
}
