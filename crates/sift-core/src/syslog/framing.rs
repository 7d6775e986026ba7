//! Syslog over TCP (RFC 6587): frames out of a connection's byte stream, the framing detected
//! per frame. A frame that starts with a digit followed, after at most 10 digits, by a space is
//! octet-counted (`LEN SP MSG`); any other frame ends at a newline (a trailing CR is dropped)
//! or a NUL (Python's `SysLogHandler` over TCP ends each message with one, as rsyslog accepts).
//! Empty frames (blank lines) are skipped.
//!
//! A frame longer than `max_frame` is reported once, as [`Frame::Truncated`] holding its first
//! `max_frame` bytes, so the message is kept cut rather than lost; the rest of it is consumed
//! as it arrives and reported as [`Frame::Skipped`], never buffered. A length of more than 10
//! digits means the stream is not framed as we think and cannot be resynchronised:
//! [`Frame::Unrecoverable`], and the listener closes the connection.
//!
//! The caller owns the buffer. The loop is
//!
//! ```text
//! while let Some((used, frame)) = framer.next_frame(&buf[start..]) {
//!     start += used;
//!     match frame { Message(m) | Truncated(m) => parse m, Skipped(_) => {}, Unrecoverable => close }
//! }
//! buf.drain(..start); read more (at most `framer.buffer_need() - buf.len()` bytes), repeat
//! ```
//!
//! and at the end of the stream `framer.finish(&buf)`. `next_frame` always makes progress once
//! the buffer holds [`Framer::buffer_need`] bytes, so a connection never needs more buffer than
//! that.

/// The default largest frame, 64 KiB.
pub const DEFAULT_MAX_FRAME: usize = 64 * 1024;

/// Digits an octet count may have; 10 already allow 9 GB, so more means lost framing.
const MAX_LEN_DIGITS: usize = 10;

/// Splits one connection's stream into frames; one per connection, as it keeps the state of
/// a frame being skipped.
#[derive(Debug, Clone)]
pub struct Framer {
    max_frame: usize,
    /// Bytes of an oversize octet-counted frame still to discard.
    skip: u64,
    /// Inside an oversize line: discard up to the next delimiter.
    discard_line: bool,
    /// An unrecoverable length was seen: every later byte is garbage.
    lost: bool,
}

