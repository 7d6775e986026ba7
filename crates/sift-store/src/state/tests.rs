use super::*;

#[test]
fn migrations_run_once_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let db = StateDb::open(&path).unwrap();
    assert_eq!(db.schema_version().unwrap(), migrations::VERSION);
    db.create_channel(Some("app"), &[("web".into(), "t.1".into())], 1_000).unwrap();
    drop(db);
    let db = StateDb::open(&path).unwrap();
    assert_eq!(db.schema_version().unwrap(), migrations::VERSION);
    assert_eq!(db.channels().unwrap(), [Channel { id: 1, name: "app".into() }]);
}

#[test]
fn a_database_newer_than_the_binary_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let error = StateDb::open(&path).err().expect("refused");
    assert!(error.to_string().contains("schema version 99"), "{error}");
}

#[test]
fn rules_from_the_api_replace_and_clear() {
    let db = StateDb::in_memory().unwrap();
    assert_eq!(db.rules().unwrap(), None, "no stored rules: the file's apply");
    db.set_rules(&["{\"when\":\"a\"}".into(), "{\"when\":\"b\"}".into()]).unwrap();
    db.set_rules(&["{\"when\":\"c\"}".into()]).unwrap();
    assert_eq!(db.rules().unwrap(), Some(vec!["{\"when\":\"c\"}".to_owned()]));
    db.set_rules(&[]).unwrap();
    assert_eq!(db.rules().unwrap(), Some(vec![]), "an empty rule list set through the API is kept");
    db.clear_rules().unwrap();
    assert_eq!(db.rules().unwrap(), None);
}

#[test]
fn channels_have_unique_names_and_tokens_find_their_channel() {
    let db = StateDb::in_memory().unwrap();
    let channel = db.create_channel(Some("shop"), &[("app".into(), "t.abc".into())], 1_000).unwrap();
    assert!(matches!(db.create_channel(Some("shop"), &[], 1_000), Err(StateError::DuplicateChannel(_))));
    let token = db.token("t.abc").unwrap().unwrap();
    assert_eq!((token.name.as_str(), token.channel_id), ("app", channel.id));
    assert_eq!(db.token("t.unknown").unwrap(), None);
}

#[test]
fn unnamed_channels_are_named_after_their_id() {
    let db = StateDb::in_memory().unwrap();
    let first = db.create_channel(None, &[], 1_000).unwrap();
    let second = db.create_channel(None, &[("web".into(), "t.2".into())], 1_000).unwrap();
    assert_eq!(first.name, format!("channel-{}", first.id));
    assert_eq!(second.name, format!("channel-{}", second.id));
    assert_eq!(db.channel(second.id).unwrap(), Some(second));
    assert_eq!(db.channel(999).unwrap(), None);
}

#[test]
fn r_tokens_in_clear_are_replaced_by_their_keyed_hashes_and_leave_no_trace_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let token = "t.6f0c2a9e-1111-4222-8333-944455556666";
    {
        // What a sift before keyed hashes left: the first schema, the token in clear.
        let mut connection = Connection::open(&path).unwrap();
        connection.pragma_update(None, "journal_mode", "WAL").unwrap();
        migrations::apply_through(&mut connection, 1);
        connection.execute("INSERT INTO channels (name) VALUES ('shop')", []).unwrap();
        connection
            .execute("INSERT INTO tokens (token, name, channel_id) VALUES (?1, 'app', 1)", params![token])
            .unwrap();
    }
    let db = StateDb::open(&path).unwrap();
    assert_eq!(db.schema_version().unwrap(), migrations::VERSION);
    assert_eq!(db.token(token).unwrap(), Some(Token { name: "app".into(), channel_id: 1 }), "found by its hash");
    assert_eq!(db.token("t.6f0c2a9e-1111-4222-8333-944455556667").unwrap(), None);
    drop(db);
    for file in ["state.db", "state.db-wal", "state.db-shm"] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap_or_default();
        assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "{file} still holds the token");
    }
    let db = StateDb::open(&path).unwrap();
    assert_eq!(db.token(token).unwrap().map(|t| t.name), Some("app".into()), "the key is kept beside the database");
}

#[test]
fn tokens_made_now_are_stored_as_hashes_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let db = StateDb::open(&path).unwrap();
    let token = "t.0badc0de-1111-4222-8333-944455556666";
    db.create_channel(Some("shop"), &[("app".into(), token.into())], 1_000).unwrap();
    let stored: Vec<u8> = db.lock().query_row("SELECT hash FROM tokens", [], |row| row.get(0)).unwrap();
    assert_eq!(stored.len(), 32);
    assert_eq!(db.token(token).unwrap().map(|t| t.channel_id), Some(1));
    assert_eq!(std::fs::read(dir.path().join("state.key")).unwrap().len(), 32);
}

#[test]
fn a_key_that_is_not_the_databases_is_refused_rather_than_losing_every_token() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(StateDb::open(&path).unwrap());
    std::fs::remove_file(dir.path().join("state.key")).unwrap();
    let error = StateDb::open(&path).err().expect("refused");
    assert!(matches!(error, StateError::WrongKey { .. }), "{error}");
    std::fs::write(dir.path().join("state.key"), b"short").unwrap();
    let error = StateDb::open(&path).err().expect("refused");
    assert!(error.to_string().contains("5 bytes where a key has 32"), "{error}");
}

#[test]
fn channels_stop_at_the_limit() {
    let db = StateDb::in_memory().unwrap();
    db.create_channel(Some("a"), &[], 2).unwrap();
    db.create_channel(Some("b"), &[], 2).unwrap();
    assert!(matches!(db.create_channel(Some("c"), &[], 2), Err(StateError::TooManyChannels { max: 2 })));
    assert_eq!(db.channels().unwrap().len(), 2);
}
