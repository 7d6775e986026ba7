//! RFC 3164 as devices send it: with and without PRI, timestamp, year and host, the tag forms,
//! ISO timestamps, Cisco's format, and the few things that are rejected.

use expect_test::expect;

use super::{check, check_bytes};

#[test]
fn host_and_tag() {
    check(
        "<13>Feb  5 17:32:18 myhost su[123]: 'su root' failed",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice host=myhost app=su proc=123 message="'su root' failed""#]],
    );
    check(
        "<13>Feb  5 17:32:18 su[123]: no host",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice app=su proc=123 message="no host""#]],
    );
    check(
        "<13>Feb  5 17:32:18 myhost sshd: tag without pid",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice host=myhost app=sshd message="tag without pid""#]],
    );
    check(
        "<13>Feb  5 17:32:18 sshd: no host, tag without pid",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice app=sshd message="no host, tag without pid""#]],
    );
    check(
        "<13>Feb  5 17:32:18 myhost app[12] tag without colon",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice host=myhost app=app proc=12 message="tag without colon""#]],
    );
    check(
        "<22>Feb  5 17:32:18 mail.example.com postfix/smtpd[4711]: connect from unknown",
        expect![[
            r#"time=2024-02-05T17:32:18Z 2.info host=mail.example.com app=postfix/smtpd proc=4711 message="connect from unknown""#
        ]],
    );
    check(
        "<13>Feb  5 17:32:18 fe80::1 sshd[7]: IPv6 host",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice host=fe80::1 app=sshd proc=7 message="IPv6 host""#]],
    );
    check(
        "<13>Feb  5 17:32:18 10.0.0.1 no tag at all",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice host=10.0.0.1 message="no tag at all""#]],
    );
    // The heuristic's price: a first word followed by more text is a host, as in rsyslog.
    check(
        "<13>Feb  5 17:32:18 hello world",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice host=hello message="world""#]],
    );
    // A lone token is text, not a host.
    check("<13>Feb  5 17:32:18 hostonly", expect![[r#"time=2024-02-05T17:32:18Z 1.notice message="hostonly""#]]);
    check("<13>Feb  5 17:32:18 myhost", expect![[r#"time=2024-02-05T17:32:18Z 1.notice message="myhost""#]]);
    check(
        "<13>Feb  5 17:32:18 myhost app:",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice host=myhost app=app message="""#]],
    );
    // Not tags: no name, brackets that are text, too long.
    check(
        "<13>Feb  5 17:32:18 myhost [INFO] started",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice host=myhost message="[INFO] started""#]],
    );
    check(
        "<13>Feb  5 17:32:18 [INFO]: started",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice message="[INFO]: started""#]],
    );
    check(
        &format!("<13>Feb  5 17:32:18 {}: long", "t".repeat(65)),
        expect![[
            r#"time=2024-02-05T17:32:18Z 1.notice message="ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt: long""#
        ]],
    );
}

#[test]
fn timestamps() {
    // Received 2024-05-01T12:00:00Z: the year is 2024 unless that is more than a day ahead.
    check(
        "<13>Feb 5 17:32:18 h a: single space",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice host=h app=a message="single space""#]],
    );
    check(
        "<13>Feb 05 17:32:18 h a: zero padded",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice host=h app=a message="zero padded""#]],
    );
    check(
        "<13>May  2 11:59:59 h a: 24h ahead is this year",
        expect![[r#"time=2024-05-02T11:59:59Z 1.notice host=h app=a message="24h ahead is this year""#]],
    );
    check(
        "<13>May  2 12:00:01 h a: more than a day ahead is last year",
        expect![[r#"time=2023-05-02T12:00:01Z 1.notice host=h app=a message="more than a day ahead is last year""#]],
    );
    check(
        "<13>Dec 31 23:59:59 h a: december read in spring",
        expect![[r#"time=2023-12-31T23:59:59Z 1.notice host=h app=a message="december read in spring""#]],
    );
    check(
        "<13>feb  5 17:32:18 h a: month in any case",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice host=h app=a message="month in any case""#]],
    );
    check(
        "<13>Feb  5 17:32:18.123 h a: fraction",
        expect![[r#"time=2024-02-05T17:32:18.123Z 1.notice host=h app=a message="fraction""#]],
    );
    check(
        "<13>Feb  5 2019 17:32:18 h a: with year",
        expect![[r#"time=2019-02-05T17:32:18Z 1.notice host=h app=a message="with year""#]],
    );
    check(
        "<13>2024-05-01T10:00:00.123456+02:00 h a[1]: ISO 8601",
        expect![[r#"time=2024-05-01T08:00:00.123456Z 1.notice host=h app=a proc=1 message="ISO 8601""#]],
    );
    check(
        "<13>2024-05-01T10:00:00 h a: ISO 8601 without zone is UTC",
        expect![[r#"time=2024-05-01T10:00:00Z 1.notice host=h app=a message="ISO 8601 without zone is UTC""#]],
    );
    check("<13>Feb  5 17:32:18", expect![[r#"time=2024-02-05T17:32:18Z 1.notice message="""#]]);
}

#[test]
fn without_pri_or_timestamp() {
    // No PRI: user.notice (RFC 3164 section 4.3.3).
    check(
        "Feb  5 17:32:18 myhost su[123]: no PRI",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice host=myhost app=su proc=123 message="no PRI""#]],
    );
    check("just some text", expect![[r#"1.notice message="just some text""#]]);
    // No timestamp: no host, but a leading tag is still read.
    check("<14>python says hi", expect![[r#"1.info message="python says hi""#]]);
    check("<11>x: with name", expect![[r#"1.error app=x message="with name""#]]);
    check("<13>[INFO] started", expect![[r#"1.notice message="[INFO] started""#]]);
    check("<13>May I ask a question", expect![[r#"1.notice message="May I ask a question""#]]);
    check("<13>1 apple is not RFC 5424", expect![[r#"1.notice message="1 apple is not RFC 5424""#]]);
    check("<13>", expect![[r#"1.notice message="""#]]);
    check_bytes(
        b"<13>Feb  5 17:32:18 h a: caf\xe9\r\n",
        expect![[r#"time=2024-02-05T17:32:18Z 1.notice host=h app=a message="caf�""#]],
    );
}

#[test]
fn cisco() {
    check(
        "<189>123: *Mar  1 00:00:12.345: %SYS-5-CONFIG_I: Configured from console by console",
        expect![[
            r#"time=2024-03-01T00:00:12.345Z 23.notice app=%SYS-5-CONFIG_I message="Configured from console by console""#
        ]],
    );
    check(
        "<187>45: .Mar  1 2024 00:00:12: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down",
        expect![[
            r#"time=2024-03-01T00:00:12Z 23.error app=%LINK-3-UPDOWN message="Interface Gi0/1, changed state to down""#
        ]],
    );
    // A number and a colon without a timestamp after it are text.
    check("<13>123: not cisco", expect![[r#"1.notice message="123: not cisco""#]]);
}

#[test]
fn malformed() {
    check(
        "<13>Feb 30 17:32:18 h a: no such day",
        expect!["error bad_timestamp at byte 4: no such date or time (expected Mmm dd hh:mm:ss)"],
    );
    check(
        "<13>Feb  5 24:00:00 h a: no such hour",
        expect!["error bad_timestamp at byte 4: no such date or time (expected Mmm dd hh:mm:ss)"],
    );
    check(
        "<13>2024-13-01T00:00:00Z h a: no such month",
        expect!["error bad_timestamp at byte 4: expected an ISO 8601 timestamp such as 2024-05-01T12:00:00Z"],
    );
    check(
        "<13>2024-05-01Tjunk h a: not ISO",
        expect!["error bad_timestamp at byte 4: expected an ISO 8601 timestamp such as 2024-05-01T12:00:00Z"],
    );
    check(
        "<1234>Feb  5 17:32:18 h a: long PRI",
        expect!["error bad_pri at byte 5: expected 1-3 digits and '>' after '<'"],
    );
    check("<abc> text", expect!["error bad_pri at byte 1: expected 1-3 digits and '>' after '<'"]);
    check("\n", expect!["error empty at byte 0: empty message"]);
}
