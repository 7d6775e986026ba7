//! Bounded, mergeable summaries for the aggregates that cannot keep every value: percentiles
//! and distinct counts. Each is exact while a group holds few values and switches to a
//! fixed-error sketch beyond that. The switch depends only on the values seen, never on how
//! they were split between partial runs, so merged runs give the same answer as one run.
//!
//! - [`Quantiles`]: every value up to [`EXACT_VALUES`], then a log-bucketed histogram in the
//!   manner of DDSketch: a value `x` counts in bucket `ceil(log_γ |x|)` with
//!   `γ = (1 + α) / (1 − α)`, and a bucket answers with the value whose relative distance to
//!   any value of the bucket is at most `α` = 1%. Magnitudes below [`MIN_MAGNITUDE`] count as
//!   zero, above [`MAX_MAGNITUDE`] in the top bucket; answers are clamped to the exact minimum
//!   and maximum. A histogram holds at most about 2,400 buckets per sign (19 KiB).
//! - [`Distinct`]: the 64-bit hashes of up to [`EXACT_DISTINCT`] values (exact unless two
//!   values collide in 64 bits), then a HyperLogLog with 2^14 one-byte registers (16 KiB),
//!   whose standard error is 1.04/√16384 ≈ 0.81%.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Values a group keeps for exact percentiles.
pub(crate) const EXACT_VALUES: usize = 1024;
/// Distinct values a group counts exactly.
pub(crate) const EXACT_DISTINCT: usize = 2048;
/// The sketch's relative error.
const ALPHA: f64 = 0.01;
pub(crate) const MIN_MAGNITUDE: f64 = 1e-9;
pub(crate) const MAX_MAGNITUDE: f64 = 1e12;
const HLL_BITS: u32 = 14;
const HLL_REGISTERS: usize = 1 << HLL_BITS;

fn ln_gamma() -> f64 {
    ((1.0 + ALPHA) / (1.0 - ALPHA)).ln()
}

/// The values of one group for one percentile aggregate.
#[derive(Debug, Clone)]
pub(crate) enum Quantiles {
    Exact(Vec<f64>),
    Sketch(Box<Sketch>),
}

impl Default for Quantiles {
    fn default() -> Quantiles {
        Quantiles::Exact(Vec::new())
    }
}

impl Quantiles {
    pub(crate) fn add(&mut self, x: f64) {
        match self {
            Quantiles::Exact(values) => {
                values.push(x);
                if values.len() > EXACT_VALUES {
                    let mut sketch = Sketch::default();
                    values.iter().for_each(|&x| sketch.add(x));
                    *self = Quantiles::Sketch(Box::new(sketch));
                }
            }
            Quantiles::Sketch(sketch) => sketch.add(x),
        }
    }

    /// Adds `other`'s values. The result is exact when both hold at most [`EXACT_VALUES`]
    /// together, else the sketch of all of them, however the values were split.
    pub(crate) fn merge(&mut self, other: Quantiles) {
        let mut theirs = match other {
            Quantiles::Exact(values) => return values.into_iter().for_each(|x| self.add(x)),
            Quantiles::Sketch(sketch) => sketch,
        };
        match self {
            Quantiles::Sketch(mine) => mine.merge(&theirs),
            Quantiles::Exact(values) => {
                values.iter().for_each(|&x| theirs.add(x));
                *self = Quantiles::Sketch(theirs);
            }
        }
    }

    /// The `q` quantile (0 < q < 1) by nearest rank: the smallest value with at least `q` of
    /// all values at or below it. `None` without values.
    pub(crate) fn quantile(&mut self, q: f64) -> Option<f64> {
        match self {
            Quantiles::Exact(values) => {
                if values.is_empty() {
                    return None;
                }
                values.sort_unstable_by(f64::total_cmp);
                values.get(rank(q, values.len() as u64) as usize - 1).copied()
            }
            Quantiles::Sketch(sketch) => sketch.quantile(q),
        }
    }

    pub(crate) fn is_estimate(&self) -> bool {
        matches!(self, Quantiles::Sketch(_))
    }
}

/// The 1-based nearest rank of quantile `q` among `n` values.
fn rank(q: f64, n: u64) -> u64 {
    ((q * n as f64).ceil() as u64).clamp(1, n.max(1))
}

/// A log-bucketed histogram with relative error [`ALPHA`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Sketch {
    positive: Store,
    negative: Store,
    zero: u64,
    count: u64,
    min: f64,
    max: f64,
}

