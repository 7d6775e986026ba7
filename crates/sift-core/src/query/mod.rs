//! The query language (DESIGN.md section 6). Placeholder until the parser lands: matches all.

use crate::{Event, Timestamp};

#[derive(Debug, Clone)]
pub struct Query {
    src: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {position}: expected {expected}, found {found}")]
pub struct ParseError {
    pub position: usize,
    pub expected: String,
    pub found: String,
}

impl Query {
    pub fn parse(src: &str) -> Result<Query, ParseError> {
        Query::parse_at(src, Timestamp::now())
    }
    pub fn parse_at(src: &str, _now: Timestamp) -> Result<Query, ParseError> {
        Ok(Query { src: src.to_owned() })
    }
    pub fn all() -> Query {
        Query { src: String::new() }
    }
    pub fn matches(&self, _event: &Event) -> bool {
        true
    }
    pub fn is_all(&self) -> bool {
        true
    }
    pub fn source(&self) -> &str {
        &self.src
    }
}
