//! What one decoded request may hold (DESIGN.md section 1, principle 4): the decoders of HTTP
//! bodies (JSON events, OTLP) check these before and while they work, so that a request's memory
//! stays a small multiple of its body whatever it holds.
//!
//! - Items (JSON objects, OTLP records) are counted before any of them is decoded: a request
//!   with more than `max_items` is refused whole ([`Exceeded::Items`]).
//! - An item longer than `max_item_bytes` is rejected without being decoded: it could not pass
//!   the pipeline's bounds on its message and fields anyway, and decoding it could take many
//!   times its size.
//! - An OTLP record whose fields, with its resource's and scope's attributes, would be over
//!   `max_field_bytes` is rejected before anything is copied into it.
//! - Everything the decode holds, events (estimated as the ring counts them) and rejections
//!   alike, is charged to a [`Budget`] of `max_decoded_bytes`; a request over it is refused
//!   whole ([`Exceeded::Decoded`]).

use std::fmt;

use crate::Event;

/// The limits of one decoded request. The server fills them from its configuration; the keys
/// named here are those of the server's configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most items in one request (`http.max_items`).
    pub max_items: usize,
    /// Longest item decoded, in bytes as sent: derived by [`Limits::new`].
    pub max_item_bytes: usize,
    /// Most bytes of an event's `fields`, as [`crate::event::fields_bytes`] counts them
    /// (`pipeline.max_field_bytes`).
    pub max_field_bytes: usize,
    /// Most bytes of decoded events and rejections held for one request
    /// (`http.max_decoded_bytes`).
    pub max_decoded_bytes: usize,
}

/// The server's defaults.
pub const DEFAULT_MAX_ITEMS: usize = 100_000;
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 << 10;
pub const DEFAULT_MAX_FIELD_BYTES: usize = 64 << 10;
pub const DEFAULT_MAX_DECODED_BYTES: usize = 64 << 20;

/// The shortest item bound, whatever the message and field bounds: as long a line as
/// `sift import` sends.
const MIN_ITEM_BYTES: usize = 1 << 20;

impl Limits {
    /// Limits whose item bound follows from the bounds on an event's message and fields: an
    /// item may be four times as long as both together (JSON escapes such as `\u00e9` take up
    /// to six bytes for one or two), and at least 1 MiB.
    pub fn new(max_items: usize, max_message_bytes: usize, max_field_bytes: usize, max_decoded_bytes: usize) -> Limits {
        let max_item_bytes = max_message_bytes.saturating_add(max_field_bytes).saturating_mul(4).max(MIN_ITEM_BYTES);
        Limits { max_items, max_item_bytes, max_field_bytes, max_decoded_bytes }
    }

    /// No bound at all, for tools that decode what they wrote themselves.
    pub fn none() -> Limits {
        Limits {
            max_items: usize::MAX,
            max_item_bytes: usize::MAX,
            max_field_bytes: usize::MAX,
            max_decoded_bytes: usize::MAX,
        }
    }

    /// How many items to reserve room for up front, for a request of `items`: no more than its
    /// budget could hold, so that a count within `max_items` cannot reserve what the budget would
    /// refuse (2,000,000 counted items once reserved 460 MB before the first was decoded).
    pub fn capacity_for(&self, items: usize) -> usize {
        items.min(self.max_decoded_bytes / std::mem::size_of::<Event>())
    }

    /// A fresh budget of `max_decoded_bytes` for one request.
    pub fn budget(&self) -> Budget {
        Budget { left: self.max_decoded_bytes, limit: self.max_decoded_bytes }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::new(DEFAULT_MAX_ITEMS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_FIELD_BYTES, DEFAULT_MAX_DECODED_BYTES)
    }
}

/// A request refused whole for a limit, before or while it was decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Exceeded {
    #[error("the request holds more than {limit} items (http.max_items); send them in smaller requests")]
    Items { limit: usize },
    #[error(
        "the events decoded from the request would take more than {limit} bytes (http.max_decoded_bytes); \
         send fewer or smaller events per request"
    )]
    Decoded { limit: usize },
}

impl Exceeded {
    /// The counter label.
    pub fn as_str(self) -> &'static str {
        match self {
            Exceeded::Items { .. } => "too_many_items",
            Exceeded::Decoded { .. } => "decoded_too_large",
        }
    }

    /// The configuration key of the limit.
    pub fn key(self) -> &'static str {
        match self {
            Exceeded::Items { .. } => "http.max_items",
            Exceeded::Decoded { .. } => "http.max_decoded_bytes",
        }
    }

    /// The limit's value.
    pub fn limit(self) -> usize {
        match self {
            Exceeded::Items { limit } | Exceeded::Decoded { limit } => limit,
        }
    }
}

/// What one item costs beside its own heap: its place in the decoded list, which holds an
/// event or a rejection.
const SLOT_BYTES: usize = std::mem::size_of::<Event>() + 16;

/// The bytes one request's decode may still hold. Charge every item as it is decoded.
#[derive(Debug, Clone)]
pub struct Budget {
    left: usize,
    limit: usize,
}

impl Budget {
    /// Charges `bytes`, or says the request is over its limit.
    pub fn spend(&mut self, bytes: usize) -> Result<(), Exceeded> {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(Exceeded::Decoded { limit: self.limit }),
        }
    }

    /// Charges a decoded event: its estimate, as the ring counts it, and its place in the list.
    pub fn spend_event(&mut self, event: &Event) -> Result<(), Exceeded> {
        self.spend(event.approx_bytes() + SLOT_BYTES - std::mem::size_of::<Event>())
    }

    /// [`Budget::spend_event`] for an event whose fields are known to take `fields_bytes`
    /// (as [`crate::event::fields_bytes`] counts them), so that they are not walked again.
    pub fn spend_measured_event(&mut self, event: &Event, fields_bytes: usize) -> Result<(), Exceeded> {
        self.spend(event.approx_bytes_besides_fields() + fields_bytes + SLOT_BYTES - std::mem::size_of::<Event>())
    }

    /// Charges a rejected item with this message.
    pub fn spend_rejection(&mut self, message: &str) -> Result<(), Exceeded> {
        self.spend(SLOT_BYTES + message.len())
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} bytes left", self.left, self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Source, Timestamp};

    #[test]
    fn the_item_bound_follows_the_message_and_field_bounds() {
        assert_eq!(Limits::default().max_item_bytes, 1 << 20);
        assert_eq!(Limits::new(1, 1 << 20, 64 << 10, 1).max_item_bytes, 4 * ((1 << 20) + (64 << 10)));
        assert_eq!(Limits::new(1, usize::MAX, 1, 1).max_item_bytes, usize::MAX);
    }

    #[test]
    fn a_budget_refuses_what_it_cannot_hold() {
        let event = Event::new(Source::HttpJson, Timestamp(0), "hello");
        let cost = event.approx_bytes() + 16;
        let mut budget = Limits { max_decoded_bytes: 2 * cost, ..Limits::default() }.budget();
        assert_eq!(budget.spend_event(&event), Ok(()));
        assert_eq!(budget.spend_event(&event), Ok(()));
        assert_eq!(budget.spend_event(&event), Err(Exceeded::Decoded { limit: 2 * cost }));
        assert_eq!(budget.spend_rejection(""), Err(Exceeded::Decoded { limit: 2 * cost }));
        assert_eq!(budget.spend(0), Ok(()));
    }
}