impl Sketch {
    fn add(&mut self, x: f64) {
        if self.count == 0 {
            (self.min, self.max) = (x, x);
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.count += 1;
        let magnitude = x.abs();
        if magnitude < MIN_MAGNITUDE {
            self.zero += 1;
        } else {
            let index = (magnitude.min(MAX_MAGNITUDE).ln() / ln_gamma()).ceil() as i32;
            if x > 0.0 { &mut self.positive } else { &mut self.negative }.add(index, 1);
        }
    }

    fn merge(&mut self, other: &Sketch) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            (self.min, self.max) = (other.min, other.max);
        } else {
            self.min = self.min.min(other.min);
            self.max = self.max.max(other.max);
        }
        self.count += other.count;
        self.zero += other.zero;
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
    }

    fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let mut left = rank(q, self.count);
        let value = 'found: {
            // Negative values from the most negative: the largest magnitudes first.
            for (index, n) in self.negative.iter().rev() {
                if left <= n {
                    break 'found -representative(index);
                }
                left -= n;
            }
            if left <= self.zero {
                break 'found 0.0;
            }
            left -= self.zero;
            for (index, n) in self.positive.iter() {
                if left <= n {
                    break 'found representative(index);
                }
                left -= n;
            }
            self.max
        };
        Some(value.clamp(self.min, self.max))
    }
}

/// The value that bucket `index` answers with: within [`ALPHA`] of every value in it.
fn representative(index: i32) -> f64 {
    let gamma = ln_gamma().exp();
    2.0 * (f64::from(index) * ln_gamma()).exp() / (gamma + 1.0)
}

/// Counts for a contiguous range of bucket indices.
#[derive(Debug, Clone, Default)]
struct Store {
    offset: i32,
    counts: Vec<u64>,
}

impl Store {
    fn add(&mut self, index: i32, n: u64) {
        if self.counts.is_empty() {
            self.offset = index;
        }
        if index < self.offset {
            let grow = (self.offset - index) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = index;
        }
        let at = (index - self.offset) as usize;
        if at >= self.counts.len() {
            self.counts.resize(at + 1, 0);
        }
        self.counts[at] += n;
    }

    fn merge(&mut self, other: &Store) {
        for (index, n) in other.iter() {
            self.add(index, n);
        }
    }

    /// Non-empty buckets in increasing index order.
    fn iter(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        let offset = self.offset;
        self.counts.iter().enumerate().filter(|(_, n)| **n > 0).map(move |(i, &n)| (offset + i as i32, n))
    }
}

/// The distinct values of one group for one `count_distinct` aggregate.
#[derive(Debug, Clone)]
pub(crate) enum Distinct {
    Exact(HashSet<u64, BuildHasherDefault<Identity>>),
    Estimate(Box<[u8]>),
}

impl Default for Distinct {
    fn default() -> Distinct {
        Distinct::Exact(HashSet::default())
    }
}

impl Distinct {
    /// Counts a value by its 64-bit hash.
    pub(crate) fn add(&mut self, hash: u64) {
        match self {
            Distinct::Exact(set) => {
                if set.insert(hash) && set.len() > EXACT_DISTINCT {
                    *self = Distinct::Estimate(registers(set.iter().copied()));
                }
            }
            Distinct::Estimate(registers) => hll_add(registers, hash),
        }
    }

    pub(crate) fn merge(&mut self, other: Distinct) {
        match (&mut *self, other) {
            (Distinct::Exact(mine), Distinct::Exact(theirs)) => {
                mine.extend(theirs);
                if mine.len() > EXACT_DISTINCT {
                    *self = Distinct::Estimate(registers(mine.iter().copied()));
                }
            }
            (Distinct::Estimate(mine), Distinct::Estimate(theirs)) => {
                mine.iter_mut().zip(theirs.iter()).for_each(|(a, b)| *a = (*a).max(*b));
            }
            (Distinct::Estimate(mine), Distinct::Exact(theirs)) => theirs.into_iter().for_each(|h| hll_add(mine, h)),
            (Distinct::Exact(mine), Distinct::Estimate(mut theirs)) => {
                mine.iter().for_each(|&h| hll_add(&mut theirs, h));
                *self = Distinct::Estimate(theirs);
            }
        }
    }

    pub(crate) fn count(&self) -> u64 {
        match self {
            Distinct::Exact(set) => set.len() as u64,
            Distinct::Estimate(registers) => hll_estimate(registers),
        }
    }

    pub(crate) fn is_estimate(&self) -> bool {
        matches!(self, Distinct::Estimate(_))
    }
}

fn registers(hashes: impl Iterator<Item = u64>) -> Box<[u8]> {
    let mut registers = vec![0u8; HLL_REGISTERS].into_boxed_slice();
    hashes.for_each(|h| hll_add(&mut registers, h));
    registers
}

