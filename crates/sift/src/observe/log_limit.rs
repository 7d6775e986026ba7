//! Rate-limited logging for bad input: a flood of malformed requests must not become a
//! flood of log lines. Each kind of problem is logged at most once a second; the counters in
//! [`super::Stats`] still count every occurrence.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct LogLimiter {
    last: Mutex<HashMap<&'static str, Instant>>,
}

impl LogLimiter {
    /// Whether a message of this kind may be logged now (at most once a second per kind).
    pub fn allow(&self, kind: &'static str) -> bool {
        self.allow_at(kind, Instant::now())
    }

    fn allow_at(&self, kind: &'static str, now: Instant) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match last.get(kind) {
            Some(at) if now.duration_since(*at) < Duration::from_secs(1) => false,
            _ => {
                last.insert(kind, now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_a_second_per_kind() {
        let limiter = LogLimiter::default();
        let start = Instant::now();
        assert!(limiter.allow_at("malformed_json", start));
        assert!(!limiter.allow_at("malformed_json", start + Duration::from_millis(500)));
        assert!(limiter.allow_at("message_too_large", start + Duration::from_millis(500)));
        assert!(limiter.allow_at("malformed_json", start + Duration::from_millis(1000)));
    }
}
