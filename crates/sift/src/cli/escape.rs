//! Text from the network made safe to print for a person: every control character (C0, DEL
//! and C1: `\n`, `\t`, ESC, BEL, CSI...) is written as an escape (`\n`, `\r`, `\t`,
//! `\u{1b}`), so that what a client logged can neither break a one-line layout nor send a
//! sequence to the terminal (`\e[31m` colours, `\e]0;...\a` window titles, cursor moves that
//! hide earlier lines). Log content is written by whoever reaches an ingest port.
//!
//! Every human-readable output of the client commands goes through here: `tail` and `search`
//! lines, `query` tables and notes, the rejections `send` and `import` report, and the
//! server's error messages. `--json` output is JSON (its strings escape control characters
//! already), and `query --csv` is data for a program, quoted per RFC 4180 and left as it is.

use std::fmt::{self, Write as _};

/// `text` with its control characters escaped, for `format!` and friends.
pub(crate) struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some((at, c)) = rest.char_indices().find(|(_, c)| c.is_control()) {
            f.write_str(&rest[..at])?;
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            }
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

/// Appends `text` to `out` with its control characters escaped.
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    let _ = write!(out, "{}", Escaped(text));
}

/// `text` with its control characters escaped, as an owned string.
pub(crate) fn escaped(text: &str) -> String {
    Escaped(text).to_string()
}

#[cfg(test)]
mod tests {
    use super::escaped;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        let cases = [
            ("plain text, ünïcode ✓", "plain text, ünïcode ✓"),
            ("two\nlines\r\n\tindented", r"two\nlines\r\n\tindented"),
            ("\u{1b}[31mred\u{1b}[0m", r"\u{1b}[31mred\u{1b}[0m"),
            ("\u{1b}]0;owned\u{7}title", r"\u{1b}]0;owned\u{7}title"),
            ("nul\0 del\u{7f} csi\u{9b}", r"nul\u{0} del\u{7f} csi\u{9b}"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(escaped(input), want, "{input:?}");
        }
    }
}
