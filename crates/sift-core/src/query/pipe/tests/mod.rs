//! Data-driven tests of pipes: the table each stage and aggregate gives over a fixed set of
//! twenty sample events ([`tables`]), the parse errors and where they point ([`errors`]), and
//! here the public API, merging partial runs, the bounds, and a robustness sweep.

mod errors;
mod tables;

use std::sync::Arc;

use expect_test::{Expect, expect};
use serde_json::Value;

use super::{PipedQuery, Plan, Run, StageKind, Table};
use crate::event::Source;
use crate::{Event, Severity, Timestamp};

/// 2024-05-01T10:00:00Z: the `now` of every test.
fn now() -> Timestamp {
    Timestamp::from_micros(1_714_557_600_000_000)
}

fn parse(src: &str) -> PipedQuery {
    PipedQuery::parse_at(src, now()).unwrap_or_else(|e| panic!("{src:?}: {e}"))
}

/// Twenty events over ten minutes: hosts (one absent), apps, severities, tags, and `fields`
/// with numbers, numeric strings, a value that is not a number, an object and an array.
/// Columns: seconds after 09:50:00, host, app, severity, message, tags, fields.
const EVENTS: &str = r#"
    0 | web-1 | checkout   | info     | GET /cart 200       | frontend      | {"url": "/cart", "execution_time": 0.125, "user": "bob", "code": 200}
   20 | web-1 | checkout   | info     | GET /cart 200       | frontend      | {"url": "/cart", "execution_time": 0.25, "user": "alice", "code": 200}
   45 | web-2 | checkout   | warning  | slow GET /pay       | frontend slow | {"url": "/pay", "execution_time": 1.5, "user": "bob", "code": 200}
   70 | web-2 | checkout   | error    | payment refused     | payments      | {"url": "/pay", "execution_time": "2.5", "user": "carol", "code": "502"}
   95 | web-1 | calculator | info     | add 1 2             |               | {"execution_time": 0.5}
  130 | db-1  | postgres   | notice   | checkpoint complete |               | {}
  150 | web-1 | checkout   | info     | GET /cart 200       | frontend      | {"url": "/cart", "execution_time": 0.375, "user": "bob", "code": 200}
  185 | web-2 | checkout   | error    | payment refused     | payments      | {"url": "/pay", "execution_time": 3, "user": "dave", "code": 502}
  200 |       | checkout   | debug    | cache miss          |               | {"url": "/cart"}
  240 | web-1 | calculator | error    | division by zero    | math          | {"execution_time": "n/a"}
  260 | web-2 | checkout   | info     | GET /pay 200        | frontend      | {"url": "/pay", "execution_time": 0.75, "user": "alice", "code": 200}
  300 | db-1  | postgres   | warning  | slow query          | slow          | {"execution_time": 4.5, "query": {"table": "users"}}
  330 | web-1 | checkout   | info     | GET /cart 200       | frontend      | {"url": "/cart", "execution_time": 0.125, "user": "erin", "code": 200}
  360 | web-2 | checkout   | critical | out of memory       |               | {}
  390 | web-1 | calculator | info     | mul 3 4             |               | {"execution_time": 0.25}
  420 | db-1  | postgres   | error    | deadlock detected   |               | {"execution_time": 2}
  450 | web-1 | checkout   | info     | GET /cart 200       | frontend      | {"url": "/cart", "execution_time": 0.5, "user": "bob", "code": 200}
  480 | web-2 | checkout   | warning  | retrying payment    | payments slow | {"url": "/pay", "execution_time": 1.25, "user": "carol"}
  540 | web-1 | checkout   | info     | GET / 200           | frontend      | {"url": "/", "execution_time": 0.0625, "user": "frank", "code": 200}
  590 | db-1  | postgres   | info     | vacuum done         |               | {"execution_time": [1, 2]}
"#;

/// The sample events, oldest first.
fn events() -> Vec<Event> {
    EVENTS.lines().filter(|line| !line.trim().is_empty()).map(sample).collect()
}

fn sample(line: &str) -> Event {
    let columns: Vec<&str> = line.split('|').map(str::trim).collect();
    let [seconds, host, app, severity, message, tags, fields] = columns[..] else {
        panic!("a sample event has seven columns: {line}");
    };
    let seconds: i64 = seconds.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
    let time = Timestamp::from_micros(now().as_micros() - 600_000_000 + seconds * 1_000_000);
    let mut event = Event::new(Source::HttpJson, time, message);
    event.host = (!host.is_empty()).then(|| Arc::from(host));
    event.app = Some(Arc::from(app));
    event.severity = severity.parse::<Severity>().unwrap_or_else(|e| panic!("{line}: {e}"));
    event.tags = tags.split_whitespace().map(Arc::from).collect();
    event.fields = serde_json::from_str(fields).unwrap_or_else(|e| panic!("{line}: {e}"));
    event
}

/// Runs `query` over `events` in one run.
fn run(query: &PipedQuery, events: &[Event]) -> Table {
    let mut run = query.start();
    events.iter().filter(|e| query.filter().matches(e)).for_each(|e| run.add(e));
    run.finish()
}

