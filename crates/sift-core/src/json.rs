//! JSON events into [`Event`]s. Placeholder until the real decoder lands.
use crate::{Event, Source, Timestamp};

pub struct Decoded {
    pub items: Vec<Result<Event, ItemError>>,
}
#[derive(Debug)]
pub struct ItemError {
    pub kind: ItemErrorKind,
    pub message: String,
}
#[derive(Debug)]
pub enum ItemErrorKind {
    MalformedJson,
}
impl ItemErrorKind {
    pub fn as_str(&self) -> &'static str {
        "malformed_json"
    }
}
pub fn decode_body(body: &[u8], _ndjson: bool, received_at: Timestamp) -> Decoded {
    let item = serde_json::from_slice::<serde_json::Value>(body)
        .map(|v| Event::new(Source::HttpJson, received_at, v["message"].as_str().unwrap_or_default()))
        .map_err(|e| ItemError { kind: ItemErrorKind::MalformedJson, message: e.to_string() });
    Decoded { items: vec![item] }
}
