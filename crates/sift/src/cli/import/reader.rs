//! The reading side of `sift import`, run on its own thread: records out of an input (lines,
//! or frames for Logplex), parsed where the format needs it, into [`Chunk`]s of NDJSON that the
//! sending side posts while the next chunk is read.
//!
//! Memory stays bounded whatever the input: a record is read into one reused buffer and at
//! most [`MAX_RECORD`] bytes of it are kept (a longer one is rejected here, its rest skipped
//! unread into memory), a chunk holds at most `--batch` records and is sent early once its body
//! passes [`BODY_LIMIT`], and the channel to the sender holds one chunk.
//!
//! Syslog and Logplex records are parsed here with the server's own codecs and sent in the
//! shape of [`SubmitEventJson`], so what the server stores is what its syslog listener would
//! have stored. NDJSON lines are sent byte for byte; they are only decoded here to learn their
//! times (for the retention warning). Numbering: syslog and NDJSON records are numbered by line
//! (blank lines skipped but counted), Logplex records by frame, since a Logplex body may hold
//! many frames on one line.

use std::io::{self, BufRead};
use std::sync::mpsc::SyncSender;

use sift_core::intern::Interner;
use sift_core::syslog::{self, Frame, Framer};
use sift_core::{Event, Source, Str, Timestamp};

use super::input::Format;
use crate::api::SubmitEventJson;

/// The longest record sent: longer ones are rejected here (`line_too_long`), well above the
/// server's default `pipeline.max_message_bytes` (64 KiB), which it enforces itself.
pub const MAX_RECORD: usize = 1024 * 1024;
/// A chunk's body is sent once it passes this size, far below the server's default
/// `http.max_body` (16 MiB) even with one more escaped record of [`MAX_RECORD`] bytes on top.
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// What the user asked for that shapes every record.
#[derive(Debug, Clone)]
pub struct Options {
    pub format: Format,
    /// Records per chunk.
    pub batch: usize,
    /// Filled in where a syslog or Logplex record has none.
    pub app: Option<Str>,
    pub host: Option<Str>,
    /// Set on every syslog or Logplex record.
    pub channel: Option<Str>,
}

/// A record rejected before it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// Its line (or frame) number.
    pub at: u64,
    pub reason: String,
    pub detail: String,
}

/// Records ready to send, and the ones rejected among them.
#[derive(Debug, Default)]
pub struct Chunk {
    /// NDJSON: one line per item.
    pub body: Vec<u8>,
    /// The record number of each item in `body`, in order: the server's error indexes point here.
    pub items: Vec<u64>,
    /// Records rejected here, in order.
    pub rejected: Vec<Rejected>,
    /// Records of the input read so far, this chunk's included (blank lines are not records).
    pub records: u64,
    /// The oldest event time in this chunk and its record number, where it is known.
    pub oldest: Option<(Timestamp, u64)>,
}

/// What the reading thread hands over.
#[derive(Debug)]
pub enum Message {
    Chunk(Chunk),
    /// Reading failed after `at` (a record number): the input ends here.
    Failed {
        at: u64,
        error: io::Error,
    },
}

/// Reads `input` to the end, sending chunks; stops early when the receiver is gone.
pub fn read(input: &mut dyn BufRead, options: &Options, sender: SyncSender<Message>) {
    let mut out = Batcher { sender, batch: options.batch.max(1), chunk: Chunk::default(), records: 0, at: 0 };
    let result = match options.format {
        Format::Syslog | Format::Ndjson => read_lines(input, options, &mut out),
        Format::Logplex => read_frames(input, options, &mut out),
    };
    match result {
        Ok(()) => {
            let _ = out.send();
        }
        Err(Stop::Io(error)) => {
            let at = out.at;
            if out.send().is_ok() {
                let _ = out.sender.send(Message::Failed { at, error });
            }
        }
        Err(Stop::Gone) => {}
    }
}

