//! Enrichment (DESIGN.md sections 5 and 8): what the pipeline derives from an event after it is
//! classified. [`topics::extract`] finds `#topics` and `@identities` in the message;
//! [`normalize::normalize`] replaces a message's variable parts by placeholders; and
//! [`fingerprint::fingerprint`] gives every event the stable key of the alert group it belongs to.

pub mod fingerprint;
pub mod normalize;
pub mod topics;

pub use fingerprint::fingerprint;
pub use normalize::normalize;
pub use topics::extract;
