//! What one query may compile, checked while it is parsed so that a query over budget fails
//! fast, at the term that crossed the line, before it costs memory or time: the length of its
//! text, the number of its terms, the size of each regex and the size of everything its
//! matchers hold together. The bounds live here, in the parser, so that every caller (search,
//! count, pipes, histogram, facets, tails, classification rules) gets the same ones.
//!
//! A compiled matcher's size is what it holds on the heap: a regex's automata and prefilter
//! (`regex_automata`'s `memory_usage`) plus the lazy DFA caches one thread running it may fill
//! (two directions of [`REGEX_CACHE_BYTES`] for a regex as written, of [`LITERAL_CACHE_BYTES`]
//! for the regexes made from globs and case-folded words, whose automata stay small), a
//! substring searcher's tables. With these bounds a query holds at most [`MAX_COMPILED_BYTES`]
//! (about 15 regexes as written, or 100 globs), plus the caches of each further thread that
//! runs it, and compiling one takes a bounded time (tens of milliseconds for the largest),
//! whatever its text.

use std::fmt;

/// The longest query text, filter and pipe stages together, in bytes.
pub const MAX_QUERY_BYTES: usize = 16 << 10;
/// The most terms (words, phrases, `field:value` tests) in a query's filter.
pub const MAX_TERMS: usize = 1_000;
/// The largest automaton (NFA) one regex or glob may compile to: `regex`'s `size_limit`.
pub const MAX_REGEX_BYTES: usize = 8 << 20;
/// The most heap that all of a query's compiled matchers may hold together, with one thread's
/// lazy DFA caches.
pub const MAX_COMPILED_BYTES: usize = 32 << 20;
/// The cache each of a regex's two lazy DFAs may fill, per thread running it: `regex`'s
/// `dfa_size_limit` (a larger need makes the regex run on its slower engines instead). Half of
/// `regex`'s default, as fast on the regexes measured; a quarter of it made some 40 times slower.
pub const REGEX_CACHE_BYTES: usize = 1 << 20;
/// The same for a regex made from a glob or a case-folded word.
pub const LITERAL_CACHE_BYTES: usize = 128 << 10;

/// A bound a query went over, named in the [`ParseError`](super::ParseError) that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// [`MAX_QUERY_BYTES`].
    QueryBytes,
    /// [`MAX_TERMS`].
    Terms,
    /// [`MAX_REGEX_BYTES`].
    RegexBytes,
    /// [`MAX_COMPILED_BYTES`].
    CompiledBytes,
}

impl Limit {
    /// A label for counters and API answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::QueryBytes => "query_bytes",
            Limit::Terms => "query_terms",
            Limit::RegexBytes => "regex_bytes",
            Limit::CompiledBytes => "compiled_bytes",
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The running total of what a query's compiled matchers hold.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    used: usize,
    /// Regexes built, from any source.
    regexes: usize,
}

/// A matcher did not fit: which bound, and what its compiled size would have made the total
/// (`None` when the regex could not even be built within the bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Over {
    pub limit: Limit,
    pub total: Option<usize>,
}

impl Budget {
    /// The size limit for the next regex's automaton, whose lazy DFA caches take `cache`
    /// bytes each: the smaller of [`MAX_REGEX_BYTES`] and what is left, with the limit that
    /// size would be for.
    pub(crate) fn regex_limit(&self, cache: usize) -> (usize, Limit) {
        let left = MAX_COMPILED_BYTES.saturating_sub(self.used).saturating_sub(2 * cache);
        if left < MAX_REGEX_BYTES { (left, Limit::CompiledBytes) } else { (MAX_REGEX_BYTES, Limit::RegexBytes) }
    }

    /// Counts a regex built.
    pub(crate) fn built_regex(&mut self) {
        self.regexes += 1;
    }

    /// How many regexes the query holds.
    pub(crate) fn regexes(&self) -> usize {
        self.regexes
    }

    /// What the query's compiled matchers hold, caches included.
    pub(crate) fn used(&self) -> usize {
        self.used
    }

    /// Adds a compiled matcher of `bytes`, or says that it does not fit.
    pub(crate) fn charge(&mut self, bytes: usize) -> Result<(), Over> {
        let total = self.used.saturating_add(bytes);
        if total > MAX_COMPILED_BYTES {
            return Err(Over { limit: Limit::CompiledBytes, total: Some(total) });
        }
        self.used = total;
        Ok(())
    }
}

/// `bytes` in the largest binary unit that keeps a digit before the point: `16 MiB`, `1.5 KiB`.
pub(crate) fn format_bytes(bytes: usize) -> String {
    const UNITS: [(usize, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if bytes >= size {
            let whole = bytes / size;
            let tenths = (bytes % size) * 10 / size;
            return if tenths == 0 { format!("{whole} {unit}") } else { format!("{whole}.{tenths} {unit}") };
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_add_up_to_the_bound() {
        let mut budget = Budget::default();
        assert_eq!(budget.regex_limit(REGEX_CACHE_BYTES), (MAX_REGEX_BYTES, Limit::RegexBytes));
        assert_eq!(budget.charge(MAX_COMPILED_BYTES - 10), Ok(()));
        assert_eq!(budget.regex_limit(REGEX_CACHE_BYTES), (0, Limit::CompiledBytes));
        assert_eq!(budget.charge(10), Ok(()));
        assert_eq!(budget.charge(1), Err(Over { limit: Limit::CompiledBytes, total: Some(MAX_COMPILED_BYTES + 1) }));
        assert_eq!(budget.charge(usize::MAX), Err(Over { limit: Limit::CompiledBytes, total: Some(usize::MAX) }));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(format_bytes(16 << 20), "16 MiB");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(17_616_076), "16.7 MiB");
        assert_eq!(format_bytes(MAX_COMPILED_BYTES), "32 MiB");
        assert_eq!(format_bytes(1000), "1000 bytes");
    }
}
