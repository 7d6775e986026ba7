//! Data-driven tests of the query language: the compiled form of each construct, which sample
//! events each construct matches, the parse errors and their messages, and a robustness sweep
//! over mutated queries.

use std::sync::Arc;

use expect_test::{Expect, expect};
use serde_json::json;

use super::{ParseError, Query, parse_filter_prefix};
use crate::event::Source;
use crate::{Event, Severity, Timestamp};

/// 2024-05-01T10:00:00Z: the `now` of every test.
fn now() -> Timestamp {
    Timestamp::from_micros(1_714_557_600_000_000)
}

fn parse(src: &str) -> Result<Query, ParseError> {
    Query::parse_at(src, now())
}

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
    check(
        r#""connection refused""#,
        expect![[r#"contains(message, "connection refused")"#]],
    );
    check(
        r#""say \"hi\" \\ C:\temp""#,
        expect![[r#"contains(message, "say \"hi\" \\ C:\\temp")"#]],
    );
    check(r#""a*b""#, expect![[r#"contains(message, "a*b")"#]]);
    check(
        "conn*refused",
        expect![[r#"glob(message, "conn*refused")"#]],
    );
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
        expect![[
            r#"and(contains(message, "and"), contains(message, "or"), contains(message, "not"))"#
        ]],
    );
    check(
        "bob@example.com",
        expect![[r#"contains(message, "bob@example.com")"#]],
    );
    // Fields, exact and glob.
    check("host:web-1", expect![[r#"eq(host, "web-1")"#]]);
    check("HOST:Web-1", expect![[r#"eq(host, "Web-1")"#]]);
    check(r#"host:"web 1""#, expect![[r#"eq(host, "web 1")"#]]);
    check(r#"host:"web-*""#, expect![[r#"eq(host, "web-*")"#]]);
    check(r#"host:"""#, expect![[r#"eq(host, "")"#]]);
    check("host:web-*", expect![[r#"starts_with(host, "web-")"#]]);
    check(
        "host:*.example.com",
        expect![[r#"ends_with(host, ".example.com")"#]],
    );
    check("host:*eb*", expect![[r#"contains(host, "eb")"#]]);
    check("host:w?b-*", expect![[r#"glob(host, "w?b-*")"#]]);
    check("host:w*-1", expect![[r#"glob(host, "w*-1")"#]]);
    check("host:*", expect!["present(host)"]);
    check(
        "host:/^web-\\d+$/",
        expect![[r#"regex(host, /^web-\d+$/)"#]],
    );
    check(
        r"fields.url:/^\/api\//",
        expect![[r#"regex(fields.url, /^\/api\//)"#]],
    );
    check(
        "channel:default app:calculator version:1.2.3 proc:123 msgid:ID47",
        expect![[
            r#"and(eq(channel, "default"), eq(app, "calculator"), eq(version, "1.2.3"), eq(proc, "123"), eq(msgid, "ID47"))"#
        ]],
    );
    check(
        "type:page_load module:calc function:add fingerprint:abc",
        expect![[
            r#"and(eq(type, "page_load"), eq(module, "calc"), eq(function, "add"), eq(fingerprint, "abc"))"#
        ]],
    );
    check(
        "message:timeout msg:*timeout*",
        expect![[r#"and(eq(message, "timeout"), contains(message, "timeout"))"#]],
    );
    check(
        "tag:slow tags:fast* topic:checkout identities:bob",
        expect![[
            r#"and(eq(tags, "slow"), eq(topics, "checkout"), eq(identities, "bob"), starts_with(tags, "fast"))"#
        ]],
    );
    check(
        "#login_failed @fearing",
        expect![[r#"and(eq(topics, "login_failed"), eq(identities, "fearing"))"#]],
    );
    check(
        r#"#login* @"bob smith" #/^log/"#,
        expect![[
            r#"and(eq(identities, "bob smith"), starts_with(topics, "login"), regex(topics, /^log/))"#
        ]],
    );
    // Severities: every form is a set of severities.
    check("severity:warning", expect!["severity(warning)"]);
    check(
        "severity:warn severity:4",
        expect!["and(severity(warning), severity(warning))"],
    );
    check(
        "severity>=warning",
        expect!["severity(emergency|alert|critical|error|warning)"],
    );
    check(
        "severity>warning",
        expect!["severity(emergency|alert|critical|error)"],
    );
    check(
        "severity<error",
        expect!["severity(warning|notice|info|debug)"],
    );
    check("severity<=info", expect!["severity(info|debug)"]);
    check("severity:err*", expect!["severity(error)"]);
    check(
        "severity:/^(alert|crit)/",
        expect!["severity(alert|critical)"],
    );
    check(
        "-severity:debug",
        expect!["severity(emergency|alert|critical|error|warning|notice|info)"],
    );
    check("severity:* severity<=emergency", expect!["all"]);
    // Sources and facilities.
    check("source:syslog_udp", expect!["source(syslog_udp)"]);
    check("source:syslog*", expect!["source(syslog_udp|syslog_tcp)"]);
    check(
        "-source:internal",
        expect!["source(syslog_udp|syslog_tcp|popcorn|logplex|http_json|otlp)"],
    );
    check(
        "facility:local0 facility:3",
        expect!["and(facility(local0), facility(daemon))"],
    );
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
    check(
        "line>50 line<=60.5 line:5*",
        expect![[r#"and(gt(line, 50), le(line, 60.5), starts_with(line, "5"))"#]],
    );
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
    check(
        r#"time<"2024-04-30T00:00:00Z""#,
        expect!["lt(time, 2024-04-30T00:00:00Z)"],
    );
    check(
        "id:01HXZ5S3R8Q0Y7D9E2W4K6M1N3",
        expect!["eq(id, 01HXZ5S3R8Q0Y7D9E2W4K6M1N3)"],
    );
    check(
        "id>01hxz5s3r8q0y7d9e2w4k6m1n3 id:01HX*",
        expect![[r#"and(gt(id, 01HXZ5S3R8Q0Y7D9E2W4K6M1N3), starts_with(id, "01HX"))"#]],
    );
    // JSON fields.
    check(
        "fields.execution_time>0.5",
        expect!["gt(fields.execution_time, 0.5)"],
    );
    check(
        "fields.code:404 fields.ok:true fields.x:null fields.user.name:bob",
        expect![[
            r#"and(eq(fields.code, 404), eq(fields.ok, true), eq(fields.x, null), eq(fields.user.name, "bob"))"#
        ]],
    );
    check(
        "fields.http.method:GET fields.sd@123.param:*",
        expect![[r#"and(eq(fields.http.method, "GET"), present(fields.sd@123.param))"#]],
    );
    check(
        r#"fields.url:"/api/v1" fields.n:-1e3"#,
        expect![[r#"and(eq(fields.url, "/api/v1"), eq(fields.n, -1e3))"#]],
    );
    check("Fields.Url:x", expect![[r#"eq(fields.Url, "x")"#]]);
}

#[test]
fn boolean_structure() {
    check(
        "a b",
        expect![[r#"and(contains(message, "a"), contains(message, "b"))"#]],
    );
    check(
        "a AND b",
        expect![[r#"and(contains(message, "a"), contains(message, "b"))"#]],
    );
    check(
        "a OR b",
        expect![[r#"or(contains(message, "a"), contains(message, "b"))"#]],
    );
    check(
        "a b OR c",
        expect![[
            r#"or(contains(message, "c"), and(contains(message, "a"), contains(message, "b")))"#
        ]],
    );
    check(
        "a OR b c",
        expect![[
            r#"or(contains(message, "a"), and(contains(message, "b"), contains(message, "c")))"#
        ]],
    );
    check(
        "a OR b AND c",
        expect![[
            r#"or(contains(message, "a"), and(contains(message, "b"), contains(message, "c")))"#
        ]],
    );
    check(
        "(a OR b) c",
        expect![[
            r#"and(contains(message, "c"), or(contains(message, "a"), contains(message, "b")))"#
        ]],
    );
    check(
        "NOT a b",
        expect![[r#"and(not(contains(message, "a")), contains(message, "b"))"#]],
    );
    check(
        "NOT a OR b",
        expect![[r#"or(not(contains(message, "a")), contains(message, "b"))"#]],
    );
    check(
        "-a -b",
        expect![[r#"and(not(contains(message, "a")), not(contains(message, "b")))"#]],
    );
    check("NOT NOT a", expect![[r#"contains(message, "a")"#]]);
    check(
        "-(a OR b)",
        expect![[r#"not(or(contains(message, "a"), contains(message, "b")))"#]],
    );
    check(
        "NOT(a) AND(b)",
        expect![[r#"and(not(contains(message, "a")), contains(message, "b"))"#]],
    );
    check("((a))", expect![[r#"contains(message, "a")"#]]);
    check(
        "(a b) (c d)",
        expect![[
            r#"and(contains(message, "a"), contains(message, "b"), contains(message, "c"), contains(message, "d"))"#
        ]],
    );
    check(
        "a OR (b OR c)",
        expect![[r#"or(contains(message, "a"), contains(message, "b"), contains(message, "c"))"#]],
    );
    check("a OR *", expect!["all"]);
    check(
        "-#noise -@bot",
        expect![[r#"and(not(eq(topics, "noise")), not(eq(identities, "bot")))"#]],
    );
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

/// The sample events, by name.
fn events() -> Vec<(&'static str, Event)> {
    let at =
        |minutes_ago: i64| Timestamp::from_micros(now().as_micros() - minutes_ago * 60_000_000);
    let s = |text: &str| Some(Arc::from(text));
    let list = |items: &[&str]| items.iter().map(|&t| Arc::from(t)).collect::<Vec<_>>();

    let mut web1 = Event::new(
        Source::SyslogUdp,
        at(10),
        "Connection refused by upstream 10.0.0.7",
    );
    web1.host = s("web-1");
    web1.app = s("calculator");
    web1.version = s("1.2.3");
    web1.proc = s("123");
    web1.msgid = s("ID47");
    web1.severity = Severity::Warning;
    web1.facility = Some(16);
    web1.kind = s("page_load");
    web1.module = s("calc");
    web1.function = s("add");
    web1.line = Some(54);
    web1.tags = list(&["frontend", "Slow"]);
    web1.topics = list(&["checkout"]);
    web1.identities = list(&["bob"]);
    web1.fields = json!({
        "execution_time": 0.7,
        "url": "/api/v1/users",
        "code": 404,
        "ok": true,
        "gone": null,
        "http.method": "GET",
        "user": {"name": "Bob", "roles": ["admin", "dev"]},
    })
    .as_object()
    .cloned()
    .unwrap_or_default();

    let mut web2 = Event::new(Source::HttpJson, at(60), "Timeout after 30s: GRÖSSE Größe");
    web2.host = s("web-2");
    web2.app = s("calculator");
    web2.severity = Severity::Error;
    web2.kind = s("health");
    web2.fingerprint = s("ABCDEF01");
    web2.fields =
        json!({"execution_time": "0.3", "items": [{"name": "a"}, {"name": "b"}], "empty": ""})
            .as_object()
            .cloned()
            .unwrap_or_default();

    let mut db = Event::new(
        Source::SyslogTcp,
        at(2 * 24 * 60),
        "checkpoint complete: wrote 12 buffers",
    );
    db.host = s("db-1.example.com");
    db.app = s("postgres");
    db.facility = Some(3);
    db.topics = list(&["login_failed"]);
    db.identities = list(&["fearing"]);
    db.fields = json!({"code": "404", "sd@123": {"param": "x"}})
        .as_object()
        .cloned()
        .unwrap_or_default();

    let mut crash = Event::new(
        Source::Popcorn,
        at(1),
        "exception in handle_call: {badarg,[{foo,bar}]}",
    );
    crash.app = s("checkout");
    crash.severity = Severity::Critical;
    crash.module = s("pay_server");
    crash.line = Some(7);
    crash.version = s("2.0");

    let mut bare = Event::new(Source::Internal, at(0), "");
    bare.channel = Arc::from("_sift");
    bare.severity = Severity::Debug;

    vec![
        ("web1", web1),
        ("web2", web2),
        ("db", db),
        ("crash", crash),
        ("bare", bare),
    ]
}

/// The names of the sample events that `src` matches.
fn check_matches(src: &str, expect: Expect) {
    let actual = match parse(src) {
        Ok(query) => {
            let names: Vec<_> = events()
                .into_iter()
                .filter(|(_, event)| query.matches(event))
                .map(|(name, _)| name)
                .collect();
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(" ")
            }
        }
        Err(error) => format!("error: {error}"),
    };
    expect.assert_eq(&actual);
}

#[test]
fn matches_messages() {
    check_matches("", expect!["web1 web2 db crash bare"]);
    check_matches("-*", expect!["none"]);
    check_matches("refused", expect!["web1"]);
    check_matches("REFUSED", expect!["web1"]);
    check_matches("connection refused", expect!["web1"]);
    check_matches(r#""connection refused""#, expect!["web1"]);
    check_matches(r#""refused connection""#, expect!["none"]);
    check_matches("conn*upstream", expect!["web1"]);
    check_matches("conn*zebra", expect!["none"]);
    check_matches("10.0.0.7", expect!["web1"]);
    check_matches("größe", expect!["web2"]);
    check_matches("GRÖSSE", expect!["web2"]);
    check_matches("{badarg,[{foo,bar}]}", expect!["crash"]);
    check_matches(r#""handle_call:""#, expect!["crash"]);
    check_matches("message:*", expect!["web1 web2 db crash"]);
    check_matches(
        r#"msg:"checkpoint complete: wrote 12 buffers""#,
        expect!["db"],
    );
    check_matches("msg:checkpoint*", expect!["db"]);
    check_matches(r"message:/\d+ buffers$/", expect!["db"]);
    check_matches(
        "message:/(?i)TIMEOUT/ OR message:/TIMEOUT/",
        expect!["web2"],
    );
}

#[test]
fn matches_fields() {
    check_matches("host:web-1", expect!["web1"]);
    check_matches("host:WEB-1", expect!["web1"]);
    check_matches("host:web", expect!["none"]);
    check_matches("host:web-*", expect!["web1 web2"]);
    check_matches("host:*.example.com", expect!["db"]);
    check_matches("host:web-?", expect!["web1 web2"]);
    check_matches(r"host:/^(web|db)-\d/", expect!["web1 web2 db"]);
    check_matches("host:*", expect!["web1 web2 db"]);
    check_matches("-host:*", expect!["crash bare"]);
    check_matches(r#"host:"""#, expect!["crash bare"]);
    check_matches("channel:default", expect!["web1 web2 db crash"]);
    check_matches("channel:_sift", expect!["bare"]);
    check_matches(
        "app:calculator version:1.2.3 proc:123 msgid:id47",
        expect!["web1"],
    );
    check_matches("type:page_load OR type:health", expect!["web1 web2"]);
    check_matches("module:pay_*", expect!["crash"]);
    check_matches("function:add", expect!["web1"]);
    check_matches("fingerprint:abcdef01", expect!["web2"]);
    check_matches("tag:slow", expect!["web1"]);
    check_matches("tags:front*", expect!["web1"]);
    check_matches("tags:*", expect!["web1"]);
    check_matches("#checkout", expect!["web1"]);
    check_matches("#CHECKOUT OR @fearing", expect!["web1 db"]);
    check_matches("topic:login_*", expect!["db"]);
    check_matches("@bob", expect!["web1"]);
    check_matches("identity:/^fear/", expect!["db"]);
    check_matches("source:syslog_udp", expect!["web1"]);
    check_matches("source:syslog*", expect!["web1 db"]);
    check_matches("-source:popcorn -source:internal", expect!["web1 web2 db"]);
    check_matches("id:*", expect!["web1 web2 db crash bare"]);
}

#[test]
fn matches_orders() {
    check_matches("severity:warning", expect!["web1"]);
    check_matches("severity>=warning", expect!["web1 web2 crash"]);
    check_matches("severity>warning", expect!["web2 crash"]);
    check_matches("severity>=error", expect!["web2 crash"]);
    check_matches("severity<error", expect!["web1 db bare"]);
    check_matches("severity<=info", expect!["db bare"]);
    check_matches("severity:crit", expect!["crash"]);
    check_matches("severity:2", expect!["crash"]);
    check_matches("-severity:debug", expect!["web1 web2 db crash"]);
    check_matches("facility:local0", expect!["web1"]);
    check_matches("facility:*", expect!["web1 db"]);
    check_matches("facility<10", expect!["db"]);
    check_matches("-facility:daemon", expect!["web1 web2 crash bare"]);
    check_matches("line:54", expect!["web1"]);
    check_matches("line>10", expect!["web1"]);
    check_matches("line<=10", expect!["crash"]);
    check_matches("line:*", expect!["web1 crash"]);
    check_matches("line:5?", expect!["web1"]);
    check_matches("time>15m", expect!["web1 crash bare"]);
    check_matches("time>=1h", expect!["web1 web2 crash bare"]);
    check_matches("time<1d", expect!["db"]);
    check_matches(
        "time<2024-05-01T09:55:00Z time>2024-05-01T08:00:00Z",
        expect!["web1 web2"],
    );
    check_matches("received_at:now", expect!["bare"]);
    check_matches("received_at>=now", expect!["bare"]);
}

#[test]
fn matches_ids() {
    let events = events();
    let web1 = &events[0].1;
    let id = web1.id.to_string();
    for (src, expected) in [
        (format!("id:{id}"), true),
        (format!("id:{}", id.to_lowercase()), true),
        (format!("id>{id}"), false),
        (format!("id>={id}"), true),
        (format!("id:{}*", &id[..10]), true),
        ("id:ZZ*".to_owned(), false),
        (format!("id:/^{}/", &id[..4]), true),
    ] {
        assert_eq!(parse(&src).map(|q| q.matches(web1)), Ok(expected), "{src}");
    }
}

#[test]
fn matches_json_fields() {
    check_matches("fields.execution_time>0.5", expect!["web1"]);
    check_matches("fields.execution_time<0.5", expect!["web2"]);
    check_matches("fields.execution_time:*", expect!["web1 web2"]);
    check_matches("fields.code:404", expect!["web1 db"]);
    check_matches(r#"fields.code:"404""#, expect!["web1 db"]);
    check_matches("fields.code:40*", expect!["web1 db"]);
    check_matches("fields.code>=400", expect!["web1 db"]);
    check_matches("fields.ok:true", expect!["web1"]);
    check_matches("fields.ok:false", expect!["none"]);
    check_matches("fields.gone:null", expect!["web1"]);
    check_matches("fields.gone:*", expect!["none"]);
    check_matches("fields.empty:*", expect!["none"]);
    check_matches("fields.user:*", expect!["web1"]);
    check_matches("fields.user.name:bob", expect!["web1"]);
    check_matches("fields.user.roles:dev", expect!["web1"]);
    check_matches("fields.user.roles:/^adm/", expect!["web1"]);
    check_matches("fields.items.name:b", expect!["web2"]);
    check_matches("fields.http.method:get", expect!["web1"]);
    check_matches("fields.sd@123.param:x", expect!["db"]);
    check_matches(r"fields.url:/^\/api\/v\d+\//", expect!["web1"]);
    check_matches(r#"fields.url:"/api/v1/users""#, expect!["web1"]);
    check_matches("fields.missing:*", expect!["none"]);
    check_matches("-fields.missing:*", expect!["web1 web2 db crash bare"]);
}

#[test]
fn matches_boolean_structure() {
    check_matches("host:web-1 OR host:db-*", expect!["web1 db"]);
    check_matches("app:calculator -type:health", expect!["web1"]);
    check_matches("app:calculator NOT type:health", expect!["web1"]);
    check_matches(
        "app:calculator AND (severity:error OR line:54)",
        expect!["web1 web2"],
    );
    check_matches(
        "severity:debug OR app:postgres severity:info",
        expect!["db bare"],
    );
    check_matches(
        "(severity:debug OR app:postgres) severity:info",
        expect!["db"],
    );
    check_matches(
        "NOT (app:calculator OR app:postgres)",
        expect!["crash bare"],
    );
    check_matches("-(-host:*)", expect!["web1 web2 db"]);
    check_matches(
        r#"severity>=warning app:calculator host:web-* "connection refused" -type:health"#,
        expect!["web1"],
    );
    check_matches(
        "#login_failed @fearing (host:a OR host:db-1*)",
        expect!["db"],
    );
}

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
    check_error(
        "(a OR b",
        expect!["at position 7: expected `)` to close the `(` at position 0, found end of query"],
    );
    check_error(
        "a (b (c)",
        expect!["at position 8: expected `)` to close the `(` at position 2, found end of query"],
    );
    check_error(
        "a) b",
        expect!["at position 1: expected end of query, found `)` without a matching `(`"],
    );
    check_error(
        "()",
        expect!["at position 1: expected a term after `(`, found `)`"],
    );
    check_error(
        "connect())",
        expect!["at position 9: expected end of query, found `)` without a matching `(`"],
    );
    // Dangling operators.
    check_error(
        "a AND",
        expect!["at position 5: expected a term after `AND`, found end of query"],
    );
    check_error(
        "a OR",
        expect!["at position 4: expected a term after `OR`, found end of query"],
    );
    check_error(
        "OR a",
        expect!["at position 0: expected a term, found `OR`"],
    );
    check_error(
        "AND",
        expect!["at position 0: expected a term, found `AND`"],
    );
    check_error(
        "a OR OR b",
        expect!["at position 5: expected a term after `OR`, found `OR`"],
    );
    check_error(
        "a AND OR b",
        expect!["at position 6: expected a term after `AND`, found `OR`"],
    );
    check_error(
        "NOT",
        expect!["at position 3: expected a term after `NOT`, found end of query"],
    );
    check_error(
        "a NOT",
        expect!["at position 5: expected a term after `NOT`, found end of query"],
    );
    check_error(
        "a - b",
        expect!["at position 3: expected a term after `-`, found whitespace"],
    );
    check_error(
        "a -",
        expect!["at position 3: expected a term after `-`, found end of query"],
    );
    check_error(
        "(a OR)",
        expect!["at position 5: expected a term after `OR`, found `)`"],
    );
    check_error(
        "# a",
        expect!["at position 1: expected a topic after `#`, found whitespace"],
    );
    check_error(
        "@",
        expect!["at position 1: expected an identity after `@`, found end of query"],
    );
    // Missing values.
    check_error(
        "host:",
        expect!["at position 5: expected a value after `host:`, found end of query"],
    );
    check_error(
        "host: web",
        expect!["at position 5: expected a value after `host:`, found whitespace"],
    );
    check_error(
        "(host:)",
        expect!["at position 6: expected a value after `host:`, found `)`"],
    );
    check_error(
        "line>",
        expect!["at position 5: expected a value after `line>`, found end of query"],
    );
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
        expect![[
            r#"at position 9: expected `"` to close the quote at position 5, found end of query"#
        ]],
    );
    check_error(
        r#""abc \" def"#,
        expect![[
            r#"at position 11: expected `"` to close the quote at position 0, found end of query"#
        ]],
    );
    check_error(
        r#""a"b"#,
        expect![[
            r#"at position 3: expected whitespace, `)` or the end after the closing `"`, found `b`"#
        ]],
    );
    check_error(
        "host:/web",
        expect!["at position 9: expected `/` to close the regex at position 5, found end of query"],
    );
    check_error(
        r"host:/web\/",
        expect![
            "at position 11: expected `/` to close the regex at position 5, found end of query"
        ],
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
    check_error(
        "host:/(/",
        expect!["at position 5: expected a valid regex, found `/(/` (unclosed group)"],
    );
    check_error(
        "msg:/a{5,1}/",
        expect![
            "at position 4: expected a valid regex, found `/a{5,1}/` (invalid repetition count range, the start must be <= the end)"
        ],
    );
    // Values of the wrong kind.
    check_error(
        "line:abc",
        expect!["at position 5: expected a number after `line:`, found `abc`"],
    );
    check_error(
        "line>5x",
        expect!["at position 5: expected a number after `line>`, found `5x`"],
    );
    check_error(
        "line>inf",
        expect!["at position 5: expected a number after `line>`, found `inf`"],
    );
    check_error(
        "fields.x>fast",
        expect!["at position 9: expected a number after `fields.x>`, found `fast`"],
    );
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
        expect![
            "at position 0: expected a field path such as `fields.a.b` (no empty parts), found `fields.`"
        ],
    );
    check_error(
        "fields.a..b:x",
        expect![
            "at position 0: expected a field path such as `fields.a.b` (no empty parts), found `fields.a..b`"
        ],
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
        expect![
            "at position 16: expected end of filter, found `|` (pipes are not supported in a filter)"
        ],
    );
    check_error(
        "a|b",
        expect![
            "at position 1: expected end of filter, found `|` (pipes are not supported in a filter)"
        ],
    );
    check_error(
        "(a | b)",
        expect!["at position 3: expected `)` to close the `(` at position 0, found `|`"],
    );
    // Positions count characters, not bytes.
    check_error(
        "größe größe (",
        expect!["at position 13: expected a term after `(`, found end of query"],
    );
}

#[test]
fn error_fields() {
    let error = parse("app:x host:").err();
    let expected = ParseError {
        position: 11,
        expected: "a value after `host:`".to_owned(),
        found: "end of query".to_owned(),
    };
    assert_eq!(error, Some(expected));
}

#[test]
fn api() {
    let query = parse("  host:web-*  ").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(query.source(), "host:web-*");
    assert!(!query.is_all());
    let copy = query.clone();
    expect![[r#"Query { source: "host:web-*", compiled: starts_with(host, "web-") }"#]]
        .assert_eq(&format!("{copy:?}"));
    for src in ["", "*", "  ", "* * (*)", "host:* OR *"] {
        assert!(parse(src).is_ok_and(|q| q.is_all()), "{src:?}");
    }
    assert!(Query::all().is_all());
    assert_eq!(Query::all().source(), "");
    assert!(Query::parse("time>15m").is_ok());

    fn send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    send_sync_clone::<Query>();
}

#[test]
fn filter_prefix_stops_at_pipe() {
    let cases = [
        (
            "severity>=error | stats count() by app",
            "severity>=error",
            16,
        ),
        ("* | top 10 host", "*", 2),
        (r#"msg:"a|b" | limit 5"#, r#"msg:"a|b""#, 10),
        ("| stats count()", "", 0),
        ("a OR b", "a OR b", 6),
        ("x|y", "x", 1),
        // Nothing after the pipe is read, so what the pipe stage says cannot fail here.
        ("app:x | \"unterminated (", "app:x", 6),
    ];
    for (src, filter, stop) in cases {
        let (query, at) =
            parse_filter_prefix(src, now()).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        assert_eq!((query.source(), at), (filter, stop), "{src:?}");
        assert_eq!(
            &src[at..at + usize::from(at < src.len())],
            if at < src.len() { "|" } else { "" }
        );
    }
    let error = parse_filter_prefix("(a | b)", now())
        .err()
        .map(|e| e.to_string());
    expect!["at position 3: expected `)` to close the `(` at position 0, found `|`"]
        .assert_eq(&error.unwrap_or_default());
}

/// Garbage never panics: every prefix, every deletion and insertions of special characters into
/// valid queries, long runs of openers, and pseudo-random strings. Positions stay in range.
#[test]
fn garbage_never_panics() {
    let seeds = [
        r#"severity>=warning app:calculator host:web-* "connection refused" -type:health"#,
        "#login_failed @fearing line:54 fields.execution_time>0.5 (host:a OR host:b)",
        r#"NOT (a OR "b \" c") AND -d fields.x.y:/^a\/b$/ time>15m id>01HXZ5S3R8Q0Y7D9E2W4K6M1N3"#,
        "größe* facility:local* severity:err* source:syslog* msg:?x | stats",
    ];
    let specials = [
        "\"", "(", ")", "/", "\\", ":", ">", "<", "=", "-", "*", "?", "|", "#", "@", " ", "é",
        "AND ", "OR ", "NOT ",
    ];
    let events = events();
    let mut tried = 0;
    let mut run = |src: &str| {
        tried += 1;
        match parse(src) {
            Ok(query) => {
                for (_, event) in &events {
                    query.matches(event);
                }
            }
            Err(error) => assert!(error.position <= src.chars().count(), "{src:?}: {error}"),
        }
    };
    for seed in seeds {
        let boundaries: Vec<usize> = seed
            .char_indices()
            .map(|(i, _)| i)
            .chain([seed.len()])
            .collect();
        for &i in &boundaries {
            run(&seed[..i]);
            run(&seed[i..]);
            for special in specials {
                run(&format!("{}{special}{}", &seed[..i], &seed[i..]));
            }
        }
        for pair in boundaries.windows(2) {
            run(&format!("{}{}", &seed[..pair[0]], &seed[pair[1]..]));
        }
    }
    for opener in ["(", "-", "NOT ", "\"", "/", "#", "a:", "((a OR "] {
        run(&opener.repeat(10_000));
        run(&format!("{}x", opener.repeat(10_000)));
    }
    // A linear congruential generator over a small alphabet of meaningful characters.
    let alphabet: Vec<char> = "ab:*?\"\\/()|-#@<>=. é1ORANDNOT".chars().collect();
    let mut state: u64 = 0x5eed;
    for _ in 0..20_000 {
        let mut src = String::new();
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        for _ in 0..(state >> 59) {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            src.push(alphabet[(state >> 33) as usize % alphabet.len()]);
        }
        run(&src);
    }
    assert!(tried > 25_000, "{tried}");
}
