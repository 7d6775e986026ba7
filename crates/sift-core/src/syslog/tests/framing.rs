//! TCP framing: mixed octet-counted and newline-delimited frames on one stream, the same
//! frames whatever the chunks the stream arrives in, oversize frames of both kinds, lost
//! framing, and streams captured from `logger` and Python.

use expect_test::{Expect, expect};

use crate::syslog::framing::{Frame, Framer};

/// An octet-counted frame.
fn counted(message: &str) -> String {
    format!("{} {message}", message.len())
}

/// Feeds `stream` to a framer `chunk` bytes at a time, as a listener does, and lists the frames.
/// Skipped bytes are not listed: blank lines are skipped on their own or with the next frame
/// depending on where the chunks split.
fn frames(stream: &[u8], max_frame: usize, chunk: usize) -> String {
    let mut framer = Framer::new(max_frame);
    let mut buf = Vec::new();
    let mut out = String::new();
    'read: for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        let mut start = 0;
        while let Some((used, frame)) = framer.next_frame(&buf[start..]) {
            assert!(used > 0 && used <= buf.len() - start, "{used} of {}", buf.len() - start);
            start += used;
            match frame {
                Frame::Message(m) => out += &format!("message {:?}\n", String::from_utf8_lossy(m)),
                Frame::Truncated(m) => out += &format!("truncated {:?}\n", String::from_utf8_lossy(m)),
                Frame::Skipped(_) => {}
                Frame::Unrecoverable => {
                    out += "unrecoverable\n";
                    break 'read;
                }
            }
            if let Frame::Message(m) | Frame::Truncated(m) = frame {
                assert!(m.len() <= max_frame);
            }
        }
        buf.drain(..start);
        assert!(buf.len() < framer.buffer_need(), "holds {} bytes", buf.len());
    }
    match framer.finish(&buf) {
        Some(Frame::Message(m)) => out += &format!("finish message {:?}\n", String::from_utf8_lossy(m)),
        Some(Frame::Truncated(m)) => out += &format!("finish truncated {:?}\n", String::from_utf8_lossy(m)),
        Some(other) => out += &format!("finish {other:?}\n"),
        None => {}
    }
    out
}

/// Checks the frames of `stream` fed whole, then that every chunk size gives the same.
fn check(stream: &[u8], max_frame: usize, expect: Expect) {
    let whole = frames(stream, max_frame, stream.len().max(1));
    expect.assert_eq(&whole);
    for chunk in 1..stream.len() {
        assert_eq!(frames(stream, max_frame, chunk), whole, "in chunks of {chunk}");
    }
}

#[test]
fn mixed_stream() {
    let stream = [
        counted("<13>1 - - - - - - first"),
        "<13>second line\n".into(),
        "\n\r\n\0".into(),
        counted("<13>third"),
        "<12>python\0".into(),
        "<13>crlf\r\n".into(),
        counted("<13>octets keep\nnewlines"),
        "123abc is a line\n".into(),
        "0 ".into(),
        "<13>unterminated at the end".into(),
    ]
    .concat();
    check(
        stream.as_bytes(),
        1024,
        expect![[r#"
        message "<13>1 - - - - - - first"
        message "<13>second line"
        message "<13>third"
        message "<12>python"
        message "<13>crlf"
        message "<13>octets keep\nnewlines"
        message "123abc is a line"
        finish message "<13>unterminated at the end"
    "#]],
    );
}

#[test]
fn oversize_frames() {
    let stream = [counted(&"x".repeat(40)), counted("<13>next"), "y".repeat(40), "\nafter\n".into()].concat();
    check(
        stream.as_bytes(),
        16,
        expect![[r#"
        truncated "xxxxxxxxxxxxxxxx"
        message "<13>next"
        truncated "yyyyyyyyyyyyyyyy"
        message "after"
    "#]],
    );
    // Exactly max_frame with CRLF fits; one more byte does not.
    let stream = format!("{}\r\n{}\n", "a".repeat(16), "b".repeat(17));
    check(
        stream.as_bytes(),
        16,
        expect![[r#"
        message "aaaaaaaaaaaaaaaa"
        truncated "bbbbbbbbbbbbbbbb"
    "#]],
    );
    // An oversize frame still being skipped when the stream ends gives nothing more.
    check(
        format!("9999999999 {}", "z".repeat(40)).as_bytes(),
        16,
        expect![[r#"
        truncated "zzzzzzzzzzzzzzzz"
    "#]],
    );
    check(
        "z".repeat(40).as_bytes(),
        16,
        expect![[r#"
        truncated "zzzzzzzzzzzzzzzz"
    "#]],
    );
}

#[test]
fn end_of_stream() {
    // An octet-counted frame cut short by the end of the stream is truncated.
    check(
        b"30 <13>cut short",
        1024,
        expect![[r#"
        finish truncated "<13>cut short"
    "#]],
    );
    check(
        b"<13>last line\r",
        1024,
        expect![[r#"
        finish message "<13>last line"
    "#]],
    );
    check(
        b"12",
        1024,
        expect![[r#"
        finish message "12"
    "#]],
    );
    check(b"\n\n", 1024, expect![""]);
}

#[test]
fn unrecoverable() {
    check(
        b"12345678901 <13>eleven digits",
        1024,
        expect![[r#"
        unrecoverable
    "#]],
    );
    check(
        format!("{}<13>after\n", counted("<13>ok")).as_bytes(),
        1024,
        expect![[r#"
        message "<13>ok"
        message "<13>after"
    "#]],
    );
    check(
        b"<13>ok\n99999999999999999999",
        1024,
        expect![[r#"
        message "<13>ok"
        unrecoverable
    "#]],
    );
}

#[test]
fn real_clients() {
    // logger -T --octet-count --rfc5424 -t app counted one
    check(
        br#"100 <13>1 2026-11-21T19:54:13.291677+00:00 vm app - - [timeQuality tzKnown="1" isSynced="0"] counted one"#,
        1024,
        expect![[r#"
            message "<13>1 2026-11-21T19:54:13.291677+00:00 vm app - - [timeQuality tzKnown=\"1\" isSynced=\"0\"] counted one"
        "#]],
    );
    // Python's SysLogHandler over TCP: each message ends with a NUL.
    check(
        b"<12>tcp one\x00<12>tcp two\x00",
        1024,
        expect![[r#"
        message "<12>tcp one"
        message "<12>tcp two"
    "#]],
    );
}
