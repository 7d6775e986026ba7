//! Interning: repeated strings (hosts, apps, versions, channels) share one allocation.
//! A million events from `web-1` then hold one `web-1`, not a million, and a query
//! comparing hosts reads the same few cache lines again and again.
//!
//! An [`Interner`] is short-lived and single-threaded (one per decoded body, say), so it
//! needs no lock; it is bounded so that a body of all-distinct values cannot grow it.

use std::collections::HashSet;

use crate::Str;

/// Most distinct strings one interner remembers; later ones are allocated as they come.
const MAX_STRINGS: usize = 4096;

#[derive(Debug, Default)]
pub struct Interner {
    strings: HashSet<Str>,
}

impl Interner {
    /// A shared string equal to `s`: the one already handed out when there is one.
    pub fn intern(&mut self, s: &str) -> Str {
        if let Some(known) = self.strings.get(s) {
            return Str::clone(known);
        }
        let new = Str::from(s);
        if self.strings.len() < MAX_STRINGS {
            self.strings.insert(Str::clone(&new));
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn equal_strings_share_one_allocation() {
        let mut interner = Interner::default();
        let a = interner.intern("web-1");
        let b = interner.intern("web-1");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &interner.intern("web-2")));
    }

    #[test]
    fn bounded() {
        let mut interner = Interner::default();
        for n in 0..MAX_STRINGS + 10 {
            interner.intern(&n.to_string());
        }
        assert_eq!(interner.strings.len(), MAX_STRINGS);
        assert_eq!(&*interner.intern("5"), "5");
    }
}
