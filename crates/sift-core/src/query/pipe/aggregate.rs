//! The aggregate functions of `stats`, `timechart` and `top`: what each reads, the state it
//! keeps per group, how two states of the same group merge and what the state answers.
//!
//! Numbers come from JSON numbers, from strings that read as a number (`"0.3"`), from `line`
//! and `facility`, and from severities as their syslog number. Nulls and absent values are
//! left out silently; other values that are not numbers (`"n/a"`, `true`, objects) are left
//! out and counted, and the table says how many. A field that holds several values (a list
//! such as `tags`, a JSON array) contributes each of them.

use super::sketch::{Distinct, Quantiles};
use super::value::{FieldRef, Part, Val};

/// One aggregate of a stage, as parsed.
#[derive(Clone)]
pub(crate) struct Agg {
    pub func: Func,
    /// `None` for `count()`.
    pub input: Option<FieldRef>,
    /// The column name: `as NAME`, or the aggregate's text (`count`, `avg(fields.x)`).
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Func {
    /// `count()` counts events; `count(F)` counts the non-null values of F.
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// `pN`, as the fraction N / 100.
    Percentile(f64),
    CountDistinct,
}

/// The function names, for errors.
pub(crate) const FUNCTIONS: &str = "count(), count(F), sum(F), avg(F), min(F), max(F), p50(F), p90(F), p99(F), \
     pN(F), count_distinct(F)";

impl Func {
    /// The function called `name` (any case), and its name in lower case as columns spell it.
    pub(crate) fn lookup(name: &str) -> Option<(Func, String)> {
        let lower = name.to_ascii_lowercase();
        let func = match lower.as_str() {
            "count" => Func::Count,
            "sum" => Func::Sum,
            "avg" => Func::Avg,
            "min" => Func::Min,
            "max" => Func::Max,
            "count_distinct" => Func::CountDistinct,
            _ => Func::Percentile(percentile(&lower)?),
        };
        Some((func, lower))
    }

    /// Whether the function needs numbers (and so cannot read ids or, but for `min` and
    /// `max`, times).
    pub(crate) fn numeric(self) -> bool {
        matches!(self, Func::Sum | Func::Avg | Func::Percentile(_) | Func::Min | Func::Max)
    }

