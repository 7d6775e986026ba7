//! Numbered schema migrations. Append new ones at the end; never edit one that has shipped.

use rusqlite::Connection;

use super::StateError;

/// Migration `n` (1-based) brings the schema from version `n - 1` to `n`.
const MIGRATIONS: &[&str] = &[
    // 1: rules edited at run time, channels and tokens.
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
];

/// Applies every migration newer than the database, each in its own transaction.
pub(super) fn apply(connection: &mut Connection) -> Result<(), StateError> {
    let failed = |source| StateError::Query { action: "migrate", source };
    let current: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0)).map_err(failed)?;
    let supported = MIGRATIONS.len() as i64;
    if current > supported {
        return Err(StateError::TooNew { found: current, supported });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let transaction = connection.transaction().map_err(failed)?;
        transaction.execute_batch(sql).map_err(failed)?;
        transaction.pragma_update(None, "user_version", index as i64 + 1).map_err(failed)?;
        transaction.commit().map_err(failed)?;
    }
    Ok(())
}