fn hll_add(registers: &mut [u8], hash: u64) {
    let index = (hash >> (64 - HLL_BITS)) as usize;
    // The rank of the first 1 bit after the index bits; a guard bit bounds it.
    let rank = ((hash << HLL_BITS) | (1 << (HLL_BITS - 1))).leading_zeros() as u8 + 1;
    if let Some(register) = registers.get_mut(index) {
        *register = (*register).max(rank);
    }
}

/// The HyperLogLog estimate, with linear counting while registers are still empty.
fn hll_estimate(registers: &[u8]) -> u64 {
    let m = registers.len() as f64;
    let sum: f64 = registers.iter().map(|&r| (-f64::from(r)).exp2()).sum();
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let estimate = alpha * m * m / sum;
    let zeros = registers.iter().filter(|&&r| r == 0).count();
    let estimate = if estimate <= 2.5 * m && zeros > 0 { m * (m / zeros as f64).ln() } else { estimate };
    estimate.round() as u64
}

/// A hasher for keys that are hashes already.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A splitmix64 stream: well-spread pseudo-random bits.
    fn stream(seed: u64) -> impl Iterator<Item = u64> {
        let mut state = seed;
        std::iter::repeat_with(move || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
    }

    #[test]
    fn quantiles_exact_then_within_one_percent() {
        let mut q = Quantiles::default();
        for x in [3.0, 1.0, 2.0, 4.0] {
            q.add(x);
        }
        assert_eq!((q.quantile(0.5), q.quantile(0.99), q.quantile(0.01)), (Some(2.0), Some(4.0), Some(1.0)));
        let mut q = Quantiles::default();
        for x in 1..=100_000 {
            q.add(f64::from(x) / 1000.0);
        }
        assert!(q.is_estimate());
        for (p, exact) in [(0.5, 50.0), (0.9, 90.0), (0.99, 99.0), (0.999, 99.9)] {
            let got = q.quantile(p).unwrap_or(f64::NAN);
            assert!((got - exact).abs() <= exact * ALPHA, "p{p}: {got} vs {exact}");
        }
        let mut signed = Quantiles::default();
        for x in -1000..=1000 {
            signed.add(f64::from(x));
        }
        let median = signed.quantile(0.5).unwrap_or(f64::NAN);
        assert!(median.abs() < 1e-9, "{median}");
        assert!((signed.quantile(0.25).unwrap_or(f64::NAN) + 500.0).abs() <= 5.0);
        assert_eq!(Quantiles::default().quantile(0.5), None);
    }

    #[test]
    fn quantiles_merge_equals_one_pass() {
        let values: Vec<f64> = stream(7).take(5000).map(|h| (h % 100_000) as f64 / 7.0).collect();
        let mut one = Quantiles::default();
        values.iter().for_each(|&x| one.add(x));
        for split in [0, 10, 1000, 1024, 1025, 4999] {
            let (mut a, mut b) = (Quantiles::default(), Quantiles::default());
            values[..split].iter().for_each(|&x| a.add(x));
            values[split..].iter().for_each(|&x| b.add(x));
            a.merge(b);
            for p in [0.01, 0.5, 0.9, 0.99] {
                assert_eq!(a.quantile(p), one.quantile(p), "split {split} p{p}");
            }
        }
    }

    #[test]
    fn distinct_exact_then_within_a_few_percent() {
        let mut d = Distinct::default();
        stream(1).take(EXACT_DISTINCT).for_each(|h| {
            d.add(h);
            d.add(h);
        });
        assert_eq!((d.count(), d.is_estimate()), (EXACT_DISTINCT as u64, false));
        for n in [5_000u64, 50_000, 1_000_000] {
            let mut d = Distinct::default();
            stream(n).take(n as usize).for_each(|h| d.add(h));
            let error = (d.count() as f64 - n as f64).abs() / n as f64;
            assert!(d.is_estimate() && error < 0.03, "{n}: {}", d.count());
        }
    }

    #[test]
    fn distinct_merge_equals_one_pass() {
        let hashes: Vec<u64> = stream(3).take(6000).collect();
        let mut one = Distinct::default();
        hashes.iter().for_each(|&h| one.add(h));
        for split in [0, 100, 2048, 2049, 3000, 6000] {
            let (mut a, mut b) = (Distinct::default(), Distinct::default());
            hashes[..split].iter().for_each(|&h| a.add(h));
            hashes[split..].iter().chain(&hashes[..100]).for_each(|&h| b.add(h));
            a.merge(b);
            assert_eq!(a.count(), one.count(), "split {split}");
        }
    }
}
