//! Topics, identities, normalization and fingerprints. Placeholder until the real one lands.
pub mod topics {
    use crate::Str;
    pub fn extract(_message: &str, _topics: &mut Vec<Str>, _identities: &mut Vec<Str>) {}
}
pub mod fingerprint {
    use crate::{Event, Str};
    pub fn fingerprint(event: &Event, _alert_topics: &[String]) -> Str {
        Str::from(event.message.as_str())
    }
}
