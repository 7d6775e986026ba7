//! Compiled string matchers for query values: equality and substring search ignoring case,
//! globs and regexes. Each is built once per term, so that matching an event only reads
//! memory: needles are pre-lowered, substring searchers precompiled, simple globs become
//! prefix, suffix or substring tests and the rest regexes. Every searcher and regex is built
//! within the query's [`Budget`] and charged to it.
//!
//! Substring search ignoring case is the hot path of a needle search over the ring. It uses
//! `memmem` when the needle has no letters, and `memmem` for the needle's longest run of
//! three or more bytes without letters (`=500` in `status=500`), each hit checked, when it
//! has one. Otherwise, when ASCII case folding is enough, it
//! looks for every case variant of the needle's first four bytes at once with aho-corasick's
//! SIMD searcher (Teddy) and checks each hit: over a million log messages this measured within
//! 1.4 times a case-sensitive `memmem`, 1.5 to 2.4 times faster than a `(?i)` regex and 4 to 8
//! times faster than an ASCII case-insensitive Aho-Corasick automaton (whose prefilter can only
//! look for single bytes). Needles with non-ASCII letters, or machines without the SIMD
//! searcher, use a case-insensitive regex. A regex whose matches all start with one of a few
//! literals (`duration_ms=3` in `duration_ms=3[0-9]+`) looks for them first, so that strings
//! without them never run the regex.

use std::fmt;

use aho_corasick::Span;
use aho_corasick::packed::{self, Searcher};
use memchr::memmem;
use regex_automata::meta;
use regex_automata::util::prefilter::Prefilter;
use regex_automata::util::syntax;

use super::budget::{Budget, LITERAL_CACHE_BYTES, Over, REGEX_CACHE_BYTES};

/// How one term's value is compared with one string of an event.
#[derive(Clone)]
pub(crate) enum TextPred {
    /// `field:*`: the string is not empty.
    Present,
    /// `field:value`, `field:"value"`: equal, ignoring case.
    Eq(Exact),
    /// A bare word or phrase: contained in the message, ignoring case.
    Contains(Contains),
    /// `field:web-*`.
    Glob(Glob),
    /// `field:/regex/`, as written (case-sensitive unless it says `(?i)`).
    Regex(Pattern),
}

impl TextPred {
    #[inline]
    pub(crate) fn matches(&self, s: &str) -> bool {
        match self {
            TextPred::Present => !s.is_empty(),
            TextPred::Eq(exact) => exact.matches(s),
            TextPred::Contains(contains) => contains.matches(s),
            TextPred::Glob(glob) => glob.matches(s),
            TextPred::Regex(regex) => regex.is_match(s),
        }
    }

    /// A relative cost of one test on a short string, for ordering AND and OR children.
    pub(crate) fn cost(&self) -> u32 {
        match self {
            TextPred::Present => 1,
            TextPred::Eq(_) => 2,
            TextPred::Contains(_) => 4,
            TextPred::Glob(glob) => match glob.how {
                GlobHow::Prefix(_) | GlobHow::Suffix(_) => 3,
                GlobHow::Contains(_) => 4,
                GlobHow::Regex(_) => 8,
            },
            TextPred::Regex(_) => 8,
        }
    }

    /// Substrings that every string this predicate accepts contains, ignoring case: the
    /// needle, the value compared with, or the literal pieces of a glob. None for a regex
    /// (its literals would need its syntax) or `*`.
    pub(crate) fn required_substrings(&self) -> Vec<&str> {
        match self {
            TextPred::Present | TextPred::Regex(_) => Vec::new(),
            TextPred::Eq(exact) => vec![exact.text()],
            TextPred::Contains(contains) => vec![&contains.needle],
            TextPred::Glob(glob) => match &glob.how {
                GlobHow::Prefix(exact) | GlobHow::Suffix(exact) => vec![exact.text()],
                GlobHow::Contains(contains) => vec![&contains.needle],
                // `?` is literal in a glob found anywhere; splitting on it too only gives
                // shorter pieces, which are still required.
                GlobHow::Regex(_) => glob.pattern.split(['*', '?']).filter(|piece| !piece.is_empty()).collect(),
            },
        }
    }

