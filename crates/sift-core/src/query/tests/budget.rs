//! What one query may compile: every bound fails fast with an error at the term that crossed
//! it, naming the bound, and the queries people write stay well inside.

use expect_test::{Expect, expect};

use super::parse;
use crate::query::PipedQuery;
use crate::query::budget::{MAX_COMPILED_BYTES, MAX_QUERY_BYTES, MAX_TERMS, REGEX_CACHE_BYTES};

/// The error for `src` and the limit it names, or `ok` with the query's compiled size.
fn check(src: &str, expect: Expect) {
    let actual = match parse(src) {
        Ok(_) => "ok".to_owned(),
        Err(error) => format!("{}: {error}", error.limit.map_or("no limit", |limit| limit.as_str())),
    };
    expect.assert_eq(&actual);
}

/// `term` written `n` times, separated by spaces.
fn repeat(term: &str, n: usize) -> String {
    vec![term; n].join(" ")
}

#[test]
fn budget_errors() {
    // The query of the report: 200 large regexes (1.2 GB once compiled) stop at the third,
    // which takes the query over its compile limit.
    check(
        &repeat(r"message:/\w{100}N/", 200),
        expect![[
            r#"compiled_bytes: at position 76: expected at most 32 MiB of compiled regexes, globs and words in one query, about 15 regexes (the query compile limit), found `message:/\w{100}N/`, which takes the query over it"#
        ]],
    );
    // 1,200 of them (23 KB) stop at the length limit, before anything is compiled; shorter
    // terms at the term limit.
    check(
        &repeat(r"message:/\w{100}N/", 1_200),
        expect![
            "query_bytes: at position 16384: expected a query of at most 16 KiB (the query length limit), found a query of 22799 bytes"
        ],
    );
    check(
        &repeat("a", MAX_TERMS + 1),
        expect![
            "query_terms: at position 2000: expected at most 1000 terms in a query (the term limit), found term 1001, `a`"
        ],
    );
    // One regex larger than any one may be.
    check(
        r"host:web message:/\w{1000}/",
        expect![[
            r#"regex_bytes: at position 9: expected a regex or glob that compiles to at most 8 MiB (the regex size limit), found `message:/\w{1000}/`, which compiles to more"#
        ]],
    );
    check(
        r"fields.x:/(?i)\pL{400}/",
        expect![[
            r#"regex_bytes: at position 0: expected a regex or glob that compiles to at most 8 MiB (the regex size limit), found `fields.x:/(?i)\pL{400}/`, which compiles to more"#
        ]],
    );
    // Small regexes, each with its lazy DFA caches: about fifteen fit.
    check(
        &(0..40).map(|i| format!("host:/a{i}[0-9]+b/")).collect::<Vec<_>>().join(" OR "),
        expect![
            "compiled_bytes: at position 305: expected at most 32 MiB of compiled regexes, globs and words in one query, about 15 regexes (the query compile limit), found `host:/a15[0-9]+b/`, which takes the query over it"
        ],
    );
    // Globs that need a regex count as regexes, with smaller caches: about a hundred fit.
    // (How many exactly depends on the regex engine's features the build unifies, so the
    // test bounds the count rather than naming the term.)
    let globs: Vec<String> = (0..200).map(|i| format!("host:web-{i}-*-prod")).collect();
    let error = parse(&globs.join(" ")).expect_err("200 globs are over the budget");
    assert_eq!(error.limit.map(|limit| limit.as_str()), Some("compiled_bytes"), "{error}");
    let admitted = globs.iter().position(|glob| error.found.starts_with(&format!("`{glob}`"))).expect("names a glob");
    assert!((80..=160).contains(&admitted), "{admitted} globs fit: {error}");
    // The text itself, pipes included.
    check(
        &"x".repeat(MAX_QUERY_BYTES + 1),
        expect![
            "query_bytes: at position 16384: expected a query of at most 16 KiB (the query length limit), found a query of 16385 bytes"
        ],
    );
    let long = format!("* | stats count() by host | sort {}", "-count, ".repeat(3_000));
    let error = PipedQuery::parse(&long).err().map(|e| e.to_string());
    expect![[r#"Some("at position 16384: expected a query of at most 16 KiB (the query length limit), found a query of 24033 bytes")"#]]
        .assert_eq(&format!("{error:?}"));
    // Syntax errors stay syntax errors.
    check("host:/(/", expect!["no limit: at position 5: expected a valid regex, found `/(/` (unclosed group)"]);
}

/// Queries as people write them parse, however many terms they have within the limits.
#[test]
fn sensible_queries_fit() {
    let sensible = [
        r#"severity>=warning app:checkout host:web-* "connection refused" -type:health"#,
        "#login_failed @alice line:54 fields.execution_time>0.5 (host:a OR host:b)",
        r"message:/\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}/ message:/(?i)timeout|refused/",
        r"message:/\w{20}/ message:/\w+@\w+\.com/ host:/^web-\d+$/ fields.url:/api\/v[12]\/.*/",
        r"message:/(\w+\s+){10}/ Größe größe *ÉTÉ* host:web-?-prod",
        r"message:/\w{100}N/",
    ];
    for src in sensible {
        assert!(parse(src).is_ok(), "{src}: {:?}", parse(src).err());
    }
    let many_hosts = (0..500).map(|i| format!("host:web-{i}")).collect::<Vec<_>>().join(" OR ");
    assert!(parse(&many_hosts).is_ok(), "{:?}", parse(&many_hosts).err());
    let many_words = repeat("refused", MAX_TERMS);
    assert!(parse(&many_words).is_ok(), "{:?}", parse(&many_words).err());
    let some_regexes = (0..12).map(|i| format!("message:/(?i)err{i}[a-z]+/")).collect::<Vec<_>>().join(" OR ");
    assert!(parse(&some_regexes).is_ok(), "{:?}", parse(&some_regexes).err());
    let compiled = |src: &str| parse(src).map(|q| q.compiled_bytes()).unwrap_or_default();
    assert!(compiled(&some_regexes) > 12 * 2 * REGEX_CACHE_BYTES && compiled(&some_regexes) <= MAX_COMPILED_BYTES);
    assert!(compiled("host:web-1 refused") < 64 << 10);
    assert_eq!(compiled(""), 0);
}

/// A query that holds a regex, or very many terms, says that matching it may be slow, so that
/// code on an async runtime matches it off the runtime's workers.
#[test]
fn queries_that_may_be_slow_say_so() {
    let slow = |src: &str| parse(src).map(|query| query.may_be_slow()).unwrap_or_else(|e| panic!("{src}: {e}"));
    assert!(!slow("host:web-* refused severity>=error fields.x:1 #topic"));
    assert!(!slow(""));
    assert!(slow("message:/x+y/"));
    assert!(slow("host:web-*-prod"));
    assert!(slow("größe"));
    assert!(slow("severity:/err/"));
    assert!(!slow(&repeat("a", 64)));
    assert!(slow(&repeat("a", 65)));
}
