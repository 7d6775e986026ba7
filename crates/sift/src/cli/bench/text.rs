//! What the generated events say, shared by every protocol's generator: a few hosts and apps,
//! a realistic mix of severities, and messages made of the words log lines are made of.
//! Every protocol draws from the same pool, so runs over different protocols store
//! comparable events.

use rand::Rng;
use rand::seq::SliceRandom;
use sift_core::Severity;

pub(super) const HOSTS: &[&str] = &["web-1", "web-2", "web-3", "web-4", "api-1", "api-2", "worker-1", "db-1"];
pub(super) const APPS: &[&str] = &["checkout", "frontend", "payments", "search", "auth", "mailer"];

/// Words of the kind log lines are made of, separated by spaces; no quote, backslash,
/// bracket or control character, so a message needs no escaping in JSON or syslog.
const WORDS: &str = "\
    GET POST PUT DELETE /api/v1/orders /api/v1/users/48213 /health /cart/checkout status=200 status=201 \
    status=404 status=500 duration_ms=12 duration_ms=348 bytes=5120 request_id=7f3a9c21 user_id=48213 \
    session=a81f trace=4bf92f3577b34da6 from to for request completed started finished in ms connection \
    accepted closed reset by peer timeout after retrying attempt 3 of 5 cache hit miss key upstream \
    responded slowly payment authorized declined card order shipped queue depth worker job failed \
    succeeded database query took rows returned TLS handshake client disconnected rate limited memory \
    usage GC pause config reloaded user logged in out #checkout #login @alice @bob 10.0.3.17 \
    192.168.1.20 port 8080 v2.4.1 deploy healthy unhealthy node";

/// One generated event before a protocol encodes it.
pub(super) struct Sample {
    pub host: &'static str,
    pub app: &'static str,
    pub severity: Severity,
}

impl Sample {
    /// Mostly info, a few warnings and errors, as services log.
    pub(super) fn generate(rng: &mut impl Rng) -> Sample {
        let severity = match rng.gen_range(0..100) {
            0..2 => Severity::Error,
            2..6 => Severity::Warning,
            6..10 => Severity::Notice,
            10..15 => Severity::Debug,
            _ => Severity::Info,
        };
        Sample {
            host: HOSTS.choose(rng).copied().unwrap_or("web-1"),
            app: APPS.choose(rng).copied().unwrap_or("checkout"),
            severity,
        }
    }
}

/// Generates message text.
pub(super) struct Words(Vec<&'static str>);

impl Words {
    pub(super) fn new() -> Words {
        Words(WORDS.split_whitespace().collect())
    }

    /// Random words up to exactly `size` bytes (all ASCII, so any cut is a character
    /// boundary), never ending in a space.
    pub(super) fn fill(&self, rng: &mut impl Rng, size: usize, message: &mut String) {
        message.clear();
        while message.len() < size {
            if !message.is_empty() {
                message.push(' ');
            }
            message.push_str(self.0.choose(rng).copied().unwrap_or("event"));
        }
        message.truncate(size);
        if message.ends_with(' ') {
            message.pop();
            message.push('x');
        }
    }
}
