//! The query language's filter part (DESIGN.md section 6): a query is parsed once into a tree
//! of precompiled matchers, then run against every event of a search, a live tail, a drain or
//! a rule without allocating.
//!
//! ```text
//! severity>=warning app:calculator host:web-* "connection refused" -type:health
//! #login_failed @fearing line:54 fields.execution_time>0.5 (host:a OR host:b)
//! ```
//!
//! - a bare word or `"quoted phrase"` is a case-insensitive substring of the message; a bare
//!   word with `*` is a glob found anywhere in the message;
//! - `field:value` is equality ignoring case, `field:web-*` a glob (`*` and `?`),
//!   `field:/regex/` a regex as written, `field:*` "present and not empty";
//! - `field>N`, `>=`, `<`, `<=` compare numbers, severities (`>` is worse) and times
//!   (`time>15m` is newer than 15 minutes before the query was parsed);
//! - `#topic`, `@identity`; implicit AND, `AND`, `OR`, `NOT` or `-`, parentheses
//!   (NOT binds tighter than AND, AND tighter than OR).
//!
//! How it is built: `lexer` reads tokens one at a time (so a filter can stop at a `|` and
//! leave the rest to the pipe stage), `parser` builds the boolean structure and hands each
//! term to `term`, which checks the field (`field`) and the value and builds a leaf from
//! the string matchers in `text` and the JSON path matchers in `json`; `eval` holds the
//! tree, simplifies and orders it, evaluates it and prints it; `reads` says which fields
//! and needles the tree reads. `budget` bounds what one query may compile (its length, its
//! terms, its regexes), so that no query text can cost much memory or time to parse.

pub mod budget;
mod eval;
mod field;
mod json;
mod lexer;
mod parser;
pub mod pipe;
mod reads;
mod term;
mod text;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use crate::{Event, Timestamp};

use eval::Node;

pub use budget::Limit;
pub use pipe::{MAX_BUCKETS, PipedQuery, Run, Stage, StageKind, Table, Tally, TooManyBuckets};
pub use reads::{EventField, FieldSet};

/// A compiled filter. A `Query` that exists is valid; cloning it is cheap.
#[derive(Clone)]
pub struct Query {
    inner: Arc<Inner>,
}

struct Inner {
    source: String,
    root: Node,
    slow: bool,
    compiled: usize,
}

/// Why a query does not parse: where (a character offset, 0-based), what the parser expected
/// there and what it found, and the bound it went over when it is too large to compile
/// rather than wrong (see [`budget`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {position}: expected {expected}, found {found}")]
pub struct ParseError {
    pub position: usize,
    pub expected: String,
    pub found: String,
    pub limit: Option<Limit>,
}

/// A parse failure inside the module, at a byte offset; turned into a [`ParseError`] (with a
/// character offset) at the boundary.
#[derive(Debug)]
pub(crate) struct Fail {
    pub at: usize,
    pub expected: String,
    pub found: String,
    pub limit: Option<Limit>,
}

impl Fail {
    pub(crate) fn new(at: usize, expected: impl Into<String>, found: impl Into<String>) -> Fail {
        Fail { at, expected: expected.into(), found: found.into(), limit: None }
    }

    /// The same failure, caused by going over `limit`.
    pub(crate) fn because(self, limit: Limit) -> Fail {
        Fail { limit: Some(limit), ..self }
    }

    fn into_error(self, src: &str) -> ParseError {
        ParseError {
            position: char_offset(src, self.at),
            expected: self.expected,
            found: self.found,
            limit: self.limit,
        }
    }
}

/// The character offset of byte offset `at` in `src`.
pub(crate) fn char_offset(src: &str, at: usize) -> usize {
    let at = at.min(src.len());
    match src.get(..at) {
        Some(prefix) => prefix.chars().count(),
        None => src.char_indices().take_while(|&(i, _)| i < at).count(),
    }
}

impl Query {
    /// Parses `src`; relative times (`time>15m`) count back from the current time.
    pub fn parse(src: &str) -> Result<Query, ParseError> {
        Query::parse_at(src, Timestamp::now())
    }

