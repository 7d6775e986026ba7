//! Numbered schema migrations. Append new ones at the end; never edit one that has shipped.

use rusqlite::{Connection, Transaction, params};

use super::StateError;
use super::key::StateKey;

/// One step of the schema: SQL, or work that needs the key.
enum Migration {
    Sql(&'static str),
    Rust(fn(&Transaction<'_>, &StateKey) -> rusqlite::Result<()>),
}

/// Migration `n` (1-based) brings the schema from version `n - 1` to `n`.
const MIGRATIONS: &[Migration] = &[
    // 1: rules edited at run time, channels and tokens.
    Migration::Sql(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY) STRICT;
         CREATE TABLE rules (position INTEGER PRIMARY KEY, rule TEXT NOT NULL) STRICT;
         CREATE TABLE channels (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             name TEXT NOT NULL UNIQUE,
             created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
         ) STRICT;
         CREATE TABLE tokens (
             token TEXT PRIMARY KEY,
             name TEXT NOT NULL,
             channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
             created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
         ) STRICT;
         CREATE INDEX tokens_by_channel ON tokens (channel_id);",
    ),
    // 2: tokens kept as keyed hashes, never in clear (docs/adr/0013-token-hashes.md).
    Migration::Rust(hash_tokens),
];

/// The schema version this sift writes.
pub(super) const VERSION: i64 = MIGRATIONS.len() as i64;

/// Applies every migration newer than the database, each in its own transaction; says
/// whether any was.
pub(super) fn apply(connection: &mut Connection, key: &StateKey) -> Result<bool, StateError> {
    let failed = |source| StateError::Query { action: "migrate", source };
    let current: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(failed)?;
    if current > VERSION {
        return Err(StateError::TooNew { found: current, supported: VERSION });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let transaction = connection.transaction().map_err(failed)?;
        match migration {
            Migration::Sql(sql) => transaction.execute_batch(sql),
            Migration::Rust(migrate) => migrate(&transaction, key),
        }
        .map_err(failed)?;
        transaction.pragma_update(None, "user_version", index as i64 + 1).map_err(failed)?;
        transaction.commit().map_err(failed)?;
    }
    Ok(current < VERSION)
}

/// Replaces every token's text by its keyed hash. The old rows' pages are overwritten with
/// zeros as they are freed (the connection runs with `secure_delete`), so the file keeps no
/// token in clear.
fn hash_tokens(transaction: &Transaction<'_>, key: &StateKey) -> rusqlite::Result<()> {
    transaction.execute_batch(
        "CREATE TABLE tokens_hashed (
             hash BLOB PRIMARY KEY CHECK (length(hash) = 32),
             name TEXT NOT NULL,
             channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
             created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
         ) STRICT;",
    )?;
    {
        let mut read = transaction.prepare("SELECT token, name, channel_id, created_at FROM tokens")?;
        let mut insert = transaction
            .prepare("INSERT INTO tokens_hashed (hash, name, channel_id, created_at) VALUES (?1, ?2, ?3, ?4)")?;
        let mut rows = read.query([])?;
        while let Some(row) = rows.next()? {
            let token: String = row.get(0)?;
            let (name, channel_id, created_at): (String, i64, String) = (row.get(1)?, row.get(2)?, row.get(3)?);
            insert.execute(params![&key.hash(&token)[..], name, channel_id, created_at])?;
        }
    }
    transaction.execute_batch(
        "DROP TABLE tokens;
         ALTER TABLE tokens_hashed RENAME TO tokens;
         CREATE INDEX tokens_by_channel ON tokens (channel_id);",
    )
}

/// Applies the migrations up to `version` alone, as an earlier sift left a database.
#[cfg(test)]
pub(super) fn apply_through(connection: &mut Connection, version: i64) {
    for (index, migration) in MIGRATIONS.iter().enumerate().take(version as usize) {
        let Migration::Sql(sql) = migration else { panic!("migration {} needs a key", index + 1) };
        connection.execute_batch(sql).unwrap();
        connection.pragma_update(None, "user_version", index as i64 + 1).unwrap();
    }
}
