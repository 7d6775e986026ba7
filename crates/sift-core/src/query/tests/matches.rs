//! Which of the sample events each construct matches.

use expect_test::{Expect, expect};

use super::{events, parse};

/// The names of the sample events that `src` matches.
fn check_matches(src: &str, expect: Expect) {
    let actual = match parse(src) {
        Ok(query) => {
            let names: Vec<_> =
                events().into_iter().filter(|(_, event)| query.matches(event)).map(|(name, _)| name).collect();
            if names.is_empty() { "none".to_owned() } else { names.join(" ") }
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
    check_matches(r#"msg:"checkpoint complete: wrote 12 buffers""#, expect!["db"]);
    check_matches("msg:checkpoint*", expect!["db"]);
    check_matches(r"message:/\d+ buffers$/", expect!["db"]);
    check_matches("message:/(?i)TIMEOUT/ OR message:/TIMEOUT/", expect!["web2"]);
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
    check_matches("app:calculator version:1.2.3 proc:123 msgid:id47", expect!["web1"]);
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
    check_matches("time<2024-05-01T09:55:00Z time>2024-05-01T08:00:00Z", expect!["web1 web2"]);
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
    check_matches("app:calculator AND (severity:error OR line:54)", expect!["web1 web2"]);
    check_matches("severity:debug OR app:postgres severity:info", expect!["db bare"]);
    check_matches("(severity:debug OR app:postgres) severity:info", expect!["db"]);
    check_matches("NOT (app:calculator OR app:postgres)", expect!["crash bare"]);
    check_matches("-(-host:*)", expect!["web1 web2 db"]);
    check_matches(r#"severity>=warning app:calculator host:web-* "connection refused" -type:health"#, expect!["web1"]);
    check_matches("#login_failed @fearing (host:a OR host:db-1*)", expect!["db"]);
}
