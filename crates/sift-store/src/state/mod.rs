//! The state database: what must survive a restart and is not an event: classification
//! rules edited at run time, channels and their tokens (and, as they arrive, alert groups,
//! source links and the notification outbox). SQLite in the data directory (`state.db`), so
//! an operator can inspect it with `sqlite3`; see docs/adr/0005-state-database.md.
//!
//! Schema changes are numbered migrations applied in order on open (`PRAGMA user_version`
//! holds the number applied); a database newer than this binary is refused.
//!
//! Tokens are kept only as hashes keyed with `state.key` (see `key`), looked up by that hash
//! and compared in constant time; the token's text is shown once, when it is made.

mod key;
mod migrations;
#[cfg(test)]
mod tests;

use std::fs::OpenOptions;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use subtle::ConstantTimeEq;

use crate::private;
pub use key::StateKey;

/// A failure of the state database, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot open the state database {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("the state database is at schema version {found}, newer than this sift ({supported}): use a newer sift")]
    TooNew { found: i64, supported: i64 },
    #[error("state database {action} failed: {source}")]
    Query { action: &'static str, source: rusqlite::Error },
    #[error("cannot read or make the state database's key {path}: {source}")]
    Key { path: String, source: std::io::Error },
    #[error(
        "{path} is not the key this state database was made with, so no stored channel token would be found: \
         restore the key from the backup of this data directory"
    )]
    WrongKey { path: String },
    #[error("cannot make {path} private to its owner: {source}")]
    Private { path: String, source: std::io::Error },
    #[error("{max} channels exist, the most allowed")]
    TooManyChannels { max: usize },
    #[error("a channel named {0:?} already exists")]
    DuplicateChannel(String),
}

/// A channel with its id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: i64,
    pub name: String,
}

/// A token (`t.<uuid>`) that writes to a channel under a name. Its text is not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub name: String,
    pub channel_id: i64,
}

pub struct StateDb {
    connection: Mutex<Connection>,
    key: StateKey,
}

/// What the meta table holds to tell whether the key is the one the tokens were hashed with.
const KEY_CHECK: &str = "sift state key check";

