//! The lexer: reads query text into tokens (parentheses, `AND`/`OR`/`NOT`, a leading `-`, `|`
//! and terms), one at a time, so that the parser can stop at a top-level `|` without reading
//! the pipe stage that follows. A term carries its target (the message, a topic, an identity
//! or a named field with its operator) and its value as written: a bare word, a quoted string
//! with its escapes resolved, or a regex. Offsets are bytes; errors carry them to the boundary.

use std::fmt;

use super::field::Field;
use super::term::unknown_field;
use super::{Fail, char_offset};

/// One token and where it lies in the source, in bytes.
#[derive(Debug)]
pub(crate) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug)]
pub(crate) enum Kind {
    LParen,
    RParen,
    Pipe,
    And,
    Or,
    Not,
    /// A `-` directly before a term.
    Minus,
    Term(Term),
}

/// A term before its field and value are checked.
#[derive(Debug)]
pub(crate) struct Term {
    pub target: Target,
    pub value: Value,
}

#[derive(Debug)]
pub(crate) enum Target {
    /// A word or phrase on its own: matched against the message.
    Bare,
    /// `#topic`.
    Topic,
    /// `@identity`.
    Identity,
    /// `name:value`, `name>value`, ...; `at` is the name's offset.
    Field { name: String, at: usize, op: Op },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Colon,
    Lt,
    Le,
    Gt,
    Ge,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Colon => ":",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// As typed: `*` and `?` may be wildcards.
    Word,
    /// `"..."`: literal, escapes resolved.
    Quoted,
    /// `/.../`: a regex, with `\/` turned into `/`.
    Regex,
}

