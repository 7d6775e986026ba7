//! Configuration errors: each names where the bad value came from (a key path such as
//! `ring.max_bytes` or `classify[2].when`, an environment variable, a flag, or a position in
//! the file) and what is wrong with it. Loading collects them all before it gives up.

use std::fmt;

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config error: {path}: {message}")]
pub struct Error {
    /// Where: `ring.max_bytes`, `classify[2].when`, `auth.users[0].password_hash`,
    /// `env SIFT_RING_MAX_EVENTS`, `--http`, or `FILE:LINE:COLUMN` for TOML syntax.
    pub path: String,
    /// What is wrong, in lower case.
    pub message: String,
}

impl Error {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Error {
        Error { path: path.into(), message: message.into() }
    }
}

/// Every error found while loading a configuration; never empty when returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Errors(pub Vec<Error>);

impl fmt::Display for Errors {
    /// One error per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}
