//! Message normalization for grouping (DESIGN.md section 8): the variable parts of a message are
//! replaced by placeholders, so that `disk 3 of 10.0.0.7 failed` and `disk 5 of 10.0.0.9 failed`
//! both become `disk <num> of <ip> failed`.
//!
//! Placeholders:
//! - `<str>`: a quoted string, `"…"` (with `\"` escapes) or `'…'` (a `'` opens only where no
//!   letter or digit precedes it and closes only where none follows, so `don't` stays).
//! - `<uuid>`: `8-4-4-4-12` hex digits, also inside a word (`req-<uuid>`).
//! - `<ip>`: an IPv4 address, an IPv6 address (with `::`, or all eight groups) or a host name
//!   (`db-1.example.com`, `a.b.hk`), each with an optional `:port`. Host names share the
//!   placeholder because clients log either in the same place (`rhost=10.0.0.7`,
//!   `rhost=dsl-7.example.net`).
//! - `<email>`: `local@domain.tld`.
//! - `<path>`, `<url>`: a word that is a file path (`/var/log/x`, `./x/y`, `~/x`, `C:\x`) or a
//!   URL (`https://…`).
//! - `<hex>`: `0x…`, MAC addresses, and runs of 16 or more hex digits with a letter (hashes,
//!   trace ids).
//! - `<num>`: a number, with an optional sign and dotted parts (`-12`, `3.14`, `1.2.3`, `1e5`).
//! - `<date>`: a day or month name (`Sun`, `Jul`) followed by a number or another such name.
//!
//! Words that contain digits: a word is split into runs of letters and digits at every other
//! character (`_`, `-`, `.`, `/`, `:`, …), and each run is judged alone. A run that holds a digit
//! is a variable as a whole: `blk_-123` becomes `blk_<num>` (a `-` after a separator is a sign),
//! `attempt_1445_0020_m_000007` becomes `attempt_<num>_<num>_m_<num>`, and `user42`, `node-D7`,
//! `9f4ef63` become `<num>`, `node-<num>`, `<num>`. In logs a digit inside a word is far more often
//! part of a counter, an id, a host or a hex value than of a fixed name, and a hex value must look
//! the same whether or not it happens to hold a letter; the price is that fixed names such as
//! `ipv4` and `ipv6` look alike. A number followed by a unit keeps the unit (`200ms` becomes
//! `<num>ms`) unless the unit is made of hex letters only. Runs of eight or more hex letters
//! (`ffffffff`) are numbers too.
//!
//! A token that holds a placeholder and repeats the token before it is dropped, so that lists of
//! any length look alike (`blk_<num> blk_<num>`, `<ip>,<ip>`). Whitespace runs become one space,
//! lines are trimmed, blank lines dropped, and the lines of a multi-line message (a stack trace)
//! are normalized one by one and joined with `\n`. Anything that is not ASCII counts as a letter.
//!
//! The work is one pass over the bytes with bounded look-ahead, no regular expressions.

const HEX_MIN: usize = 16;
/// The longest local part and domain of an e-mail address (RFC 5321), bounding look-ahead.
const EMAIL_LOCAL_MAX: usize = 64;
const EMAIL_DOMAIN_MAX: usize = 253;
/// The most dotted parts one number may have (`1.2.3.4.5.6.7.8`), bounding look-ahead.
const NUMBER_PARTS_MAX: usize = 8;

/// The message with its variable parts replaced by placeholders (module docs).
pub fn normalize(message: &str) -> String {
    let mut out = String::with_capacity(message.len() + 16);
    for line in message.split('\n') {
        let mark = out.len();
        if mark > 0 {
            out.push('\n');
        }
        let start = out.len();
        normalize_line(line, &mut out);
        if out.len() == start {
            out.truncate(mark);
        }
    }
    out
}

/// Bytes that end a word: quotes, brackets and the separators of `key=value, …` lists.
fn is_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'"' | b'('
            | b')'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'<'
            | b'>'
            | b','
            | b';'
            | b'='
            | b'|'
            | b'!'
            | b'?'
            | b'&'
            | b'*'
            | b'`'
    )
}

