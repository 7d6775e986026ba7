//! Each value type of the file, good and bad, one line per value.

use expect_test::expect;

use super::{check, check_values};

#[test]
fn sizes() {
    check_values(
        "ring.max_bytes",
        &[
            "1024",
            r#""1024""#,
            r#""512MiB""#,
            r#""64 KiB""#,
            r#""2GB""#,
            r#""1kb""#,
            r#""3B""#,
            r#"" 1 GiB ""#,
            "0",
            r#""0MiB""#,
            "-1",
            r#""-1""#,
            r#""12 parsecs""#,
            r#""1.5GiB""#,
            r#""MiB""#,
            r#""""#,
            "true",
            "1.5",
            r#""99999999999999GiB""#,
        ],
        expect![[r#"
            1024 => 1024
            "1024" => 1024
            "512MiB" => 536870912
            "64 KiB" => 65536
            "2GB" => 2000000000
            "1kb" => 1000
            "3B" => 3
            " 1 GiB " => 1073741824
            0 => must be greater than zero
            "0MiB" => must be greater than zero
            -1 => invalid value: integer `-1`, expected a size: a number of bytes or a string such as "64KiB"
            "-1" => invalid size "-1": expected a whole number of bytes, optionally with a unit (B, KB, MB, GB, KiB, MiB, GiB), such as "64KiB"
            "12 parsecs" => invalid size "12 parsecs": expected a whole number of bytes, optionally with a unit (B, KB, MB, GB, KiB, MiB, GiB), such as "64KiB"
            "1.5GiB" => invalid size "1.5GiB": expected a whole number of bytes, optionally with a unit (B, KB, MB, GB, KiB, MiB, GiB), such as "64KiB"
            "MiB" => invalid size "MiB": expected a whole number of bytes, optionally with a unit (B, KB, MB, GB, KiB, MiB, GiB), such as "64KiB"
            "" => invalid size "": expected a whole number of bytes, optionally with a unit (B, KB, MB, GB, KiB, MiB, GiB), such as "64KiB"
            true => invalid type: boolean `true`, expected a size: a number of bytes or a string such as "64KiB"
            1.5 => invalid type: floating point `1.5`, expected a size: a number of bytes or a string such as "64KiB"
            "99999999999999GiB" => size "99999999999999GiB" is too large
        "#]],
    );
}

#[test]
fn durations() {
    check_values(
        "pipeline.max_past",
        &[r#""1h""#, r#""365d""#, r#""1h 30m""#, r#""90s""#, r#""0s""#, r#""1 fortnight""#, r#""1""#, "3600", r#""""#],
        expect![[r#"
            "1h" => 3600s
            "365d" => 31536000s
            "1h 30m" => 5400s
            "90s" => 90s
            "0s" => 0ns
            "1 fortnight" => invalid duration "1 fortnight": unknown time unit "fortnight", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations); expected a duration such as "90s", "1h" or "365d"
            "1" => invalid duration "1": time unit needed, for example 1sec or 1ms; expected a duration such as "90s", "1h" or "365d"
            3600 => invalid type: integer `3600`, expected a string
            "" => invalid duration "": value was empty; expected a duration such as "90s", "1h" or "365d"
        "#]],
    );
}

#[test]
fn addresses() {
    check_values(
        "http.listen",
        &[
            r#""127.0.0.1:9125""#,
            r#""127.0.0.1:0""#,
            r#""[::1]:9125""#,
            r#""localhost:8080""#,
            r#""localhost""#,
            r#""localhost:99999""#,
            r#""example.com:80""#,
            r#""127.0.0.1""#,
            r#""127.0.0.1:http""#,
            "9125",
        ],
        expect![[r#"
            "127.0.0.1:9125" => 127.0.0.1:9125
            "127.0.0.1:0" => 127.0.0.1:0
            "[::1]:9125" => [::1]:9125
            "localhost:8080" => 127.0.0.1:8080
            "localhost" => invalid address "localhost": expected host:port with an IP address, such as 127.0.0.1:9125, [::1]:9125, 0.0.0.0:9125 or localhost:9125
            "localhost:99999" => invalid address "localhost:99999": expected host:port with an IP address, such as 127.0.0.1:9125, [::1]:9125, 0.0.0.0:9125 or localhost:9125
            "example.com:80" => invalid address "example.com:80": expected host:port with an IP address, such as 127.0.0.1:9125, [::1]:9125, 0.0.0.0:9125 or localhost:9125
            "127.0.0.1" => invalid address "127.0.0.1": expected host:port with an IP address, such as 127.0.0.1:9125, [::1]:9125, 0.0.0.0:9125 or localhost:9125
            "127.0.0.1:http" => invalid address "127.0.0.1:http": expected host:port with an IP address, such as 127.0.0.1:9125, [::1]:9125, 0.0.0.0:9125 or localhost:9125
            9125 => invalid type: integer `9125`, expected a string
        "#]],
    );
}

#[test]
fn severities() {
    check_values(
        "alerts.min_severity",
        &[r#""warning""#, r#""WARN""#, r#""crit""#, r#""3""#, r#""loud""#, "3"],
        expect![[r#"
            "warning" => warning
            "WARN" => warning
            "crit" => critical
            "3" => error
            "loud" => unknown severity "loud", expected one of emergency, alert, critical, error, warning, notice, info, debug (or 0-7)
            3 => invalid type: integer `3`, expected a string
        "#]],
    );
}

#[test]
fn counts() {
    check_values(
        "ring.max_events",
        &["1", "0", "-5", r#""10""#, "1.0"],
        expect![[r#"
        1 => 1
        0 => must be greater than zero
        -5 => invalid value: integer `-5`, expected a whole number
        "10" => invalid type: string "10", expected a whole number
        1.0 => invalid type: floating point `1.0`, expected a whole number
    "#]],
    );
    check_values(
        "tail.queue",
        &["1", "0"],
        expect![[r#"
        1 => 1
        0 => must be greater than zero
    "#]],
    );
    check_values(
        "query.max_concurrent",
        &["1", "0"],
        expect![[r#"
        1 => 1
        0 => must be greater than zero
    "#]],
    );
    check_values(
        "tail.max_backlog",
        &["0"],
        expect![[r#"
        0 => 0
    "#]],
    );
}

#[test]
fn timeouts() {
    check_values(
        "query.timeout",
        &[r#""5s""#, r#""0s""#, r#""soon""#],
        expect![[r#"
            "5s" => 5s
            "0s" => must be longer than zero
            "soon" => invalid duration "soon": expected number at 0; expected a duration such as "90s", "1h" or "365d"
        "#]],
    );
}

#[test]
fn topics() {
    check_values(
        "alerts.topics",
        &[r##"["checkout", "#login_failed", "a1_b"]"##, r#"["check-out"]"#, r##"["#"]"##, r#""checkout""#, "[1]"],
        expect![[r##"
            ["checkout", "#login_failed", "a1_b"] => ["checkout", "login_failed", "a1_b"]
            ["check-out"] => "check-out" is not a topic: use letters, digits and '_', such as "checkout"
            ["#"] => "#" is not a topic: use letters, digits and '_', such as "checkout"
            "checkout" => invalid type: string "checkout", expected a sequence
            [1] => invalid type: integer `1`, expected a string
        "##]],
    );
}

#[test]
fn inflight_bytes_hold_at_least_one_body() {
    check(
        "[http]\nmax_body = \"2MiB\"\nmax_inflight_bytes = \"1MiB\"\n",
        expect![[r#"
            config error: http.max_inflight_bytes: 1048576 bytes is less than http.max_body (2097152 bytes): a body at the limit could never be read
        "#]],
    );
}

#[test]
fn min_free_is_a_share_or_a_size() {
    check_values(
        "storage.min_free",
        &[r#""10%""#, r#"" 2.5 % ""#, r#""0%""#, "0", r#""5GiB""#, "1024", r#""100%""#, r#""-1%""#, r#""ten%""#],
        expect![[r#"
            "10%" => Percent(10.0)
            " 2.5 % " => Percent(2.5)
            "0%" => None
            0 => None
            "5GiB" => Bytes(5368709120)
            1024 => Bytes(1024)
            "100%" => "100%" must be at least 0% and below 100%
            "-1%" => "-1%" must be at least 0% and below 100%
            "ten%" => invalid share "ten%": expected a percentage of the file system such as "10%", or a size
        "#]],
    );
}