/// Why reading stopped before the end.
enum Stop {
    Io(io::Error),
    /// The sending side stopped (the server failed): nothing more to do.
    Gone,
}

impl From<io::Error> for Stop {
    fn from(error: io::Error) -> Stop {
        Stop::Io(error)
    }
}

fn read_lines(input: &mut dyn BufRead, options: &Options, out: &mut Batcher) -> Result<(), Stop> {
    let mut line = Vec::new();
    let mut interner = Interner::default();
    let mut number = 0u64;
    while let Some(len) = read_line(input, &mut line, MAX_RECORD)? {
        number += 1;
        out.at = number;
        // The server skips the same blank NDJSON lines, so its indexes count the lines sent.
        if len == line.len() && line.iter().all(|c| matches!(c, b' ' | b'\t' | b'\r')) {
            continue;
        }
        out.records += 1;
        if len > MAX_RECORD {
            let detail = format!("the line is {len} bytes, over the {MAX_RECORD} bytes sift import sends");
            out.reject(number, "line_too_long", detail)?;
        } else if options.format == Format::Ndjson {
            out.ndjson(number, &line)?;
        } else {
            let parsed = syslog::parse(&line, Source::SyslogTcp, Timestamp::now(), &mut interner);
            out.event(number, parsed, options)?;
        }
    }
    Ok(())
}

fn read_frames(input: &mut dyn BufRead, options: &Options, out: &mut Batcher) -> Result<(), Stop> {
    let mut framer = Framer::new(MAX_RECORD);
    let mut interner = Interner::default();
    let mut buf: Vec<u8> = Vec::new();
    let mut number = 0u64;
    let mut frame = |number: u64, frame: Frame<'_>, out: &mut Batcher, ended: bool| -> Result<(), Stop> {
        out.at = number;
        out.records += 1;
        match frame {
            Frame::Message(message) => {
                let parsed = syslog::parse_5424(message, Source::Logplex, Timestamp::now(), &mut interner);
                out.event(number, parsed, options)
            }
            Frame::Truncated(_) if ended => {
                out.reject(number, "truncated_frame", "the input ends inside this frame".to_owned())
            }
            Frame::Truncated(_) => {
                let detail = format!("the frame is over the {MAX_RECORD} bytes sift import sends");
                out.reject(number, "frame_too_long", detail)
            }
            Frame::Skipped(_) | Frame::Unrecoverable => Ok(()),
        }
    };
    loop {
        let mut start = 0;
        while let Some((used, found)) = framer.next_frame(&buf[start..]) {
            start += used;
            match found {
                Frame::Skipped(_) => {}
                Frame::Unrecoverable => {
                    // A length of more than ten digits: nothing after it can be framed.
                    out.at = number + 1;
                    out.records += 1;
                    let detail = "a frame length of more than ten digits; the rest of the input is not read";
                    return out.reject(number + 1, "bad_frame_length", detail.to_owned());
                }
                found => {
                    number += 1;
                    frame(number, found, out, false)?;
                }
            }
        }
        buf.drain(..start);
        let old = buf.len();
        let want = framer.buffer_need().saturating_sub(old).clamp(1, 64 * 1024);
        buf.resize(old + want, 0);
        let read = loop {
            match input.read(&mut buf[old..]) {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        let read = read.inspect_err(|_| buf.truncate(old))?;
        buf.truncate(old + read);
        if read == 0 {
            if let Some(last) = framer.finish(&buf) {
                number += 1;
                frame(number, last, out, true)?;
            }
            return Ok(());
        }
    }
}

/// Reads one line into `line` without its `\n`, keeping at most `max` bytes; returns the
/// line's whole length (the bytes past `max` are consumed, not kept), or `None` at the end.
fn read_line(input: &mut dyn BufRead, line: &mut Vec<u8>, max: usize) -> io::Result<Option<usize>> {
    line.clear();
    let mut len = 0;
    let mut any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok(any.then_some(len));
        }
        any = true;
        let (take, end) = match memchr::memchr(b'\n', available) {
            Some(i) => (i, true),
            None => (available.len(), false),
        };
        let keep = take.min(max.saturating_sub(line.len()));
        line.extend_from_slice(&available[..keep]);
        len += take;
        input.consume(take + usize::from(end));
        if end {
            return Ok(Some(len));
        }
    }
}