/// Letters and digits; every byte of a non-ASCII character counts as a letter.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// The length of the whitespace character at `i`, if there is one.
fn space_at(line: &str, i: usize) -> Option<usize> {
    let b = line.as_bytes()[i];
    if b < 0x80 {
        return b.is_ascii_whitespace().then_some(1);
    }
    let c = line[i..].chars().next()?;
    c.is_whitespace().then(|| c.len_utf8())
}

fn normalize_line(line: &str, out: &mut String) {
    let bytes = line.as_bytes();
    let start = out.len();
    let mut pending_space = false;
    // Once a quote finds no closing partner, no later one on this line can find one either.
    let mut unclosed = [false; 2];
    let mut i = 0;
    while i < bytes.len() {
        if let Some(n) = space_at(line, i) {
            pending_space = true;
            i += n;
            continue;
        }
        if pending_space && out.len() > start {
            out.push(' ');
        }
        pending_space = false;
        let b = bytes[i];
        if b == b'"' || b == b'\'' {
            let which = usize::from(b == b'\'');
            let opens = b == b'"' || i == 0 || !is_word(bytes[i - 1]);
            if opens && !unclosed[which] {
                match closing_quote(bytes, i) {
                    Some(end) => {
                        out.push_str("<str>");
                        i = end + 1;
                        continue;
                    }
                    None => unclosed[which] = true,
                }
            }
        }
        if is_delimiter(b) || b == b'\'' {
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let end = word_end(line, i);
        if is_date_name(&bytes[i..end]) && date_follows(line, end) {
            out.push_str("<date>");
        } else {
            normalize_word(&line[i..end], out);
        }
        i = end;
    }
    if out[start..].matches('<').nth(1).is_some() {
        collapse_repeats(out, start);
    }
}

fn word_end(line: &str, from: usize) -> usize {
    let bytes = line.as_bytes();
    (from..bytes.len())
        .find(|&j| is_delimiter(bytes[j]) || line.is_char_boundary(j) && space_at(line, j).is_some())
        .unwrap_or(bytes.len())
}

const DATE_NAMES: [&[u8]; 19] = [
    b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun", b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul",
    b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn is_date_name(word: &[u8]) -> bool {
    DATE_NAMES.contains(&word)
}

/// Whether a number or another day or month name follows after spaces: `Sun Jul 3 10:04:45`.
fn date_follows(line: &str, end: usize) -> bool {
    let rest = &line[end..];
    let next = rest.trim_start_matches([' ', '\t']);
    if next.len() == rest.len() {
        return false;
    }
    let start = line.len() - next.len();
    next.starts_with(|c: char| c.is_ascii_digit()) || is_date_name(&line.as_bytes()[start..word_end(line, start)])
}

/// Drops a token that repeats the one before it when it holds a placeholder, so that lists of
/// any length look alike: `blk_<num> blk_<num> blk_<num>` and `<ip>,<ip>` become one.
fn collapse_repeats(out: &mut String, start: usize) {
    let line = out.split_off(start);
    let mut previous: Option<&str> = None;
    let mut rest = line.as_str();
    while !rest.is_empty() {
        let separator = rest.len() - rest.trim_start_matches([' ', ',']).len();
        let token_len = rest[separator..].find([' ', ',']).unwrap_or(rest.len() - separator);
        let token = &rest[separator..separator + token_len];
        if previous == Some(token) && token.contains('<') {
            rest = &rest[separator + token_len..];
            continue;
        }
        out.push_str(&rest[..separator + token_len]);
        previous = Some(token);
        rest = &rest[separator + token_len..];
    }
}

/// The index of the quote that closes the one at `open`.
fn closing_quote(bytes: &[u8], open: usize) -> Option<usize> {
    let quote = bytes[open];
    let mut j = open + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' if quote == b'"' => j += 1,
            b if b == quote && (quote == b'"' || bytes.get(j + 1).is_none_or(|&next| !is_word(next))) => {
                return Some(j);
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// One whitespace- and delimiter-free word, atom by atom.
fn normalize_word(word: &str, out: &mut String) {
    if let Some(placeholder) = path_or_url(word.as_bytes()) {
        let kept = word.trim_end_matches(['.', ':']);
        out.push_str(placeholder);
        out.push_str(&word[kept.len()..]);
        return;
    }
    let bytes = word.as_bytes();
    let has_at = memchr::memchr(b'@', bytes).is_some();
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !is_word(bytes[i - 1]);
        if let Some((len, placeholder)) = boundary.then(|| atom(&bytes[i..], has_at)).flatten() {
            out.push_str(placeholder);
            i += len;
            continue;
        }
        if is_word(bytes[i]) {
            let end = i + bytes[i..].iter().position(|&b| !is_word(b)).unwrap_or(bytes.len() - i);
            push_run(&word[i..end], out);
            i = end;
        } else {
            out.push(char::from(bytes[i]));
            i += 1;
        }
    }
}

/// A whole word that is a file path (`/var/log/x`, `./a/b`, `~/x`, `C:\\x`) or a URL (`scheme://…`).
fn path_or_url(word: &[u8]) -> Option<&'static str> {
    let path = match word {
        [b'/', rest @ ..] => rest.len() > 1 && rest[1..].contains(&b'/'),
        [b'.' | b'~', b'/', ..] | [b'.', b'.', b'/', ..] => true,
        [drive, b':', b'\\', ..] => drive.is_ascii_alphabetic(),
        _ => false,
    };
    if path {
        return Some("<path>");
    }
    let scheme = word.iter().take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-')).count();
    let url =
        scheme > 0 && word[0].is_ascii_alphabetic() && word[scheme..].starts_with(b"://") && word.len() > scheme + 3;
    url.then_some("<url>")
}

/// A run of letters and digits that is no atom: a long hex run is `<hex>`, one with a digit (or
/// eight hex letters) `<num>`, anything else stays.
fn push_run(run: &str, out: &mut String) {
    let bytes = run.as_bytes();
    if is_hex_run(bytes) {
        out.push_str("<hex>");
    } else if bytes.iter().any(u8::is_ascii_digit) || bytes.len() >= 8 && bytes.iter().all(u8::is_ascii_hexdigit) {
        out.push_str("<num>");
    } else {
        out.push_str(run);
    }
}

/// A hash or trace id: sixteen or more hex digits with a letter among them.
fn is_hex_run(bytes: &[u8]) -> bool {
    bytes.len() >= HEX_MIN && bytes.iter().all(u8::is_ascii_hexdigit) && bytes.iter().any(u8::is_ascii_alphabetic)
}

/// Finds one kind of atom at the start of a word's rest and gives its length.
type Matcher = fn(&[u8]) -> Option<usize>;

/// The placeholder for the atom that starts `rest` (at a word boundary) and its length. An atom
/// must end at the end of the word or before a byte that is no letter or digit. Each matcher
/// gives up at the first byte that cannot start its atom.
fn atom(rest: &[u8], has_at: bool) -> Option<(usize, &'static str)> {
    let ends = |len: usize| rest.get(len).is_none_or(|&b| !is_word(b));
    let matchers: [(Matcher, &'static str); 4] =
        [(hex_prefixed, "<hex>"), (uuid, "<uuid>"), (ipv6, "<ip>"), (mac, "<hex>")];
    for (matcher, placeholder) in matchers {
        if let Some(len) = matcher(rest).filter(|&len| ends(len)) {
            return Some((len, placeholder));
        }
    }
    let email_near = has_at && rest.iter().take(EMAIL_LOCAL_MAX + 1).any(|&b| b == b'@');
    if let Some(len) = email_near.then(|| email(rest)).flatten() {
        return Some((len, "<email>"));
    }
    // Host names first: `10.0.0.7.example.net` is a host, not an address and a word.
    if let Some(len) = hostname(rest).or_else(|| ipv4(rest).filter(|&len| ends(len))) {
        return Some((len, "<ip>"));
    }
    let first = rest[0];
    let signed = matches!(first, b'-' | b'+') && rest.get(1).is_some_and(u8::is_ascii_digit);
    if !first.is_ascii_digit() && !signed {
        return None;
    }
    let run = rest.iter().position(|&b| !is_word(b)).unwrap_or(rest.len());
    if is_hex_run(&rest[..run]) {
        return Some((run, "<hex>"));
    }
    // A unit may follow (`200ms`) and stays, as the next run; one of hex letters only
    // (`00106dcc`) would make hex values look different from each other.
    let unit_ends = |len: usize| {
        let unit = rest[len..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
        ends(len + unit) && (unit == 0 || !rest[len..len + unit].iter().all(u8::is_ascii_hexdigit))
    };
    number(rest).filter(|&len| unit_ends(len)).map(|len| (len, "<num>"))
}

fn digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

fn hex_digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_hexdigit()).count()
}

/// `0x1f`, `0XAB`.
fn hex_prefixed(rest: &[u8]) -> Option<usize> {
    if rest.len() > 2 && rest[0] == b'0' && matches!(rest[1], b'x' | b'X') {
        let n = hex_digits(&rest[2..]);
        return (n > 0).then_some(2 + n);
    }
    None
}

/// `8-4-4-4-12` hex digits.
fn uuid(rest: &[u8]) -> Option<usize> {
    let mut at = 0;
    for (index, len) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if index > 0 {
            if rest.get(at) != Some(&b'-') {
                return None;
            }
            at += 1;
        }
        if hex_digits(rest.get(at..)?) < len {
            return None;
        }
        at += len;
    }
    Some(at)
}

/// A MAC address: six groups of one or two hex digits split by `:` or by `-`
/// (`0:1a:2b:3c:4d:5e`).
fn mac(rest: &[u8]) -> Option<usize> {
    let separator = *rest.get(hex_digits(rest)).filter(|&&b| b == b':' || b == b'-')?;
    let mut at = 0;
    for group in 0..6 {
        if group > 0 {
            if rest.get(at) != Some(&separator) {
                return None;
            }
            at += 1;
        }
        let n = hex_digits(&rest[at..]);
        if n == 0 || n > 2 {
            return None;
        }
        at += n;
    }
    Some(at)
}

/// Four dotted numbers 0-255 with an optional `:port`.
fn ipv4(rest: &[u8]) -> Option<usize> {
    let mut at = 0;
    for part in 0..4 {
        if part > 0 {
            if rest.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let n = digits(&rest[at..]);
        if n == 0 || n > 3 || std::str::from_utf8(&rest[at..at + n]).ok()?.parse::<u8>().is_err() {
            return None;
        }
        at += n;
    }
    if rest.get(at) == Some(&b'.') && rest.get(at + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    if rest.get(at) == Some(&b':') {
        let port = digits(&rest[at + 1..]);
        if (1..=5).contains(&port) {
            at += 1 + port;
        }
    }
    Some(at)
}

/// IPv6: groups of 1-4 hex digits split by `:`, with one `::` or eight groups, holding at least
/// one digit (so `abc::def` in a code path is no address).
fn ipv6(rest: &[u8]) -> Option<usize> {
    let mut double = rest.starts_with(b"::");
    let mut at = if double { 2 } else { 0 };
    let mut groups = 0;
    let mut digit = false;
    loop {
        let n = hex_digits(&rest[at..]);
        if n > 4 {
            return None;
        }
        if n == 0 {
            // Only at the start, or right after a `::` that ends the address.
            break;
        }
        digit |= rest[at..at + n].iter().any(u8::is_ascii_digit);
        at += n;
        groups += 1;
        if groups > 8 {
            return None;
        }
        if rest[at..].starts_with(b"::") {
            if double {
                return None;
            }
            double = true;
            at += 2;
        } else if rest.get(at) == Some(&b':') && rest.get(at + 1).is_some_and(u8::is_ascii_hexdigit) {
            at += 1;
        } else {
            break;
        }
    }
    ((double || groups == 8) && digit).then_some(at)
}

/// Top-level domains that are not two-letter country codes but common in logs.
const GENERIC_TLDS: [&str; 14] =
    ["com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "arpa", "local", "internal", "lan"];

/// First labels of Java and Android package names (`org.apache.hadoop`), which are no hosts.
const REVERSED_DOMAIN_STARTS: [&str; 6] = ["com", "org", "net", "io", "edu", "gov"];

/// A domain name with an optional `:port`: dot-separated labels of letters, digits and `-`,
/// ending in a generic top-level domain (`com`, …), or in a two-letter one after at least two
/// more labels (`a.b.hk`, but not the file `setup.py`).
fn hostname(rest: &[u8]) -> Option<usize> {
    let mut at = 0;
    let mut labels = 0;
    let mut first = 0..0;
    let mut last = 0..0;
    loop {
        let n = rest[at..].iter().take(64).take_while(|&&b| b.is_ascii_alphanumeric() || b == b'-').count();
        if n == 0 || rest[at] == b'-' {
            return None;
        }
        last = at..at + n;
        if labels == 0 {
            first = last.clone();
        }
        at += n;
        labels += 1;
        if labels > 32 {
            return None;
        }
        if rest.get(at) == Some(&b'.') && rest.get(at + 1).is_some_and(u8::is_ascii_alphanumeric) {
            at += 1;
        } else {
            break;
        }
    }
    // `com.tencent.mm` is a Java package, not a host.
    if REVERSED_DOMAIN_STARTS.iter().any(|start| start.as_bytes() == &rest[first.clone()]) {
        return None;
    }
    let tld = &rest[last];
    let known = GENERIC_TLDS.iter().any(|g| g.as_bytes().eq_ignore_ascii_case(tld));
    let country = tld.len() == 2 && labels >= 3;
    if labels < 2 || !(known || country) || !tld.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    if rest.get(at) == Some(&b':') {
        let port = digits(&rest[at + 1..]);
        if (1..=5).contains(&port) {
            at += 1 + port;
        }
    }
    rest.get(at).is_none_or(|&b| !is_word(b)).then_some(at)
}

/// `local@domain.tld`, the top-level domain at least two letters.
fn email(rest: &[u8]) -> Option<usize> {
    let local_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    let local = rest.iter().take(EMAIL_LOCAL_MAX + 1).take_while(|b| local_byte(b)).count();
    if local == 0 || local > EMAIL_LOCAL_MAX || rest.get(local) != Some(&b'@') {
        return None;
    }
    let domain_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-');
    let domain_start = local + 1;
    let mut domain = rest[domain_start..].iter().take(EMAIL_DOMAIN_MAX).take_while(|b| domain_byte(b)).count();
    while domain > 0 && matches!(rest[domain_start + domain - 1], b'.' | b'-') {
        domain -= 1;
    }
    let name = &rest[domain_start..domain_start + domain];
    let tld = name.rsplit(|&b| b == b'.').next()?;
    let end = domain_start + domain;
    let dotted = name.contains(&b'.') && !name.starts_with(b".");
    let ends = rest.get(end).is_none_or(|&b| !is_word(b));
    (dotted && tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic) && ends).then_some(end)
}

/// `-12`, `3.14`, `1.2.3`, `6e-3`.
fn number(rest: &[u8]) -> Option<usize> {
    let mut at = usize::from(matches!(rest[0], b'-' | b'+'));
    let n = digits(&rest[at..]);
    if n == 0 {
        return None;
    }
    at += n;
    for _ in 1..NUMBER_PARTS_MAX {
        if rest.get(at) != Some(&b'.') {
            break;
        }
        let n = digits(&rest[at + 1..]);
        if n == 0 {
            break;
        }
        at += 1 + n;
    }
    if matches!(rest.get(at), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(rest.get(at + 1), Some(b'-' | b'+')));
        let n = rest.get(at + 1 + sign..).map_or(0, digits);
        if n > 0 && rest.get(at + 1 + sign + n).is_none_or(|&b| !is_word(b)) {
            return Some(at + 1 + sign + n);
        }
    }
    Some(at)
}

#[cfg(test)]
mod tests;
