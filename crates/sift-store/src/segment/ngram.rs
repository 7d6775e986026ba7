//! The n-gram filter of a block of rows (8192 by default): a one-hash Bloom filter of the
//! 4-byte windows of their messages, so that a needle search skips the blocks (and the row
//! groups) whose messages cannot contain the needle. It is a filter only: it may say "maybe" for
//! a block without the needle, never "no" for one with it.
//!
//! Bare words and phrases match as substrings ignoring case (`sift_core::query`), so the
//! filter holds substrings, not words: windows of 4 bytes after ASCII lowercasing, leaving out
//! the windows with whitespace or control bytes (the seams between words) and those made only
//! of hex digits (numbers, ids and hashes: in a block of real logs nearly all of the 65,536 are
//! there, so they would fill the filter and prune nothing). A needle is checked by its own
//! windows of that kind; a needle shorter than 4 bytes, or with no such window (`7f3a9c21`),
//! prunes nothing. A needle with non-ASCII letters
//! is matched with Unicode case folding and is not checked at all. Unicode case folding also
//! makes `k` match the Kelvin sign and `s` the long s, which the query module uses when no SIMD
//! searcher is available; messages with those two characters are indexed with them folded to
//! ASCII, so that the filter holds either way.
//!
//! A filter starts at 2^20 bits and is folded in half (ORing the halves) while it stays at most
//! a quarter full: a block of repetitive log lines ends up with a few KiB. On disk it is one
//! byte (the number of index bits) followed by the bits, little-endian 64-bit words; the filters
//! of a row group's blocks are stored together, each after its length (u32, little-endian).

/// Bits of the hash kept, which is the largest filter size: 2^20 bits, 128 KiB.
const MAX_BITS: u32 = 20;
/// The smallest filter: 2^12 bits, 512 bytes.
const MIN_BITS: u32 = 12;
/// Folding stops before the filter would be more than this fraction full.
const MAX_FILL: f64 = 0.25;

/// The window length in bytes.
pub(super) const GRAM: usize = 4;

/// The filter of one row group, being built or read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NgramFilter {
    bits: u32,
    words: Vec<u64>,
}

/// Byte classes: bit 0 for space and control bytes (below 0x21), bit 1 for bytes that are not
/// (lowercase) hex digits. A window is indexed when no byte has bit 0 and some byte has bit 1.
const KIND: [u8; 256] = {
    let mut kind = [2u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        if byte < 0x21 {
            kind[b] = 3;
        } else if byte.is_ascii_digit() || (byte >= b'a' && byte <= b'f') {
            kind[b] = 0;
        }
        b += 1;
    }
    kind
};

/// The hash of a window, reduced to `MAX_BITS` bits.
#[inline]
fn slot(gram: u32) -> u32 {
    (u64::from(gram).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - MAX_BITS)) as u32
}

/// The windows of `text` (already lowered) that are indexed: no whitespace or control byte,
/// and not only hex digits.
#[inline]
fn grams(text: &[u8]) -> impl Iterator<Item = u32> + '_ {
    text.windows(GRAM).filter_map(|w| {
        let kind = KIND[w[0] as usize] | KIND[w[1] as usize] | KIND[w[2] as usize] | KIND[w[3] as usize];
        (kind == 2).then(|| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
    })
}

/// `message` as the filter sees it, in `buf`: ASCII lowered, and the Kelvin sign and the long s
/// replaced by `k` and `s`.
fn normalize(message: &str, buf: &mut Vec<u8>) {
    buf.clear();
    if message.is_ascii() {
        buf.extend(message.bytes().map(|b| b.to_ascii_lowercase()));
        return;
    }
    for c in message.chars() {
        let c = match c {
            '\u{212A}' => 'k',
            '\u{017F}' => 's',
            c => c.to_ascii_lowercase(),
        };
        let mut utf8 = [0; 4];
        buf.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
    }
}

/// Builds the filter of one row group, message by message.
pub(super) struct NgramBuilder {
    words: Vec<u64>,
    buf: Vec<u8>,
}

impl NgramBuilder {
    pub(super) fn new() -> NgramBuilder {
        NgramBuilder { words: vec![0; 1 << (MAX_BITS - 6)], buf: Vec::with_capacity(256) }
    }

    pub(super) fn add(&mut self, message: &str) {
        if message.is_ascii() {
            self.add_windows(message.as_bytes());
        } else {
            let mut buf = std::mem::take(&mut self.buf);
            normalize(message, &mut buf);
            self.add_windows(&buf);
            self.buf = buf;
        }
    }

