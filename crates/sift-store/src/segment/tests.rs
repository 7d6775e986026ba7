//! Tests of segments: round trips of every field, the partition layout, listing (temporary and
//! broken files), pruning, and searches and counts checked against the same queries run over
//! the events in memory.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use sift_core::query::Query;
use sift_core::{Event, Fields, Severity, Source, Str, Timestamp};
use ulid::Ulid;

use super::ngram::{NgramBuilder, NgramFilter, filter_needle};
use super::plan::Plan;
use super::schema::{Column, Columns};
use super::*;
use crate::Interrupt;
use crate::search::{Cursor, TimeRange};

/// 2024-05-01T10:00:00Z.
const T0: i64 = 1_714_557_600_000_000;
const HOUR: i64 = 3_600_000_000;

/// A small deterministic generator (xorshift), so the tests need no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "GET",
    "POST",
    "/api/v1/orders",
    "status=200",
    "status=500",
    "request",
    "completed",
    "connection",
    "refused",
    "timeout",
    "retrying",
    "cache",
    "miss",
    "payment",
    "declined",
    "worker",
    "job",
    "failed",
    "user",
    "logged",
    "Größe",
    "日本",
    "#checkout",
    "@alice",
];

/// An event with every field set.
fn full_event(n: u64, time: i64) -> Event {
    let mut event = Event::new(Source::Popcorn, Timestamp(time + 5), "connection refused by peer");
    event.id = Ulid::from_parts((time / 1000) as u64, u128::from(n));
    event.time = Timestamp(time);
    event.channel = Str::from("payments");
    event.host = Some(Str::from("web-1"));
    event.app = Some(Str::from("checkout"));
    event.version = Some(Str::from("v2.4.1"));
    event.proc = Some(Str::from("4242"));
    event.msgid = Some(Str::from("ID47"));
    event.severity = Severity::Error;
    event.facility = Some(23);
    event.kind = Some(Str::from("http"));
    event.module = Some(Str::from("pay.rs"));
    event.function = Some(Str::from("charge"));
    event.line = Some(u32::MAX);
    event.tags = vec![Str::from("a"), Str::from("ünïcode tag")];
    event.topics = vec![Str::from("checkout")];
    event.identities = vec![Str::from("alice"), Str::from("bob")];
    event.fingerprint = Some(Str::from("9f86d081884c7d65"));
    let fields: Fields = serde_json::from_str(
        r#"{"z":1,"a":{"nested":[1,2.5,"x",null,true]},"big":18446744073709551615,"neg":-9007199254740993,"f":0.1}"#,
    )
    .expect("fields parse");
    event.fields = fields;
    event
}

/// A varied event for searches: severities, hosts and messages from small sets.
fn varied_event(rng: &mut Rng, n: u64, time: i64) -> Event {
    let mut message = String::new();
    for _ in 0..(3 + rng.below(8)) {
        if !message.is_empty() {
            message.push(' ');
        }
        message.push_str(rng.pick(WORDS));
    }
    let mut event = Event::new(Source::HttpJson, Timestamp(time + 1), message);
    event.time = Timestamp(time);
    event.id = Ulid::from_parts((time / 1000) as u64, u128::from(n));
    event.severity = Severity::from_syslog(rng.below(8) as u8).unwrap_or(Severity::Info);
    event.host = (rng.below(5) != 0).then(|| Str::from(rng.pick(&["web-1", "web-2", "db-1"])));
    event.app = Some(Str::from(rng.pick(&["auth", "search"])));
    if rng.below(3) == 0 {
        event.tags = vec![Str::from(rng.pick(&["red", "blue"]))];
        event.fields.insert("n".into(), serde_json::Value::from(rng.below(10)));
    }
    event
}

fn all_events(meta: &SegmentMeta, query: &Query, range: TimeRange) -> Vec<Event> {
    let mut events = Vec::new();
    scan_segment(meta, query, range, &mut |event| {
        events.push(event);
        ControlFlow::Continue(())
    })
    .expect("scan");
    events
}

fn sorted(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by_key(|e| (e.time, e.id));
    events
}

fn relative(meta: &SegmentMeta, dir: &Path) -> String {
    meta.path.strip_prefix(dir).unwrap_or(&meta.path).display().to_string()
}

