use super::*;

#[test]
fn migrations_run_once_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let db = StateDb::open(&path).unwrap();
    assert_eq!(db.schema_version().unwrap(), 1);
    db.create_channel(Some("app"), &[("web".into(), "t.1".into())]).unwrap();
    drop(db);
    let db = StateDb::open(&path).unwrap();
    assert_eq!(db.schema_version().unwrap(), 1);
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
    let channel = db.create_channel(Some("shop"), &[("app".into(), "t.abc".into())]).unwrap();
    assert!(matches!(db.create_channel(Some("shop"), &[]), Err(StateError::DuplicateChannel(_))));
    let token = db.token("t.abc").unwrap().unwrap();
    assert_eq!((token.name.as_str(), token.channel_id), ("app", channel.id));
    assert_eq!(db.token("t.unknown").unwrap(), None);
}

#[test]
fn unnamed_channels_are_named_after_their_id() {
    let db = StateDb::in_memory().unwrap();
    let first = db.create_channel(None, &[]).unwrap();
    let second = db.create_channel(None, &[("web".into(), "t.2".into())]).unwrap();
    assert_eq!(first.name, format!("channel-{}", first.id));
    assert_eq!(second.name, format!("channel-{}", second.id));
    assert_eq!(db.channel(second.id).unwrap(), Some(second));
    assert_eq!(db.channel(999).unwrap(), None);
}