impl StateDb {
    /// Opens (creating if needed) the database file and brings its schema up to date; its
    /// key is `state.key` beside it (the file name with the extension `key`), made if
    /// missing. The files are their owner's alone (`0600`, as are the journal files SQLite
    /// makes beside it with the same mode), including one an earlier sift made readable by
    /// others.
    pub fn open(path: &Path) -> Result<StateDb, StateError> {
        let key_path = path.with_extension("key");
        let key = StateKey::load_or_create(&key_path)
            .map_err(|source| StateError::Key { path: key_path.display().to_string(), source })?;
        let private = |source| StateError::Private { path: path.display().to_string(), source };
        private::create_file(OpenOptions::new().write(true), path).map_err(private)?;
        for journal in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(journal);
            private::restrict(Path::new(&name)).map_err(private)?;
        }
        let connection =
            Connection::open(path).map_err(|source| StateError::Open { path: path.display().to_string(), source })?;
        // WAL mode: readers never wait for the writer, and a crash never leaves a torn page.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .and_then(|()| connection.pragma_update(None, "synchronous", "NORMAL"))
            .map_err(|source| StateError::Query { action: "setup", source })?;
        StateDb::with_connection(connection, key, &key_path)
    }

    /// A database that lives in memory only (`--memory-only`).
    pub fn in_memory() -> Result<StateDb, StateError> {
        let connection =
            Connection::open_in_memory().map_err(|source| StateError::Open { path: ":memory:".into(), source })?;
        StateDb::with_connection(connection, StateKey::random(), Path::new("(a key in memory)"))
    }

    fn with_connection(mut connection: Connection, key: StateKey, key_path: &Path) -> Result<StateDb, StateError> {
        let failed = |source| StateError::Query { action: "setup", source };
        // Freed pages are overwritten with zeros: a token's text replaced by its hash, or
        // anything deleted, does not linger in the file.
        connection.pragma_update(None, "secure_delete", true).map_err(failed)?;
        if migrations::apply(&mut connection, &key)? {
            // What the migrations freed leaves the journal too.
            connection.pragma_update(None, "wal_checkpoint", "TRUNCATE").map_err(failed)?;
        }
        if !key_fits(&connection, &key)? {
            return Err(StateError::WrongKey { path: key_path.display().to_string() });
        }
        Ok(StateDb { connection: Mutex::new(connection), key })
    }

    /// The schema version applied.
    pub fn schema_version(&self) -> Result<i64, StateError> {
        self.lock()
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|source| StateError::Query { action: "schema version", source })
    }

    /// Classification rules stored through the API (JSON text of each rule, in order), or
    /// `None` when the rules come from the configuration file.
    pub fn rules(&self) -> Result<Option<Vec<String>>, StateError> {
        let connection = self.lock();
        let stored: Option<i64> = connection
            .query_row("SELECT value FROM meta WHERE key = 'rules_from_api'", [], |row| row.get(0))
            .optional()
            .map_err(|source| StateError::Query { action: "read rules", source })?;
        if stored != Some(1) {
            return Ok(None);
        }
        let mut statement = connection
            .prepare("SELECT rule FROM rules ORDER BY position")
            .map_err(|source| StateError::Query { action: "read rules", source })?;
        let rules = statement
            .query_map([], |row| row.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|source| StateError::Query { action: "read rules", source })?;
        Ok(Some(rules))
    }

    /// Stores the rules set through the API, replacing any stored before, in one transaction.
    pub fn set_rules(&self, rules: &[String]) -> Result<(), StateError> {
        let mut connection = self.lock();
        let failed = |source| StateError::Query { action: "store rules", source };
        let transaction = connection.transaction().map_err(failed)?;
        transaction.execute("DELETE FROM rules", []).map_err(failed)?;
        for (position, rule) in rules.iter().enumerate() {
            transaction
                .execute("INSERT INTO rules (position, rule) VALUES (?1, ?2)", params![position as i64, rule])
                .map_err(failed)?;
        }
        transaction
            .execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rules_from_api', 1)", [])
            .map_err(failed)?;
        transaction.commit().map_err(failed)
    }

    /// Forgets the rules stored through the API: the configuration file's rules apply again.
    pub fn clear_rules(&self) -> Result<(), StateError> {
        let mut connection = self.lock();
        let failed = |source| StateError::Query { action: "clear rules", source };
        let transaction = connection.transaction().map_err(failed)?;
        transaction.execute("DELETE FROM rules", []).map_err(failed)?;
        transaction.execute("DELETE FROM meta WHERE key = 'rules_from_api'", []).map_err(failed)?;
        transaction.commit().map_err(failed)
    }

    /// Creates a channel with tokens (name → token text), in one transaction, unless
    /// `max_channels` exist already. A channel created without a name is named `channel-<id>`.
    pub fn create_channel(
        &self,
        name: Option<&str>,
        tokens: &[(String, String)],
        max_channels: usize,
    ) -> Result<Channel, StateError> {
        let mut connection = self.lock();
        let failed = |source| StateError::Query { action: "create channel", source };
        let transaction = connection.transaction().map_err(failed)?;
        let channels: i64 =
            transaction.query_row("SELECT count(*) FROM channels", [], |row| row.get(0)).map_err(failed)?;
        if usize::try_from(channels).unwrap_or(usize::MAX) >= max_channels {
            return Err(StateError::TooManyChannels { max: max_channels });
        }
        // Unnamed: a placeholder no name can equal (names are checked), replaced below.
        let inserted = transaction.execute("INSERT INTO channels (name) VALUES (?1)", params![name.unwrap_or("\0")]);
        match inserted {
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                return Err(StateError::DuplicateChannel(name.unwrap_or_default().to_owned()));
            }
            other => other.map_err(failed)?,
        };
        let id = transaction.last_insert_rowid();
        let name = match name {
            Some(name) => name.to_owned(),
            None => {
                let name = format!("channel-{id}");
                transaction
                    .execute("UPDATE channels SET name = ?1 WHERE id = ?2", params![name, id])
                    .map_err(failed)?;
                name
            }
        };
        for (token_name, token) in tokens {
            transaction
                .execute(
                    "INSERT INTO tokens (hash, name, channel_id) VALUES (?1, ?2, ?3)",
                    params![&self.key.hash(token)[..], token_name, id],
                )
                .map_err(failed)?;
        }
        transaction.commit().map_err(failed)?;
        Ok(Channel { id, name })
    }

    /// The token with this text, if any: found by its keyed hash, which is compared again in
    /// constant time.
    pub fn token(&self, token: &str) -> Result<Option<Token>, StateError> {
        let hash = self.key.hash(token);
        let found = self
            .lock()
            .query_row("SELECT hash, name, channel_id FROM tokens WHERE hash = ?1", params![&hash[..]], |row| {
                Ok((row.get::<_, Vec<u8>>(0)?, Token { name: row.get(1)?, channel_id: row.get(2)? }))
            })
            .optional()
            .map_err(|source| StateError::Query { action: "find token", source })?;
        Ok(found.filter(|(stored, _)| bool::from(stored.as_slice().ct_eq(&hash[..]))).map(|(_, token)| token))
    }

    /// The channel with this id, if any.
    pub fn channel(&self, id: i64) -> Result<Option<Channel>, StateError> {
        self.lock()
            .query_row("SELECT id, name FROM channels WHERE id = ?1", params![id], |row| {
                Ok(Channel { id: row.get(0)?, name: row.get(1)? })
            })
            .optional()
            .map_err(|source| StateError::Query { action: "find channel", source })
    }

    /// Every channel, by id.
    pub fn channels(&self) -> Result<Vec<Channel>, StateError> {
        let connection = self.lock();
        let mut statement = connection
            .prepare("SELECT id, name FROM channels ORDER BY id")
            .map_err(|source| StateError::Query { action: "list channels", source })?;
        statement
            .query_map([], |row| Ok(Channel { id: row.get(0)?, name: row.get(1)? }))
            .and_then(|rows| rows.collect())
            .map_err(|source| StateError::Query { action: "list channels", source })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the connection leaves SQLite consistent (transactions roll
        // back when dropped), so a poisoned lock is safe to use.
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether `key` is the one this database's tokens were hashed with (the first open records
/// what it gives for a fixed text).
fn key_fits(connection: &Connection, key: &StateKey) -> Result<bool, StateError> {
    let failed = |source| StateError::Query { action: "check the key", source };
    let expected = key.hash(KEY_CHECK);
    let stored: Option<Vec<u8>> = connection
        .query_row("SELECT value FROM meta WHERE key = 'key_check'", [], |row| row.get(0))
        .optional()
        .map_err(failed)?;
    match stored {
        Some(stored) => Ok(stored.as_slice().ct_eq(&expected[..]).into()),
        None => connection
            .execute("INSERT INTO meta (key, value) VALUES ('key_check', ?1)", params![&expected[..]])
            .map(|_| true)
            .map_err(failed),
    }
}