#[test]
fn every_field_round_trips_set_and_absent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut events = Vec::new();
    for n in 0..50u64 {
        let time = T0 + 1_000_000 * (50 - n as i64);
        events.push(if n % 2 == 0 { full_event(n, time) } else { Event::new(Source::SyslogUdp, Timestamp(time), "") });
        if n % 2 == 1 {
            events.last_mut().expect("pushed").id = Ulid::from_parts(n, 7);
        }
    }
    // Same time, ids out of order: (time, id) decides.
    events.push(full_event(900, T0 + 10_000_000));
    events.push(full_event(100, T0 + 10_000_000));
    let metas = write_segment(dir.path(), &events, "default").expect("write");
    assert_eq!(metas.len(), 1);
    let back = all_events(&metas[0], &Query::all(), TimeRange::default());
    assert_eq!(back, sorted(events));
}

#[test]
fn partitions_by_utc_hour_and_lists_from_footers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let times = [T0 + 59 * 60_000_000, T0, T0 + HOUR, T0 + 14 * HOUR + 1, T0 - 10 * 24 * HOUR];
    let events: Vec<Event> = times.iter().enumerate().map(|(n, &t)| full_event(n as u64, t)).collect();
    let metas = write_segment(dir.path(), &events, "debug").expect("write");
    let paths: Vec<String> = metas.iter().map(|m| relative(m, dir.path())).collect();
    let id = |n: usize| events[n].id;
    assert_eq!(
        paths,
        [
            format!("2024-04-21/10/debug-{}.parquet", id(4)),
            format!("2024-05-01/10/debug-{}.parquet", id(1)),
            format!("2024-05-01/11/debug-{}.parquet", id(2)),
            format!("2024-05-02/00/debug-{}.parquet", id(3)),
        ]
    );
    assert_eq!(metas[1].rows, 2);
    assert_eq!((metas[1].min_time, metas[1].max_time), (Timestamp(T0), Timestamp(T0 + 59 * 60_000_000)));
    assert_eq!((metas[1].min_id, metas[1].max_id), (id(1).min(id(0)), id(1).max(id(0))));
    let listing = list_segments(dir.path()).expect("list");
    assert_eq!(listing.segments, metas);
    assert!(listing.removed.is_empty() && listing.broken.is_empty());
    assert!(matches!(write_segment(dir.path(), &events, "Debug"), Err(SegmentError::InvalidClass(_))));
    assert!(write_segment::<Event>(dir.path(), &[], "debug").expect("nothing").is_empty());
}

#[test]
fn temporary_files_are_removed_and_broken_files_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let events: Vec<Event> = (0..20).map(|n| full_event(n, T0 + n as i64)).collect();
    let metas = write_segment(dir.path(), &events, "default").expect("write");
    let folder = metas[0].path.parent().expect("folder").to_owned();
    let temp = folder.join(".default-01HX.parquet.tmp");
    std::fs::write(&temp, b"half a file").expect("temp");
    let garbage = folder.join("default-garbage.parquet");
    std::fs::write(&garbage, b"this is not parquet at all").expect("garbage");
    let truncated = folder.join("default-truncated.parquet");
    let bytes = std::fs::read(&metas[0].path).expect("read");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("truncated");
    let empty = folder.join("default-empty.parquet");
    std::fs::write(&empty, b"").expect("empty");

    let listing = list_segments(dir.path()).expect("list");
    assert_eq!(listing.segments, metas);
    assert_eq!(listing.removed, vec![temp.clone()]);
    assert!(!temp.exists());
    let mut broken: Vec<PathBuf> = listing
        .broken
        .iter()
        .map(|e| match e {
            SegmentError::Parquet { path, .. } | SegmentError::Invalid { path, .. } => path.clone(),
            other => panic!("unexpected {other}"),
        })
        .collect();
    broken.sort();
    assert_eq!(broken, vec![empty, garbage, truncated.clone()]);

    // A segment that breaks after listing fails the query with its path, without a panic.
    let mut meta = metas[0].clone();
    meta.path = truncated;
    assert!(count(&[meta], &Query::all(), TimeRange::default(), &Interrupt::never()).is_err());
}

