//! `SIFT_*` variables and `sift serve` flags, and how they layer over the file.

use expect_test::expect;

use super::{check_env, parse, render, scalars};
use crate::config::raw::KEYS;
use crate::config::{Config, Overrides, env};

#[test]
fn env_overrides() {
    check_env(
        "[ring]\nmax_events = 5\n",
        &[
            ("SIFT_RING_MAX_EVENTS", "2000"),
            ("SIFT_RING_MAX_BYTES", "1GiB"),
            ("SIFT_HTTP_LISTEN", "127.0.0.1:8080"),
            ("SIFT_DATA_DIR", "2024"),
            ("SIFT_STORAGE_MEMORY_ONLY", "true"),
            ("SIFT_ALERTS_MIN_SEVERITY", "4"),
            ("SIFT_ALERTS_TOPICS", r#"["checkout", "login"]"#),
            ("SIFT_PIPELINE_MAX_FUTURE", "10m"),
            ("PATH", "/bin"),
        ],
        expect![[r#"
            data_dir = 2024
            http.listen = 127.0.0.1:8080
            storage.memory_only = true
            ring.max_events = 2000
            ring.max_bytes = 1073741824
            pipeline.max_future = 600s
            alerts.topics = ["checkout", "login"]
        "#]],
    );
}

#[test]
fn env_sets_every_key() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = super::tls_files(dir.path());
    let env = [
        ("SIFT_DATA_DIR", "/data"),
        ("SIFT_HTTP_LISTEN", "127.0.0.2:1"),
        ("SIFT_HTTP_MAX_BODY", "1"),
        ("SIFT_HTTP_PUBLIC_URL", "https://logs.example.com"),
        ("SIFT_HTTP_ALLOWED_HOSTS", r#"["sift.internal"]"#),
        ("SIFT_HTTP_MAX_CONNECTIONS", "1"),
        ("SIFT_HTTP_HEADER_TIMEOUT", "1s"),
        ("SIFT_HTTP_IDLE_TIMEOUT", "1s"),
        ("SIFT_HTTP_BODY_TIMEOUT", "1s"),
        ("SIFT_HTTP_BODY_MIN_RATE", "1"),
        ("SIFT_HTTP_SEND_TIMEOUT", "1s"),
        ("SIFT_HTTP_TLS_CERT", cert.to_str().unwrap()),
        ("SIFT_HTTP_TLS_KEY", key.to_str().unwrap()),
        ("SIFT_HTTP_MAX_ITEMS", "1"),
        ("SIFT_HTTP_MAX_DECODED_BYTES", "1"),
        ("SIFT_HTTP_MAX_INFLIGHT_BYTES", "2"),
        ("SIFT_HTTP_MAX_DECODES", "1"),
        ("SIFT_HTTP_MAX_DECODING_BYTES", "1MiB"),
        ("SIFT_SYSLOG_LISTEN", "127.0.0.2:2"),
        ("SIFT_SYSLOG_CHANNEL", "devices"),
        ("SIFT_SYSLOG_MAX_FRAME", "1KiB"),
        ("SIFT_SYSLOG_MAX_CONNECTIONS", "2"),
        ("SIFT_SYSLOG_IDLE_TIMEOUT", "5s"),
        ("SIFT_SYSLOG_RECV_BUFFER", "1MiB"),
        ("SIFT_SYSLOG_TLS_LISTEN", "127.0.0.2:4"),
        ("SIFT_POPCORN_LISTEN", "127.0.0.2:3"),
        ("SIFT_POPCORN_CHANNEL", "mobile"),
        ("SIFT_POPCORN_RECV_BUFFER", "1MiB"),
        ("SIFT_STORAGE_MEMORY_ONLY", "true"),
        ("SIFT_STORAGE_WAL_FSYNC", "always"),
        ("SIFT_STORAGE_WAL_FSYNC_INTERVAL", "250ms"),
        ("SIFT_STORAGE_FLUSH_EVENTS", "1"),
        ("SIFT_STORAGE_FLUSH_BYTES", "1MiB"),
        ("SIFT_STORAGE_FLUSH_INTERVAL", "1s"),
        ("SIFT_STORAGE_MAX_BACKLOG", "1MiB"),
        ("SIFT_STORAGE_MIN_FREE", "5%"),
        ("SIFT_STORAGE_COMPACT", "false"),
        ("SIFT_RING_MAX_EVENTS", "1"),
        ("SIFT_RING_MAX_BYTES", "1"),
        ("SIFT_PIPELINE_MAX_MESSAGE_BYTES", "1"),
        ("SIFT_PIPELINE_MAX_FIELDS", "1"),
        ("SIFT_PIPELINE_MAX_FIELD_BYTES", "1"),
        ("SIFT_PIPELINE_MAX_DEPTH", "1"),
        ("SIFT_PIPELINE_MAX_TAGS", "1"),
        ("SIFT_PIPELINE_MAX_PAST", "1s"),
        ("SIFT_PIPELINE_MAX_FUTURE", "1s"),
        ("SIFT_ALERTS_MIN_SEVERITY", "debug"),
        ("SIFT_ALERTS_TOPICS", r#"["t"]"#),
        ("SIFT_TAIL_QUEUE", "1"),
        ("SIFT_TAIL_MAX_BACKLOG", "1"),
        ("SIFT_TAIL_MAX_CLIENTS", "1"),
        ("SIFT_TAIL_MAX_BYTES", "1KiB"),
        ("SIFT_TAIL_MAX_TOTAL_BYTES", "2KiB"),
        ("SIFT_CHANNELS_MAX_CHANNELS", "1"),
        ("SIFT_CHANNELS_MAX_TOKENS_PER_CHANNEL", "1"),
        ("SIFT_QUERY_TIMEOUT", "1s"),
        ("SIFT_QUERY_MAX_CONCURRENT", "1"),
        ("SIFT_RETENTION_DEFAULT", "1h"),
        ("SIFT_RETENTION_MAX_BYTES", "1GiB"),
        ("SIFT_RETENTION_CHECK_INTERVAL", "5s"),
        ("SIFT_LOG_LEVEL", "warn"),
        ("SIFT_LOG_FORMAT", "json"),
    ];
    let names: Vec<String> = KEYS.iter().map(|k| env::var_name(k)).collect();
    assert_eq!(env.iter().map(|(name, _)| *name).collect::<Vec<_>>(), names);
    let config = parse("", &env, &Overrides::default()).unwrap();
    let changed = scalars(&config).into_iter().zip(scalars(&Config::default()));
    for ((key, value), (_, default)) in changed {
        assert_ne!(value, default, "{key} is not set by its variable");
    }
}

#[test]
fn env_errors_name_the_variable() {
    check_env(
        "",
        &[
            ("SIFT_RING_MAX_EVENTS", "lots"),
            ("SIFT_RING_MAX_BYTES", "-5"),
            ("SIFT_TAIL_QUEUE", "0"),
            ("SIFT_HTTP_LISTNE", "127.0.0.1:1"),
            ("SIFT_HTTP", "127.0.0.1:1"),
            ("SIFT_CLASSIFY", "[]"),
            ("SIFT_AUTH_USERS", "[]"),
            ("SIFT_STORAGE_MEMORY_ONLY", "yes"),
        ],
        expect![[r#"
            config error: env SIFT_AUTH_USERS: [[auth.users]] entries can only be set in the config file
            config error: env SIFT_CLASSIFY: [[classify]] rules can only be set in the config file
            config error: env SIFT_HTTP: unknown variable; the closest setting is SIFT_HTTP_LISTEN (`sift config example` lists every key)
            config error: env SIFT_HTTP_LISTNE: unknown variable; the closest setting is SIFT_HTTP_LISTEN (`sift config example` lists every key)
            config error: env SIFT_RING_MAX_BYTES: invalid size "-5": expected a whole number of bytes, optionally with a unit (B, KB, MB, GB, KiB, MiB, GiB), such as "64KiB"
            config error: env SIFT_RING_MAX_EVENTS: invalid type: string "lots", expected a whole number
            config error: env SIFT_STORAGE_MEMORY_ONLY: invalid type: string "yes", expected a boolean
            config error: env SIFT_TAIL_QUEUE: must be greater than zero
        "#]],
    );
}

#[test]
fn client_variables_are_ignored() {
    let client = [
        ("SIFT_URL", "http://x"),
        ("SIFT_USER", "alice"),
        ("SIFT_PASSWORD", "p"),
        ("SIFT_CONFIG", "/etc/sift.toml"),
        ("SIFT_NEW_PASSWORD", "p"),
    ];
    check_env(
        "",
        &client,
        expect![[r#"
        defaults
    "#]],
    );
}

#[test]
fn log_level_and_format_from_the_environment() {
    check_env(
        "[log]\nlevel = \"warn\"\n",
        &[("SIFT_LOG_LEVEL", "sift=debug,info"), ("SIFT_LOG_FORMAT", "json")],
        expect![[r#"
            log.level = sift=debug,info
            log.format = json
        "#]],
    );
    // SIFT_LOG (never documented) is gone; a leftover one is named with its successor.
    check_env(
        "",
        &[("SIFT_LOG", "debug"), ("SIFT_LOG_LEVEL", "sift=["), ("SIFT_LOG_FORMAT", "xml")],
        expect![[r#"
            config error: env SIFT_LOG: unknown variable; the closest setting is SIFT_LOG_LEVEL (`sift config example` lists every key)
            config error: env SIFT_LOG_FORMAT: unknown log format "xml", expected "text" or "json"
            config error: env SIFT_LOG_LEVEL: invalid log level "sift=[" (error parsing level filter: expected one of "off", "error", "warn", "info", "debug", "trace", or a number 0-5): use a level (error, warn, info, debug, trace) or directives such as "sift=debug,info"
        "#]],
    );
}

#[test]
fn flags_beat_env_beat_file() {
    let file = r#"
        data_dir = "file"
        [http]
        listen = "127.0.0.1:1"
        [syslog]
        listen = "127.0.0.1:2"
        [popcorn]
        listen = "127.0.0.1:3"
    "#;
    let env = [("SIFT_HTTP_LISTEN", "127.0.0.1:10"), ("SIFT_SYSLOG_LISTEN", "127.0.0.1:20"), ("SIFT_DATA_DIR", "env")];
    let flags = Overrides {
        data_dir: Some("flag".into()),
        http: Some("localhost:100".into()),
        memory_only: true,
        ..Overrides::default()
    };
    expect![[r#"
        data_dir = flag
        http.listen = 127.0.0.1:100
        syslog.listen = 127.0.0.1:20
        popcorn.listen = 127.0.0.1:3
        storage.memory_only = true
    "#]]
    .assert_eq(&render(parse(file, &env, &flags)));
    let bad = Overrides { http: Some("nowhere".into()), data_dir: Some("".into()), ..Overrides::default() };
    expect![[r#"
        config error: --data-dir: must not be empty
        config error: --http: invalid address "nowhere": expected host:port with an IP address, such as 127.0.0.1:9125, [::1]:9125, 0.0.0.0:9125 or localhost:9125
    "#]].assert_eq(&render(parse("", &[], &bad)));
}
