//! The public API (`Query`, `parse_filter_prefix`) and robustness: no input panics.

use expect_test::expect;

use super::{events, now, parse};
use crate::query::{Query, parse_filter_prefix};

#[test]
fn api() {
    let query = parse("  host:web-*  ").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(query.source(), "host:web-*");
    assert!(!query.is_all());
    let copy = query.clone();
    expect![[r#"Query { source: "host:web-*", compiled: starts_with(host, "web-") }"#]].assert_eq(&format!("{copy:?}"));
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
        ("severity>=error | stats count() by app", "severity>=error", 16),
        ("* | top 10 host", "*", 2),
        (r#"msg:"a|b" | limit 5"#, r#"msg:"a|b""#, 10),
        ("| stats count()", "", 0),
        ("a OR b", "a OR b", 6),
        ("x|y", "x", 1),
        // Nothing after the pipe is read, so what the pipe stage says cannot fail here.
        ("app:x | \"unterminated (", "app:x", 6),
    ];
    for (src, filter, stop) in cases {
        let (query, at) = parse_filter_prefix(src, now()).unwrap_or_else(|e| panic!("{src:?}: {e}"));
        assert_eq!((query.source(), at), (filter, stop), "{src:?}");
        assert_eq!(&src[at..at + usize::from(at < src.len())], if at < src.len() { "|" } else { "" });
    }
    let error = parse_filter_prefix("(a | b)", now()).err().map(|e| e.to_string());
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
    let specials =
        ["\"", "(", ")", "/", "\\", ":", ">", "<", "=", "-", "*", "?", "|", "#", "@", " ", "é", "AND ", "OR ", "NOT "];
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
        let boundaries: Vec<usize> = seed.char_indices().map(|(i, _)| i).chain([seed.len()]).collect();
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
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        for _ in 0..(state >> 59) {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            src.push(alphabet[(state >> 33) as usize % alphabet.len()]);
        }
        run(&src);
    }
    assert!(tried > 25_000, "{tried}");
}
