//! Topics (`#checkout`) and identities (`@bob`) in a message (DESIGN.md section 5, Popcorn).
//!
//! A token starts at the start of the message or after a space, `,`, `;` or `-`. Any ASCII
//! whitespace counts as a space, so a `#topic` at the start of a line of a multi-line message is
//! found too.
//! - `#` followed by letters, digits or `_` is a topic, named without the `#`. The name is the
//!   longest such run (`#checkout-error` is `checkout`), and is no topic when `<` follows it
//!   (`#Port<0.1>` is an Erlang term, not a topic).
//! - `@` followed by letters, digits, `_` or `.` is an identity, without trailing dots
//!   (`@c.d.` is `c.d`). `bob@example.com` has no identity: the `@` does not start a token.
//!
//! Letters and digits are Unicode ones (`#café`, `@josé`). Names keep their case. Each list keeps
//! the first occurrence of each name, in order.

use crate::Str;

/// Appends the topics and identities of `message` to the two lists, skipping names that are
/// already there.
pub fn extract(message: &str, topics: &mut Vec<Str>, identities: &mut Vec<Str>) {
    let bytes = message.as_bytes();
    for at in memchr::memchr2_iter(b'#', b'@', bytes) {
        if at > 0 && !starts_token(bytes[at - 1]) {
            continue;
        }
        // `#` and `@` are ASCII, so `at + 1` is a character boundary.
        let rest = &message[at + 1..];
        if bytes[at] == b'#' {
            let name = name_prefix(rest, |c| c.is_alphanumeric() || c == '_');
            if !name.is_empty() && !rest[name.len()..].starts_with('<') {
                push_new(topics, name);
            }
        } else {
            let name = name_prefix(rest, |c| c.is_alphanumeric() || c == '_' || c == '.');
            let name = name.trim_end_matches('.');
            if !name.is_empty() {
                push_new(identities, name);
            }
        }
    }
}

fn starts_token(previous: u8) -> bool {
    matches!(previous, b',' | b';' | b'-') || previous.is_ascii_whitespace()
}

/// The longest prefix of `s` whose characters all satisfy `allowed`.
fn name_prefix(s: &str, allowed: impl Fn(char) -> bool) -> &str {
    let end = s.char_indices().find(|&(_, c)| !allowed(c)).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

fn push_new(list: &mut Vec<Str>, name: &str) {
    if !list.iter().any(|seen| &**seen == name) {
        list.push(Str::from(name));
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    fn check(message: &str, expect: Expect) {
        let (mut topics, mut identities) = (Vec::new(), Vec::new());
        extract(message, &mut topics, &mut identities);
        expect.assert_eq(&format!("topics {topics:?} identities {identities:?}"));
    }

    #[test]
    fn design_examples() {
        check("@bob hit #checkout-error", expect![[r#"topics ["checkout"] identities ["bob"]"#]]);
        check("mail bob@example.com", expect![[r#"topics [] identities []"#]]);
        check("got #Port<0.1> from #Ref", expect![[r#"topics ["Ref"] identities []"#]]);
    }

    #[test]
    fn token_starts() {
        check("a,#b;@c.d.", expect![[r#"topics ["b"] identities ["c.d"]"#]]);
        check("-#x", expect![[r#"topics ["x"] identities []"#]]);
        check("x-#y x#z x.#w (#v) '#u'", expect![[r#"topics ["y"] identities []"#]]);
        check("line one\n#two\t@three\r\n@four", expect![[r#"topics ["two"] identities ["three", "four"]"#]]);
        check("#a#b @c@d", expect![[r#"topics ["a"] identities ["c"]"#]]);
    }

    #[test]
    fn edge_cases() {
        check("", expect![[r#"topics [] identities []"#]]);
        check("#", expect![[r#"topics [] identities []"#]]);
        check("@", expect![[r#"topics [] identities []"#]]);
        check("# @ #- @-", expect![[r#"topics [] identities []"#]]);
        check("#_", expect![[r#"topics ["_"] identities []"#]]);
        check("@.", expect![[r#"topics [] identities []"#]]);
        check("@...", expect![[r#"topics [] identities []"#]]);
        check("@a..b..", expect![[r#"topics [] identities ["a..b"]"#]]);
        check("#a.b @x_y! #42", expect![[r#"topics ["a", "42"] identities ["x_y"]"#]]);
        check("#a< #b <", expect![[r#"topics ["b"] identities []"#]]);
        check("no markers at all", expect![[r#"topics [] identities []"#]]);
    }

    #[test]
    fn duplicates_keep_first_seen_order() {
        check("#b #a #b @y @x @y #A", expect![[r#"topics ["b", "a", "A"] identities ["y", "x"]"#]]);
        let (mut topics, mut identities) = (vec![Str::from("a")], Vec::new());
        extract("#b #a", &mut topics, &mut identities);
        assert_eq!(topics, [Str::from("a"), Str::from("b")]);
    }

    #[test]
    fn unicode() {
        check(
            "#café @josé #日本語 @ünïcødé.",
            expect![[r#"topics ["café", "日本語"] identities ["josé", "ünïcødé"]"#]],
        );
        check("#a\u{00A0}#b", expect![[r#"topics ["a"] identities []"#]]);
        check("#é́ #🎉 @x🎉", expect![[r#"topics ["é"] identities ["x"]"#]]);
        check("\u{3000}#wide", expect![[r#"topics [] identities []"#]]);
    }

    #[test]
    fn mutated_messages_never_panic() {
        let seeds: &[&[u8]] =
            &["@bob hit #checkout-error, #Port<0.1> a;@c.d. #café".as_bytes(), "-#x\n@y #_ #日本".as_bytes()];
        for bytes in crate::json::mutate::mutations(seeds, 20_000) {
            let message = String::from_utf8_lossy(&bytes);
            let (mut topics, mut identities) = (Vec::new(), Vec::new());
            extract(&message, &mut topics, &mut identities);
            assert!(topics.iter().chain(&identities).all(|name| !name.is_empty()));
        }
    }
}
