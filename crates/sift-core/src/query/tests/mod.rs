//! Data-driven tests of the query language: the compiled form of each construct
//! ([`compile`]), which sample events each construct matches ([`matches`]), the parse errors
//! and their messages ([`errors`]), the bounds on what a query may compile ([`budget`]), and
//! the public API with a robustness sweep over mutated queries ([`api`]). This file holds what they share: the clock and the sample events.

mod api;
mod budget;
mod compile;
mod errors;
mod matches;
mod reads;

use std::sync::Arc;

use serde_json::json;

use super::{ParseError, Query};
use crate::event::Source;
use crate::{Event, Severity, Timestamp};

/// 2024-05-01T10:00:00Z: the `now` of every test.
fn now() -> Timestamp {
    Timestamp::from_micros(1_714_557_600_000_000)
}

fn parse(src: &str) -> Result<Query, ParseError> {
    Query::parse_at(src, now())
}

/// The sample events, by name.
fn events() -> Vec<(&'static str, Event)> {
    let at = |minutes_ago: i64| Timestamp::from_micros(now().as_micros() - minutes_ago * 60_000_000);
    let s = |text: &str| Some(Arc::from(text));
    let list = |items: &[&str]| items.iter().map(|&t| Arc::from(t)).collect::<Vec<_>>();

    let mut web1 = Event::new(Source::SyslogUdp, at(10), "Connection refused by upstream 10.0.0.7");
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
    web2.fields = json!({"execution_time": "0.3", "items": [{"name": "a"}, {"name": "b"}], "empty": ""})
        .as_object()
        .cloned()
        .unwrap_or_default();

    let mut db = Event::new(Source::SyslogTcp, at(2 * 24 * 60), "checkpoint complete: wrote 12 buffers");
    db.host = s("db-1.example.com");
    db.app = s("postgres");
    db.facility = Some(3);
    db.topics = list(&["login_failed"]);
    db.identities = list(&["fearing"]);
    db.fields = json!({"code": "404", "sd@123": {"param": "x"}}).as_object().cloned().unwrap_or_default();

    let mut crash = Event::new(Source::Popcorn, at(1), "exception in handle_call: {badarg,[{foo,bar}]}");
    crash.app = s("checkout");
    crash.severity = Severity::Critical;
    crash.module = s("pay_server");
    crash.line = Some(7);
    crash.version = s("2.0");

    let mut bare = Event::new(Source::Internal, at(0), "");
    bare.channel = Arc::from("_sift");
    bare.severity = Severity::Debug;

    vec![("web1", web1), ("web2", web2), ("db", db), ("crash", crash), ("bare", bare)]
}
