//! The table of every stage and aggregate over the sample events.

use expect_test::{Expect, expect};

use super::{check, now, parse};
use crate::{Event, Timestamp};

#[test]
fn stats() {
    check(
        "* | stats count() by severity",
        expect![[r#"
        severity    count
        "debug"     1
        "info"      10
        "notice"    1
        "warning"   3
        "error"     4
        "critical"  1
    "#]],
    );
    check(
        "* | stats count by app, host",
        expect![[r#"
            app           host     count
            "calculator"  "web-1"  3
            "checkout"    "web-1"  6
            "checkout"    "web-2"  6
            "checkout"    null     1
            "postgres"    "db-1"   4
        "#]],
    );
    check(
        "severity>=error | stats count()",
        expect![[r#"
        count
        5
    "#]],
    );
    check(
        "host:nothing | stats count(), sum(fields.execution_time), count_distinct(host)",
        expect![[r#"
        count  sum(fields.execution_time)  count_distinct(host)
        0      null                        0
    "#]],
    );
    check(
        "host:nothing | stats count() by host",
        expect![[r#"
        host  count
    "#]],
    );
    check(
        "* | stats count(), count(fields.user), sum(fields.execution_time), avg(fields.execution_time), \
         min(fields.execution_time), max(fields.execution_time) by app",
        expect![[r#"
            app           count  count(fields.user)  sum(fields.execution_time)  avg(fields.execution_time)  min(fields.execution_time)  max(fields.execution_time)
            "calculator"  3      0                   0.75                        0.375                       0.25                        0.5
            "checkout"    13     11                  10.4375                     0.9488636363636364          0.0625                      3
            "postgres"    4      0                   9.5                         2.375                       1                           4.5
            # fields.execution_time: left out 1 value that is not a number
        "#]],
    );
    check(
        "* | stats p50(fields.execution_time), p90(fields.execution_time), p99(fields.execution_time), \
         p99.9(fields.execution_time) by app | sort -p99",
        expect![[r#"
            app           p50(fields.execution_time)  p90(fields.execution_time)  p99(fields.execution_time)  p99.9(fields.execution_time)
            "postgres"    2                           4.5                         4.5                         4.5
            "checkout"    0.5                         2.5                         3                           3
            "calculator"  0.25                        0.5                         0.5                         0.5
            # fields.execution_time: left out 1 value that is not a number
        "#]],
    );
    check(
        "* | stats count_distinct(fields.user), count_distinct(host), count_distinct(tags)",
        expect![[r#"
        count_distinct(fields.user)  count_distinct(host)  count_distinct(tags)
        6                            3                     4
    "#]],
    );
    check(
        "* | stats min(time), max(time) by host",
        expect![[r#"
            host     min(time)               max(time)
            "db-1"   "2024-05-01T09:52:10Z"  "2024-05-01T09:59:50Z"
            "web-1"  "2024-05-01T09:50:00Z"  "2024-05-01T09:59:00Z"
            "web-2"  "2024-05-01T09:50:45Z"  "2024-05-01T09:58:00Z"
            null     "2024-05-01T09:53:20Z"  "2024-05-01T09:53:20Z"
        "#]],
    );
    check(
        "* | stats avg(severity), max(facility), sum(line)",
        expect![[r#"
        avg(severity)  max(facility)  sum(line)
        4.9            null           null
    "#]],
    );
    check(
        "* | STATS Count() AS n, AVG(fields.execution_time) as mean BY app",
        expect![[r#"
            app           n   mean
            "calculator"  3   0.375
            "checkout"    13  0.9488636363636364
            "postgres"    4   2.375
            # fields.execution_time: left out 1 value that is not a number
        "#]],
    );
}

#[test]
fn stats_keys() {
    // A list puts the event in one group per element; no element groups under null.
    check(
        "* | stats count() by tags",
        expect![[r#"
            tags        count
            "frontend"  8
            "math"      1
            "payments"  3
            "slow"      3
            null        7
        "#]],
    );
    check(
        "app:checkout | stats count() by tags, host",
        expect![[r#"
            tags        host     count
            "frontend"  "web-1"  6
            "frontend"  "web-2"  2
            "payments"  "web-2"  3
            "slow"      "web-2"  2
            null        "web-2"  1
            null        null     1
        "#]],
    );
    // JSON values group by type; objects by their text; an array by each element.
    check(
        "* | stats count() by fields.code",
        expect![[r#"
            fields.code  count
            200          8
            502          1
            "502"        1
            null         10
        "#]],
    );
    check(
        "* | stats count() by fields.query, fields.query.table",
        expect![[r#"
            fields.query             fields.query.table  count
            "{\"table\":\"users\"}"  "users"             1
            null                     null                19
        "#]],
    );
    check(
        "app:postgres | stats count() by fields.execution_time",
        expect![[r#"
            fields.execution_time  count
            1                      1
            2                      2
            4.5                    1
            null                   1
        "#]],
    );
    check(
        "* | stats count() by source, severity, facility, line",
        expect![[r#"
        source       severity    facility  line  count
        "http_json"  "debug"     null      null  1
        "http_json"  "info"      null      null  10
        "http_json"  "notice"    null      null  1
        "http_json"  "warning"   null      null  3
        "http_json"  "error"     null      null  4
        "http_json"  "critical"  null      null  1
    "#]],
    );
}

#[test]
fn stats_then_table_stages() {
    check(
        "* | stats count() by host | sort -count, host",
        expect![[r#"
        host     count
        "web-1"  9
        "web-2"  6
        "db-1"   4
        null     1
    "#]],
    );
    check(
        "* | stats count() as n by app, host | sort -n, host | limit 3",
        expect![[r#"
        app         host     n
        "checkout"  "web-1"  6
        "checkout"  "web-2"  6
        "postgres"  "db-1"   4
    "#]],
    );
    check(
        "* | stats count(), avg(fields.execution_time) by app | sort -avg | fields avg, app",
        expect![[r#"
            avg(fields.execution_time)  app
            2.375                       "postgres"
            0.9488636363636364          "checkout"
            0.375                       "calculator"
            # fields.execution_time: left out 1 value that is not a number
        "#]],
    );
    check(
        "* | stats count() by host | sort host | limit 2 | sort -count",
        expect![[r#"
        host     count
        "web-1"  9
        "db-1"   4
    "#]],
    );
    check(
        "* | stats max(fields.execution_time) by app | sort max(fields.execution_time)",
        expect![[r#"
            app           max(fields.execution_time)
            "calculator"  0.5
            "checkout"    3
            "postgres"    4.5
            # fields.execution_time: left out 1 value that is not a number
        "#]],
    );
    check(
        "* | stats count() by host | limit 0",
        expect![[r#"
        host  count
    "#]],
    );
}

#[test]
fn timechart() {
    check(
        "* | timechart 1m count()",
        expect![[r#"
        time                    count
        "2024-05-01T09:50:00Z"  3
        "2024-05-01T09:51:00Z"  2
        "2024-05-01T09:52:00Z"  2
        "2024-05-01T09:53:00Z"  2
        "2024-05-01T09:54:00Z"  2
        "2024-05-01T09:55:00Z"  2
        "2024-05-01T09:56:00Z"  2
        "2024-05-01T09:57:00Z"  2
        "2024-05-01T09:58:00Z"  1
        "2024-05-01T09:59:00Z"  2
    "#]],
    );
    check(
        "* | timechart 2m count() by severity",
        expect![[r#"
        time                    debug  info  notice  warning  error  critical
        "2024-05-01T09:50:00Z"  0      3     0       1        1      0
        "2024-05-01T09:52:00Z"  1      1     1       0        1      0
        "2024-05-01T09:54:00Z"  0      2     0       1        1      0
        "2024-05-01T09:56:00Z"  0      2     0       0        1      1
        "2024-05-01T09:58:00Z"  0      2     0       1        0      0
    "#]],
    );
    check(
        "app:checkout | timechart 5m count(), avg(fields.execution_time) by host",
        expect![[r#"
            time                    count: web-1  avg(fields.execution_time): web-1  count: web-2  avg(fields.execution_time): web-2  count: null  avg(fields.execution_time): null
            "2024-05-01T09:50:00Z"  3             0.25                               4             1.9375                             1            null
            "2024-05-01T09:55:00Z"  3             0.22916666666666666                2             1.25                               0            null
        "#]],
    );
    check(
        "* | timechart 5m max(fields.execution_time), p50(fields.execution_time)",
        expect![[r#"
            time                    max(fields.execution_time)  p50(fields.execution_time)
            "2024-05-01T09:50:00Z"  3                           0.5
            "2024-05-01T09:55:00Z"  4.5                         1
            # fields.execution_time: left out 1 value that is not a number
        "#]],
    );
    // Fifteen distinct messages: the ten with the most events, and `other`.
    check(
        "* | timechart 10m count() by message",
        expect![[r#"
        time                    GET / 200  GET /cart 200  GET /pay 200  add 1 2  cache miss  checkpoint complete  deadlock detected  division by zero  mul 3 4  payment refused  other
        "2024-05-01T09:50:00Z"  1          5              1             1        1           1                    1                  1                 1        2                5
        # 15 series: the 10 with the most events are shown, the others are merged into `other`
    "#]],
    );
    check(
        "severity>=error | timechart 1m count() | sort -count, time | limit 3",
        expect![[r#"
        time                    count
        "2024-05-01T09:51:00Z"  1
        "2024-05-01T09:53:00Z"  1
        "2024-05-01T09:54:00Z"  1
    "#]],
    );
    check(
        "host:nothing | timechart 1m count()",
        expect![[r#"
        time  count
    "#]],
    );
}

/// The table of `src` over the sample events taken from `since` to `until` (RFC 3339).
fn check_over(src: &str, since: &str, until: &str, expect: Expect) {
    let (since, until) = (Timestamp::parse_rfc3339(since).unwrap(), Timestamp::parse_rfc3339(until).unwrap());
    let query = parse(src);
    let mut run = query.start();
    let within = |e: &&Event| e.time >= since && e.time < until && query.filter().matches(e);
    super::events().iter().filter(within).for_each(|e| run.add(e));
    expect.assert_eq(&run.finish_over(since, until).to_string());
}

#[test]
fn timechart_over_a_range_lists_every_bucket_of_it() {
    // From a step before the first event to after the last; the first bucket starts at the
    // step that holds `since`.
    check_over(
        "severity>=error | timechart 2m count(), max(fields.execution_time)",
        "2024-05-01T09:47:30Z",
        "2024-05-01T09:55:00Z",
        expect![[r#"
            time                    count  max(fields.execution_time)
            "2024-05-01T09:46:00Z"  0      null
            "2024-05-01T09:48:00Z"  0      null
            "2024-05-01T09:50:00Z"  1      2.5
            "2024-05-01T09:52:00Z"  1      3
            "2024-05-01T09:54:00Z"  1      null
            # fields.execution_time: left out 1 value that is not a number
        "#]],
    );
    // Over no events: every bucket, empty; with `by`, no series to show.
    check_over(
        "host:nothing | timechart 1m count()",
        "2024-05-01T09:50:00Z",
        "2024-05-01T09:53:00Z",
        expect![[r#"
            time                    count
            "2024-05-01T09:50:00Z"  0
            "2024-05-01T09:51:00Z"  0
            "2024-05-01T09:52:00Z"  0
        "#]],
    );
    check_over(
        "host:nothing | timechart 1m count() by host",
        "2024-05-01T09:50:00Z",
        "2024-05-01T09:52:00Z",
        expect![[r#"
            time
            "2024-05-01T09:50:00Z"
            "2024-05-01T09:51:00Z"
        "#]],
    );
    // A range of more than 10,000 buckets lists those between the first and last events.
    check_over(
        "severity:critical OR severity:debug | timechart 1m count()",
        "2024-04-22T00:00:00Z",
        "2024-05-01T10:00:00Z",
        expect![[r#"
            time                    count
            "2024-05-01T09:53:00Z"  1
            "2024-05-01T09:54:00Z"  0
            "2024-05-01T09:55:00Z"  0
            "2024-05-01T09:56:00Z"  1
        "#]],
    );
}

/// A range from before any time RFC 3339 can name (an age of `i64::MAX` microseconds, as
/// `since=9223372036854775807us` asked) to 2200 wrapped the bucket count past the 10,000-bucket
/// cap, and the timechart filled memory with empty rows until the process died. Such a range
/// is refused before a scan (`check_range`), and fed to `finish_over` anyway it lists only the
/// buckets with events.
#[test]
fn r_timechart_over_the_whole_of_time_does_not_wrap() {
    let query = parse("* | timechart 1h count()");
    let until = Timestamp::parse_rfc3339("2200-01-01T00:00:00Z").unwrap();
    let mut tables = Vec::new();
    for since in [Timestamp(now().as_micros() - i64::MAX), Timestamp::MIN, Timestamp::EARLIEST] {
        let error = query.check_range(since, until).err().map(|e| e.buckets);
        assert!(error.is_some_and(|buckets| buckets > 10_000), "{since:?}: {error:?}");
        let mut run = query.start();
        super::events().iter().for_each(|e| run.add(e));
        tables.push(run.finish_over(since, until).to_string());
    }
    tables.dedup();
    expect![[r#"
        [
            "time                    count\n\"2024-05-01T09:00:00Z\"  20\n",
        ]
    "#]]
    .assert_debug_eq(&tables);
    let error = query.check_range(Timestamp::EARLIEST, until).err().map(|e| e.to_string());
    expect![[r#"Some("a timechart of 1h steps from -009999-01-02T01:59:59Z to 2200-01-01T00:00:00Z would list 106934207 buckets, more than the 10000 a timechart may list: use a longer step or a shorter range")"#]].assert_eq(&format!("{error:?}"));
    // The extremes of the step and of time.
    let huge = parse("* | timechart 9223372036854775807us count()");
    assert_eq!(huge.check_range(Timestamp::MIN, Timestamp::MAX), Ok(()));
    let mut run = huge.start();
    super::events().iter().for_each(|e| run.add(e));
    assert!(run.finish_over(Timestamp::MIN, Timestamp::MAX).rows.len() <= 3);
    let tiny = parse("* | timechart 1us count()");
    assert!(tiny.check_range(Timestamp::MIN, Timestamp::MAX).is_err());
    assert_eq!(tiny.check_range(until, Timestamp(until.as_micros() + 10_000)), Ok(()));
    assert_eq!(tiny.check_range(until, Timestamp::MIN), Ok(()));
    // Within the cap, every bucket is listed.
    let day = parse("* | timechart 1d count()");
    let since = Timestamp::parse_rfc3339("2000-01-01T00:00:00Z").unwrap();
    assert_eq!(
        day.check_range(since, until),
        Err(crate::query::TooManyBuckets { step: "1d".to_owned(), since, until, buckets: 73_049 })
    );
    let week = parse("* | timechart 7d count()");
    assert!(week.check_range(since, until).is_err_and(|e| e.buckets == 10_436));
    let since = Timestamp::parse_rfc3339("2100-01-01T00:00:00Z").unwrap();
    assert_eq!(week.check_range(since, until), Ok(()));
    let mut run = week.start();
    super::events().iter().for_each(|e| run.add(e));
    assert_eq!(run.finish_over(since, until).rows.len(), 5_219);
}

#[test]
fn top() {
    check(
        "* | top 3 host",
        expect![[r#"
        host     count
        "web-1"  9
        "web-2"  6
        "db-1"   4
    "#]],
    );
    check(
        "* | top app",
        expect![[r#"
        app           count
        "checkout"    13
        "postgres"    4
        "calculator"  3
    "#]],
    );
    check(
        "* | top 2 tags",
        expect![[r#"
            tags        count
            "frontend"  8
            "payments"  3
        "#]],
    );
    check(
        "* | top 2 fields.user | sort fields.user",
        expect![[r#"
            fields.user  count
            "alice"      2
            "bob"        4
        "#]],
    );
}

#[test]
fn events() {
    check(
        "severity>=error",
        expect![[r#"
        time                    severity    host     app           message
        "2024-05-01T09:57:00Z"  "error"     "db-1"   "postgres"    "deadlock detected"
        "2024-05-01T09:56:00Z"  "critical"  "web-2"  "checkout"    "out of memory"
        "2024-05-01T09:54:00Z"  "error"     "web-1"  "calculator"  "division by zero"
        "2024-05-01T09:53:05Z"  "error"     "web-2"  "checkout"    "payment refused"
        "2024-05-01T09:51:10Z"  "error"     "web-2"  "checkout"    "payment refused"
    "#]],
    );
    check(
        "* | limit 3",
        expect![[r#"
        time                    severity   host     app         message
        "2024-05-01T09:59:50Z"  "info"     "db-1"   "postgres"  "vacuum done"
        "2024-05-01T09:59:00Z"  "info"     "web-1"  "checkout"  "GET / 200"
        "2024-05-01T09:58:00Z"  "warning"  "web-2"  "checkout"  "retrying payment"
    "#]],
    );
    check(
        "app:checkout | fields host, fields.url, tags | limit 4",
        expect![[r#"
            host     fields.url  tags
            "web-1"  "/"         ["frontend"]
            "web-2"  "/pay"      ["payments","slow"]
            "web-1"  "/cart"     ["frontend"]
            "web-2"  null        []
        "#]],
    );
    check(
        "* | sort -fields.execution_time | limit 4 | fields time, host, fields.execution_time",
        expect![[r#"
            time                    host     fields.execution_time
            "2024-05-01T09:54:00Z"  "web-1"  "n/a"
            "2024-05-01T09:55:00Z"  "db-1"   4.5
            "2024-05-01T09:53:05Z"  "web-2"  3
            "2024-05-01T09:51:10Z"  "web-2"  "2.5"
        "#]],
    );
    check(
        "* | sort fields.execution_time | limit 3 | fields host, fields.execution_time",
        expect![[r#"
        host     fields.execution_time
        "web-1"  0.0625
        "web-1"  0.125
        "web-1"  0.125
    "#]],
    );
    check(
        "app:checkout | sort host, -time | fields host, time, message | limit 5",
        expect![[r#"
        host     time                    message
        "web-1"  "2024-05-01T09:59:00Z"  "GET / 200"
        "web-1"  "2024-05-01T09:57:30Z"  "GET /cart 200"
        "web-1"  "2024-05-01T09:55:30Z"  "GET /cart 200"
        "web-1"  "2024-05-01T09:52:30Z"  "GET /cart 200"
        "web-1"  "2024-05-01T09:50:20Z"  "GET /cart 200"
    "#]],
    );
    check(
        "* | limit 4 | sort severity | fields severity, message",
        expect![[r#"
        severity   message
        "info"     "vacuum done"
        "info"     "GET / 200"
        "info"     "GET /cart 200"
        "warning"  "retrying payment"
    "#]],
    );
    check(
        "* | fields fields.query, fields.execution_time, severity, source, id | limit 2",
        expect![[r#"
            fields.query  fields.execution_time  severity  source       id
            null          [1,2]                  "info"    "http_json"  "01HWSSH6FG0000000000000000"
            null          0.0625                 "info"    "http_json"  "01HWSSFNN00000000000000000"
        "#]],
    );
}
