//! Lines captured from real clients (util-linux `logger` 2.38 and Python 3.11's
//! `logging.handlers.SysLogHandler`, sent over UDP to a socket and printed with `repr`), so
//! the parser is held to what they really send.

use expect_test::expect;

use super::check_bytes;

#[test]
fn logger_rfc5424() {
    // logger --rfc5424 -t myapp -p local0.warning --msgid ID47 --sd-id exampleSDID@32473
    //        --sd-param 'iut="3"' --sd-param 'eventSource="App\\lic\]ation"' hello world
    check_bytes(
        br#"<132>1 2026-11-21T19:54:06.935957+00:00 vm myapp - ID47 [timeQuality tzKnown="1" isSynced="0"][exampleSDID@32473 iut="3" eventSource="App\\lic\]ation"] hello world"#,
        expect![[r#"time=2026-11-21T19:54:06.935957Z 16.warning host=vm app=myapp msgid=ID47 fields={"timeQuality":{"tzKnown":"1","isSynced":"0"},"exampleSDID@32473":{"iut":"3","eventSource":"App\\lic]ation"}} message="hello world""#]],
    );
    // logger (the default is RFC 5424) and logger --rfc5424=notq,notime,nohost.
    check_bytes(
        br#"<13>1 2026-11-21T19:54:06.942969+00:00 vm root - - [timeQuality tzKnown="1" isSynced="0"] hello default"#,
        expect![[
            r#"time=2026-11-21T19:54:06.942969Z 1.notice host=vm app=root fields={"timeQuality":{"tzKnown":"1","isSynced":"0"}} message="hello default""#
        ]],
    );
    check_bytes(b"<13>1 - - root - - - hello bare", expect![[r#"1.notice app=root message="hello bare""#]]);
}

#[test]
fn logger_rfc3164() {
    // logger --rfc3164 -t myapp -i -p user.notice hello 3164
    check_bytes(
        b"<13>Nov 21 19:54:06 vm myapp[13536]: hello 3164",
        expect![[r#"time=2023-11-21T19:54:06Z 1.notice host=vm app=myapp proc=13536 message="hello 3164""#]],
    );
    // The same over TCP without octet counting ends with a newline.
    check_bytes(
        b"<13>Nov 21 19:54:13 vm app: newline one\n",
        expect![[r#"time=2023-11-21T19:54:13Z 1.notice host=vm app=app message="newline one""#]],
    );
}

#[test]
fn python_syslog_handler() {
    // logger.warning('python says hi') with the default formatter: no timestamp, no host,
    // and a NUL at the end.
    check_bytes(b"<12>python says hi\x00", expect![[r#"1.warning message="python says hi""#]]);
    // Formatter('%(name)s: %(message)s'), then with ident = 'myident: '.
    check_bytes(b"<11>x: with name\x00", expect![[r#"1.error app=x message="with name""#]]);
    check_bytes(b"<11>myident: x: with ident\x00", expect![[r#"1.error app=myident message="x: with ident""#]]);
}
