//! Popcorn datagrams into events for the UDP listener: the codec (`sift_core::popcorn`)
//! decodes `Log_Message_Proto`; this sets the listener's channel and turns a decode error
//! (including an unknown packet version) into a rejection counted by reason.

use std::sync::Arc;

use sift_core::{Str, Timestamp};

use super::udp::Decode;
use crate::pipeline::Rejection;

pub fn datagram_decoder(channel: &str) -> Decode {
    let channel = Str::from(channel);
    Arc::new(move |datagram: &[u8], received_at: Timestamp, interner| {
        let mut event = sift_core::popcorn::decode(datagram, received_at, interner)
            .map_err(|error| Rejection::new(error.kind.as_str(), error.to_string()))?;
        event.channel = Str::clone(&channel);
        Ok(event)
    })
}