    /// Writes the predicate applied to `field`: `eq(host, "web")`.
    pub(crate) fn fmt_on(&self, field: &dyn fmt::Display, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextPred::Present => write!(f, "present({field})"),
            TextPred::Eq(exact) => write!(f, "eq({field}, {:?})", exact.text),
            TextPred::Contains(contains) => write!(f, "contains({field}, {:?})", contains.needle),
            TextPred::Glob(glob) => match &glob.how {
                GlobHow::Prefix(p) => write!(f, "starts_with({field}, {:?})", p.text),
                GlobHow::Suffix(s) => write!(f, "ends_with({field}, {:?})", s.text),
                GlobHow::Contains(c) => write!(f, "contains({field}, {:?})", c.needle),
                GlobHow::Regex(_) => write!(f, "glob({field}, {:?})", glob.pattern),
            },
            TextPred::Regex(regex) => write!(f, "regex({field}, /{}/)", regex.as_str().replace('/', "\\/")),
        }
    }
}

/// Whether comparing bytes with ASCII case folding is enough for `s`: it has no non-ASCII
/// letters with a case.
fn ascii_fold_enough(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii() || !(c.is_lowercase() || c.is_uppercase()))
}

/// Equality ignoring case.
#[derive(Clone)]
pub(crate) struct Exact {
    text: Box<str>,
    /// The lowercase form when `text` has non-ASCII letters; then values are lowered char by
    /// char while comparing.
    lower: Option<Box<str>>,
}

impl Exact {
    pub(crate) fn new(text: &str) -> Exact {
        let lower = (!ascii_fold_enough(text)).then(|| text.chars().flat_map(char::to_lowercase).collect());
        Exact { text: text.into(), lower }
    }