    /// Whether the function's state may grow with the values of a group.
    pub(crate) fn is_heavy(self) -> bool {
        matches!(self, Func::Percentile(_) | Func::CountDistinct)
    }
}

/// `pN` with `0 < N < 100` (`p99`, `p99.9`), as the fraction N / 100.
fn percentile(name: &str) -> Option<f64> {
    let digits = name.strip_prefix('p')?;
    let well_formed = digits.starts_with(|c: char| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1
        && !digits.ends_with('.');
    let n: f64 = if well_formed { digits.parse().ok()? } else { return None };
    (n > 0.0 && n < 100.0).then_some(n / 100.0)
}

/// The state of one aggregate for one group.
#[derive(Debug, Clone)]
pub(crate) enum State {
    /// `count()` reads the group's event count instead.
    Events,
    Count(u64),
    Sum(Sum),
    Avg(Sum),
    Min(Option<f64>),
    Max(Option<f64>),
    Percentile(Quantiles),
    Distinct(Distinct),
}

impl State {
    pub(crate) fn new(agg: &Agg) -> State {
        match (agg.func, &agg.input) {
            (Func::Count, None) => State::Events,
            (Func::Count, Some(_)) => State::Count(0),
            (Func::Sum, _) => State::Sum(Sum::default()),
            (Func::Avg, _) => State::Avg(Sum::default()),
            (Func::Min, _) => State::Min(None),
            (Func::Max, _) => State::Max(None),
            (Func::Percentile(_), _) => State::Percentile(Quantiles::default()),
            (Func::CountDistinct, _) => State::Distinct(Distinct::default()),
        }
    }

    /// Adds one value; counts in `skipped` a value that should be a number and is not.
    #[inline]
    pub(crate) fn add(&mut self, value: Val<'_>, skipped: &mut u64) {
        let number = match self {
            State::Events => return,
            State::Count(n) => {
                *n += u64::from(!matches!(value, Val::Null));
                return;
            }
            State::Distinct(distinct) => {
                if !matches!(value, Val::Null) {
                    distinct.add(value.hash64());
                }
                return;
            }
            _ => match value.numeric() {
                None => return,
                Some(Err(())) => {
                    *skipped += 1;
                    return;
                }
                Some(Ok(x)) => x,
            },
        };
        match self {
            State::Sum(sum) | State::Avg(sum) => sum.add(number),
            State::Min(min) => *min = Some(min.map_or(number, |m| m.min(number))),
            State::Max(max) => *max = Some(max.map_or(number, |m| m.max(number))),
            State::Percentile(quantiles) => quantiles.add(number),
            State::Events | State::Count(_) | State::Distinct(_) => {}
        }
    }

    /// Adds the state of the same aggregate of the same group from another partial run.
    pub(crate) fn merge(&mut self, other: State) {
        match (self, other) {
            (State::Count(a), State::Count(b)) => *a += b,
            (State::Sum(a), State::Sum(b)) | (State::Avg(a), State::Avg(b)) => a.merge(&b),
            (State::Min(a), State::Min(b)) => *a = pick(*a, b, f64::min),
            (State::Max(a), State::Max(b)) => *a = pick(*a, b, f64::max),
            (State::Percentile(a), State::Percentile(b)) => a.merge(b),
            (State::Distinct(a), State::Distinct(b)) => a.merge(b),
            _ => {}
        }
    }

    /// The answer, given the group's event count. Sums, averages, minimums, maximums and
    /// percentiles of no values are null; a whole number is an integer.
    pub(crate) fn finish(&mut self, agg: &Agg, events: u64) -> Part {
        let time = agg.input.as_ref().is_some_and(|input| input.get.is_time());
        let number = |x: Option<f64>| match x {
            None => Part::Null,
            Some(x) if time => Part::Time(x as i64),
            Some(x) => Part::number(x),
        };
        match self {
            State::Events => Part::Int(events as i64),
            State::Count(n) => Part::Int(*n as i64),
            State::Sum(sum) => number((sum.n > 0).then(|| sum.value())),
            State::Avg(sum) => number((sum.n > 0).then(|| sum.value() / sum.n as f64)),
            State::Min(x) | State::Max(x) => number(*x),
            State::Percentile(quantiles) => match agg.func {
                Func::Percentile(q) => number(quantiles.quantile(q)),
                _ => Part::Null,
            },
            State::Distinct(distinct) => Part::Int(distinct.count() as i64),
        }
    }

    /// Whether the answer is an estimate (a sketch replaced the exact values).
    pub(crate) fn is_estimate(&self) -> bool {
        match self {
            State::Percentile(quantiles) => quantiles.is_estimate(),
            State::Distinct(distinct) => distinct.is_estimate(),
            _ => false,
        }
    }
}

fn pick(a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(f(a, b)),
        (a, b) => a.or(b),
    }
}

/// A sum with Neumaier's compensation, so that long sums of small values stay accurate.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sum {
    sum: f64,
    compensation: f64,
    n: u64,
}

impl Sum {
    fn add(&mut self, x: f64) {
        self.add_term(x);
        self.n += 1;
    }

    fn add_term(&mut self, x: f64) {
        let t = self.sum + x;
        self.compensation += if self.sum.abs() >= x.abs() { (self.sum - t) + x } else { (x - t) + self.sum };
        self.sum = t;
    }

    fn merge(&mut self, other: &Sum) {
        self.add_term(other.sum);
        self.add_term(other.compensation);
        self.n += other.n;
    }

    fn value(&self) -> f64 {
        self.sum + self.compensation
    }
}
