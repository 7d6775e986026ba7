//! Logplex bodies: frames split exactly, then each parsed as RFC 5424; every malformed body
//! with its reason.

use expect_test::{Expect, expect};

use crate::Source;
use crate::intern::Interner;
use crate::syslog::{parse_5424, split_logplex};

fn check(body: &str, expect: Expect) {
    let out = match split_logplex(body.as_bytes()) {
        Err(error) => format!("error {error}\n"),
        Ok(frames) => {
            let mut interner = Interner::default();
            let mut out = String::new();
            for frame in frames {
                let parsed = parse_5424(frame, Source::Logplex, super::RECEIVED, &mut interner);
                out += &super::outcome(parsed);
                out += "\n";
            }
            out
        }
    };
    expect.assert_eq(&out);
}

#[test]
fn frames() {
    // Logplex's README example: each LEN counts the message's newline.
    check(
        "83 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - State changed from starting to up\n\
         119 <40>1 2012-11-30T06:45:26+00:00 host app web.3 - Starting process with command `bundle exec rackup config.ru -p 24405`\n",
        expect![[r#"
            time=2012-11-30T06:45:29Z 5.emergency host=host app=app proc=web.3 message="State changed from starting to up"
            time=2012-11-30T06:45:26Z 5.emergency host=host app=app proc=web.3 message="Starting process with command `bundle exec rackup config.ru -p 24405`"
        "#]],
    );
    // A sender whose LEN leaves the newline out still frames.
    check(
        "70 <158>1 2012-10-11T03:47:20+00:00 host heroku router - - at=info path=/\n\
         26 <40>1 - host app web.3 - m",
        expect![[r#"
            time=2012-10-11T03:47:20Z 19.info host=host app=heroku proc=router message="at=info path=/"
            5.emergency host=host app=app proc=web.3 message="m"
        "#]],
    );
    check("", expect![[""]]);
    check("\r\n", expect![[""]]);
}

#[test]
fn malformed() {
    check(
        "<40>1 - host app web.3 - no length",
        expect![[r#"
        error bad_frame_length at byte 0: expected a frame length and a space
    "#]],
    );
    check(
        "83<40>1 - host app web.3 - no space",
        expect![[r#"
        error bad_frame_length at byte 0: expected a frame length and a space
    "#]],
    );
    check(
        "0 ",
        expect![[r#"
        error bad_frame_length at byte 0: frame length 0
    "#]],
    );
    check(
        "12345678901 <40>1",
        expect![[r#"
        error bad_frame_length at byte 0: expected a frame length and a space
    "#]],
    );
    check(
        "100 <40>1 - host app web.3 - short",
        expect![[r#"
        error truncated_frame at byte 0: frame length past the end of the body
    "#]],
    );
    check(
        "26 <40>1 - host app web.3 - m27 <40>1 - host app web.3 - m",
        expect![[r#"
        error truncated_frame at byte 29: frame length past the end of the body
    "#]],
    );
    // Splitting succeeds; the frame itself is then not RFC 5424.
    check(
        "15 <13>legacy line",
        expect![[r#"
        error bad_version at byte 4: expected version 1
    "#]],
    );
}
