//! Fingerprints: the key of the alert group an event belongs to (DESIGN.md section 8).
//!
//! The first of these that applies is the key:
//! 1. a fingerprint the client gave (`fingerprint`, `md5`), returned as it is;
//! 2. the code location `app + version + module + line`, when module and line are present (a
//!    line number means something only within one version);
//! 3. `app + topic`, for the first configured alert topic (in configuration order) among the
//!    event's topics;
//! 4. `app + normalize(message)`.
//!
//! Computed fingerprints are the XXH3 128-bit hash (seed 0) of the key, as 32 lowercase hex
//! digits. The key is the kind's name (`location`, `topic`, `message`) followed by each part as a
//! 4-byte little-endian length and its UTF-8 bytes, or the 4 bytes `ff ff ff ff` for an absent
//! part. So keys of different kinds, or with parts split differently, never coincide, and a
//! fingerprint is the same across runs, machines and releases: it is stored with events and alert
//! groups, and changing this encoding regroups every alert.

use xxhash_rust::xxh3::xxh3_128;

use super::normalize::normalize;
use crate::{Event, Str};

/// The alert-group key of `event`. `alert_topics` are the configured alert topics, with or
/// without their `#`.
pub fn fingerprint(event: &Event, alert_topics: &[String]) -> Str {
    if let Some(given) = &event.fingerprint {
        return given.clone();
    }
    let app = event.app.as_deref();
    if let (Some(module), Some(line)) = (event.module.as_deref(), event.line) {
        let line = line.to_string();
        let version = event.version.as_deref();
        return hash("location", &[app, version, Some(module), Some(&line)]);
    }
    let alert_topic = alert_topics
        .iter()
        .map(|topic| topic.strip_prefix('#').unwrap_or(topic))
        .find(|wanted| event.topics.iter().any(|topic| &**topic == *wanted));
    if let Some(topic) = alert_topic {
        return hash("topic", &[app, Some(topic)]);
    }
    hash("message", &[app, Some(&normalize(&event.message))])
}

const ABSENT: [u8; 4] = [0xff; 4];

/// The hex XXH3-128 of the encoded key (module docs).
fn hash(kind: &str, parts: &[Option<&str>]) -> Str {
    let len = kind.len() + parts.iter().map(|part| 4 + part.map_or(0, str::len)).sum::<usize>();
    let mut key = Vec::with_capacity(len);
    key.extend_from_slice(kind.as_bytes());
    for part in parts {
        match part {
            // Parts are bounded by the message size limit, far below 4 GiB; saturate regardless.
            Some(part) => {
                key.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX - 1).to_le_bytes());
                key.extend_from_slice(part.as_bytes());
            }
            None => key.extend_from_slice(&ABSENT),
        }
    }
    Str::from(format!("{:032x}", xxh3_128(&key)))
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;
    use crate::{Source, Timestamp};

    fn event(app: &str, message: &str) -> Event {
        let mut event = Event::new(Source::HttpJson, Timestamp(0), message);
        event.app = crate::event::non_empty(app);
        event
    }

    fn fp(event: &Event) -> String {
        fingerprint(event, &["#payment".to_owned(), "checkout".to_owned()]).to_string()
    }

    #[test]
    fn pinned_values() {
        // These values are stored with events and alert groups: they must never change.
        let mut located = event("shop", "boom");
        located.version = Some("1.2".into());
        located.module = Some("cart".into());
        located.line = Some(54);
        let mut topical = event("shop", "failed #checkout #payment");
        topical.topics = vec!["checkout".into(), "payment".into()];
        let lines = [fp(&event("shop", "disk 3 full")), fp(&located), fp(&topical), fp(&event("", "x"))];
        expect![[r#"
            [
                "fd778f0174770d9de84d09389a6ca7d5",
                "d9d4b0f50a25aafd55ccb2367d512d6e",
                "d64d5c0b6973bc10e4a2d835557dff36",
                "141089443d70ab40f38ce6fb480e4eec",
            ]
        "#]]
        .assert_debug_eq(&lines);
    }

    #[test]
    fn client_fingerprint_is_kept() {
        let mut given = event("shop", "boom");
        given.fingerprint = Some("d41d8cd98f00b204e9800998ecf8427e".into());
        given.module = Some("cart".into());
        given.line = Some(1);
        assert_eq!(fp(&given), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn same_normalized_message_same_fingerprint() {
        assert_eq!(fp(&event("shop", "disk 3 of 10.0.0.7 full")), fp(&event("shop", "disk  5 of 10.0.0.9 full")));
        assert_ne!(fp(&event("shop", "disk 3 full")), fp(&event("shop", "disk 3 empty")));
        assert_eq!(fp(&event("shop", "x")).len(), 32);
    }

    #[test]
    fn different_app_different_fingerprint() {
        assert_ne!(fp(&event("shop", "boom")), fp(&event("cart", "boom")));
        assert_ne!(fp(&event("shop", "boom")), fp(&event("", "boom")));
    }

    #[test]
    fn location_beats_message() {
        let mut a = event("shop", "boom at user 1");
        let mut b = event("shop", "something else entirely");
        for e in [&mut a, &mut b] {
            e.version = Some("1.2".into());
            e.module = Some("cart".into());
            e.line = Some(54);
        }
        assert_eq!(fp(&a), fp(&b));
        b.version = Some("1.3".into());
        assert_ne!(fp(&a), fp(&b));
        // A module without a line is no location.
        let mut c = event("shop", "boom");
        c.module = Some("cart".into());
        assert_eq!(fp(&c), fp(&event("shop", "boom")));
    }

    #[test]
    fn alert_topic_beats_message_in_configured_order() {
        let mut a = event("shop", "failed #checkout for bob");
        a.topics = vec!["checkout".into()];
        let mut b = event("shop", "#checkout timed out");
        b.topics = vec!["checkout".into()];
        assert_eq!(fp(&a), fp(&b));
        let mut c = event("shop", "#checkout #payment");
        c.topics = vec!["checkout".into(), "payment".into()];
        let mut d = event("shop", "#payment");
        d.topics = vec!["payment".into()];
        assert_eq!(fp(&c), fp(&d), "payment is configured first");
        let mut other = event("shop", "#other");
        other.topics = vec!["other".into()];
        assert_eq!(fp(&other), fp(&event("shop", "#other")));
    }

    #[test]
    fn kinds_do_not_collide() {
        // The same text as a topic and as a message.
        let mut topical = event("shop", "checkout");
        topical.topics = vec!["checkout".into()];
        assert_ne!(fp(&topical), fp(&event("shop", "checkout")));
        // Parts split differently.
        assert_ne!(fp(&event("ab", "c")), fp(&event("a", "bc")));
    }
}