#[derive(Debug)]
pub(crate) struct Value {
    pub text: String,
    pub style: Style,
    /// Byte offsets of the value as written, quotes or slashes included.
    pub at: usize,
    pub end: usize,
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(src: &'a str) -> Lexer<'a> {
        Lexer { src, pos: 0 }
    }

    /// The next token, or `None` at the end of the text.
    pub(crate) fn next_token(&mut self) -> Result<Option<Token>, Fail> {
        let rest = &self.src[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        let kind = match c {
            '(' | ')' | '|' => {
                self.pos += 1;
                match c {
                    '(' => Kind::LParen,
                    ')' => Kind::RParen,
                    _ => Kind::Pipe,
                }
            }
            '"' => Kind::Term(Term { target: Target::Bare, value: self.quoted()? }),
            '-' => {
                self.pos += 1;
                if self.at_boundary() {
                    return Err(Fail::new(self.pos, "a term after `-`", describe(self.src, self.pos)));
                }
                Kind::Minus
            }
            '#' | '@' => {
                self.pos += 1;
                let (target, what) =
                    if c == '#' { (Target::Topic, "a topic") } else { (Target::Identity, "an identity") };
                let value = self.value(&format!("{what} after `{c}`"), true)?;
                Kind::Term(Term { target, value })
            }
            _ => self.word_or_field(start)?,
        };
        Ok(Some(Token { kind, start, end: self.pos }))
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    /// At the end, whitespace, `)` or `|`: where a term cannot start.
    fn at_boundary(&self) -> bool {
        self.peek().is_none_or(|c| c.is_whitespace() || c == ')' || c == '|')
    }

    /// A field term (`name:value`, `name>=value`) or a bare word (or keyword).
    fn word_or_field(&mut self, start: usize) -> Result<Kind, Fail> {
        let rest = &self.src[start..];
        let name_len = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '|' | '"' | ':' | '<' | '>'))
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        let after = rest[name_len..].chars().next();
        if matches!(after, Some(':' | '<' | '>')) && is_field_name(name) {
            self.pos = start + name_len;
            let op = self.op();
            // A missing value after an unknown name is most likely not a field at all.
            let value = self
                .value(&format!("a value after `{name}{op}`"), op == Op::Colon)
                .map_err(|fail| if Field::lookup(name).is_none() { unknown_field(name, start) } else { fail })?;
            let target = Target::Field { name: name.to_owned(), at: start, op };
            return Ok(Kind::Term(Term { target, value }));
        }
        let value = self.word(true);
        Ok(match value.text.as_str() {
            "AND" => Kind::And,
            "OR" => Kind::Or,
            "NOT" => Kind::Not,
            _ => Kind::Term(Term { target: Target::Bare, value }),
        })
    }

    fn op(&mut self) -> Op {
        let rest = &self.src[self.pos..];
        let (op, len) = if rest.starts_with("<=") {
            (Op::Le, 2)
        } else if rest.starts_with(">=") {
            (Op::Ge, 2)
        } else if rest.starts_with('<') {
            (Op::Lt, 1)
        } else if rest.starts_with('>') {
            (Op::Gt, 1)
        } else {
            (Op::Colon, 1)
        };
        self.pos += len;
        op
    }

    /// The value after an operator, `#` or `@`; `expected` names it for errors.
    fn value(&mut self, expected: &str, regex_allowed: bool) -> Result<Value, Fail> {
        match self.peek() {
            Some('"') => self.quoted(),
            Some('/') if regex_allowed => self.regex(),
            Some('(') => Err(Fail::new(
                self.pos,
                format!("{expected} (parentheses cannot group values: write `(host:a OR host:b)`)"),
                "`(`",
            )),
            _ if self.at_boundary() => Err(Fail::new(self.pos, expected, describe(self.src, self.pos))),
            _ => Ok(self.word(false)),
        }
    }

    /// A word: up to whitespace, `|`, or a `)` that closes no `(` of the word itself, so that
    /// `connect()` is one word. With `keywords` (a word on its own, not a value), `AND`, `OR`
    /// or `NOT` directly followed by `(` ends there.
    fn word(&mut self, keywords: bool) -> Value {
        let at = self.pos;
        let rest = &self.src[at..];
        let mut depth = 0usize;
        let mut len = rest.len();
        for (i, c) in rest.char_indices() {
            let stop = match c {
                '|' => true,
                '(' => {
                    depth += 1;
                    keywords && depth == 1 && matches!(&rest[..i], "AND" | "OR" | "NOT")
                }
                ')' if depth == 0 => true,
                ')' => {
                    depth -= 1;
                    false
                }
                c => c.is_whitespace(),
            };
            if stop {
                len = i;
                break;
            }
        }
        self.pos = at + len;
        Value { text: rest[..len].to_owned(), style: Style::Word, at, end: self.pos }
    }

    /// `"..."` with `\"` and `\\` as escapes; any other backslash is kept as it is.
    fn quoted(&mut self) -> Result<Value, Fail> {
        let at = self.pos;
        let text = self.delimited('"', "quote")?;
        self.expect_boundary("the closing `\"`")?;
        Ok(Value { text, style: Style::Quoted, at, end: self.pos })
    }

    /// `/.../` with `\/` for a slash; every other escape is left to the regex.
    fn regex(&mut self) -> Result<Value, Fail> {
        let at = self.pos;
        let text = self.delimited('/', "regex")?;
        self.expect_boundary("the regex's closing `/` (quote values that start with `/`)")?;
        Ok(Value { text, style: Style::Regex, at, end: self.pos })
    }

    /// The text between the `close` character at `self.pos` and the next unescaped one.
    /// In quotes `\\` is a backslash; in a regex it stays `\\` for the regex to read.
    fn delimited(&mut self, close: char, what: &str) -> Result<String, Fail> {
        let open = self.pos;
        let body = &self.src[open + 1..];
        let mut text = String::with_capacity(body.len().min(64));
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == close {
                self.pos = open + 1 + i + 1;
                return Ok(text);
            }
            if c != '\\' {
                text.push(c);
                continue;
            }
            match chars.clone().next() {
                Some((_, next)) if next == close => {
                    chars.next();
                    text.push(next);
                }
                Some((_, '\\')) => {
                    chars.next();
                    text.push('\\');
                    if close == '/' {
                        text.push('\\');
                    }
                }
                _ => text.push('\\'),
            }
        }
        let expected = format!("`{close}` to close the {what} at position {}", char_offset(self.src, open));
        Err(Fail::new(self.src.len(), expected, "end of query"))
    }

    /// After a closing quote or slash: the end, whitespace, `)` or `|` must follow.
    fn expect_boundary(&self, after: &str) -> Result<(), Fail> {
        if self.at_boundary() {
            return Ok(());
        }
        Err(Fail::new(self.pos, format!("whitespace, `)` or the end after {after}"), describe(self.src, self.pos)))
    }
}

/// Whether `name` before `:`, `<` or `>` names a field (known or not): an identifier, or a
/// `fields.` path. Anything else (`10:30`, `a->b`, `<html>`) stays a word of the message.
fn is_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well
        && (chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("fields.")))
}

/// What is at byte `at`, for "found ...": `end of query`, `whitespace`, or the text there
/// (up to the next space), in backticks.
pub(crate) fn describe(src: &str, at: usize) -> String {
    let rest = src.get(at..).unwrap_or("");
    match rest.chars().next() {
        None => "end of query".to_owned(),
        Some(c) if c.is_whitespace() => "whitespace".to_owned(),
        Some(c @ ('(' | ')' | '|' | '"')) => format!("`{c}`"),
        Some(_) => {
            let len = rest.find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '|')).unwrap_or(rest.len());
            quote_snippet(&rest[..len])
        }
    }
}

/// `text` in backticks, shortened to 40 characters.
pub(crate) fn quote_snippet(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("`{}…`", &text[..cut]),
        None => format!("`{text}`"),
    }
}
