//! TCP framing on arbitrary bytes in arbitrary chunks, driven as a listener drives it: no
//! panic, `used` never past the buffer, no frame above `max_frame`, the buffer never above
//! `buffer_need`, and the same frames whatever the chunking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sift_core::syslog::framing::{Frame, Framer};

/// The frames of `stream` fed in the given chunk sizes (cycled), skipped bytes left out.
fn frames(stream: &[u8], max_frame: usize, chunks: &[u8]) -> Vec<(bool, Vec<u8>)> {
    let mut framer = Framer::new(max_frame);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut rest = stream;
    let mut sizes = chunks.iter().cycle();
    while !rest.is_empty() {
        let n = usize::from(*sizes.next().unwrap_or(&255)).clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        let mut start = 0;
        while let Some((used, frame)) = framer.next_frame(&buf[start..]) {
            assert!(used > 0 && used <= buf.len() - start);
            start += used;
            match frame {
                Frame::Message(m) | Frame::Truncated(m) => {
                    assert!(m.len() <= max_frame);
                    out.push((matches!(frame, Frame::Truncated(_)), m.to_vec()));
                }
                Frame::Skipped(_) => {}
                Frame::Unrecoverable => {
                    out.push((true, b"unrecoverable".to_vec()));
                    return out;
                }
            }
        }
        buf.drain(..start);
        assert!(buf.len() < framer.buffer_need());
    }
    if let Some(Frame::Message(m) | Frame::Truncated(m)) = framer.finish(&buf) {
        assert!(m.len() <= max_frame);
        out.push((false, m.to_vec()));
    }
    out
}

fuzz_target!(|data: &[u8]| {
    // First byte: max_frame (1..=64), next 4: chunk sizes, the rest: the stream.
    if data.len() < 5 {
        return;
    }
    let max_frame = usize::from(data[0] % 64) + 1;
    let (chunks, stream) = data[1..].split_at(4);
    let whole = frames(stream, max_frame, &[255]);
    assert_eq!(frames(stream, max_frame, chunks), whole);
    assert_eq!(frames(stream, max_frame, &[1]), whole);
});