#[test]
fn a_query_for_one_hour_opens_only_that_hours_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(7);
    let events: Vec<Event> = (0..600).map(|n| varied_event(&mut rng, n, T0 + (n as i64) * 18_000_000)).collect();
    let options = WriteOptions { row_group_rows: 50, ngram_filter: true, ..WriteOptions::default() };
    let metas = write_segment_with(dir.path(), &events, "default", options).expect("write");
    // 200 events an hour, in files of at most two row groups of 50.
    assert_eq!(metas.len(), 6);
    assert!(metas.iter().all(|m| m.rows == 100));
    let hour = TimeRange { since: Some(Timestamp(T0 + HOUR)), until: Some(Timestamp(T0 + 2 * HOUR)) };
    let (n, stats) = count_with_stats(&metas, &Query::all(), hour, &Interrupt::never()).expect("count");
    assert_eq!(n, 200);
    assert_eq!(stats.files_opened, 2, "that hour's two files and no other");
    assert_eq!(stats.rows_tested, 0, "whole row groups inside the range are counted from the footer");
    // Half an hour: the hour's later file, and only its boundary row group tests times.
    let half = TimeRange { since: Some(Timestamp(T0 + HOUR + HOUR / 2 + 1)), until: Some(Timestamp(T0 + 2 * HOUR)) };
    let (n, stats) = count_with_stats(&metas, &Query::all(), half, &Interrupt::never()).expect("count");
    assert_eq!(n, 99);
    assert_eq!((stats.files_opened, stats.row_groups, stats.row_groups_read), (1, 2, 1));
}

#[test]
fn the_ngram_filter_skips_row_groups_without_the_needle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(11);
    let mut events: Vec<Event> = (0..1000).map(|n| varied_event(&mut rng, n, T0 + n as i64 * 1000)).collect();
    events[777].message.push_str(" kernel: Segfault at 0x0");
    let options = WriteOptions { row_group_rows: 100, ngram_filter: true, ..WriteOptions::default() };
    let metas = write_segment_with(dir.path(), &events, "default", options).expect("write");
    for (query, expected, read) in
        [("segfault", 1, 1), ("\"kernel: SEGFAULT\"", 1, 1), ("segfault -nothing", 1, 1), ("segfault OR x", 1, 10)]
    {
        let query = Query::parse(query).expect("query");
        let (n, stats) = count_with_stats(&metas, &query, TimeRange::default(), &Interrupt::never()).expect("count");
        assert_eq!((n, stats.row_groups_read), (expected, read), "{query:?}");
    }
    let (found, stats) = search_with_stats(
        &metas,
        &Query::parse("zebra").expect("query"),
        TimeRange::default(),
        None,
        10,
        &Interrupt::never(),
    )
    .expect("search");
    assert!(found.is_empty());
    assert_eq!(stats.row_groups_read, 0);
    // Blocks of 20 rows: only the needle's block is read, and search and scan find it.
    let blocks = tempfile::tempdir().expect("tempdir");
    let options = WriteOptions { row_group_rows: 200, ngram_filter: true, ngram_block_rows: 20, wal_through: None };
    let metas = write_segment_with(blocks.path(), &events, "default", options).expect("write");
    let query = Query::parse("segfault").expect("query");
    let (n, stats) = count_with_stats(&metas, &query, TimeRange::default(), &Interrupt::never()).expect("count");
    assert_eq!((n, stats.row_groups_read, stats.rows_tested), (1, 1, 20));
    let found = search(&metas, &query, TimeRange::default(), None, 5, &Interrupt::never()).expect("search");
    assert_eq!(found, vec![events[777].clone()]);
    let scanned: Vec<Event> = metas.iter().flat_map(|m| all_events(m, &query, TimeRange::default())).collect();
    assert_eq!(scanned, vec![events[777].clone()]);
    // Written without filters, the same file answers the same, reading everything.
    let plain = tempfile::tempdir().expect("tempdir");
    let options = WriteOptions { row_group_rows: 100, ngram_filter: false, ..WriteOptions::default() };
    let metas = write_segment_with(plain.path(), &events, "default", options).expect("write");
    let (n, stats) =
        count_with_stats(&metas, &Query::parse("segfault").expect("q"), TimeRange::default(), &Interrupt::never())
            .expect("c");
    assert_eq!((n, stats.row_groups_read), (1, 10));
}

