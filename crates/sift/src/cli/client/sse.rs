//! Server-Sent Events, read as the HTML standard's event-stream parser does: lines end in
//! LF, CRLF or CR (also split across chunks), `:` lines are comments, `event:` names the
//! message, `data:` lines accumulate (joined by LF), a blank line dispatches, an optional
//! UTF-8 byte order mark opens the stream, and an unterminated message at the end is dropped.
//!
//! [`SseParser`] is the pure part; [`SseStream`] feeds it from a streaming response.
//! Messages are handed to a callback as borrowed text, so a fast stream (`bench` reads tens
//! of thousands of events a second) costs no allocation per event.

use bytes::Bytes;

use super::{RequestError, transport_error};

/// One dispatched message. `event` is `message` when the stream named none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseMessage<'a> {
    pub event: &'a str,
    pub data: &'a str,
}

/// Incremental event-stream parser: feed it chunks as they arrive.
#[derive(Debug, Default)]
pub struct SseParser {
    /// The start of a line whose end has not arrived yet.
    partial: Vec<u8>,
    event: String,
    data: String,
    /// The last chunk ended with CR: an LF that opens the next chunk ends the same line.
    skip_lf: bool,
    /// The first line has been seen (and any byte order mark before it removed).
    started: bool,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Parses `chunk` and calls `on_message` for every message it completes, stopping at the
    /// first error the callback returns.
    pub fn feed<E>(
        &mut self,
        chunk: &[u8],
        mut on_message: impl FnMut(SseMessage<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut rest = chunk;
        if self.skip_lf && !rest.is_empty() {
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
            self.skip_lf = false;
        }
        while let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            let line = &rest[..end];
            let mut next = &rest[end + 1..];
            if rest[end] == b'\r' {
                match next.first() {
                    Some(b'\n') => next = &next[1..],
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            if self.partial.is_empty() {
                self.line(line, &mut on_message)?;
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                let result = self.line(&whole, &mut on_message);
                whole.clear();
                self.partial = whole;
                result?;
            }
            rest = next;
        }
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    fn line<E>(
        &mut self,
        mut line: &[u8],
        on_message: &mut impl FnMut(SseMessage<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if !self.started {
            self.started = true;
            line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
        }
        if line.is_empty() {
            return self.dispatch(on_message);
        }
        if line[0] == b':' {
            return Ok(());
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &line[line.len()..]),
        };
        match field {
            b"event" => {
                self.event.clear();
                push_text(&mut self.event, value);
            }
            b"data" => {
                push_text(&mut self.data, value);
                self.data.push('\n');
            }
            // `id` and `retry` matter to reconnecting clients; sift's do not reconnect.
            _ => {}
        }
        Ok(())
    }

    fn dispatch<E>(&mut self, on_message: &mut impl FnMut(SseMessage<'_>) -> Result<(), E>) -> Result<(), E> {
        if self.data.is_empty() {
            self.event.clear();
            return Ok(());
        }
        self.data.pop();
        let event = if self.event.is_empty() { "message" } else { &self.event };
        let result = on_message(SseMessage { event, data: &self.data });
        self.event.clear();
        self.data.clear();
        result
    }
}

/// Appends bytes as text, replacing invalid UTF-8 (the fast check first: it is the usual case).
fn push_text(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => out.push_str(text),
        Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
    }
}

/// A streaming response read as Server-Sent Events.
#[derive(Debug)]
pub struct SseStream {
    response: reqwest::Response,
    parser: SseParser,
    base: String,
}

impl SseStream {
    pub(crate) fn new(response: reqwest::Response, base: String) -> SseStream {
        SseStream { response, parser: SseParser::new(), base }
    }

    /// Waits for the next chunk and hands every message it completes to `on_message`.
    /// `Ok(false)` when the server ended the stream. Cancel-safe: dropping the future
    /// while it waits loses nothing.
    pub async fn read<E: From<RequestError>>(
        &mut self,
        on_message: impl FnMut(SseMessage<'_>) -> Result<(), E>,
    ) -> Result<bool, E> {
        let chunk: Option<Bytes> = self.response.chunk().await.map_err(|error| transport_error(&self.base, &error))?;
        match chunk {
            Some(chunk) => {
                self.parser.feed(&chunk, on_message)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` in order and lists the dispatched messages as `event=data`.
    fn parse(chunks: &[&[u8]]) -> Vec<String> {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for chunk in chunks {
            parser
                .feed(chunk, |m| {
                    out.push(format!("{}={}", m.event, m.data));
                    Ok::<(), ()>(())
                })
                .unwrap();
        }
        out
    }

    #[test]
    fn named_events_and_default_name() {
        let stream = b"event: event\ndata: {\"a\":1}\n\nevent: ready\ndata: {}\n\ndata: plain\n\n";
        assert_eq!(parse(&[stream]), ["event={\"a\":1}", "ready={}", "message=plain"]);
    }

    #[test]
    fn multi_line_data_and_comments() {
        let stream = b": keep-alive\n\ndata: one\n: a comment between\ndata:two\ndata:  three\n\n";
        assert_eq!(parse(&[stream]), ["message=one\ntwo\n three"]);
    }

    #[test]
    fn empty_data_dispatches_but_no_data_does_not() {
        assert_eq!(parse(&[b"event: ready\ndata\n\n"]), ["ready="]);
        assert_eq!(parse(&[b"event: ready\n\ndata: x\n\n"]), ["message=x"]);
    }

    #[test]
    fn line_endings_crlf_cr_and_split_chunks() {
        assert_eq!(parse(&[b"data: a\r\n\r\ndata: b\r\rdata: c\n\n"]), ["message=a", "message=b", "message=c"]);
        // CR at the end of one chunk, LF at the start of the next: one line end, not two.
        assert_eq!(parse(&[b"data: a\r", b"\ndata: b\r", b"\n\r\n"]), ["message=a\nb"]);
        // A line split anywhere, even inside the field name.
        assert_eq!(
            parse(&[b"eve", b"nt: dropped\nda", b"ta: {\"dropped\"", b":3}\n", b"\n"]),
            ["dropped={\"dropped\":3}"]
        );
    }

    #[test]
    fn byte_order_mark_unknown_fields_and_unfinished_message() {
        let stream = "\u{feff}data: x\nid: 7\nretry: 10\nfoo: bar\n\ndata: never dispatched\n";
        assert_eq!(parse(&[stream.as_bytes()]), ["message=x"]);
    }

    #[test]
    fn callback_error_stops_and_the_parser_recovers() {
        let mut parser = SseParser::new();
        let result = parser.feed(b"data: a\n\ndata: b\n\n", |m| Err(m.data.to_owned()));
        assert_eq!(result, Err("a".to_owned()));
        let mut seen = Vec::new();
        parser
            .feed(b"data: c\n\n", |m| {
                seen.push(m.data.to_owned());
                Ok::<(), ()>(())
            })
            .unwrap();
        assert_eq!(seen, ["c"]);
    }
}