/// Fills chunks and hands them over.
struct Batcher {
    sender: SyncSender<Message>,
    batch: usize,
    chunk: Chunk,
    records: u64,
    /// The record being read, for a read error.
    at: u64,
}

impl Batcher {
    /// A parsed syslog or Logplex record: the options applied, then sent as JSON.
    fn event(&mut self, at: u64, parsed: Result<Event, syslog::Malformed>, options: &Options) -> Result<(), Stop> {
        let mut event = match parsed {
            Ok(event) => event,
            Err(malformed) => {
                let detail = format!("{} (at byte {})", malformed.detail, malformed.offset);
                return self.reject(at, malformed.reason.as_str(), detail);
            }
        };
        if event.message.is_empty() {
            // The JSON API needs a message (or a type), so the server would refuse it anyway.
            return self.reject(at, "empty_message", "the message text is empty".to_owned());
        }
        fill(&mut event.app, &options.app);
        fill(&mut event.host, &options.host);
        if let Some(channel) = &options.channel {
            event.channel = Str::clone(channel);
        }
        self.time(at, event.time);
        let body = &mut self.chunk.body;
        serde_json::to_writer(&mut *body, &SubmitEventJson(&event)).map_err(io::Error::from)?;
        body.push(b'\n');
        self.chunk.items.push(at);
        self.flush_if_full()
    }

    /// An NDJSON line, sent as it is.
    fn ndjson(&mut self, at: u64, line: &[u8]) -> Result<(), Stop> {
        // Decoded only for its time; a line the server will reject has none to warn about.
        let decoded = sift_core::json::decode_body(line, true, Timestamp::now(), &sift_core::Limits::default());
        if let Some(Ok(event)) = decoded.as_ref().ok().and_then(|decoded| decoded.items.first()) {
            self.time(at, event.time);
        }
        self.chunk.body.extend_from_slice(line);
        self.chunk.body.push(b'\n');
        self.chunk.items.push(at);
        self.flush_if_full()
    }

    fn reject(&mut self, at: u64, reason: &str, detail: String) -> Result<(), Stop> {
        self.chunk.rejected.push(Rejected { at, reason: reason.to_owned(), detail });
        self.flush_if_full()
    }

    fn time(&mut self, at: u64, time: Timestamp) {
        if self.chunk.oldest.is_none_or(|(oldest, _)| time < oldest) {
            self.chunk.oldest = Some((time, at));
        }
    }