/// `count` messages of up to `longest` characters drawn from `alphabet`, and the n-gram filter
/// the builder makes of them.
fn random_messages(rng: &mut Rng, alphabet: &str, count: usize, longest: u64) -> (Vec<String>, NgramFilter) {
    let alphabet: Vec<char> = alphabet.chars().collect();
    let messages: Vec<String> = (0..count)
        .map(|_| (0..rng.below(longest)).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect())
        .collect();
    let mut builder = NgramBuilder::new();
    for message in &messages {
        builder.add(message);
    }
    let filter = builder.finish();
    (messages, filter)
}

#[test]
fn the_ngram_builder_indexes_exactly_the_windows_of_the_lowered_messages() {
    let mut rng = Rng(11);
    for _ in 0..300 {
        let (messages, filter) = random_messages(&mut rng, "abcdefXYZ019 \t-=/.:\u{212A}\u{017F}ßé日", 10, 80);
        assert_eq!(filter, NgramFilter::reference(messages.iter().map(String::as_str)), "{messages:?}");
    }
}

#[test]
fn ngram_filter_has_no_false_negatives() {
    let mut rng = Rng(3);
    for _ in 0..200 {
        let (messages, filter) = random_messages(&mut rng, "abcXYZ019 -=/.\u{212A}\u{017F}ßé日", 20, 60);
        assert!(filter.fill() <= 0.26);
        for message in &messages {
            let chars: Vec<char> = message.chars().collect();
            if chars.is_empty() {
                continue;
            }
            let start = rng.below(chars.len() as u64) as usize;
            let end = start + rng.below((chars.len() - start) as u64 + 1) as usize;
            // The substring with its ASCII case flipped at random, as a query would write it,
            // and the Kelvin sign and long s written as the letters they fold to.
            let needle: String = chars[start..end]
                .iter()
                .map(|&c| match c {
                    '\u{212A}' => 'K',
                    '\u{017F}' => 'S',
                    c if rng.below(2) == 0 => c.to_ascii_uppercase(),
                    c => c,
                })
                .collect();
            if let Some(needle) = filter_needle(&needle) {
                assert!(filter.may_contain(&needle), "{needle:?} in {message:?}");
            }
        }
    }
    assert_eq!(filter_needle("abc"), None, "too short");
    assert_eq!(filter_needle("Größe"), None, "non-ASCII letters fold as Unicode");
    assert_eq!(filter_needle("ab cd"), None, "only windows across a space");
    assert_eq!(filter_needle("deadbeef"), None, "only hex windows");
    assert_eq!(filter_needle("日本 Error").as_deref(), Some("日本 error".as_bytes()));
}

#[test]
fn plans_read_only_the_columns_of_the_query() {
    let plan = |q: &str| Plan::of(&Query::parse(q).expect("query"));
    let cols = |names: &[Column]| names.iter().fold(Columns::NONE, |c, &n| c.with(n));
    assert_eq!(plan("").columns, Columns::NONE);
    assert_eq!(plan("*").columns, Columns::NONE);
    assert_eq!(plan("connection refused").columns, cols(&[Column::Message]));
    assert_eq!(plan("severity>=error").columns, cols(&[Column::Severity]));
    assert_eq!(
        plan("HOST:web-* msg:\"a b\" (#t OR @u) fields.x.y>1 tag:/a b/ -line:3").columns,
        cols(&[
            Column::Host,
            Column::Message,
            Column::Topics,
            Column::Identities,
            Column::Fields,
            Column::Tags,
            Column::Line
        ])
    );
    let needles = |q: &str| {
        let mut needles = plan(q).needles;
        needles.sort();
        needles
    };
    assert_eq!(needles("connection refused"), [b"connection".to_vec(), b"refused".to_vec()]);
    assert!(needles("a OR bbbb").is_empty());
    assert_eq!(needles("(ghij)"), [b"ghij".to_vec()]);
    assert_eq!(needles("-abcd NOT efgh ijkl"), [b"ijkl".to_vec()]);
    assert_eq!(needles("*abxy* \"Quoted Phrase\" ab*cd"), [b"abxy".to_vec(), b"quoted phrase".to_vec()]);
    assert_eq!(needles("(wxyz efgh) OR (WXYZ qrst)"), [b"wxyz".to_vec()]);
}

