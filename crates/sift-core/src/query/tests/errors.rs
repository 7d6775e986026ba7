//! Parse errors: where they point and what they say.

use expect_test::{Expect, expect};

use super::{ParseError, parse};

/// The error message for `src`, which must not parse.
fn check_error(src: &str, expect: Expect) {
    match parse(src) {
        Ok(query) => panic!("{src:?} parsed as {query:?}"),
        Err(error) => expect.assert_eq(&error.to_string()),
    }
}

#[test]
fn parse_errors() {
    // Parentheses.
    check_error("(a OR b", expect!["at position 7: expected `)` to close the `(` at position 0, found end of query"]);
    check_error("a (b (c)", expect!["at position 8: expected `)` to close the `(` at position 2, found end of query"]);
    check_error("a) b", expect!["at position 1: expected end of query, found `)` without a matching `(`"]);
    check_error("()", expect!["at position 1: expected a term after `(`, found `)`"]);
    check_error("connect())", expect!["at position 9: expected end of query, found `)` without a matching `(`"]);
    // Dangling operators.
    check_error("a AND", expect!["at position 5: expected a term after `AND`, found end of query"]);
    check_error("a OR", expect!["at position 4: expected a term after `OR`, found end of query"]);
    check_error("OR a", expect!["at position 0: expected a term, found `OR`"]);
    check_error("AND", expect!["at position 0: expected a term, found `AND`"]);
    check_error("a OR OR b", expect!["at position 5: expected a term after `OR`, found `OR`"]);
    check_error("a AND OR b", expect!["at position 6: expected a term after `AND`, found `OR`"]);
    check_error("NOT", expect!["at position 3: expected a term after `NOT`, found end of query"]);
    check_error("a NOT", expect!["at position 5: expected a term after `NOT`, found end of query"]);
    check_error("a - b", expect!["at position 3: expected a term after `-`, found whitespace"]);
    check_error("a -", expect!["at position 3: expected a term after `-`, found end of query"]);
    check_error("(a OR)", expect!["at position 5: expected a term after `OR`, found `)`"]);
    check_error("# a", expect!["at position 1: expected a topic after `#`, found whitespace"]);
    check_error("@", expect!["at position 1: expected an identity after `@`, found end of query"]);
    // Missing values.
    check_error("host:", expect!["at position 5: expected a value after `host:`, found end of query"]);
    check_error("host: web", expect!["at position 5: expected a value after `host:`, found whitespace"]);
    check_error("(host:)", expect!["at position 6: expected a value after `host:`, found `)`"]);
    check_error("line>", expect!["at position 5: expected a value after `line>`, found end of query"]);
    check_error(
        "host:(a OR b)",
        expect![
            "at position 5: expected a value after `host:` (parentheses cannot group values: write `(host:a OR host:b)`), found `(`"
        ],
    );
    check_error(
        "handle_call:",
        expect![
            "at position 0: expected a known field (id, time, received_at, channel, source, host, app, version, proc, msgid, severity, facility, type, message (msg), module, function, line, tags (tag), topics (topic), identities (identity), fingerprint) or `fields.handle_call` for a custom field, found unknown field `handle_call`"
        ],
    );
    // Quotes and regexes.
    check_error(
        r#"host:"web"#,
        expect![[r#"at position 9: expected `"` to close the quote at position 5, found end of query"#]],
    );
    check_error(
        r#""abc \" def"#,
        expect![[r#"at position 11: expected `"` to close the quote at position 0, found end of query"#]],
    );
    check_error(
        r#""a"b"#,
        expect![[r#"at position 3: expected whitespace, `)` or the end after the closing `"`, found `b`"#]],
    );
    check_error(
        "host:/web",
        expect!["at position 9: expected `/` to close the regex at position 5, found end of query"],
    );
    check_error(
        r"host:/web\/",
        expect!["at position 11: expected `/` to close the regex at position 5, found end of query"],
    );
    check_error(
        "host:/a/b",
        expect![
            "at position 8: expected whitespace, `)` or the end after the regex's closing `/` (quote values that start with `/`), found `b`"
        ],
    );
    check_error(
        "fields.url:/api/*",
        expect![
            "at position 16: expected whitespace, `)` or the end after the regex's closing `/` (quote values that start with `/`), found `*`"
        ],
    );
    check_error("host:/(/", expect!["at position 5: expected a valid regex, found `/(/` (unclosed group)"]);
    check_error(
        "msg:/a{5,1}/",
        expect![
            "at position 4: expected a valid regex, found `/a{5,1}/` (invalid repetition count range, the start must be <= the end)"
        ],
    );
    // Values of the wrong kind.
    check_error("line:abc", expect!["at position 5: expected a number after `line:`, found `abc`"]);
    check_error("line>5x", expect!["at position 5: expected a number after `line>`, found `5x`"]);
    check_error("line>inf", expect!["at position 5: expected a number after `line>`, found `inf`"]);
    check_error("fields.x>fast", expect!["at position 9: expected a number after `fields.x>`, found `fast`"]);
    check_error(
        "facility>=12.5",
        expect![
            "at position 10: expected a facility (0-23, or a name such as kern, user, daemon, auth, local0-local7) after `facility>=`, found `12.5`"
        ],
    );
    check_error(
        "facility:local9",
        expect![
            "at position 9: expected a facility (0-23, or a name such as kern, user, daemon, auth, local0-local7) after `facility:`, found `local9`"
        ],
    );
    check_error(
        "time>yesterday",
        expect![
            "at position 5: expected a time (RFC 3339 such as 2024-05-01T12:00:00Z, a date such as 2024-05-01, `now`, or an age such as 15m, 2h, 7d) after `time>`, found `yesterday`"
        ],
    );
    check_error(
        "time>2024-5-1",
        expect![
            "at position 5: expected a time (RFC 3339 such as 2024-05-01T12:00:00Z, a date such as 2024-05-01, `now`, or an age such as 15m, 2h, 7d) after `time>`, found `2024-5-1`"
        ],
    );
    check_error(
        "time:2024*",
        expect![
            "at position 5: expected a time (RFC 3339 such as 2024-05-01T12:00:00Z, a date such as 2024-05-01, `now`, or an age such as 15m, 2h, 7d) after `time:`, found `2024*`"
        ],
    );
    check_error(
        "time:/2024/",
        expect![
            "at position 5: expected a time (RFC 3339 such as 2024-05-01T12:00:00Z, a date such as 2024-05-01, `now`, or an age such as 15m, 2h, 7d) after `time:`, found the regex `/2024/`"
        ],
    );
    check_error(
        "id:42",
        expect![
            "at position 3: expected a ULID (26 characters such as 01HXZ5S3R8Q0Y7D9E2W4K6M1N3) after `id:`, found `42`"
        ],
    );
    check_error(
        "severity:loud",
        expect![
            "at position 9: expected a severity (emergency, alert, critical, error, warning, notice, info, debug, an alias such as warn, or 0-7) after `severity:`, found `loud`"
        ],
    );
    check_error(
        "severity>=8",
        expect![
            "at position 10: expected a severity (emergency, alert, critical, error, warning, notice, info, debug, an alias such as warn, or 0-7) after `severity>=`, found `8`"
        ],
    );
    check_error(
        "severity>/err/",
        expect![
            "at position 9: expected a severity (emergency, alert, critical, error, warning, notice, info, debug, an alias such as warn, or 0-7) after `severity>`, found `/err/`"
        ],
    );
    check_error(
        "source:kafka",
        expect![
            "at position 7: expected a source (syslog_udp, syslog_tcp, popcorn, logplex, http_json, otlp, internal) after `source:`, found `kafka`"
        ],
    );
    // Fields and operators.
    check_error(
        "hots:web-1",
        expect![
            "at position 0: expected a known field (id, time, received_at, channel, source, host, app, version, proc, msgid, severity, facility, type, message (msg), module, function, line, tags (tag), topics (topic), identities (identity), fingerprint) or `fields.hots` for a custom field, found unknown field `hots`"
        ],
    );
    check_error(
        "url:/x/",
        expect![
            "at position 0: expected a known field (id, time, received_at, channel, source, host, app, version, proc, msgid, severity, facility, type, message (msg), module, function, line, tags (tag), topics (topic), identities (identity), fingerprint) or `fields.url` for a custom field, found unknown field `url`"
        ],
    );
    check_error(
        "fields.:x",
        expect!["at position 0: expected a field path such as `fields.a.b` (no empty parts), found `fields.`"],
    );
    check_error(
        "fields.a..b:x",
        expect!["at position 0: expected a field path such as `fields.a.b` (no empty parts), found `fields.a..b`"],
    );
    check_error(
        "host>a",
        expect![
            "at position 4: expected `:` after `host` (`<` and `>` compare numbers, severities and times), found `>`"
        ],
    );
    check_error(
        "tags<=x",
        expect![
            "at position 4: expected `:` after `tags` (`<` and `>` compare numbers, severities and times), found `<=`"
        ],
    );
    check_error(
        "source>syslog_udp",
        expect![
            "at position 6: expected `:` after `source` (`<` and `>` compare numbers, severities and times), found `>`"
        ],
    );
    // Pipes belong to the analytics stage.
    check_error(
        "severity>=error | stats count() by app",
        expect!["at position 16: expected end of filter, found `|` (pipes are not supported in a filter)"],
    );
    check_error(
        "a|b",
        expect!["at position 1: expected end of filter, found `|` (pipes are not supported in a filter)"],
    );
    check_error("(a | b)", expect!["at position 3: expected `)` to close the `(` at position 0, found `|`"]);
    // Positions count characters, not bytes.
    check_error("größe größe (", expect!["at position 13: expected a term after `(`, found end of query"]);
}

#[test]
fn error_fields() {
    let error = parse("app:x host:").err();
    let expected = ParseError {
        position: 11,
        expected: "a value after `host:`".to_owned(),
        found: "end of query".to_owned(),
        limit: None,
    };
    assert_eq!(error, Some(expected));
}