/// What [`Framer::next_frame`] found at the front of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole message, without its length prefix or delimiter (a CR before LF removed).
    Message(&'a [u8]),
    /// The first `max_frame` bytes of a longer frame (the rest is skipped), or at the end of
    /// the stream an octet-counted frame cut off before its length. Count it and parse it.
    Truncated(&'a [u8]),
    /// Bytes consumed without a frame: blank lines, or the rest of an oversize frame.
    Skipped(usize),
    /// The octet count is not a sane number: close the connection.
    Unrecoverable,
}

impl Default for Framer {
    fn default() -> Framer {
        Framer::new(DEFAULT_MAX_FRAME)
    }
}

impl Framer {
    /// A framer for frames up to `max_frame` bytes (at least 1).
    pub fn new(max_frame: usize) -> Framer {
        Framer { max_frame: max_frame.max(1), skip: 0, discard_line: false, lost: false }
    }

    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// The largest buffer the caller needs: with this many bytes `next_frame` always returns
    /// a frame or consumes bytes.
    pub fn buffer_need(&self) -> usize {
        self.max_frame + MAX_LEN_DIGITS + 1
    }

    /// Takes the next frame from the front of `buf` (a connection's unconsumed bytes): how many
    /// bytes it used and the frame, or `None` when more bytes are needed.
    pub fn next_frame<'a>(&mut self, buf: &'a [u8]) -> Option<(usize, Frame<'a>)> {
        if buf.is_empty() {
            return None;
        }
        if self.lost {
            return Some((buf.len(), Frame::Unrecoverable));
        }
        if self.skip > 0 {
            let n = self.skip.min(buf.len() as u64) as usize;
            self.skip -= n as u64;
            return Some((n, Frame::Skipped(n)));
        }
        if self.discard_line {
            let n = buf.iter().position(|&c| is_delimiter(c)).map_or(buf.len(), |i| {
                self.discard_line = false;
                i + 1
            });
            return Some((n, Frame::Skipped(n)));
        }
        let blank = buf.iter().take_while(|&&c| is_delimiter(c) || c == b'\r').count();
        let rest = &buf[blank..];
        let found = match octet_count(rest) {
            Count::Line => self.line(rest),
            Count::NeedMore => None,
            Count::Lost => {
                self.lost = true;
                return Some((buf.len(), Frame::Unrecoverable));
            }
            Count::Len { header, len } => self.counted(rest, header, len),
        };
        match found {
            Some((used, frame)) => Some((blank + used, frame)),
            None if blank > 0 => Some((blank, Frame::Skipped(blank))),
            None => None,
        }
    }

    /// At the end of the stream: the last frame in `buf` (what `next_frame` left), if any. An
    /// unterminated line is a message; an octet-counted frame cut short is truncated.
    pub fn finish<'a>(&mut self, buf: &'a [u8]) -> Option<Frame<'a>> {
        let (skipping, lost) = (self.skip > 0 || self.discard_line, self.lost);
        *self = Framer::new(self.max_frame);
        if skipping || lost {
            return None;
        }
        let start = buf.iter().position(|&c| !(is_delimiter(c) || c == b'\r'))?;
        let rest = &buf[start..];
        let (body, cut) = match octet_count(rest) {
            Count::Len { header, .. } => (&rest[header..], true),
            _ => (rest.strip_suffix(b"\r").unwrap_or(rest), false),
        };
        if body.is_empty() {
            return None;
        }
        if cut || body.len() > self.max_frame {
            return Some(Frame::Truncated(&body[..body.len().min(self.max_frame)]));
        }
        Some(Frame::Message(body))
    }

    fn counted<'a>(&mut self, rest: &'a [u8], header: usize, len: u64) -> Option<(usize, Frame<'a>)> {
        let body = &rest[header..];
        if len == 0 {
            return Some((header, Frame::Skipped(header)));
        }
        if len <= self.max_frame as u64 {
            let len = len as usize;
            return (body.len() >= len).then(|| (header + len, Frame::Message(&body[..len])));
        }
        if body.len() < self.max_frame {
            return None;
        }
        self.skip = len - self.max_frame as u64;
        Some((header + self.max_frame, Frame::Truncated(&body[..self.max_frame])))
    }

    fn line<'a>(&mut self, rest: &'a [u8]) -> Option<(usize, Frame<'a>)> {
        // A line of max_frame bytes may still be followed by CR and LF.
        let window = &rest[..rest.len().min(self.max_frame + 2)];
        match window.iter().position(|&c| is_delimiter(c)) {
            Some(end) => {
                let line = &rest[..end];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let frame = if line.len() > self.max_frame {
                    Frame::Truncated(&line[..self.max_frame])
                } else {
                    Frame::Message(line)
                };
                Some((end + 1, frame))
            }
            None if window.len() == self.max_frame + 2 => {
                self.discard_line = true;
                Some((self.max_frame, Frame::Truncated(&rest[..self.max_frame])))
            }
            None => None,
        }
    }
}

fn is_delimiter(c: u8) -> bool {
    c == b'\n' || c == 0
}

/// How a frame starting at the front of a buffer is framed.
enum Count {
    /// Not digits and a space: a newline-delimited frame.
    Line,
    /// Digits so far; the space or the rest of the digits may still come.
    NeedMore,
    /// More than 10 digits.
    Lost,
    /// `LEN SP`: the header's length and the message's.
    Len { header: usize, len: u64 },
}

fn octet_count(b: &[u8]) -> Count {
    let digits = b.iter().take(MAX_LEN_DIGITS + 1).take_while(|c| c.is_ascii_digit()).count();
    match b.get(digits) {
        _ if digits > MAX_LEN_DIGITS => Count::Lost,
        _ if digits == 0 => Count::Line,
        None => Count::NeedMore,
        Some(b' ') => {
            let len = b[..digits].iter().fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'));
            Count::Len { header: digits + 1, len }
        }
        Some(_) => Count::Line,
    }
}
