//! Logplex HTTP bodies (`Content-Type: application/logplex-1`): `LEN SP RFC5424-MSG` repeated
//! with nothing between frames. The body is all or nothing (DESIGN.md section 4: any
//! malformed frame rejects the request), so [`split_logplex`] gives every frame or the first
//! error; each frame then goes to [`super::parse_5424`].
//!
//! Newlines (and CRs) between frames and at the end are skipped: a body typed into `curl` or
//! built from a file often ends with one, and a sender whose LEN leaves out the message's
//! newline still frames correctly. An empty body has no frames; comparing the count with
//! `Logplex-Msg-Count` is the caller's.

use super::{Malformed, MalformedReason};

/// Digits a frame length may have (up to 9 GB, more than any body).
const MAX_LEN_DIGITS: usize = 10;

/// Splits a Logplex body into its frames' messages, in order.
pub fn split_logplex(body: &[u8]) -> Result<Vec<&[u8]>, Malformed> {
    let mut frames = Vec::new();
    let mut pos = 0;
    loop {
        while matches!(body.get(pos), Some(b'\n' | b'\r')) {
            pos += 1;
        }
        if pos == body.len() {
            return Ok(frames);
        }
        let rest = &body[pos..];
        let digits = rest.iter().take(MAX_LEN_DIGITS + 1).take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > MAX_LEN_DIGITS || rest.get(digits) != Some(&b' ') {
            return Err(Malformed::new(MalformedReason::BadFrameLength, pos, "expected a frame length and a space"));
        }
        let len = rest[..digits].iter().fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'));
        if len == 0 {
            return Err(Malformed::new(MalformedReason::BadFrameLength, pos, "frame length 0"));
        }
        let start = pos + digits + 1;
        if len > (body.len() - start) as u64 {
            return Err(Malformed::new(MalformedReason::TruncatedFrame, pos, "frame length past the end of the body"));
        }
        let end = start + len as usize;
        frames.push(&body[start..end]);
        pos = end;
    }
}
