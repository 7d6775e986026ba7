//! The compiled form of every construct, printed as a one-line expression: what each query
//! means after parsing, folding and ordering.

use expect_test::{Expect, expect};

use super::parse;

/// The compiled form of `src`, or its error.
fn check(src: &str, expect: Expect) {
    let actual = match parse(src) {
        Ok(query) => format!("{}", query.inner.root),
        Err(error) => format!("error: {error}"),
    };
    expect.assert_eq(&actual);
}

#[test]
fn compiled_forms() {
    check("", expect![[r#"all"#]]);
    check("   ", expect![[r#"all"#]]);
    check("*", expect![[r#"all"#]]);
    check("* *", expect![[r#"all"#]]);
    check("-*", expect!["not(all)"]);
    // Bare words and phrases: the message contains them.
    check("refused", expect![[r#"contains(message, "refused")"#]]);
    check("404", expect![[r#"contains(message, "404")"#]]);
    check("Größe", expect![[r#"contains(message, "Größe")"#]]);
    check(r#""connection refused""#, expect![[r#"contains(message, "connection refused")"#]]);
    check(r#""say \"hi\" \\ C:\temp""#, expect![[r#"contains(message, "say \"hi\" \\ C:\\temp")"#]]);
    check(r#""a*b""#, expect![[r#"contains(message, "a*b")"#]]);
    check("conn*refused", expect![[r#"glob(message, "conn*refused")"#]]);
    check("refus*", expect![[r#"contains(message, "refus")"#]]);
    check("*refus*", expect![[r#"contains(message, "refus")"#]]);
    check("what?", expect![[r#"contains(message, "what?")"#]]);
    check("10:30:00", expect![[r#"contains(message, "10:30:00")"#]]);
    check("a->b", expect![[r#"contains(message, "a->b")"#]]);
    check("user=bob", expect![[r#"contains(message, "user=bob")"#]]);
    check(r#"key="v""#, expect![[r#"contains(message, "key=\"v\"")"#]]);
    check("connect()", expect![[r#"contains(message, "connect()")"#]]);
    check(
        "and or not",
        expect![[r#"and(contains(message, "and"), contains(message, "or"), contains(message, "not"))"#]],
    );
    check("bob@example.com", expect![[r#"contains(message, "bob@example.com")"#]]);
    // Fields, exact and glob.
    check("host:web-1", expect![[r#"eq(host, "web-1")"#]]);
    check("HOST:Web-1", expect![[r#"eq(host, "Web-1")"#]]);
    check(r#"host:"web 1""#, expect![[r#"eq(host, "web 1")"#]]);
    check(r#"host:"web-*""#, expect![[r#"eq(host, "web-*")"#]]);
    check(r#"host:"""#, expect![[r#"eq(host, "")"#]]);
    check("host:web-*", expect![[r#"starts_with(host, "web-")"#]]);
    check("host:*.example.com", expect![[r#"ends_with(host, ".example.com")"#]]);
    check("host:*eb*", expect![[r#"contains(host, "eb")"#]]);
    check("host:w?b-*", expect![[r#"glob(host, "w?b-*")"#]]);
    check("host:w*-1", expect![[r#"glob(host, "w*-1")"#]]);
    check("host:*", expect!["present(host)"]);
    check("host:/^web-\\d+$/", expect![[r#"regex(host, /^web-\d+$/)"#]]);
    check(r"fields.url:/^\/api\//", expect![[r#"regex(fields.url, /^\/api\//)"#]]);
    check(
        "channel:default app:calculator version:1.2.3 proc:123 msgid:ID47",
        expect![[
            r#"and(eq(channel, "default"), eq(app, "calculator"), eq(version, "1.2.3"), eq(proc, "123"), eq(msgid, "ID47"))"#
        ]],
    );
    check(
        "type:page_load module:calc function:add fingerprint:abc",
        expect![[r#"and(eq(type, "page_load"), eq(module, "calc"), eq(function, "add"), eq(fingerprint, "abc"))"#]],
    );
    check("message:timeout msg:*timeout*", expect![[r#"and(eq(message, "timeout"), contains(message, "timeout"))"#]]);
    check(
        "tag:slow tags:fast* topic:checkout identities:bob",
        expect![[r#"and(eq(tags, "slow"), eq(topics, "checkout"), eq(identities, "bob"), starts_with(tags, "fast"))"#]],
    );
    check("#login_failed @fearing", expect![[r#"and(eq(topics, "login_failed"), eq(identities, "fearing"))"#]]);
    check(
        r#"#login* @"bob smith" #/^log/"#,
        expect![[r#"and(eq(identities, "bob smith"), starts_with(topics, "login"), regex(topics, /^log/))"#]],
    );
    // Severities: every form is a set of severities.
    check("severity:warning", expect!["severity(warning)"]);
    check("severity:warn severity:4", expect!["and(severity(warning), severity(warning))"]);
    check("severity>=warning", expect!["severity(emergency|alert|critical|error|warning)"]);
    check("severity>warning", expect!["severity(emergency|alert|critical|error)"]);
    check("severity<error", expect!["severity(warning|notice|info|debug)"]);
    check("severity<=info", expect!["severity(info|debug)"]);
    check("severity:err*", expect!["severity(error)"]);
    check("severity:/^(alert|crit)/", expect!["severity(alert|critical)"]);
    check("-severity:debug", expect!["severity(emergency|alert|critical|error|warning|notice|info)"]);
    check("severity:* severity<=emergency", expect!["all"]);
    // Sources and facilities.
    check("source:* source:/./", expect!["all"]);
    check("source:syslog_udp", expect!["source(syslog_udp)"]);
    check("source:syslog*", expect!["source(syslog_udp|syslog_tcp)"]);
    check("-source:internal", expect!["source(syslog_udp|syslog_tcp|popcorn|logplex|http_json|otlp)"]);
    check("facility:local0 facility:3", expect!["and(facility(local0), facility(daemon))"]);
    check("facility>=local6", expect!["facility(local6|local7)"]);
    check(
        "facility:local* facility:1?",
        expect![
            "and(facility(local0|local1|local2|local3|local4|local5|local6|local7), facility(authpriv|ftp|ntp|security|console|solaris-cron|local0|local1|local2|local3))"
        ],
    );
    check("facility:*", expect!["present(facility)"]);
    // Numbers, times, ids.
    check("line:54", expect!["eq(line, 54)"]);
    check("line>50 line<=60.5 line:5*", expect![[r#"and(gt(line, 50), le(line, 60.5), starts_with(line, "5"))"#]]);
    check("line:*", expect!["present(line)"]);
    check("time>15m", expect!["gt(time, 2024-05-01T09:45:00Z)"]);
    check(
        "time>=2024-05-01T12:00:00+02:00 received_at<now",
        expect!["and(ge(time, 2024-05-01T10:00:00Z), lt(received_at, 2024-05-01T10:00:00Z))"],
    );
    check("time:* received_at:*", expect!["all"]);
    check(
        "time>=2024-04-30 time<2024-05-01",
        expect!["and(ge(time, 2024-04-30T00:00:00Z), lt(time, 2024-05-01T00:00:00Z))"],
    );
    check(r#"time<"2024-04-30T00:00:00Z""#, expect!["lt(time, 2024-04-30T00:00:00Z)"]);
    check("id:01HXZ5S3R8Q0Y7D9E2W4K6M1N3", expect!["eq(id, 01HXZ5S3R8Q0Y7D9E2W4K6M1N3)"]);
    check(
        "id>01hxz5s3r8q0y7d9e2w4k6m1n3 id:01HX*",
        expect![[r#"and(gt(id, 01HXZ5S3R8Q0Y7D9E2W4K6M1N3), starts_with(id, "01HX"))"#]],
    );
    // JSON fields.
    check("fields.execution_time>0.5", expect!["gt(fields.execution_time, 0.5)"]);
    check(
        "fields.code:404 fields.ok:true fields.x:null fields.user.name:bob",
        expect![[r#"and(eq(fields.code, 404), eq(fields.ok, true), eq(fields.x, null), eq(fields.user.name, "bob"))"#]],
    );
    check(
        "fields.http.method:GET fields.sd@123.param:*",
        expect![[r#"and(eq(fields.http.method, "GET"), present(fields.sd@123.param))"#]],
    );
    check(r#"fields.url:"/api/v1" fields.n:-1e3"#, expect![[r#"and(eq(fields.url, "/api/v1"), eq(fields.n, -1e3))"#]]);
    check("Fields.Url:x", expect![[r#"eq(fields.Url, "x")"#]]);
}

#[test]
fn boolean_structure() {
    check("a b", expect![[r#"and(contains(message, "a"), contains(message, "b"))"#]]);
    check("a AND b", expect![[r#"and(contains(message, "a"), contains(message, "b"))"#]]);
    check("a OR b", expect![[r#"or(contains(message, "a"), contains(message, "b"))"#]]);
    check("a b OR c", expect![[r#"or(contains(message, "c"), and(contains(message, "a"), contains(message, "b")))"#]]);
    check("a OR b c", expect![[r#"or(contains(message, "a"), and(contains(message, "b"), contains(message, "c")))"#]]);
    check(
        "a OR b AND c",
        expect![[r#"or(contains(message, "a"), and(contains(message, "b"), contains(message, "c")))"#]],
    );
    check(
        "(a OR b) c",
        expect![[r#"and(contains(message, "c"), or(contains(message, "a"), contains(message, "b")))"#]],
    );
    check("NOT a b", expect![[r#"and(not(contains(message, "a")), contains(message, "b"))"#]]);
    check("NOT a OR b", expect![[r#"or(not(contains(message, "a")), contains(message, "b"))"#]]);
    check("-a -b", expect![[r#"and(not(contains(message, "a")), not(contains(message, "b")))"#]]);
    check("NOT NOT a", expect![[r#"contains(message, "a")"#]]);
    check("-(a OR b)", expect![[r#"not(or(contains(message, "a"), contains(message, "b")))"#]]);
    check("host:NOT(x) ANDROID(y)", expect![[r#"and(eq(host, "NOT(x)"), contains(message, "ANDROID(y)"))"#]]);
    check("NOT(a) AND(b)", expect![[r#"and(not(contains(message, "a")), contains(message, "b"))"#]]);
    check("((a))", expect![[r#"contains(message, "a")"#]]);
    check(
        "(a b) (c d)",
        expect![[
            r#"and(contains(message, "a"), contains(message, "b"), contains(message, "c"), contains(message, "d"))"#
        ]],
    );
    check("a OR (b OR c)", expect![[r#"or(contains(message, "a"), contains(message, "b"), contains(message, "c"))"#]]);
    check("a OR *", expect!["all"]);
    check("-#noise -@bot", expect![[r#"and(not(eq(topics, "noise")), not(eq(identities, "bot")))"#]]);
    // Cheapest first: masks and numbers before strings, the message last.
    check(
        r#""connection refused" host:web-* severity>=warning -type:health"#,
        expect![[
            r#"and(severity(emergency|alert|critical|error|warning), not(eq(type, "health")), starts_with(host, "web-"), contains(message, "connection refused"))"#
        ]],
    );
    check(
        r#"severity>=warning app:calculator host:web-* "connection refused" -type:health"#,
        expect![[
            r#"and(severity(emergency|alert|critical|error|warning), eq(app, "calculator"), not(eq(type, "health")), starts_with(host, "web-"), contains(message, "connection refused"))"#
        ]],
    );
    check(
        "#login_failed @fearing line:54 fields.execution_time>0.5 (host:a OR host:b)",
        expect![[
            r#"and(eq(line, 54), eq(topics, "login_failed"), eq(identities, "fearing"), or(eq(host, "a"), eq(host, "b")), gt(fields.execution_time, 0.5))"#
        ]],
    );
}
