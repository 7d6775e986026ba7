//! What each construct reads: the fields its terms test and the needles every match's
//! message contains, as `Query::fields` and `Query::needles` report them.

use expect_test::{Expect, expect};

use super::parse;

/// `{fields} needles`, or the error.
fn check(src: &str, expect: Expect) {
    let actual = match parse(src) {
        Ok(query) => format!("{:?} {:?}", query.fields(), query.needles()),
        Err(error) => format!("error: {error}"),
    };
    expect.assert_eq(&actual);
}

#[test]
fn fields_read() {
    check("", expect![[r#"{} []"#]]);
    check("*", expect![[r#"{} []"#]]);
    check("severity>=warning", expect![[r#"{severity} []"#]]);
    check("severity:*", expect![[r#"{} []"#]]);
    check("source:syslog_udp", expect![[r#"{source} []"#]]);
    check("facility:local0 line:54", expect![[r#"{facility, line} []"#]]);
    check("time>15m received_at<1h", expect![[r#"{time, received_at} []"#]]);
    check("id:01HXZ5S3R8Q0Y7D9E2W4K6M1N3", expect![[r#"{id} []"#]]);
    check("host:web-* app:calc", expect![[r#"{host, app} []"#]]);
    check("msg:hello", expect![[r#"{message} ["hello"]"#]]);
    check("version:1 proc:2 msgid:x type:t", expect![[r#"{version, proc, msgid, type} []"#]]);
    check("module:m function:f fingerprint:abc channel:c", expect![[r#"{channel, module, function, fingerprint} []"#]]);
    check("#checkout @bob tag:slow", expect![[r#"{tags, topics, identities} []"#]]);
    check("fields.execution_time>0.5", expect![[r#"{fields} []"#]]);
    check("FIELDS.user.name:bob fields.code:404", expect![[r#"{fields} []"#]]);
    check("-host:web-1", expect![[r#"{host} []"#]]);
    check("host:a OR app:b", expect![[r#"{host, app} []"#]]);
    check(
        r#"severity>=error "connection refused" -app:auth"#,
        expect![[r#"{app, severity, message} ["connection refused"]"#]],
    );
}

#[test]
fn needles() {
    // ANDed bare words and phrases.
    check("refused", expect![[r#"{message} ["refused"]"#]]);
    check("Connection refused", expect![[r#"{message} ["Connection", "refused"]"#]]);
    check(r#""connection refused" upstream"#, expect![[r#"{message} ["connection refused", "upstream"]"#]]);
    check("refused refused", expect![[r#"{message} ["refused"]"#]]);
    check("a AND (b c)", expect![[r#"{message} ["a", "b", "c"]"#]]);
    // Globs: their literal pieces.
    check("refus*", expect![[r#"{message} ["refus"]"#]]);
    check("conn*refused", expect![[r#"{message} ["conn", "refused"]"#]]);
    check("message:conn*", expect![[r#"{message} ["conn"]"#]]);
    check("message:*fused", expect![[r#"{message} ["fused"]"#]]);
    check("message:c?nn*x", expect![[r#"{message} ["c", "nn", "x"]"#]]);
    check("message:*", expect![[r#"{message} []"#]]);
    // Regexes give none.
    check("message:/refus(ed|al)/", expect![[r#"{message} []"#]]);
    // Nothing under NOT.
    check("-refused", expect![[r#"{message} []"#]]);
    check("NOT refused upstream", expect![[r#"{message} ["upstream"]"#]]);
    check("-(a b)", expect![[r#"{message} []"#]]);
    // Under OR, only what every branch requires.
    check("refused OR timeout", expect![[r#"{message} []"#]]);
    check("refused OR host:a", expect![[r#"{host, message} []"#]]);
    check(r#"refused OR "connection refused""#, expect![[r#"{message} ["refused"]"#]]);
    check(r#"(refused a) OR (REFUSED b)"#, expect![[r#"{message} ["refused"]"#]]);
    check("(x y) OR (y z)", expect![[r#"{message} ["y"]"#]]);
    check("(a OR b) c", expect![[r#"{message} ["c"]"#]]);
    // Other fields' values are not message needles.
    check("host:refused", expect![[r#"{host} []"#]]);
    check("#refused", expect![[r#"{topics} []"#]]);
}
