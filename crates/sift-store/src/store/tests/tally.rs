//! Pipes that only count (`PipedQuery::tally`) are counted by column over segments: the view
//! gives the table that folding every event gives, across segments (an expired class among
//! them), pending batches held in memory and pending batches read back from the WAL, over all
//! time and over ranges that cut the tiers.

use sift_core::Severity;
use sift_core::query::{PipedQuery, Run};

use super::*;

/// An event of hour `hour` (from now) with a severity, host and app that vary with `n`.
fn varied(n: u64, hours_ago: i64) -> Event {
    let now = Timestamp::now();
    let time = Timestamp(now.0 - hours_ago * 3_600_000_000 + n as i64 * 1_000);
    let mut event = Event::new(Source::HttpJson, time, format!("varied {n}"));
    event.severity = Severity::from_syslog((n % 8) as u8).unwrap_or(Severity::Info);
    event.host = (!n.is_multiple_of(5)).then(|| ["web-1", "web-2", "db-1"][(n % 3) as usize].into());
    event.app = Some(["auth", "search"][(n % 2) as usize].into());
    event.id = ulid::Ulid::from_parts(time.as_millis() as u64, u128::from(n));
    event
}

#[test]
fn counted_by_column_the_tiers_give_the_folded_table() {
    let dir = tempfile::tempdir().unwrap();
    let mut seq = 0;
    let mut append = |store: &Store, events: Vec<Event>| {
        store
            .append(events, |events| {
                seq += 1;
                Arc::new(Batch { seq, events })
            })
            .unwrap()
    };
    {
        // Written while debug events were kept for 10 hours.
        let (store, _) = open_with(dir.path(), debug_for(10));
        append(&store, (0..2_000).map(|n| varied(n, 3)).collect());
        store.flush().unwrap();
    }
    // Debug events are now kept for an hour: those in the files are expired.
    let options = StoreOptions { retention: debug_for(1), max_in_memory: 1_000, ..options(dir.path()) };
    let (store, _) = open_with_options(options);
    // Spilled (read back from the WAL), then held in memory as the ring would.
    append(&store, (2_000..3_500).map(|n| varied(n, 2)).collect());
    let _held = append(&store, (3_500..4_000).map(|n| varied(n, 0)).collect());
    let now = Timestamp::now();
    let ranges = [
        TimeRange::default(),
        TimeRange { since: Some(Timestamp(now.0 - 3 * 3_600_000_000 + 700_000)), until: None },
        TimeRange { since: None, until: Some(Timestamp(now.0 - 2 * 3_600_000_000 + 2_700_000)) },
    ];
    let merge = |mut a: Run, b: Run| {
        a.merge(b);
        a
    };
    for query in [
        "* | stats count() by severity",
        "* | top 2 host",
        "* | stats count() by host, app",
        "* | timechart 1h count() by severity",
        "-app:auth | stats count() by severity, host",
    ] {
        let piped = PipedQuery::parse(query).unwrap();
        let tally = piped.tally().unwrap();
        for range in ranges {
            let view = store.view();
            let folded = view
                .fold(piped.filter(), piped.fields(), range, || piped.start(), |run, e| run.add(e), merge)
                .unwrap()
                .finish();
            let counted = view
                .tally(piped.filter(), tally, range, || piped.start(), |run, e, n| run.add_n(e, n), merge)
                .unwrap()
                .finish();
            assert_eq!(counted, folded, "{query} over {range:?}");
        }
    }
    // The expired debug events are not counted: only those of the last hour's batch are.
    let piped = PipedQuery::parse("severity:debug | stats count()").unwrap();
    let view = store.view();
    let counted = view
        .tally(
            piped.filter(),
            piped.tally().unwrap(),
            TimeRange::default(),
            || piped.start(),
            |r, e, n| r.add_n(e, n),
            merge,
        )
        .unwrap()
        .finish();
    let recent_debug = (3_500..4_000u64).filter(|n| n % 8 == 7).count();
    assert_eq!(counted.rows, [[serde_json::json!(recent_debug)]]);
}