/// The table of `src` over the sample events, as text; or its parse error.
fn check(src: &str, expect: Expect) {
    let actual = match PipedQuery::parse_at(src, now()) {
        Ok(query) => run(&query, &events()).to_string(),
        Err(error) => format!("error: {error}"),
    };
    expect.assert_eq(&actual);
}

#[test]
fn api() {
    let query = parse("severity>=error | stats count() by app, host | sort -count | limit 10");
    assert!(query.has_stages() && !query.rows_are_events());
    assert_eq!(query.filter().source(), "severity>=error");
    let stages: Vec<(StageKind, &str)> = query.stages().iter().map(|s| (s.kind(), s.text())).collect();
    assert_eq!(
        stages,
        [
            (StageKind::Stats, "stats count() by app, host"),
            (StageKind::Sort, "sort -count"),
            (StageKind::Limit, "limit 10")
        ]
    );
    expect![[
        r#"PipedQuery { filter: "severity>=error", stages: ["stats count() by app, host", "sort -count", "limit 10"] }"#
    ]]
    .assert_eq(&format!("{query:?}"));
    let plain = parse("host:web-1");
    assert!(!plain.has_stages() && plain.rows_are_events());
    assert!(PipedQuery::parse("* | stats count()").is_ok());

    fn send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    send_sync_clone::<PipedQuery>();
    fn send<T: Send + 'static>() {}
    send::<Run>();
}

/// Splitting the events between runs in any way and merging the runs in any order gives the
/// table one run gives.
#[test]
fn merged_runs_equal_one_run() {
    let queries = [
        "* | stats count(), count(fields.user), sum(fields.execution_time), avg(fields.execution_time), \
         min(fields.execution_time), max(fields.execution_time), p50(fields.execution_time), \
         p99(fields.execution_time), count_distinct(fields.user), min(time) by app",
        "* | stats count() by tags, host",
        "* | timechart 2m count(), max(fields.execution_time) by severity",
        "* | timechart 1m count() by message",
        "* | top 3 fields.user",
        "*",
        "* | sort -fields.execution_time | limit 4 | sort host | fields host, fields.execution_time",
        "* | limit 5 | sort app",
        "severity>=warning | fields time, message",
    ];
    let events = events();
    for src in queries {
        let query = parse(src);
        let one = run(&query, &events);
        let splits: [&dyn Fn(usize) -> usize; 4] = [&|i| i % 2, &|i| usize::from(i >= 7), &|i| i % 3, &|i| (i * 7) % 4];
        for split in splits {
            let mut runs: Vec<Run> = (0..4).map(|_| query.start()).collect();
            for (i, event) in events.iter().enumerate().rev() {
                if query.filter().matches(event) && split(i) != 3 {
                    runs[split(i)].add(event);
                }
            }
            let last = events.iter().enumerate().filter(|(i, e)| split(*i) == 3 && query.filter().matches(e));
            runs[3].add_all(last.map(|(_, e)| e));
            let mut merged = query.start();
            for part in runs.into_iter().rev() {
                let mut part = part;
                part.merge(std::mem::replace(&mut merged, query.start()));
                merged = part;
            }
            assert_eq!(merged.finish(), one, "{src}");
        }
    }
}

