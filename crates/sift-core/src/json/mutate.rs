//! Test support: deterministic random edits of sample inputs, for the tests that feed every
//! codec and scanner mutated input and check that nothing panics.

/// A small deterministic generator, so that the mutation test needs no dependency.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Random byte edits of `seed`: flips, inserts of JSON-significant bytes, deletions, cuts.
pub(crate) fn mutations(seeds: &[&[u8]], count: usize) -> impl Iterator<Item = Vec<u8>> {
    const SPICE: &[u8] = b"{}[]\",:\\\n\r 0-9.eE+#@'<>\xff\xc3\xa9\xe2\x82";
    let seeds: Vec<Vec<u8>> = seeds.iter().map(|s| s.to_vec()).collect();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    (0..count).map(move |_| {
        let mut bytes = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len() + 1);
            match rng.below(5) {
                0 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
                1 | 2 => bytes.insert(at, SPICE[rng.below(SPICE.len())]),
                3 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.truncate(at),
            }
        }
        bytes
    })
}