    /// Parses `src`; relative times count back from `now`. A `|` outside quotes is an error:
    /// pipes belong to the analytics stage, see [`parse_filter_prefix`].
    pub fn parse_at(src: &str, now: Timestamp) -> Result<Query, ParseError> {
        let (query, stop) = parse_filter_prefix(src, now)?;
        if stop < src.len() {
            return Err(Fail::new(stop, "end of filter", "`|` (pipes are not supported in a filter)").into_error(src));
        }
        Ok(query)
    }

    /// The query that matches every event (the same as `""` or `*`).
    pub fn all() -> Query {
        Query { inner: Arc::new(Inner { source: String::new(), root: Node::All, slow: false, compiled: 0 }) }
    }

    /// Whether `event` passes the filter. Does not allocate.
    #[inline]
    pub fn matches(&self, event: &Event) -> bool {
        self.inner.root.matches(event)
    }

    /// Whether the query matches every event, so that callers can skip it.
    pub fn is_all(&self) -> bool {
        matches!(self.inner.root, Node::All)
    }

    /// The event fields the query's terms test: what a tier that reads by column must read
    /// for [`Query::matches`] to give the right answer (nothing for [`Query::all`]).
    pub fn fields(&self) -> FieldSet {
        self.inner.root.fields()
    }

    /// Substrings that the message of every matching event contains, ignoring case, as
    /// written in the query: the bare words and phrases that are ANDed, not negated, or that
    /// every branch of an OR requires. A tier may skip events whose message lacks one.
    pub fn needles(&self) -> Vec<&str> {
        self.inner.root.needles()
    }

    /// Whether matching one event may take long (milliseconds, on a long message): the query
    /// holds a regex (as written, or made from a glob or a word with non-ASCII letters) or
    /// more than 64 terms. Code on an async runtime matches such a query off its workers.
    pub fn may_be_slow(&self) -> bool {
        self.inner.slow
    }

    /// What the query's compiled matchers hold on the heap, with one thread's lazy DFA caches,
    /// as its budget counted it (at most [`budget::MAX_COMPILED_BYTES`]): for bounding what many
    /// queries kept together (classification rules) hold.
    pub fn compiled_bytes(&self) -> usize {
        self.inner.compiled
    }

    /// The text the query was parsed from, trimmed.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// The events both queries match: how a caller's own filter is held to what the caller
    /// may see. The source shows both (`(scope) AND (self)`).
    pub fn and(&self, other: &Query) -> Query {
        let root = match (&self.inner.root, &other.inner.root) {
            (Node::All, _) => other.inner.root.clone(),
            (_, Node::All) => self.inner.root.clone(),
            (a, b) => Node::And(Box::new([a.clone(), b.clone()])),
        };
        let source = match (self.source(), other.source()) {
            ("", b) => b.to_owned(),
            (a, "") => a.to_owned(),
            (a, b) => format!("({a}) AND ({b})"),
        };
        let slow = self.may_be_slow() || other.may_be_slow();
        let compiled = self.compiled_bytes() + other.compiled_bytes();
        Query { inner: Arc::new(Inner { source, root, slow, compiled }) }
    }
}

/// Parses the filter at the start of `src`, up to a `|` outside quotes and parentheses or the
/// end, and returns it with the byte offset where it stopped: the offset of that `|`, or
/// `src.len()`. Nothing after the `|` is read. The query's [`Query::source`] is the filter's
/// text, trimmed.
pub fn parse_filter_prefix(src: &str, now: Timestamp) -> Result<(Query, usize), ParseError> {
    let parser::Parsed { root, stop, slow, compiled } =
        parser::parse_filter(src, now).map_err(|fail| fail.into_error(src))?;
    let source = src[..stop].trim().to_owned();
    Ok((Query { inner: Arc::new(Inner { source, root, slow, compiled }) }, stop))
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Query")
            .field("source", &self.inner.source)
            .field("compiled", &format_args!("{}", self.inner.root))
            .finish()
    }
}