/// Over the bound on groups, further groups are counted in `other`, and the table says so.
#[test]
fn bounded_groups() {
    let bounded = |src: &str, max: usize| {
        let mut query = parse(src);
        if let Some(Plan::Table(plan)) = Arc::get_mut(&mut query.plan) {
            plan.spec.max_groups = max;
        }
        run(&query, &events()).to_string()
    };
    expect![[r#"
        host     count
        "web-1"  9
        "web-2"  6
        "other"  5
        # more than 2 groups: the events of further groups are counted in the row `other`
    "#]]
    .assert_eq(&bounded("* | stats count() by host", 2));
    expect![[r#"
        host     count
        "web-1"  9
        "web-2"  6
        # more than 2 distinct values: values first seen after that were not counted, so the list may miss some
    "#]]
    .assert_eq(&bounded("* | top host", 2));
    expect![[r#"
        time                    count
        "2024-05-01T09:50:00Z"  3
        # more than 1 buckets and series: 17 events of further ones are not charted
    "#]]
    .assert_eq(&bounded("* | timechart 1m count()", 1));
}

/// Sketches, long time spans and events with many key values are noted.
#[test]
fn estimates_and_caps_are_noted() {
    let base = events().remove(0);
    let many: Vec<Event> = (0..3000)
        .map(|i| {
            let mut event = base.clone();
            event.time = Timestamp::from_micros(base.time.as_micros() + i * 20_000_000);
            event.fields =
                serde_json::from_value(serde_json::json!({"n": i, "user": format!("u{i}")})).unwrap_or_default();
            event.tags = (0..70).map(|t| Arc::from(format!("t{}", t % 66))).collect();
            event
        })
        .collect();
    let table = |src: &str| run(&parse(src), &many).to_string();
    expect![[r#"
        p50(fields.n)     p99(fields.n)       count_distinct(fields.user)
        1495.46680134153  2951.9355322531783  2990
        # p50(fields.n): estimated within 1% where a group has more than 1024 values
        # p99(fields.n): estimated within 1% where a group has more than 1024 values
        # count_distinct(fields.user): estimated within about 1% where a group has more than 2048 distinct values
    "#]]
    .assert_eq(&table("* | stats p50(fields.n), p99(fields.n), count_distinct(fields.user)"));
    expect![[r#"
        tags   count
        "t0"   3000
        "t1"   3000
        "t10"  3000
        # 3000 events had more than 64 values in a field or 64 groups; the rest were not counted
    "#]]
    .assert_eq(&table("* | stats count() by tags | sort -count | limit 3"));
    expect![[r#"
        time                    count
        "2024-05-01T09:50:00Z"  1
        "2024-05-01T09:50:20Z"  1
        # more than 10000 buckets: only buckets with events are listed
    "#]]
    .assert_eq(&table("* | timechart 1s count() | limit 2"));
}

/// Without a limit a run shows the newest 1,000 events and says how many matched; it keeps
/// no more than that however many it is fed.
#[test]
fn events_default_limit() {
    let query = parse("* | fields time");
    let mut runs = [query.start(), query.start()];
    let base = events().remove(0);
    let at = |offset: u64| Timestamp::from_micros(base.time.as_micros() + offset as i64);
    for i in 0..3000u64 {
        let mut event = base.clone();
        // A permutation of 0..3000 (7919 is prime): the events arrive out of order.
        event.time = at(i * 7919 % 3000);
        event.id = ulid::Ulid::from_parts(i, 0);
        runs[(i % 2) as usize].add(&event);
    }
    let [mut a, b] = runs;
    a.merge(b);
    let table = a.finish();
    let times: Vec<Value> = table.rows.iter().filter_map(|row| row.first().cloned()).collect();
    let newest: Vec<Value> = (2000..3000).rev().map(|offset| Value::from(at(offset).to_rfc3339())).collect();
    assert_eq!(times, newest);
    expect![["showing the first 1000 of 3000 events; add `| limit N` to choose how many"]]
        .assert_eq(&table.notes.join("\n"));
}

/// No query text panics, in parsing or in running over the sample events.
#[test]
fn garbage_never_panics() {
    let seeds = [
        "severity>=error | stats count(), avg(fields.t) as a, p99.9(fields.t) by app, host | sort -p99.9, a | limit 10",
        "app:x | timechart 5m count(), max(time) by severity | fields time, error | sort -time",
        "* | top 3 tags | sort count | limit 1 | fields count",
        "host:web-* | sort -fields.execution_time, + host | limit 5 | fields time, fields.a.b, tags",
        "* | stats count_distinct(fields.user) as users, min(line) | sort - users",
    ];
    let specials = ["|", "(", ")", ",", "-", "+", " ", "by ", "as ", "stats ", "1m ", "p", "0", ".", "\"", "é"];
    let events = events();
    let mut tried = 0;
    let mut attempt = |src: &str| {
        tried += 1;
        match PipedQuery::parse_at(src, now()) {
            Ok(query) => {
                let _ = run(&query, &events).to_string();
            }
            Err(error) => assert!(error.position <= src.chars().count(), "{src:?}: {error}"),
        }
    };
    for seed in seeds {
        let boundaries: Vec<usize> = seed.char_indices().map(|(i, _)| i).chain([seed.len()]).collect();
        for &i in &boundaries {
            attempt(&seed[..i]);
            attempt(&seed[i..]);
            for special in specials {
                attempt(&format!("{}{special}{}", &seed[..i], &seed[i..]));
            }
        }
        for pair in boundaries.windows(2) {
            attempt(&format!("{}{}", &seed[..pair[0]], &seed[pair[1]..]));
        }
    }
    let alphabet: Vec<char> = "|(),-+ *.é01mpstatsbyorcuntimechartopfields".chars().collect();
    let mut state: u64 = 0x5eed;
    for _ in 0..5_000 {
        let mut src = String::from("* |");
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        for _ in 0..(state >> 59) {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            src.push(alphabet[(state >> 33) as usize % alphabet.len()]);
        }
        attempt(&src);
    }
    assert!(tried > 10_000, "{tried}");
}

/// The fields a piped query reads: the filter's and its stages'.
#[test]
fn fields_read() {
    let check = |src: &str, expect: Expect| expect.assert_eq(&format!("{:?}", parse(src).fields()));
    check("* | stats count()", expect!["{}"]);
    check("* | stats count() by severity", expect!["{severity}"]);
    check("host:a | stats count()", expect!["{host}"]);
    check("* | stats avg(fields.latency) by host", expect!["{host, fields}"]);
    check("* | stats count(), p99(line) by tags, app | sort -count | limit 3", expect!["{app, line, tags}"]);
    check("app:x | timechart 1m count() by severity", expect!["{time, app, severity}"]);
    check("* | top 5 fields.url", expect!["{fields}"]);
    check("* | fields host, message", expect!["{id, time, host, message}"]);
    check("* | sort app | limit 3 | sort -line | fields host", expect!["{id, time, host, app, line}"]);
    check("refused", expect!["{id, time, host, app, severity, message}"]);
}
