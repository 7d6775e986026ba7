//! Failed password checks, remembered per client address and per user, so that guessing
//! costs the guesser and not the server.
//!
//! - Per client address (IPv6 by its /64, which one host usually owns whole): after
//!   [`MAX_FAILURES_PER_ADDRESS`] failures within [`WINDOW`], further attempts are refused with
//!   429 and `Retry-After` until the window ends, before any hash is computed.
//! - Per user: after [`FREE_FAILURES_PER_USER`] failures within the window, each further check
//!   for that user waits a little longer (up to [`MAX_USER_DELAY`]). This is never a lockout: a
//!   stranger who knows the name `alice` can slow her first request down by at most that much,
//!   never shut her out.
//!
//! Both tables are bounded ([`MAX_TRACKED`]): when full, expired entries go; if none has
//! expired, the table is cleared, which at worst forgives some guessers early.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window failures are counted over.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Failed checks one client address may make per window.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 10;
/// Failed checks per user per window before checks for that user are slowed down.
pub const FREE_FAILURES_PER_USER: u32 = 5;
/// Added per failure past the free ones.
const USER_DELAY_STEP: Duration = Duration::from_millis(100);
/// The most a check for one user is slowed down.
pub const MAX_USER_DELAY: Duration = Duration::from_secs(2);
/// Addresses (and, apart, users) remembered at most.
const MAX_TRACKED: usize = 10_000;

#[derive(Default)]
pub struct Failures {
    by_address: Mutex<Table<IpAddr>>,
    by_user: Mutex<Table<usize>>,
}

struct Table<K> {
    windows: HashMap<K, Window>,
}

impl<K> Default for Table<K> {
    fn default() -> Self {
        Table { windows: HashMap::new() }
    }
}

#[derive(Clone, Copy)]
struct Window {
    began: Instant,
    failures: u32,
}

impl<K: std::hash::Hash + Eq + Copy> Table<K> {
    fn current(&self, key: K, now: Instant) -> Option<Window> {
        self.windows.get(&key).copied().filter(|w| now.duration_since(w.began) < WINDOW)
    }

    fn record(&mut self, key: K, now: Instant) {
        if self.windows.len() >= MAX_TRACKED && !self.windows.contains_key(&key) {
            self.windows.retain(|_, w| now.duration_since(w.began) < WINDOW);
            if self.windows.len() >= MAX_TRACKED {
                self.windows.clear();
            }
        }
        let window = self.windows.entry(key).or_insert(Window { began: now, failures: 0 });
        if now.duration_since(window.began) >= WINDOW {
            *window = Window { began: now, failures: 0 };
        }
        window.failures += 1;
    }
}

impl Failures {
    /// How long `address` must wait before it may try again, if it is over its limit.
    pub fn refused_for(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        let table = lock(&self.by_address);
        let window = table.current(bucket(address), now)?;
        (window.failures >= MAX_FAILURES_PER_ADDRESS).then(|| WINDOW.saturating_sub(now.duration_since(window.began)))
    }

    /// How long a check for `user` waits first: nothing until it has failed more than
    /// [`FREE_FAILURES_PER_USER`] times in the window, then a little more per failure.
    pub fn user_delay(&self, user: usize, now: Instant) -> Duration {
        let table = lock(&self.by_user);
        let failures = table.current(user, now).map_or(0, |w| w.failures);
        let past = failures.saturating_sub(FREE_FAILURES_PER_USER);
        (USER_DELAY_STEP * past).min(MAX_USER_DELAY)
    }

    /// Counts a failed check from `address` (for `user`, when the name was a user's).
    pub fn record(&self, address: IpAddr, user: Option<usize>, now: Instant) {
        lock(&self.by_address).record(bucket(address), now);
        if let Some(user) = user {
            lock(&self.by_user).record(user, now);
        }
    }
}

/// One host's share of addresses: itself for IPv4, its /64 for IPv6 (where a host often
/// has a whole /64 to pick addresses from).
fn bucket(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let segments = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(segments[0], segments[1], segments[2], segments[3], 0, 0, 0, 0))
            }
        },
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn an_address_is_refused_past_its_failures_until_the_window_ends() {
        let failures = Failures::default();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES_PER_ADDRESS {
            assert_eq!(failures.refused_for(A, start), None);
            failures.record(A, None, start);
        }
        assert_eq!(failures.refused_for(A, start + Duration::from_secs(20)), Some(Duration::from_secs(40)));
        assert_eq!(failures.refused_for(B, start), None, "another address is not held up");
        assert_eq!(failures.refused_for(A, start + WINDOW), None, "a new window forgives");
    }

    #[test]
    fn an_ipv6_host_counts_as_one_whatever_address_of_its_64_it_picks() {
        let failures = Failures::default();
        let now = Instant::now();
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            let address = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, i as u16 + 1));
            failures.record(address, None, now);
        }
        let fresh = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9));
        assert!(failures.refused_for(fresh, now).is_some());
    }

    #[test]
    fn a_user_is_slowed_down_never_locked_out() {
        let failures = Failures::default();
        let now = Instant::now();
        for i in 0..100u8 {
            failures.record(IpAddr::V4(std::net::Ipv4Addr::new(10, 1, 0, i)), Some(0), now);
        }
        assert_eq!(failures.user_delay(0, now), MAX_USER_DELAY);
        assert_eq!(failures.user_delay(1, now), Duration::ZERO);
        assert_eq!(failures.user_delay(0, now + WINDOW), Duration::ZERO);
    }

    #[test]
    fn the_tables_stay_bounded() {
        let failures = Failures::default();
        let now = Instant::now();
        for i in 0..(MAX_TRACKED as u32 + 10) {
            failures.record(IpAddr::V4(std::net::Ipv4Addr::from(i)), None, now);
        }
        assert!(lock(&failures.by_address).windows.len() <= MAX_TRACKED);
    }
}
