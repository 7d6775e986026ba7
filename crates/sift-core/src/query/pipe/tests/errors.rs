//! Parse errors of the pipe stages: what they say and where they point, in characters of the
//! whole query.

use expect_test::expect;

use super::check;

#[test]
fn stage_errors() {
    check(
        "* | ",
        expect![
            "error: at position 4: expected a stage (stats, timechart, top, sort, limit, fields), found end of query"
        ],
    );
    check(
        "* | frobnicate",
        expect![
            "error: at position 4: expected a stage (stats, timechart, top, sort, limit, fields), found `frobnicate`"
        ],
    );
    check(
        "* | stats",
        expect![
            "error: at position 9: expected an aggregate (count(), count(F), sum(F), avg(F), min(F), max(F), p50(F), p90(F), p99(F), pN(F), count_distinct(F)), found end of query"
        ],
    );
    check(
        "* | stats avgg(fields.x)",
        expect![
            "error: at position 10: expected an aggregate (count(), count(F), sum(F), avg(F), min(F), max(F), p50(F), p90(F), p99(F), pN(F), count_distinct(F)), found `avgg`"
        ],
    );
    check("* | stats avg()", expect!["error: at position 14: expected a field in `avg(`, found `)`"]);
    check("* | stats avg", expect!["error: at position 13: expected `(` after `avg`, found end of query"]);
    check("* | stats avg(fields.x", expect!["error: at position 22: expected `)` to close `avg(`, found end of query"]);
    check(
        "* | stats avg(nope)",
        expect![
            "error: at position 14: expected a known field (id, time, received_at, channel, source, host, app, version, proc, msgid, severity, facility, type, message (msg), module, function, line, tags (tag), topics (topic), identities (identity), fingerprint) or `fields.nope` for a custom field, found unknown field `nope`"
        ],
    );
    check(
        "* | stats avg(fields..x)",
        expect![
            "error: at position 14: expected a field path such as `fields.a.b` (no empty parts), found `fields..x`"
        ],
    );
    check("* | stats sum(time)", expect!["error: at position 14: expected a field that holds numbers, found `time`"]);
    check(
        "* | stats p100(fields.x)",
        expect![
            "error: at position 10: expected an aggregate (count(), count(F), sum(F), avg(F), min(F), max(F), p50(F), p90(F), p99(F), pN(F), count_distinct(F)), found `p100`"
        ],
    );
    check(
        "* | stats p0(fields.x)",
        expect![
            "error: at position 10: expected an aggregate (count(), count(F), sum(F), avg(F), min(F), max(F), p50(F), p90(F), p99(F), pN(F), count_distinct(F)), found `p0`"
        ],
    );
    check(
        "* | stats count() host",
        expect!["error: at position 18: expected `,`, `by`, `|` or end of query, found `host`"],
    );
    check("* | stats count() by", expect!["error: at position 20: expected a field after `by`, found end of query"]);
    check(
        "* | stats count() by host,",
        expect!["error: at position 26: expected a field after `,`, found end of query"],
    );
    check(
        "* | stats count(), count()",
        expect![
            "error: at position 19: expected a column name not used yet (name this one with `as NAME`), found `count`"
        ],
    );
    check(
        "* | stats count() as",
        expect!["error: at position 20: expected a column name after `as`, found end of query"],
    );
    check(
        "* | stats count() by host, app, version, proc, msgid, type, module, function, line",
        expect!["error: at position 78: expected at most 8 fields, found `line`"],
    );
    check(
        "* | timechart count()",
        expect!["error: at position 14: expected a step such as 1m, 5m or 1h after `timechart`, found `count`"],
    );
    check(
        "* | timechart 0m count()",
        expect!["error: at position 14: expected a step such as 1m, 5m or 1h after `timechart`, found `0m`"],
    );
    check(
        "* | timechart 1m count() by host, app",
        expect!["error: at position 32: expected `|` or end of query, found `,`"],
    );
    check("* | top", expect!["error: at position 7: expected a number or a field after `top`, found end of query"]);
    check("* | top 10", expect!["error: at position 10: expected a field after `top 10`, found end of query"]);
    check("* | top 10 host app", expect!["error: at position 16: expected `|` or end of query, found `app`"]);
    check("* | limit ten", expect!["error: at position 10: expected a number after `limit`, found `ten`"]);
    check("* | limit -1", expect!["error: at position 10: expected a number after `limit`, found `-1`"]);
    check("* | limit", expect!["error: at position 9: expected a number after `limit`, found end of query"]);
    check(
        "* | stats count() by host | sort -nope",
        expect!["error: at position 34: expected a column (host, count), found `nope`"],
    );
    check(
        "* | stats p99(fields.a), p99(fields.b) | sort p99",
        expect![
            "error: at position 46: expected one column (p99(fields.a), p99(fields.b) share that name), found `p99`"
        ],
    );
    check(
        "* | stats count() by host | fields host, nope",
        expect!["error: at position 41: expected a column (host, count), found `nope`"],
    );
    check(
        "* | stats count() by host | fields host, host",
        expect!["error: at position 41: expected each column once, found `host`"],
    );
    check(
        "* | stats count() by host | fields count | sort host",
        expect!["error: at position 48: expected a column (count), found `host`"],
    );
    check(
        "* | sort nope",
        expect![
            "error: at position 9: expected a known field (id, time, received_at, channel, source, host, app, version, proc, msgid, severity, facility, type, message (msg), module, function, line, tags (tag), topics (topic), identities (identity), fingerprint) or `fields.nope` for a custom field, found unknown field `nope`"
        ],
    );
    check(
        "* | fields host | sort app",
        expect!["error: at position 23: expected one of the fields kept by `fields` (host), found `app`"],
    );
    check(
        "* | fields host, nope",
        expect![
            "error: at position 17: expected a known field (id, time, received_at, channel, source, host, app, version, proc, msgid, severity, facility, type, message (msg), module, function, line, tags (tag), topics (topic), identities (identity), fingerprint) or `fields.nope` for a custom field, found unknown field `nope`"
        ],
    );
    check(
        "* | limit 5 | stats count()",
        expect![
            "error: at position 14: expected `sort`, `limit` or `fields` (`stats`, `timechart` and `top` must be the first stage), found `stats`"
        ],
    );
    check(
        "* | stats count() | top 5 host",
        expect![
            "error: at position 20: expected `sort`, `limit` or `fields` (`stats`, `timechart` and `top` must be the first stage), found `top`"
        ],
    );
    check("* | sort", expect!["error: at position 8: expected a column after `sort`, found end of query"]);
    check("* | sort -", expect!["error: at position 10: expected a column after `sort`, found end of query"]);
    check("* | fields", expect!["error: at position 10: expected a field after `fields`, found end of query"]);
    check(
        "* | stats count() | |",
        expect!["error: at position 20: expected a stage (stats, timechart, top, sort, limit, fields), found `|`"],
    );
    // Positions count characters of the whole query, filter included.
    check(
        "größe | stats cöunt()",
        expect![
            "error: at position 14: expected an aggregate (count(), count(F), sum(F), avg(F), min(F), max(F), p50(F), p90(F), p99(F), pN(F), count_distinct(F)), found `cöunt`"
        ],
    );
    // The filter's own errors come first.
    check(
        "(a | stats count()",
        expect!["error: at position 3: expected `)` to close the `(` at position 0, found `|`"],
    );
}
