//! What a scan needs to know about a query before it opens a file: which columns the query
//! reads, and which needles every matching message must contain (for the n-gram filter).
//!
//! `sift_core::query::Query` does not say which fields it reads, so this module reads the
//! query's text again with the lexer's rules: terms, `field:value` (and `<`, `>`, ...),
//! `#topic`, `@identity`, quoted phrases, `/regex/` values, parentheses and the keywords. It
//! errs on the side of reading more: anything it does not follow makes the scan read every
//! column and use no needle. A needle is only taken from a query without OR and without
//! parentheses (an AND of terms), from a bare term that no `-` or `NOT` negates.

use sift_core::query::Query;

use super::ngram::filter_needle;
use super::schema::{Column, Columns};

/// What the scan of one query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Plan {
    /// The columns the query's terms read (without `time` and `id`, which scans add).
    pub columns: Columns,
    /// Lowered needles that every matching message contains, for the n-gram filter.
    pub needles: Vec<Vec<u8>>,
}

impl Plan {
    pub(super) fn of(query: &Query) -> Plan {
        if query.is_all() {
            return Plan { columns: Columns::NONE, needles: Vec::new() };
        }
        read(query.source()).unwrap_or(Plan { columns: Columns::ALL, needles: Vec::new() })
    }
}

/// A term's value as written, once skipped.
struct Value {
    text: String,
    quoted: bool,
}

struct Reader<'a> {
    src: &'a str,
    pos: usize,
}

/// Reads the query text; `None` where it does not follow it.
fn read(src: &str) -> Option<Plan> {
    let mut reader = Reader { src, pos: 0 };
    let mut columns = Columns::NONE;
    let mut bare = Vec::new();
    let mut simple = true;
    let mut negated = false;
    loop {
        let rest = &src[reader.pos..];
        reader.pos += rest.len() - rest.trim_start().len();
        let Some(c) = reader.peek() else { break };
        match c {
            '(' | ')' => {
                simple = false;
                reader.pos += 1;
                continue;
            }
            '|' => return None,
            '-' => {
                reader.pos += 1;
                negated = true;
                continue;
            }
            '"' => {
                let value = reader.quoted()?;
                columns = columns.with(Column::Message);
                bare.push((value, negated));
            }
            '#' | '@' => {
                reader.pos += 1;
                reader.value(true)?;
                columns = columns.with(if c == '#' { Column::Topics } else { Column::Identities });
            }
            _ => {
                let rest = &src[reader.pos..];
                let name_len = rest
                    .find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '|' | '"' | ':' | '<' | '>'))
                    .unwrap_or(rest.len());
                let name = &rest[..name_len];
                let after = rest[name_len..].chars().next();
                if matches!(after, Some(':' | '<' | '>')) && is_field_name(name) {
                    columns = columns.with(Columns::for_field(name)?);
                    reader.pos += name_len;
                    let colon = reader.op();
                    reader.value(colon)?;
                } else {
                    let word = reader.word(true);
                    match word.text.as_str() {
                        "AND" => {}
                        "OR" => simple = false,
                        "NOT" => {
                            negated = true;
                            continue;
                        }
                        _ => {
                            columns = columns.with(Column::Message);
                            bare.push((word, negated));
                        }
                    }
                }
            }
        }
        negated = false;
    }
    let needles = if simple {
        bare.iter().filter(|(_, negated)| !negated).filter_map(|(value, _)| needle(value)).collect()
    } else {
        Vec::new()
    };
    Some(Plan { columns, needles })
}

/// The text a bare term needs in the message: the phrase, the word, or a glob's core when its
/// only `*` are at the ends (then it is a substring search too).
fn needle(value: &Value) -> Option<Vec<u8>> {
    let text = if value.quoted { value.text.as_str() } else { value.text.trim_matches('*') };
    if text.contains('*') && !value.quoted {
        return None;
    }
    filter_needle(text)
}

impl Reader<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    /// Skips `:`, `<`, `<=`, `>` or `>=`; true for `:`, after which a regex may follow.
    fn op(&mut self) -> bool {
        let rest = &self.src[self.pos..];
        let len = if rest.starts_with("<=") || rest.starts_with(">=") { 2 } else { 1 };
        self.pos += len;
        rest.starts_with(':')
    }

    /// A value after an operator, `#` or `@`.
    fn value(&mut self, regex_allowed: bool) -> Option<Value> {
        match self.peek() {
            Some('"') => self.quoted(),
            Some('/') if regex_allowed => self.delimited('/').map(|text| Value { text, quoted: true }),
            Some(c) if c.is_whitespace() || matches!(c, '(' | ')' | '|') => None,
            None => None,
            Some(_) => Some(self.word(false)),
        }
    }

    /// Up to whitespace, `|`, or a `)` that closes no `(` of the word; with `keywords`, `AND`,
    /// `OR` and `NOT` end at a `(` right after them.
    fn word(&mut self, keywords: bool) -> Value {
        let rest = &self.src[self.pos..];
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
        self.pos += len;
        Value { text: rest[..len].to_owned(), quoted: false }
    }

    fn quoted(&mut self) -> Option<Value> {
        self.delimited('"').map(|text| Value { text, quoted: true })
    }

    /// The text between `close` at the position and the next unescaped `close`, with `\close`
    /// and `\\` resolved (other escapes kept).
    fn delimited(&mut self, close: char) -> Option<String> {
        let body = &self.src[self.pos + 1..];
        let mut text = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == close {
                self.pos += 1 + i + 1;
                return Some(text);
            }
            if c != '\\' {
                text.push(c);
                continue;
            }
            match chars.clone().next() {
                Some((_, next)) if next == close || next == '\\' => {
                    chars.next();
                    text.push(next);
                }
                _ => text.push('\\'),
            }
        }
        None
    }
}

/// An identifier, or a `fields.` path: what the lexer takes for a field name before `:`, `<`, `>`.
fn is_field_name(name: &str) -> bool {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    starts_well
        && (chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("fields.")))
}