    fn flush_if_full(&mut self) -> Result<(), Stop> {
        let chunk = &self.chunk;
        if chunk.items.len() + chunk.rejected.len() >= self.batch || chunk.body.len() >= BODY_LIMIT {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<(), Stop> {
        let mut chunk = std::mem::take(&mut self.chunk);
        chunk.records = self.records;
        if chunk.items.is_empty() && chunk.rejected.is_empty() && chunk.records == 0 {
            return Ok(());
        }
        self.sender.send(Message::Chunk(chunk)).map_err(|_| Stop::Gone)
    }
}

fn fill(field: &mut Option<Str>, default: &Option<Str>) {
    if field.is_none() {
        field.clone_from(default);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// Reads `text` in `format` with batches of `batch` and returns what was sent.
    fn chunks(format: Format, text: &[u8], batch: usize) -> Vec<Message> {
        let options = Options { format, batch, app: Some(Str::from("fallback")), host: None, channel: None };
        let (sender, receiver) = mpsc::sync_channel(1000);
        read(&mut &text[..], &options, sender);
        receiver.into_iter().collect()
    }

    fn body_lines(chunk: &Chunk) -> Vec<serde_json::Value> {
        chunk
            .body
            .split(|&c| c == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect()
    }

    #[test]
    fn syslog_lines_become_events_or_rejections_with_line_numbers() {
        let text = b"<34>1 2026-01-02T03:04:05Z web-1 su - ID47 - one\n\n<999>bad pri\nOct 11 22:14:15 host2 cron[12]: two\n<13>1 - - - - -\n";
        let sent = chunks(Format::Syslog, text, 1000);
        let [Message::Chunk(chunk)] = &sent[..] else { panic!("{sent:?}") };
        assert_eq!(chunk.items, [1, 4]);
        assert_eq!(chunk.records, 4, "the blank line is no record");
        let reasons: Vec<(u64, &str)> = chunk.rejected.iter().map(|r| (r.at, r.reason.as_str())).collect();
        assert_eq!(reasons, [(3, "bad_pri"), (5, "empty_message")]);
        let events = body_lines(chunk);
        assert_eq!(events[0]["host"], "web-1");
        assert_eq!(events[0]["app"], "su");
        assert_eq!(events[0]["severity"], "critical");
        assert_eq!(events[0]["time"], "2026-01-02T03:04:05Z");
        assert_eq!(events[1]["app"], "cron");
        assert_eq!(events[1]["proc"], "12");
        assert_eq!(chunk.oldest.map(|(_, at)| at), Some(1));
    }

    #[test]
    fn options_fill_what_a_line_lacks() {
        let sent = chunks(Format::Syslog, b"no header at all\n", 10);
        let [Message::Chunk(chunk)] = &sent[..] else { panic!("{sent:?}") };
        assert_eq!(body_lines(chunk)[0]["app"], "fallback");
    }

    #[test]
    fn batches_split_at_the_batch_size() {
        let text = "{\"message\":\"a\"}\n".repeat(5);
        let sent = chunks(Format::Ndjson, text.as_bytes(), 2);
        let items: Vec<Vec<u64>> = sent
            .iter()
            .map(|m| match m {
                Message::Chunk(c) => c.items.clone(),
                Message::Failed { .. } => panic!("failed"),
            })
            .collect();
        assert_eq!(items, [vec![1, 2], vec![3, 4], vec![5]]);
    }

    #[test]
    fn long_lines_are_rejected_without_being_kept() {
        let mut line = Vec::new();
        let text = format!("{}\nshort\n", "x".repeat(MAX_RECORD + 10));
        let mut input = text.as_bytes();
        assert_eq!(read_line(&mut input, &mut line, MAX_RECORD).unwrap(), Some(MAX_RECORD + 10));
        assert_eq!(line.len(), MAX_RECORD);
        assert_eq!(read_line(&mut input, &mut line, MAX_RECORD).unwrap(), Some(5));
        assert_eq!(line, b"short");
        assert_eq!(read_line(&mut input, &mut line, MAX_RECORD).unwrap(), None);
    }

    #[test]
    fn logplex_frames_are_numbered_by_frame() {
        let one = "<40>1 2026-01-02T03:04:05+00:00 host app web.3 - one";
        let two = "<13>1 2026-01-02T03:04:06Z h a - - - two";
        let text = format!("{} {one}{} {two}\n3 bad\n", one.len(), two.len());
        let sent = chunks(Format::Logplex, text.as_bytes(), 1000);
        let [Message::Chunk(chunk)] = &sent[..] else { panic!("{sent:?}") };
        assert_eq!(chunk.items, [1, 2]);
        assert_eq!(chunk.rejected.iter().map(|r| (r.at, r.reason.as_str())).collect::<Vec<_>>(), [(3, "bad_pri")]);
        assert_eq!(body_lines(chunk)[1]["message"], "two");
    }
}
