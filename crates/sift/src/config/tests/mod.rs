//! Loading tests: each renders what differs from the defaults (or the errors) and compares
//! it with the expected text; `UPDATE_EXPECT=1 cargo test` rewrites the expectations.
//! Here the file as a whole; `values.rs` has the value types, `env.rs` variables and flags.

mod env;
mod values;

use expect_test::{Expect, expect};

use super::raw::KEYS;
use super::*;

/// A hash of "hunter2" as `sift user add` makes it.
pub(super) const HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$mInV4hmJkGtU8tKtc572ZA$BKXzHd+RJlvLcZLh2oxJkaWiPFSsqTJoJrOXqDgUkw8";

/// A self-signed certificate for `localhost` and its key, written as PEM files in `dir`.
pub(super) fn tls_files(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

pub(super) fn vars(vars: &[(&str, &str)]) -> Vec<(String, String)> {
    vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

pub(super) fn parse(text: &str, env: &[(&str, &str)], overrides: &Overrides) -> Result<Config, Errors> {
    from_toml(text, "sift.toml", vars(env), overrides)
}

/// Every scalar key with its compiled value, in the order of [`KEYS`].
pub(super) fn scalars(c: &Config) -> Vec<(&'static str, String)> {
    vec![
        ("data_dir", c.data_dir.display().to_string()),
        ("http.listen", c.http.listen.to_string()),
        ("http.max_body", c.http.max_body.to_string()),
        ("http.public_url", c.http.public_url.as_ref().map(ToString::to_string).unwrap_or_default()),
        ("http.allowed_hosts", format!("{:?}", c.http.allowed_hosts)),
        ("http.max_connections", c.http.max_connections.to_string()),
        ("http.header_timeout", format!("{:?}", c.http.header_timeout)),
        ("http.idle_timeout", format!("{:?}", c.http.idle_timeout)),
        ("http.body_timeout", format!("{:?}", c.http.body_timeout)),
        ("http.body_min_rate", c.http.body_min_rate.to_string()),
        ("http.send_timeout", format!("{:?}", c.http.send_timeout)),
        ("http.tls_cert", c.http.tls.as_ref().map_or(String::new(), |tls| tls.cert.display().to_string())),
        ("http.tls_key", c.http.tls.as_ref().map_or(String::new(), |tls| tls.key.display().to_string())),
        ("http.max_items", c.http.max_items.to_string()),
        ("http.max_decoded_bytes", c.http.max_decoded_bytes.to_string()),
        ("http.max_inflight_bytes", c.http.max_inflight_bytes.to_string()),
        ("http.max_decodes", c.http.max_decodes.to_string()),
        ("http.max_decoding_bytes", c.http.max_decoding_bytes.to_string()),
        ("syslog.listen", c.syslog.listen.to_string()),
        ("syslog.channel", c.syslog.channel.clone()),
        ("syslog.max_frame", c.syslog.max_frame.to_string()),
        ("syslog.max_connections", c.syslog.max_connections.to_string()),
        ("syslog.idle_timeout", format!("{:?}", c.syslog.idle_timeout)),
        ("syslog.recv_buffer", c.syslog.recv_buffer.to_string()),
        ("syslog.tls_listen", c.syslog.tls_listen.map_or("off".into(), |addr| addr.to_string())),
        ("popcorn.listen", c.popcorn.listen.to_string()),
        ("popcorn.channel", c.popcorn.channel.clone()),
        ("popcorn.recv_buffer", c.popcorn.recv_buffer.to_string()),
        ("storage.memory_only", c.storage.memory_only.to_string()),
        ("storage.wal_fsync", format!("{:?}", c.storage.wal_fsync).to_lowercase()),
        ("storage.wal_fsync_interval", format!("{:?}", c.storage.wal_fsync_interval)),
        ("storage.flush_events", c.storage.flush_events.to_string()),
        ("storage.flush_bytes", c.storage.flush_bytes.to_string()),
        ("storage.flush_interval", format!("{:?}", c.storage.flush_interval)),
        ("storage.max_backlog", c.storage.max_backlog.to_string()),
        ("storage.min_free", format!("{:?}", c.storage.min_free)),
        ("storage.compact", c.storage.compact.to_string()),
        ("ring.max_events", c.ring.max_events.to_string()),
        ("ring.max_bytes", c.ring.max_bytes.to_string()),
        ("pipeline.max_message_bytes", c.pipeline.max_message_bytes.to_string()),
        ("pipeline.max_fields", c.pipeline.max_fields.to_string()),
        ("pipeline.max_field_bytes", c.pipeline.max_field_bytes.to_string()),
        ("pipeline.max_depth", c.pipeline.max_depth.to_string()),
        ("pipeline.max_tags", c.pipeline.max_tags.to_string()),
        ("pipeline.max_past", format!("{:?}", c.pipeline.max_past)),
        ("pipeline.max_future", format!("{:?}", c.pipeline.max_future)),
        ("alerts.min_severity", c.alerts.min_severity.name().to_owned()),
        ("alerts.topics", format!("{:?}", c.alerts.topics)),
        ("tail.queue", c.tail.queue.to_string()),
        ("tail.max_backlog", c.tail.max_backlog.to_string()),
        ("tail.max_clients", c.tail.max_clients.to_string()),
        ("tail.max_bytes", c.tail.max_bytes.to_string()),
        ("tail.max_total_bytes", c.tail.max_total_bytes.to_string()),
        ("channels.max_channels", c.channels.max_channels.to_string()),
        ("channels.max_tokens_per_channel", c.channels.max_tokens_per_channel.to_string()),
        ("query.timeout", format!("{:?}", c.query.timeout)),
        ("query.max_concurrent", c.query.max_concurrent.to_string()),
        ("retention.default", format!("{:?}", c.retention.default)),
        ("retention.max_bytes", c.retention.max_bytes.to_string()),
        ("retention.check_interval", format!("{:?}", c.retention.check_interval)),
        // Unset is `info` unless RUST_LOG says otherwise, at start (observe::init_server_logging).
        ("log.level", c.log.level.clone().unwrap_or_else(|| "info".to_owned())),
        ("log.format", format!("{:?}", c.log.format).to_lowercase()),
    ]
}

/// The keys that differ from the defaults, one `key = value` a line, then rules and users;
/// or the errors.
pub(super) fn render(result: Result<Config, Errors>) -> String {
    let config = match result {
        Ok(config) => config,
        Err(errors) => return format!("{errors}\n"),
    };
    let defaults = scalars(&Config::default());
    let mut out = String::new();
    for ((key, value), (_, default)) in scalars(&config).into_iter().zip(defaults) {
        if value != default {
            out.push_str(&format!("{key} = {value}\n"));
        }
    }
    for rule in &config.classify {
        let kind = rule.set_kind.as_deref().unwrap_or("-");
        out.push_str(&format!("rule {:?}: when {:?}, type {kind}, stop {}\n", rule.name, rule.raw.when, rule.stop));
    }
    for user in &config.auth.users {
        out.push_str(&format!("user {}\n", user.name));
    }
    if out.is_empty() { "defaults\n".into() } else { out }
}

pub(super) fn check(text: &str, expect: Expect) {
    expect.assert_eq(&render(parse(text, &[], &Overrides::default())));
}

pub(super) fn check_env(text: &str, env: &[(&str, &str)], expect: Expect) {
    expect.assert_eq(&render(parse(text, env, &Overrides::default())));
}

/// One line per value of `key`: the compiled value or the error.
pub(super) fn check_values(key: &str, values: &[&str], expect: Expect) {
    let (section, name) = key.split_once('.').unwrap();
    let mut out = String::new();
    for value in values {
        let text = format!("[{section}]\n{name} = {value}\n");
        let result = match parse(&text, &[], &Overrides::default()) {
            Ok(config) => scalars(&config).into_iter().find(|(k, _)| *k == key).unwrap().1,
            Err(errors) => errors.0.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join(" | "),
        };
        out.push_str(&format!("{value} => {result}\n"));
    }
    expect.assert_eq(&out);
}

#[test]
fn defaults() {
    check(
        "",
        expect![[r#"
        defaults
    "#]],
    );
    let loaded = load(None, vars(&[]), &Overrides::default()).unwrap();
    assert_eq!(format!("{loaded:?}"), format!("{:?}", Config::default()));
}

#[test]
fn keys_are_the_compiled_keys() {
    let keys: Vec<&str> = scalars(&Config::default()).into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, KEYS);
}

#[test]
fn every_section() {
    check(
        r##"
        data_dir = "/var/lib/sift"
        [http]
        listen = "127.0.0.1:8080"
        max_body = "1MiB"
        [syslog]
        listen = "[::1]:514"
        [popcorn]
        listen = "localhost:9200"
        [storage]
        memory_only = true
        [ring]
        max_events = 1000
        max_bytes = 1048576
        [pipeline]
        max_message_bytes = "8 KiB"
        max_fields = 10
        max_depth = 2
        max_tags = 0
        max_past = "7d"
        max_future = "5m"
        [alerts]
        min_severity = "err"
        topics = ["checkout", "#login_failed"]
        [tail]
        queue = 8
        max_backlog = 0
        [[classify]]
        when = "app:web"
        [classify.set]
        tags = ["web"]
        [[classify]]
        name = "health"
        when = "type:health"
        stop = true
        set = { type = "health", severity = "debug", fields = { probe = true } }
        [[auth.users]]
        name = "alice"
        password_hash = "$argon2id$v=19$m=19456,t=2,p=1$mInV4hmJkGtU8tKtc572ZA$BKXzHd+RJlvLcZLh2oxJkaWiPFSsqTJoJrOXqDgUkw8"
        "##,
        expect![[r#"
            data_dir = /var/lib/sift
            http.listen = 127.0.0.1:8080
            http.max_body = 1048576
            syslog.listen = [::1]:514
            popcorn.listen = 127.0.0.1:9200
            storage.memory_only = true
            ring.max_events = 1000
            ring.max_bytes = 1048576
            pipeline.max_message_bytes = 8192
            pipeline.max_fields = 10
            pipeline.max_depth = 2
            pipeline.max_tags = 0
            pipeline.max_past = 604800s
            pipeline.max_future = 300s
            alerts.min_severity = error
            alerts.topics = ["checkout", "login_failed"]
            tail.queue = 8
            tail.max_backlog = 0
            rule "rule 1": when "app:web", type -, stop false
            rule "health": when "type:health", type health, stop true
            user alice
        "#]],
    );
}

#[test]
fn unknown_keys_name_their_path() {
    check(
        r#"
        dta_dir = "x"
        [http]
        listen = "127.0.0.1:1"
        lisen = "127.0.0.1:2"
        [htpp]
        listen = "127.0.0.1:3"
        [[classify]]
        when = "x"
        stop = true
        colour = "red"
        [classify.set]
        kind = "y"
        [[auth.users]]
        name = "alice"
        pasword_hash = "x"
        "#,
        expect![[r#"
            config error: dta_dir: unknown key `dta_dir`, expected one of `data_dir`, `http`, `syslog`, `popcorn`, `storage`, `ring`, `pipeline`, `alerts`, `tail`, `channels`, `query`, `retention`, `log`, `classify`, `auth`
            config error: htpp: unknown key `htpp`, expected one of `data_dir`, `http`, `syslog`, `popcorn`, `storage`, `ring`, `pipeline`, `alerts`, `tail`, `channels`, `query`, `retention`, `log`, `classify`, `auth`
            config error: http.lisen: unknown key `lisen`, expected one of `listen`, `max_body`, `public_url`, `allowed_hosts`, `max_connections`, `header_timeout`, `idle_timeout`, `body_timeout`, `body_min_rate`, `send_timeout`, `tls_cert`, `tls_key`, `max_items`, `max_decoded_bytes`, `max_inflight_bytes`, `max_decodes`, `max_decoding_bytes`
            config error: classify[0].colour: unknown key `colour`, expected one of `name`, `when`, `set`, `stop`
            config error: classify[0].set.kind: unknown key `kind`, expected one of `type`, `tags`, `severity`, `fields`
            config error: auth.users[0].pasword_hash: unknown key `pasword_hash`, expected one of `name`, `password_hash`, `channels`
            config error: auth.users[0]: missing field `password_hash`
        "#]],
    );
}

#[test]
fn wrong_types_name_their_path() {
    check(
        r#"
        data_dir = 5
        http = "127.0.0.1:1"
        classify = { when = "x" }
        [storage]
        memory_only = "yes"
        [auth]
        users = [1]
        "#,
        expect![[r#"
            config error: data_dir: invalid type: integer `5`, expected a path (a string)
            config error: http: invalid type: string "127.0.0.1:1", expected a table
            config error: storage.memory_only: invalid type: string "yes", expected a boolean
            config error: classify: invalid type: map, expected a sequence
            config error: auth.users[0]: invalid type: integer `1`, expected a table with name and password_hash
        "#]],
    );
}

#[test]
fn three_errors_at_once() {
    check(
        r#"
        [http]
        max_body = "lots"
        [ring]
        max_events = 0
        [tail]
        queu = 3
        "#,
        expect![[r#"
            config error: http.max_body: invalid size "lots": expected a whole number of bytes, optionally with a unit (B, KB, MB, GB, KiB, MiB, GiB), such as "64KiB"
            config error: ring.max_events: must be greater than zero
            config error: tail.queu: unknown key `queu`, expected one of `queue`, `max_backlog`, `max_clients`, `max_bytes`, `max_total_bytes`
        "#]],
    );
}

#[test]
fn syntax_errors_give_line_and_column() {
    check(
        "[http]\nlisten = \"127.0.0.1:9125\nmax_body = 1\n",
        expect![[r#"
        config error: sift.toml:2:25: invalid basic string
    "#]],
    );
    check(
        "[ring]\nmax_events = 1\nmax_events = 2\n",
        expect![[r#"
        config error: sift.toml:3:1: duplicate key `max_events` in table `ring`
    "#]],
    );
    // The environment is still checked.
    check_env(
        "[http",
        &[("SIFT_BOGUS", "1")],
        expect![[r#"
            config error: sift.toml:1:6: invalid table header; expected `.`, `]`
            config error: env SIFT_BOGUS: unknown variable; the closest setting is SIFT_LOG_LEVEL (`sift config example` lists every key)
        "#]],
    );
}

#[test]
fn public_listeners_need_users() {
    check(
        "[http]\nlisten = \"0.0.0.0:9125\"\n[syslog]\nlisten = \"192.0.2.1:514\"\n",
        expect![[r#"
            config error: http.listen: 0.0.0.0:9125 is not a loopback address and no [[auth.users]] are configured; add a user with `sift user add NAME` and paste its [[auth.users]] entry into the config, or listen on 127.0.0.1
            config error: syslog.listen: 192.0.2.1:514 is not a loopback address and no [[auth.users]] are configured; add a user with `sift user add NAME` and paste its [[auth.users]] entry into the config, or listen on 127.0.0.1
        "#]],
    );
    let flags = Overrides { popcorn: Some("[::]:9125".into()), ..Overrides::default() };
    expect![[r#"
        config error: http.listen: 0.0.0.0:80 is not a loopback address and no [[auth.users]] are configured; add a user with `sift user add NAME` and paste its [[auth.users]] entry into the config, or listen on 127.0.0.1
        config error: popcorn.listen: [::]:9125 is not a loopback address and no [[auth.users]] are configured; add a user with `sift user add NAME` and paste its [[auth.users]] entry into the config, or listen on 127.0.0.1
    "#]].assert_eq(&render(parse("", &[("SIFT_HTTP_LISTEN", "0.0.0.0:80")], &flags)));
    let with_user =
        format!("[http]\nlisten = \"0.0.0.0:9125\"\n[[auth.users]]\nname = \"alice\"\npassword_hash = \"{HASH}\"\n");
    check(
        &with_user,
        expect![[r#"
        http.listen = 0.0.0.0:9125
        user alice
    "#]],
    );
}

#[test]
fn listeners_on_one_port() {
    check(
        "[syslog]\nlisten = \"127.0.0.1:9125\"\n",
        expect![[r#"
        config error: syslog.listen: 127.0.0.1:9125 is also http.listen, and both use TCP
        config error: popcorn.listen: 127.0.0.1:9125 is also syslog.listen, and both use UDP
    "#]],
    );
    check(
        "[popcorn]\nlisten = \"0.0.0.0:5514\"\n",
        expect![[r#"
        config error: popcorn.listen: 0.0.0.0:5514 is not a loopback address and no [[auth.users]] are configured; add a user with `sift user add NAME` and paste its [[auth.users]] entry into the config, or listen on 127.0.0.1
        config error: popcorn.listen: 0.0.0.0:5514 is also syslog.listen, and both use UDP
    "#]],
    );
    check(
        "[syslog]\nlisten = \"127.0.0.1:0\"\n[http]\nlisten = \"127.0.0.1:0\"\n",
        expect![[r#"
        http.listen = 127.0.0.1:0
        syslog.listen = 127.0.0.1:0
    "#]],
    );
}

#[test]
fn classify_rule_errors_name_their_rule() {
    check(
        r#"
        [[classify]]
        when = "app:web"
        [[classify]]
        name = "bad"
        when = "type:exception"
        set = { severity = "meh", tags = ["ok", ""] }
        "#,
        expect![[r#"
            config error: classify[1].set.severity: unknown severity "meh", expected one of emergency, alert, critical, error, warning, notice, info, debug (or 0-7)
            config error: classify[1].set.tags: tags must not be empty
        "#]],
    );
    // A rule that does not deserialize hides the others' errors: their indices would shift.
    check(
        "[[classify]]\nwhen = \"x\"\nset = { severity = \"meh\" }\n[[classify]]\nstop = true\n",
        expect![[r#"
        config error: classify[1]: missing field `when`
    "#]],
    );
}

/// Needs the real query parser (the placeholder accepts every query).
#[test]
fn classify_query_errors_name_their_rule() {
    let text = "[[classify]]\nwhen = \"app:web\"\n[[classify]]\nwhen = \"(unclosed\"\n";
    let Err(errors) = parse(text, &[], &Overrides::default()) else {
        panic!("the query parser accepted \"(unclosed\"");
    };
    let when = errors.0.iter().find(|e| e.path == "classify[1].when");
    let when = when.unwrap_or_else(|| panic!("no error for classify[1].when in:\n{errors}"));
    assert!(when.message.starts_with("at position"), "{when}");
}

#[test]
fn users() {
    let text = format!(
        r#"
        [[auth.users]]
        name = "alice"
        password_hash = "{HASH}"
        [[auth.users]]
        name = "alice"
        password_hash = "{HASH}"
        [[auth.users]]
        name = "b:ob"
        password_hash = "hunter2"
        [[auth.users]]
        name = "carol"
        password_hash = "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"
        "#
    );
    check(
        &text,
        expect![[r#"
        config error: auth.users[1].name: duplicate user "alice" (first at auth.users[0])
        config error: auth.users[2].name: user name "b:ob" contains ':', which HTTP Basic cannot carry
        config error: auth.users[2].password_hash: not an argon2 hash: password hash string missing field; make one with `sift user add NAME`
        config error: auth.users[3].password_hash: not an argon2 hash: algorithm "pbkdf2-sha256" is not argon2id, argon2i or argon2d; make one with `sift user add carol`
    "#]],
    );
}

#[test]
fn example_is_the_defaults() {
    let config = from_toml(example(), "example", vars(&[]), &Overrides::default()).unwrap();
    assert_eq!(scalars(&config), scalars(&Config::default()));
    assert_eq!(config.auth.users.len(), 0);
    expect![[r#"
        rule "not found": when "type:exception \"404\"", type 404, stop true
    "#]]
    .assert_eq(&render(Ok(config)));
}

#[test]
fn example_sets_every_key() {
    fn leaves(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
        for (key, value) in table {
            let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            match value {
                toml::Value::Table(table) => leaves(&path, table, out),
                _ if path == "classify" => {}
                _ => out.push(path),
            }
        }
    }
    let mut keys = Vec::new();
    leaves("", &example().parse().unwrap(), &mut keys);
    assert_eq!(keys, KEYS);
    // Each key is documented, ending with its default, on the lines just above it.
    let scalar_part = example().split("\n[[classify]]").next().unwrap();
    let lines: Vec<&str> = scalar_part.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if let Some((key, value)) = line.split_once(" = ").filter(|_| !line.starts_with('#')) {
            let doc = lines[i - 1];
            assert_eq!(doc, format!("# Default {value}."), "the line above {key}");
        }
    }
}

#[test]
fn load_reads_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sift.toml");
    std::fs::write(&path, "[ring]\nmax_events = 7\n").unwrap();
    let config = load(Some(&path), vars(&[]), &Overrides::default()).unwrap();
    assert_eq!(config.ring.max_events, 7);

    let missing = dir.path().join("missing.toml");
    let errors = load(Some(&missing), vars(&[]), &Overrides::default()).unwrap_err();
    assert_eq!(errors.0.len(), 1);
    assert_eq!(errors.0[0].path, missing.display().to_string());
    assert!(errors.0[0].message.starts_with("cannot read: "), "{errors}");

    std::fs::write(&path, "[ring]\nmax_events = [\n").unwrap();
    let errors = load(Some(&path), vars(&[]), &Overrides::default()).unwrap_err();
    assert_eq!(errors.0[0].path, format!("{}:3:1", path.display()), "{errors}");
}

#[test]
fn retention_per_severity_and_channel() {
    let config = parse(
        r#"
        [retention]
        default = "7d"
        max_bytes = "10GiB"
        [retention.severity]
        debug = "2h"
        warn = "14d"
        [retention.channel]
        audit = "365d"
        "#,
        &[],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(config.retention.default, std::time::Duration::from_secs(7 * 86_400));
    assert_eq!(config.retention.max_bytes, 10 << 30);
    assert_eq!(
        config.retention.by_severity,
        [
            (sift_core::Severity::Debug, std::time::Duration::from_secs(7_200)),
            (sift_core::Severity::Warning, std::time::Duration::from_secs(14 * 86_400)),
        ]
    );
    assert_eq!(config.retention.by_channel, [("audit".to_owned(), std::time::Duration::from_secs(365 * 86_400))]);
    check(
        r#"
        [retention.severity]
        loud = "1h"
        debug = "soon"
        "#,
        expect![[r#"
            config error: retention.severity.debug: invalid duration "soon": expected number at 0; expected a duration such as "90s", "1h" or "365d"
            config error: retention.severity.loud: unknown severity "loud", expected one of emergency, alert, critical, error, warning, notice, info, debug (or 0-7)
        "#]],
    );
}

/// Every key that names a channel keeps the one rule of channel names.
#[test]
fn r_channel_names_in_the_configuration_are_checked() {
    let file = format!(
        r#"
        [syslog]
        channel = "bad channel!"
        [popcorn]
        channel = "../../etc"
        [retention.channel]
        "a/b" = "1d"
        ok = "1d"
        [[auth.users]]
        name = "alice"
        password_hash = "{HASH}"
        channels = ["shop", "shop floor"]
        "#
    );
    check(
        &file,
        expect![[r#"
            config error: syslog.channel: invalid channel "bad channel!": a channel name is 1 to 128 ASCII letters, digits, '-', '_' or '.'
            config error: popcorn.channel: invalid channel "../../etc": a channel name is 1 to 128 ASCII letters, digits, '-', '_' or '.'
            config error: retention.channel.a/b: invalid channel "a/b": a channel name is 1 to 128 ASCII letters, digits, '-', '_' or '.'
            config error: auth.users[0].channels[1]: invalid channel "shop floor": a channel name is 1 to 128 ASCII letters, digits, '-', '_' or '.'
        "#]],
    );
}

#[test]
fn tls_files_and_the_syslog_tls_listener() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = tls_files(dir.path());
    let missing = dir.path().join("missing.pem");
    let tls = |cert: &std::path::Path, key: &std::path::Path, more: &str| {
        let text = format!("[http]\ntls_cert = {:?}\ntls_key = {:?}\n{more}", cert.display(), key.display());
        render(parse(&text, &[], &Overrides::default())).replace(&dir.path().display().to_string(), "DIR")
    };
    expect![[r#"
        http.tls_cert = DIR/cert.pem
        http.tls_key = DIR/key.pem
        syslog.tls_listen = 127.0.0.1:6514
    "#]]
    .assert_eq(&tls(&cert, &key, ""));
    expect![[r#"
        http.tls_cert = DIR/cert.pem
        http.tls_key = DIR/key.pem
    "#]]
    .assert_eq(&tls(&cert, &key, "[syslog]\ntls_listen = \"off\"\n"));
    expect![[r#"
        config error: http.tls_cert: cannot read DIR/missing.pem: No such file or directory (os error 2)
    "#]]
    .assert_eq(&tls(&missing, &key, ""));
    expect![[r#"
        config error: http.tls_key: no private key in DIR/cert.pem: expected a PEM file (-----BEGIN ...-----)
    "#]]
    .assert_eq(&tls(&cert, &cert, ""));
    expect![[r#"
        config error: syslog.tls_listen: 127.0.0.1:9125 is also http.listen, and both use TCP
    "#]]
    .assert_eq(&tls(&cert, &key, "[syslog]\ntls_listen = \"127.0.0.1:9125\"\n"));
    expect![[r#"
        config error: syslog.tls_listen: 0.0.0.0:5514 is not a loopback address and no [[auth.users]] are configured; add a user with `sift user add NAME` and paste its [[auth.users]] entry into the config, or listen on 127.0.0.1
        config error: syslog.tls_listen: 0.0.0.0:5514 is also syslog.listen, and both use TCP
    "#]]
    .assert_eq(&tls(&cert, &key, "[syslog]\ntls_listen = \"0.0.0.0:5514\"\n"));
    check(
        "[http]\ntls_cert = \"cert.pem\"\n[syslog]\ntls_listen = \"127.0.0.1:7000\"\n",
        expect![[r#"
            config error: http.tls_key: must be set with http.tls_cert: the PEM private key of the certificate
            config error: syslog.tls_listen: syslog over TLS needs http.tls_cert and http.tls_key (the certificate it serves)
        "#]],
    );
    check(
        "[http]\ntls_cert = \"\"\ntls_key = \"\"\n[syslog]\ntls_listen = \"127.0.0.1:6514\"\n",
        expect![[r#"
            defaults
        "#]],
    );
}

#[test]
fn connection_limits() {
    check_values(
        "http.header_timeout",
        &["\"2s\"", "\"0s\"", "\"soon\""],
        expect![[r#"
            "2s" => 2s
            "0s" => must be longer than zero
            "soon" => invalid duration "soon": expected number at 0; expected a duration such as "90s", "1h" or "365d"
        "#]],
    );
    check_values(
        "http.max_connections",
        &["1", "0"],
        expect![[r#"
            1 => 1
            0 => must be greater than zero
        "#]],
    );
    check_values(
        "http.body_min_rate",
        &["\"10KiB\"", "0"],
        expect![[r#"
            "10KiB" => 10240
            0 => must be greater than zero
        "#]],
    );
}