/// Testing a partly read event gives the same answer as testing the whole event, for queries
/// over every kind of field.
#[test]
fn partial_events_match_like_whole_ones() {
    let queries = [
        "refused",
        "severity>=error host:web-1",
        "-timeout app:auth",
        "#checkout OR @alice",
        "fields.n>4",
        "tags:red",
        "line:54 OR module:pay.rs",
        "\"cache miss\" (host:db-1 OR NOT severity:debug)",
        "id>01HX0000000000000000000000",
        "source:http_json type:http",
        "time>2024-05-01T10:00:01Z received_at<2024-05-01T10:00:02Z",
    ];
    let mut rng = Rng(5);
    let events: Vec<Event> =
        (0..300)
            .map(|n| {
                if n % 10 == 0 { full_event(n, T0 + n as i64) } else { varied_event(&mut rng, n, T0 + n as i64 * 9000) }
            })
            .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let metas = write_segment(dir.path(), &events, "default").expect("write");
    for query in queries {
        let query = Query::parse(query).expect("query");
        let expected = events.iter().filter(|e| query.matches(e)).count() as u64;
        assert_eq!(
            count(&metas, &query, TimeRange::default(), &Interrupt::never()).expect("count"),
            expected,
            "{query:?}"
        );
    }
}

#[test]
fn searches_and_counts_equal_the_same_over_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(42);
    let mut events: Vec<Event> = Vec::new();
    for n in 0..1200u64 {
        // Three hours, two classes, some equal times, written in two flushes.
        let time = T0 + rng.below(3 * HOUR as u64 / 1_000_000) as i64 * 1_000_000;
        events.push(varied_event(&mut rng, n, time));
    }
    let options = WriteOptions { row_group_rows: 64, ngram_filter: true, ..WriteOptions::default() };
    let mut metas = write_segment_with(dir.path(), &events[..700], "default", options).expect("write");
    metas.extend(write_segment_with(dir.path(), &events[700..], "debug", options).expect("write"));
    // Each class's hours, in files of at most two row groups of 64.
    let expected: usize = [&events[..700], &events[700..]]
        .iter()
        .flat_map(|part| (0..3).map(move |h| part.iter().filter(|e| (e.time.0 - T0) / HOUR == h).count()))
        .map(|rows| rows.div_ceil(128))
        .sum();
    assert_eq!(metas.len(), expected);
    let ranges = [
        TimeRange::default(),
        TimeRange { since: Some(Timestamp(T0 + HOUR / 2)), until: Some(Timestamp(T0 + 2 * HOUR + 7_000_000)) },
    ];
    for query in ["", "refused", "severity>=warning", "host:web-1 timeout", "-timeout", "tags:red OR fields.n>7"] {
        let query = Query::parse(query).expect("query");
        for range in ranges {
            let mut expected: Vec<&Event> =
                events.iter().filter(|e| range.contains(e.time) && query.matches(e)).collect();
            expected.sort_by_key(|e| std::cmp::Reverse(Cursor::of(e)));
            assert_eq!(
                count(&metas, &query, range, &Interrupt::never()).expect("count"),
                expected.len() as u64,
                "{query:?}"
            );
            for limit in [5, 400] {
                let mut before = None;
                let mut paged = Vec::new();
                loop {
                    let page = search(&metas, &query, range, before, limit, &Interrupt::never()).expect("search");
                    assert!(page.len() <= limit);
                    let Some(last) = page.last() else { break };
                    before = Some(Cursor::of(last));
                    paged.extend(page);
                }
                assert_eq!(paged.iter().collect::<Vec<_>>(), expected, "{query:?} {range:?} limit {limit}");
            }
        }
    }
    assert!(
        search(&metas, &Query::all(), TimeRange::default(), None, 0, &Interrupt::never()).expect("search").is_empty()
    );
}

#[test]
fn aggregates_fold_the_columns_asked_for() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(9);
    let events: Vec<Event> = (0..3000).map(|n| varied_event(&mut rng, n, T0 + n as i64 * 1000)).collect();
    let options = WriteOptions { row_group_rows: 256, ngram_filter: true, ..WriteOptions::default() };
    let metas = write_segment_with(dir.path(), &events, "default", options).expect("write");
    let query = Query::parse("-host:db-1").expect("query");
    let by_severity = aggregate(
        &metas,
        &query,
        TimeRange::default(),
        Columns::of(Column::Severity),
        &Interrupt::never(),
        || [0u64; 8],
        |acc, event| acc[usize::from(event.severity.syslog())] += 1,
        |a, b| std::array::from_fn(|i| a[i] + b[i]),
    )
    .expect("aggregate");
    let mut expected = [0u64; 8];
    for event in events.iter().filter(|e| query.matches(e)) {
        expected[usize::from(event.severity.syslog())] += 1;
    }
    assert_eq!(by_severity, expected);
}

