//! Syslog messages into events for the listeners: the codec (`sift_core::syslog`) does the
//! parsing; this sets the listener's channel and turns a parse error into a rejection that
//! is counted by reason.

use std::sync::Arc;

use sift_core::intern::Interner;
use sift_core::{Event, Source, Str, Timestamp};

use super::udp::Decode;
use crate::pipeline::Rejection;

/// One message (a datagram, or a TCP frame) into an event of `channel`.
pub fn decode(
    message: &[u8],
    source: Source,
    channel: &Str,
    received_at: Timestamp,
    interner: &mut Interner,
) -> Result<Event, Rejection> {
    let mut event = sift_core::syslog::parse(message, source, received_at, interner)
        .map_err(|malformed| Rejection::new(malformed.reason.as_str(), malformed.to_string()))?;
    event.channel = Str::clone(channel);
    Ok(event)
}

/// The decoder of the syslog UDP listener: one message per datagram.
pub fn datagram_decoder(channel: &str) -> Decode {
    let channel = Str::from(channel);
    Arc::new(move |datagram, received_at, interner| {
        decode(datagram, Source::SyslogUdp, &channel, received_at, interner)
    })
}