    #[inline]
    pub(crate) fn matches(&self, s: &str) -> bool {
        match &self.lower {
            None => s.eq_ignore_ascii_case(&self.text),
            Some(lower) => s.chars().flat_map(char::to_lowercase).eq(lower.chars()),
        }
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Whether `s` starts with the text, ignoring ASCII case (only built for ASCII-foldable text).
    #[inline]
    fn is_prefix_of(&self, s: &str) -> bool {
        s.as_bytes().get(..self.text.len()).is_some_and(|head| head.eq_ignore_ascii_case(self.text.as_bytes()))
    }

    #[inline]
    fn is_suffix_of(&self, s: &str) -> bool {
        let start = s.len().wrapping_sub(self.text.len());
        s.as_bytes().get(start..).is_some_and(|tail| tail.eq_ignore_ascii_case(self.text.as_bytes()))
    }
}

/// Substring search ignoring case.
#[derive(Clone)]
pub(crate) struct Contains {
    needle: Box<str>,
    finder: Finder,
}

#[derive(Clone)]
enum Finder {
    /// The needle has no letters: case cannot matter.
    Bytes(Box<memmem::Finder<'static>>),
    /// ASCII case folding, and the needle holds a run of at least [`MIN_PIECE`] bytes without
    /// letters (`=500` in `status=500`): that run, found by `memmem`, at its offset in the
    /// needle, each hit checked.
    Piece(Box<memmem::Finder<'static>>, usize),
    /// ASCII case folding: the case variants of the first bytes, each hit checked.
    Variants(Searcher),
    /// Anything else: a case-insensitive regex of the literal.
    Folded(Pattern),
}

impl Contains {
    pub(crate) fn new(needle: &str, budget: &mut Budget) -> Result<Contains, BuildError> {
        let finder = if !needle.chars().any(|c| c.is_lowercase() || c.is_uppercase()) {
            // The finder holds the needle and a small table.
            budget.charge(needle.len() + 256)?;
            Finder::Bytes(Box::new(memmem::Finder::new(needle.as_bytes()).into_owned()))
        } else if let Some((offset, piece)) = ascii_fold_enough(needle).then(|| caseless_piece(needle)).flatten() {
            budget.charge(piece.len() + 256)?;
            Finder::Piece(Box::new(memmem::Finder::new(piece).into_owned()), offset)
        } else if let Some(searcher) = ascii_fold_enough(needle).then(|| case_variants(needle)).flatten() {
            budget.charge(searcher.memory_usage())?;
            Finder::Variants(searcher)
        } else {
            Finder::Folded(build_literal_regex(&format!("(?i){}", regex::escape(needle)), budget)?)
        };
        budget.charge(needle.len())?;
        Ok(Contains { needle: needle.into(), finder })
    }

    #[inline]
    pub(crate) fn matches(&self, s: &str) -> bool {
        match &self.finder {
            Finder::Bytes(finder) => finder.find(s.as_bytes()).is_some(),
            Finder::Variants(searcher) => {
                let (haystack, needle) = (s.as_bytes(), self.needle.as_bytes());
                let mut from = 0;
                while let Some(hit) = searcher.find_in(haystack, Span::from(from..haystack.len())) {
                    let start = hit.start();
                    let candidate = haystack.get(start..start + needle.len());
                    if candidate.is_some_and(|c| c.eq_ignore_ascii_case(needle)) {
                        return true;
                    }
                    from = start + 1;
                }
                false
            }
            Finder::Piece(finder, offset) => {
                let (haystack, needle) = (s.as_bytes(), self.needle.as_bytes());
                finder.find_iter(haystack).any(|at| {
                    let start = at.wrapping_sub(*offset);
                    let candidate = haystack.get(start..start.wrapping_add(needle.len()));
                    candidate.is_some_and(|c| c.eq_ignore_ascii_case(needle))
                })
            }
            Finder::Folded(regex) => regex.is_match(s),
        }
    }
}

/// The shortest run of bytes without ASCII letters worth searching for on its own.
const MIN_PIECE: usize = 3;

/// The longest run of bytes of `needle` without ASCII letters, with its offset, when it has
/// at least [`MIN_PIECE`] bytes: case cannot change it, so `memmem` finds it (and, a byte at a
/// time, rare bytes first) where the needle may be.
fn caseless_piece(needle: &str) -> Option<(usize, &[u8])> {
    let bytes = needle.as_bytes();
    let mut best: Option<(usize, &[u8])> = None;
    let mut start = 0;
    for (i, &byte) in bytes.iter().chain(std::iter::once(&b'a')).enumerate() {
        if byte.is_ascii_alphabetic() {
            if best.is_none_or(|(_, piece)| i - start > piece.len()) && i - start >= MIN_PIECE {
                best = Some((start, &bytes[start..i]));
            }
            start = i + 1;
        }
    }
    best
}

/// A SIMD searcher for every ASCII case variant of the first (up to) four bytes of `needle`,
/// or `None` where the CPU has no such searcher.
fn case_variants(needle: &str) -> Option<Searcher> {
    let head = &needle.as_bytes()[..needle.len().min(4)];
    let mut variants: Vec<Vec<u8>> = vec![Vec::with_capacity(head.len())];
    for &byte in head {
        let cases = [byte.to_ascii_lowercase(), byte.to_ascii_uppercase()];
        let cases = if cases[0] == cases[1] { &cases[..1] } else { &cases[..] };
        variants =
            variants.iter().flat_map(|prefix| cases.iter().map(move |&c| [prefix.as_slice(), &[c]].concat())).collect();
    }
    packed::Config::new().builder().extend(variants).build()
}

/// A glob: `*` is any run of characters, `?` (in field values) one character; ignoring case.
#[derive(Clone)]
pub(crate) struct Glob {
    pattern: Box<str>,
    how: GlobHow,
}

#[derive(Clone)]
enum GlobHow {
    Prefix(Exact),
    Suffix(Exact),
    Contains(Contains),
    Regex(Pattern),
}

impl Glob {
    /// A glob that must match the whole value: `web-*`, `*.example.com`, `a?c`.
    pub(crate) fn whole(pattern: &str, budget: &mut Budget) -> Result<Glob, BuildError> {
        let core = pattern.trim_matches('*');
        let leading = pattern.starts_with('*');
        let trailing = pattern.ends_with('*');
        let simple = !core.contains(['*', '?']) && ascii_fold_enough(core);
        let how = match (leading, trailing) {
            (false, true) if simple => GlobHow::Prefix(Exact::new(core)),
            (true, false) if simple => GlobHow::Suffix(Exact::new(core)),
            (true, true) if !core.contains(['*', '?']) => GlobHow::Contains(Contains::new(core, budget)?),
            _ => GlobHow::Regex(build_literal_regex(&format!("(?is)^{}$", glob_to_regex(pattern, true)), budget)?),
        };
        budget.charge(pattern.len())?;
        Ok(Glob { pattern: pattern.into(), how })
    }

    /// A glob found anywhere in the value, with only `*` special: `connection*refused`.
    pub(crate) fn anywhere(pattern: &str, budget: &mut Budget) -> Result<Glob, BuildError> {
        let core = pattern.trim_matches('*');
        let how = if core.contains('*') {
            GlobHow::Regex(build_literal_regex(&format!("(?is){}", glob_to_regex(core, false)), budget)?)
        } else {
            GlobHow::Contains(Contains::new(core, budget)?)
        };
        budget.charge(pattern.len())?;
        Ok(Glob { pattern: pattern.into(), how })
    }

    #[inline]
    pub(crate) fn matches(&self, s: &str) -> bool {
        match &self.how {
            GlobHow::Prefix(prefix) => prefix.is_prefix_of(s),
            GlobHow::Suffix(suffix) => suffix.is_suffix_of(s),
            GlobHow::Contains(contains) => contains.matches(s),
            GlobHow::Regex(regex) => regex.is_match(s),
        }
    }
}

/// The regex for a glob: `*` becomes `.*`, `?` becomes `.` when `question` is set, the rest
/// is literal.
fn glob_to_regex(pattern: &str, question: bool) -> String {
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut last_star = false;
    for c in pattern.chars() {
        match c {
            '*' if last_star => {}
            '*' => out.push_str(".*"),
            '?' if question => out.push('.'),
            c => {
                let mut buf = [0; 4];
                out.push_str(&regex::escape(c.encode_utf8(&mut buf)));
            }
        }
        last_star = c == '*';
    }
    out
}

/// A compiled regex and the pattern it was compiled from.
#[derive(Clone)]
pub(crate) struct Pattern {
    regex: meta::Regex,
    source: Box<str>,
    /// A fast search for the literals every match starts with, when the regex has them: a
    /// string without one is rejected without running the regex (whose every call takes a
    /// cache from a pool shared by the threads).
    prefix: Option<Prefilter>,
}

impl Pattern {
    #[inline]
    pub(crate) fn is_match(&self, s: &str) -> bool {
        match &self.prefix {
            Some(prefix) => {
                let haystack = s.as_bytes();
                prefix.find(haystack, regex_automata::Span::from(0..haystack.len())).is_some() && self.regex.is_match(s)
            }
            None => self.regex.is_match(s),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.source
    }
}

/// Why a regex was not built.
#[derive(Debug)]
pub(crate) enum BuildError {
    /// The pattern is not a regex; the one line that says what is wrong.
    Syntax(String),
    /// It would not fit the query's budget.
    Over(Over),
}

impl From<Over> for BuildError {
    fn from(over: Over) -> BuildError {
        BuildError::Over(over)
    }
}

/// Builds a regex as written in a query, as `regex::Regex::new` does (Unicode, leftmost-first,
/// never matching inside a character), with its automaton bounded by what is left of `budget`
/// and its size then charged to it, lazy DFA caches included.
pub(crate) fn build_regex(pattern: &str, budget: &mut Budget) -> Result<Pattern, BuildError> {
    build(pattern, REGEX_CACHE_BYTES, budget)
}

/// [`build_regex`] for a regex made from a glob or a word, whose automaton stays small.
fn build_literal_regex(pattern: &str, budget: &mut Budget) -> Result<Pattern, BuildError> {
    build(pattern, LITERAL_CACHE_BYTES, budget)
}

fn build(pattern: &str, cache: usize, budget: &mut Budget) -> Result<Pattern, BuildError> {
    let (size_limit, limit) = budget.regex_limit(cache);
    let config = meta::Config::new()
        .nfa_size_limit(Some(size_limit))
        .hybrid_cache_capacity(cache)
        .match_kind(regex_automata::MatchKind::LeftmostFirst)
        .utf8_empty(true);
    let built = meta::Builder::new().configure(config).syntax(syntax::Config::new().utf8(true)).build(pattern);
    let regex = built.map_err(|error| match (error.size_limit(), error.syntax_error()) {
        (Some(_), _) => BuildError::Over(Over { limit, total: None }),
        (None, Some(syntax)) => BuildError::Syntax(first_error_line(&syntax.to_string())),
        (None, None) => BuildError::Syntax(first_error_line(&error.to_string())),
    })?;
    let prefix = syntax::parse_with(pattern, &syntax::Config::new().utf8(true))
        .ok()
        .and_then(|hir| Prefilter::from_hir_prefix(regex_automata::MatchKind::LeftmostFirst, &hir))
        .filter(Prefilter::is_fast);
    let prefix_bytes = prefix.as_ref().map_or(0, Prefilter::memory_usage);
    budget.charge(regex.memory_usage() + 2 * cache + pattern.len() + prefix_bytes)?;
    budget.built_regex();
    Ok(Pattern { regex, source: pattern.into(), prefix })
}

/// The line of a regex error that says what is wrong.
fn first_error_line(text: &str) -> String {
    text.lines().find_map(|line| line.strip_prefix("error: ")).unwrap_or("invalid syntax").to_owned()
}

/// The decimal digits of `n`, written into `buf`.
pub(crate) fn decimal(n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every searcher agrees with lowering both sides and `str::contains`, on needles that take
    /// each path and haystacks with false starts, overlaps and the needle at either end.
    #[test]
    fn contains_agrees_with_lowering() {
        let needles = [
            "refused",
            "REFUSED",
            "a",
            "Q",
            "ab",
            "abc",
            "abab",
            "the ",
            "404",
            "x-1",
            "status=500",
            "=500 ok",
            "ab=50",
            "a/b/c=1000/x",
            "",
            "日本 Error",
            "größe",
            "ße",
        ];
        let pieces = [
            "",
            "a",
            "A",
            "b",
            "ab",
            "aB",
            "aba",
            "refuse",
            "reFUSED",
            "rerefused",
            "refuse d",
            "404",
            "X-1",
            "STATUS=500",
            "status=5000",
            "=500 OK",
            "stat=500",
            "AB=50",
            "a/b/c=1000/X",
            "=500",
            "the",
            "THE ",
            "日本 error",
            "GRÖSSE",
            "Größe",
            "ß",
            " ",
            "\n",
        ];
        let mut haystacks = Vec::new();
        for x in pieces {
            for y in pieces {
                haystacks.push(format!("{x}{y}"));
                haystacks.push(format!("{} {x}{y}", "filler text ".repeat(5)));
            }
        }
        for needle in needles {
            let contains =
                Contains::new(needle, &mut Budget::default()).unwrap_or_else(|e| panic!("{needle:?}: {e:?}"));
            for haystack in &haystacks {
                let expected = if needle.is_ascii() {
                    haystack.to_ascii_lowercase().contains(&needle.to_ascii_lowercase())
                } else {
                    haystack.to_lowercase().contains(&needle.to_lowercase())
                };
                assert_eq!(contains.matches(haystack), expected, "{needle:?} in {haystack:?}");
            }
        }
    }

    /// A regex that looks for its literals first answers as the regex alone does: anchored,
    /// with word boundaries, alternations, case-insensitive, and without literals at all.
    #[test]
    fn regexes_with_a_prefix_search_agree_with_the_regex() {
        let patterns = [
            "duration_ms=3[0-9]+",
            "^GET /api",
            "\\bstatus=5\\d\\d\\b",
            "(timeout|refused) after",
            "(?i)connection reset",
            "a*",
            "[0-9]+ms",
            "user\\d+$",
            "日本.*error",
        ];
        let haystacks = [
            "",
            "duration_ms=3",
            "duration_ms=31",
            "GET /api/v1 duration_ms=348",
            " GET /api",
            "status=500",
            "xstatus=500",
            "status=5000",
            "connection timeout after 3",
            "refused after",
            "Connection RESET by peer",
            "took 12ms",
            "user42",
            "user42 ",
            "日本 error",
            "日本",
        ];
        for pattern in patterns {
            let ours = build_regex(pattern, &mut Budget::default()).unwrap_or_else(|e| panic!("{pattern}: {e:?}"));
            let theirs = regex::Regex::new(pattern).expect("regex");
            for haystack in haystacks {
                assert_eq!(ours.is_match(haystack), theirs.is_match(haystack), "/{pattern}/ on {haystack:?}");
            }
        }
        let prefixed = |pattern| build_regex(pattern, &mut Budget::default()).map(|p| p.prefix.is_some());
        assert!(matches!(prefixed("duration_ms=3[0-9]+"), Ok(true)), "a literal prefix is searched for first");
        assert!(matches!(prefixed("\\w+ms"), Ok(false)), "no literal prefix");
    }
}