/// An aggregation that reads no column (`* | stats count()`) still sees every row, and one
/// whose range cuts row groups sees only the rows in it.
#[test]
fn aggregates_over_no_columns_count_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(11);
    let events: Vec<Event> = (0..3000).map(|n| varied_event(&mut rng, n, T0 + n as i64 * 1000)).collect();
    let options = WriteOptions { row_group_rows: 256, ngram_filter: true, ..WriteOptions::default() };
    let metas = write_segment_with(dir.path(), &events, "default", options).expect("write");
    let count = |range: TimeRange| {
        let never = Interrupt::never();
        aggregate(&metas, &Query::all(), range, Columns::NONE, &never, || 0u64, |n, _| *n += 1, |a, b| a + b)
            .expect("aggregate")
    };
    assert_eq!(count(TimeRange::default()), 3000);
    let range = TimeRange { since: Some(Timestamp(T0 + 1000 * 1000)), until: Some(Timestamp(T0 + 2000 * 1000)) };
    let expected = events.iter().filter(|e| range.contains(e.time)).count() as u64;
    assert_eq!(count(range), expected);
}

/// Counting by column (`tally`) gives the table that feeding every matching event to the
/// pipe gives, for every key it counts by column and those it does not, with and without a
/// filter, over the whole time and over a range that cuts row groups.
#[test]
fn tallies_give_the_tables_of_event_by_event() {
    use sift_core::query::PipedQuery;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut rng = Rng(13);
    let mut events: Vec<Event> = (0..5000).map(|n| varied_event(&mut rng, n, T0 + n as i64 * 20_000)).collect();
    for (n, event) in events.iter_mut().enumerate() {
        event.channel = Str::from(["main", "audit", "payments"][n % 3]);
        event.facility = (n % 4 != 0).then_some((n % 24) as u8);
    }
    let options = WriteOptions { row_group_rows: 256, ngram_filter: true, ..WriteOptions::default() };
    let metas = write_segment_with(dir.path(), &events, "default", options).expect("write");
    let ranges = [
        TimeRange::default(),
        TimeRange { since: Some(Timestamp(T0 + 1_234 * 20_000 + 7)), until: Some(Timestamp(T0 + 3_321 * 20_000)) },
    ];
    let queries = [
        "* | stats count() by severity",
        "* | stats count() by host, app",
        "* | stats count() as n by channel, facility, source | sort -n",
        "* | top 2 host",
        "* | stats count()",
        "* | timechart 1m count() by severity",
        "* | timechart 5m count()",
        "-host:db-1 | stats count() by app, severity",
        "status=500 | timechart 1m count() by host",
        // Not counted by column: the key has too many values.
        "* | stats count() by message",
        "* | stats count() by proc, severity",
    ];
    for query in queries {
        let piped = PipedQuery::parse(query).expect("query");
        let tally = piped.tally().expect("counts only");
        for range in ranges {
            let mut expected = piped.start();
            for event in events.iter().filter(|e| range.contains(e.time) && piped.filter().matches(e)) {
                expected.add(event);
            }
            let counted = super::tally(
                &metas,
                piped.filter(),
                range,
                tally,
                &Interrupt::never(),
                || piped.start(),
                |run, event, n| run.add_n(event, n),
                |mut a, b| {
                    a.merge(b);
                    a
                },
            )
            .expect("tally");
            assert_eq!(counted.finish(), expected.finish(), "{query} over {range:?}");
        }
    }
    // Not tallies: an aggregate reads a field, rows are events, a key field holds several values.
    for query in
        ["* | stats count(), avg(line) by host", "* | fields host", "* | top tags", "* | stats count() by fields.n"]
    {
        assert!(PipedQuery::parse(query).expect("query").tally().is_none(), "{query}");
    }
}