    /// Sets the slot of every window of `text` that [`grams`] yields, ASCII-lowering as it
    /// goes: one pass that keeps the window in a register and remembers where the last seam
    /// and the last non-hex byte were, instead of lowering into a copy and looking up four
    /// byte classes per window (this runs for every byte of every message a flush writes).
    #[inline]
    fn add_windows(&mut self, text: &[u8]) {
        let mut gram = 0u32;
        // The first position a window may start at: one past the last seam byte.
        let mut clean_from = 0usize;
        // One past the last byte that is not a hex digit (0: none yet).
        let mut letter_end = 0usize;
        for (i, &byte) in text.iter().enumerate() {
            let byte = byte.to_ascii_lowercase();
            gram = (gram >> 8) | u32::from(byte) << 24;
            let kind = KIND[byte as usize];
            // Branch-free: seams come every few bytes at random, and a mispredicted branch
            // per word cost more than the whole window.
            clean_from = if kind & 1 != 0 { i + 1 } else { clean_from };
            letter_end = if kind & 2 != 0 { i + 1 } else { letter_end };
            // The window is text[i + 1 - GRAM..=i]; the bit is set only when it is indexed.
            let indexed = i + 1 >= GRAM + clean_from && letter_end + GRAM > i + 1;
            let slot = slot(gram);
            self.words[(slot >> 6) as usize] |= u64::from(indexed) << (slot & 63);
        }
    }

    /// The filter, folded as small as it can be while at most `MAX_FILL` full; the builder
    /// is cleared for the next row group.
    pub(super) fn finish(&mut self) -> NgramFilter {
        let mut words = std::mem::replace(&mut self.words, vec![0; 1 << (MAX_BITS - 6)]);
        let mut bits = MAX_BITS;
        while bits > MIN_BITS {
            let half = words.len() / 2;
            let ones: u32 = (0..half).map(|i| (words[i] | words[i + half]).count_ones()).sum();
            if f64::from(ones) > MAX_FILL * (half * 64) as f64 {
                break;
            }
            for i in 0..half {
                words[i] |= words[i + half];
            }
            words.truncate(half);
            bits -= 1;
        }
        NgramFilter { bits, words }
    }
}

impl NgramFilter {
    /// Whether a message of the row group may contain `needle` (lowered, ASCII-foldable).
    pub(super) fn may_contain(&self, needle: &[u8]) -> bool {
        let mask = (1u32 << self.bits) - 1;
        grams(needle).all(|gram| {
            let slot = slot(gram) & mask;
            self.words[(slot >> 6) as usize] & (1 << (slot & 63)) != 0
        })
    }

    pub(super) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.words.len() * 8);
        out.push(self.bits as u8);
        for word in &self.words {
            out.extend_from_slice(&word.to_le_bytes());
        }
        out
    }

    /// Reads back [`NgramFilter::to_bytes`]; `None` if the bytes are not such a filter.
    pub(super) fn from_bytes(bytes: &[u8]) -> Option<NgramFilter> {
        let (&bits, rest) = bytes.split_first()?;
        let bits = u32::from(bits);
        if !(MIN_BITS..=MAX_BITS).contains(&bits) || rest.len() != (1 << bits) / 8 {
            return None;
        }
        let words = rest.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().unwrap_or_default())).collect();
        Some(NgramFilter { bits, words })
    }

    /// The filter of `messages` built the plain way, from [`normalize`] and [`grams`], for
    /// tests to compare the builder's single pass against.
    #[cfg(test)]
    pub(super) fn reference<'a>(messages: impl IntoIterator<Item = &'a str>) -> NgramFilter {
        let mut builder = NgramBuilder::new();
        let mut buf = Vec::new();
        for message in messages {
            normalize(message, &mut buf);
            for gram in grams(&buf) {
                let slot = slot(gram);
                builder.words[(slot >> 6) as usize] |= 1 << (slot & 63);
            }
        }
        builder.finish()
    }

    /// The fraction of bits set, for tests.
    #[cfg(test)]
    pub(super) fn fill(&self) -> f64 {
        let ones: u32 = self.words.iter().map(|w| w.count_ones()).sum();
        f64::from(ones) / (self.words.len() * 64) as f64
    }
}

/// The needle as the filter checks it, or `None` when the filter cannot help with it: the
/// needle has non-ASCII letters (Unicode case folding) or no indexed window.
pub(super) fn filter_needle(needle: &str) -> Option<Vec<u8>> {
    if needle.chars().any(|c| !c.is_ascii() && (c.is_lowercase() || c.is_uppercase())) {
        return None;
    }
    let lowered: Vec<u8> = needle.bytes().map(|b| b.to_ascii_lowercase()).collect();
    let useful = grams(&lowered).next().is_some();
    useful.then_some(lowered)
}

/// The filters of a row group's blocks as one run of bytes.
pub(super) fn encode_blocks(filters: &[NgramFilter]) -> Vec<u8> {
    let mut out = Vec::new();
    for filter in filters {
        let bytes = filter.to_bytes();
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

/// Reads back [`encode_blocks`]; `None` if the bytes are not that.
pub(super) fn decode_blocks(mut bytes: &[u8]) -> Option<Vec<NgramFilter>> {
    let mut filters = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*len) as usize;
        filters.push(NgramFilter::from_bytes(rest.get(..len)?)?);
        bytes = &rest[len..];
    }
    Some(filters)
}
