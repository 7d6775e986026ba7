//! RFC 5424: complete messages, structured data, NILVALUEs, timestamps, Logplex's missing
//! structured data, and every malformed header with its reason.

use expect_test::expect;

use super::{check, check_5424};

#[test]
fn complete() {
    // RFC 5424 section 6.5, examples 1, 3 and 4.
    check(
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed for lonvick on /dev/pts/8",
        expect![[
            r#"time=2003-10-11T22:14:15.003Z 4.critical host=mymachine.example.com app=su msgid=ID47 message="'su root' failed for lonvick on /dev/pts/8""#
        ]],
    );
    check(
        r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry..."#,
        expect![[
            r#"time=2003-10-11T22:14:15.003Z 20.notice host=mymachine.example.com app=evntslog msgid=ID47 fields={"exampleSDID@32473":{"iut":"3","eventSource":"Application","eventID":"1011"}} message="An application event log entry...""#
        ]],
    );
    check(
        r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]"#,
        expect![[
            r#"time=2003-10-11T22:14:15.003Z 20.notice host=mymachine.example.com app=evntslog msgid=ID47 fields={"exampleSDID@32473":{"iut":"3","eventSource":"Application","eventID":"1011"},"examplePriority@32473":{"class":"high"}} message="""#
        ]],
    );
    check(
        "<13>1 2024-05-01T10:00:00Z web-1 api 4242 req - GET /",
        expect![[r#"time=2024-05-01T10:00:00Z 1.notice host=web-1 app=api proc=4242 msgid=req message="GET /""#]],
    );
}

#[test]
fn nil_values() {
    check("<13>1 - - - - - -", expect![[r#"1.notice message="""#]]);
    check("<13>1 - - - - - - ", expect![[r#"1.notice message="""#]]);
    check("<13>1 - - - - - - msg", expect![[r#"1.notice message="msg""#]]);
    check("<0>1 - - - - - - emergency", expect![[r#"0.emergency message="emergency""#]]);
    check("<191>1 - - - - - - local7.debug", expect![[r#"23.debug message="local7.debug""#]]);
}

#[test]
fn structured_data() {
    // Escapes: \" \\ \] are unescaped, any other backslash kept.
    check(
        r#"<13>1 - - - - - [a@1 q="say \"hi\"" b="back\\slash" r="x\]y" o="\n\x"] m"#,
        expect![[r#"1.notice fields={"a@1":{"q":"say \"hi\"","b":"back\\slash","r":"x]y","o":"\\n\\x"}} message="m""#]],
    );
    // An unescaped ] inside quotes is accepted; so are empty values and elements without params.
    check(
        r#"<13>1 - - - - - [a@1 v="x]y" e=""][bare] m"#,
        expect![[r#"1.notice fields={"a@1":{"v":"x]y","e":""},"bare":{}} message="m""#]],
    );
    // The same SD-ID twice merges; a repeated param becomes an array.
    check(
        r#"<13>1 - - - - - [origin ip="10.0.0.1" ip="10.0.0.2"][origin ip="10.0.0.3" software="s"] m"#,
        expect![[r#"1.notice fields={"origin":{"ip":["10.0.0.1","10.0.0.2","10.0.0.3"],"software":"s"}} message="m""#]],
    );
    // Spaces between params are forgiven, and UTF-8 in values kept.
    check(
        r#"<13>1 - - - - - [a@1  x="é"  y="2" ] m"#,
        expect![[r#"1.notice fields={"a@1":{"x":"é","y":"2"}} message="m""#]],
    );
    // No MSG after structured data.
    check(r#"<13>1 - - - - - [a@1 x="1"]"#, expect![[r#"1.notice fields={"a@1":{"x":"1"}} message="""#]]);
}

#[test]
fn timestamps() {
    for fraction in ["", ".1", ".12", ".123", ".1234", ".12345", ".123456", ".123456789"] {
        let line = format!("<13>1 2024-05-01T10:00:00{fraction}Z - - - - - m");
        let parsed =
            super::super::parse(line.as_bytes(), crate::Source::SyslogUdp, super::RECEIVED, &mut Default::default());
        let expected = if fraction.len() > 7 { &fraction[..7] } else { fraction };
        assert_eq!(parsed.unwrap().time.to_string(), format!("2024-05-01T10:00:00{expected}Z"), "{fraction}");
    }
    check(
        "<13>1 2024-05-01T12:00:00.5+02:00 - - - - - m",
        expect![[r#"time=2024-05-01T10:00:00.5Z 1.notice message="m""#]],
    );
    check(
        "<13>1 2024-05-01T05:30:00-04:30 - - - - - m",
        expect![[r#"time=2024-05-01T10:00:00Z 1.notice message="m""#]],
    );
    check(
        "<13>1 2024-02-29t23:59:59z - - - - - lowercase t and z",
        expect![[r#"time=2024-02-29T23:59:59Z 1.notice message="lowercase t and z""#]],
    );
}

#[test]
fn message_text() {
    // BOM stripped, trailing newlines and NULs stripped, inner newlines kept.
    check("<13>1 - - - - - - \u{feff}bom\r\n", expect![[r#"1.notice message="bom""#]]);
    check("<13>1 - - - - - - two\nlines\n\n", expect![[r#"1.notice message="two\nlines""#]]);
    // Invalid UTF-8 is replaced, not rejected.
    check_bytes(b"<13>1 - h\xff - - - - caf\xe9 ok", expect![[r#"1.notice host=h� message="caf� ok""#]]);
    // Leading spaces of MSG are kept.
    check("<13>1 - - - - - -   indented", expect![[r#"1.notice message="  indented""#]]);
    let long = "x".repeat(10_000);
    let parsed = super::super::parse(
        format!("<13>1 - - - - - - {long}").as_bytes(),
        crate::Source::SyslogUdp,
        super::RECEIVED,
        &mut Default::default(),
    );
    assert_eq!(parsed.unwrap().message, long);
}

use super::check_bytes;

#[test]
fn logplex_missing_structured_data() {
    check_5424(
        "<40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed from starting to up",
        expect![[
            r#"time=2012-11-30T06:45:29Z 5.emergency host=host app=app proc=web.3 message="State changed from starting to up""#
        ]],
    );
    check_5424(
        "<40>1 2012-11-30T06:45:29+00:00 host app web.3 - - State changed from starting to up",
        expect![[
            r#"time=2012-11-30T06:45:29Z 5.emergency host=host app=app proc=web.3 message="State changed from starting to up""#
        ]],
    );
    check_5424(
        "<158>1 2012-10-11T03:47:20+00:00 d.0a8b6a26-8d34-42b5-bf4b-f3e3b8f2bda4 heroku router - - at=info method=GET path=/",
        expect![[
            r#"time=2012-10-11T03:47:20Z 19.info host=d.0a8b6a26-8d34-42b5-bf4b-f3e3b8f2bda4 app=heroku proc=router message="at=info method=GET path=/""#
        ]],
    );
    // The message ends after MSGID.
    check_5424("<13>1 - host app - ID1", expect![[r#"1.notice host=host app=app msgid=ID1 message="""#]]);
    // Known ambiguity: without the field, a MSG starting with [word] is structured data.
    check_5424(
        "<13>1 - host app - - [INFO] started",
        expect![[r#"1.notice host=host app=app fields={"INFO":{}} message="started""#]],
    );
}

#[test]
fn malformed() {
    check("", expect!["error empty at byte 0: empty message"]);
    check("\r\n\0", expect!["error empty at byte 0: empty message"]);
    check(
        "<13>1 2024-05-01T10:00:00 - - - - - no zone",
        expect!["error bad_timestamp at byte 6: expected an RFC 3339 timestamp such as 2024-05-01T12:00:00.123Z"],
    );
    check(
        "<13>1 2024-13-01T10:00:00Z - - - - - month 13",
        expect!["error bad_timestamp at byte 6: expected an RFC 3339 timestamp such as 2024-05-01T12:00:00.123Z"],
    );
    check("<13>1 2024-05-01T10:00:00Z", expect!["error truncated_header at byte 26: header ends before MSGID"]);
    check("<13>1 - host app", expect!["error truncated_header at byte 16: header ends before MSGID"]);
    check(
        "<13>1 - host  app - - - double space",
        expect!["error bad_header_field at byte 13: empty header field (two spaces)"],
    );
    check(
        "<13>1 - host\tx app - - - tab",
        expect!["error bad_header_field at byte 12: control character in a header field"],
    );
    check(
        r#"<13>1 - - - - - [id x="1"]junk"#,
        expect!["error bad_structured_data at byte 26: expected a space or the end after structured data"],
    );
    check(
        r#"<13>1 - - - - - [id x="1" m"#,
        expect![[r#"error bad_structured_data at byte 27: expected '="' after a parameter name"#]],
    );
    check(
        r#"<13>1 - - - - - [id x=1] m"#,
        expect![[r#"error bad_structured_data at byte 21: expected '="' after a parameter name"#]],
    );
    check(
        r#"<13>1 - - - - - [ x="1"] m"#,
        expect!["error bad_structured_data at byte 17: expected an SD-ID after '['"],
    );
    check(r#"<13>1 - - - - - [id x="1"] [id2] m"#, expect![[r#"1.notice fields={"id":{"x":"1"}} message="[id2] m""#]]);
    check("<192>1 - - - - - - m", expect!["error bad_pri at byte 4: PRI above 191 (facility 23, severity 7)"]);
    check("<1x>1 - - - - - - m", expect!["error bad_pri at byte 2: expected 1-3 digits and '>' after '<'"]);
    check("<>1 - - - - - - m", expect!["error bad_pri at byte 1: expected 1-3 digits and '>' after '<'"]);
    check("<0013>1 - - - - - - m", expect!["error bad_pri at byte 5: expected 1-3 digits and '>' after '<'"]);
    check_5424("no pri", expect!["error bad_pri at byte 0: expected <PRI>"]);
    check_5424("<13>2 - - - - - - m", expect!["error bad_version at byte 4: expected version 1"]);
    check_5424("<13>Feb  5 17:32:18 host app: legacy", expect!["error bad_version at byte 4: expected version 1"]);
    check_5424("<13>1", expect!["error truncated_header at byte 5: header ends before MSGID"]);
}
