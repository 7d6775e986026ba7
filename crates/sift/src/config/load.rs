//! Loading: the embedded defaults, then the file, then `SIFT_*` variables, then the flags of
//! `sift serve`, each layer beating the one before. The file and the variables are merged as
//! TOML tables and read once into the raw structs; the flags are applied during compilation.

use std::path::{Path, PathBuf};

use toml::Table;

use super::compile::compile;
use super::env::EnvLayer;
use super::{Config, Error, Errors, raw};

/// CLI flags of `sift serve` that override the file and the environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--http`, `host:port`.
    pub http: Option<String>,
    /// `--syslog`, `host:port`.
    pub syslog: Option<String>,
    /// `--popcorn`, `host:port`.
    pub popcorn: Option<String>,
    /// `--memory-only`; `false` leaves the configured value alone.
    pub memory_only: bool,
}

/// Loads the configuration: embedded defaults, then the file at `path` (if any), then
/// `SIFT_*` variables from `env`, then `overrides`; compiles and validates it.
pub fn load(
    path: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    overrides: &Overrides,
) -> Result<Config, Errors> {
    let Some(path) = path else {
        return from_toml("", "(defaults)", env, overrides);
    };
    let origin = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => from_toml(&text, &origin, env, overrides),
        Err(error) => Err(Errors(vec![Error::new(origin, format!("cannot read: {error}"))])),
    }
}

/// Parses TOML text with the same rules as [`load`]; `origin` names the file in messages.
pub fn from_toml(
    text: &str,
    origin: &str,
    env: impl IntoIterator<Item = (String, String)>,
    overrides: &Overrides,
) -> Result<Config, Errors> {
    let mut errors = Vec::new();
    let table = match text.parse::<Table>() {
        Ok(table) => Some(table),
        Err(error) => {
            errors.push(syntax_error(text, origin, &error));
            None
        }
    };
    let mut env_errors = Vec::new();
    let env = EnvLayer::read(env, &mut env_errors);
    let Some(mut table) = table else {
        errors.extend(env_errors);
        return Err(Errors(errors));
    };
    env.apply(&mut table);
    let (raw, raw_errors) = raw::read(table);
    errors.extend(raw_errors);
    errors.extend(env_errors);
    // Compiled even when some keys were bad, so that their errors come out too.
    match compile(raw, &env, overrides) {
        Ok(config) if errors.is_empty() => return Ok(config),
        Ok(_) => {}
        Err(compile_errors) => errors.extend(compile_errors),
    }
    errors.sort_by_cached_key(|error| order(&error.path));
    Err(Errors(errors))
}

/// Where an error goes in the list: the file's sections in the order of the example, then
/// the environment by variable, then the flags. The sort is stable, so within a section the
/// errors of shape (unknown keys, wrong types) come before those of value.
fn order(path: &str) -> (usize, String) {
    if path.starts_with("env ") {
        return (usize::MAX - 1, path.to_owned());
    }
    if path.starts_with("--") {
        return (usize::MAX, String::new());
    }
    let section = path.split(['.', '[']).next().unwrap_or(path);
    let rank = raw::KEYS
        .iter()
        .map(|key| key.split('.').next().unwrap_or(key))
        .chain(["classify", "auth"])
        .position(|known| known == section);
    (rank.unwrap_or(0), String::new())
}

/// A TOML syntax error, at `FILE:LINE:COLUMN`, its lines joined into one.
fn syntax_error(text: &str, origin: &str, error: &toml::de::Error) -> Error {
    let offset = error.span().map_or(0, |span| span.start).min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    let message: Vec<&str> = error.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    Error::new(format!("{origin}:{line}:{column}"), message.join("; "))
}
