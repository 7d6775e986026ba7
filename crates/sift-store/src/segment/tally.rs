//! Counting events per key by column: what the analytics pipes that only count
//! (`stats count() by severity`, `top 10 host`, `timechart 1m count()`; see
//! `PipedQuery::tally`) run on over segments. The key's columns are read as numbers (a
//! dictionary column's keys, a severity's byte: [`Codes`]) and the rows of each key value and
//! time bucket are counted in an array, a batch of rows at a time; each count is then handed
//! on once, with one of its rows as the event that stands for all of them. No event is filled
//! per row unless the filter reads columns of its own.

use std::ops::ControlFlow;

use rayon::prelude::*;
use sift_core::Event;
use sift_core::query::{Query, Tally};

use super::decode::{Codes, Rows, blank_event};
use super::open::{Counters, Group, Opened};
use super::plan::Plan;
use super::scan::{self, corrupt, open_all, units};
use super::schema::{Column, Columns};
use super::{SegmentError, SegmentMeta};
use crate::interrupt::Interrupt;
use crate::search::TimeRange;

/// The most key values (the product of the key columns' numbers) counted in an array; keys of
/// more values are grouped event by event.
const MAX_CODES: usize = 1 << 16;

/// Folds every event of `segments` matching `query` in `range` into an accumulator per thread,
/// then merges those, as [`scan::aggregate`] does, for an `add_n` that only counts:
/// `add_n(acc, event, n)` must do what `n` events that agree with `event` on the fields of
/// `tally.by` and on its time bucket would. Keys of other columns than those with few values
/// fall back to [`scan::aggregate`].
#[allow(clippy::too_many_arguments)]
pub fn tally<A: Send>(
    segments: &[SegmentMeta],
    query: &Query,
    range: TimeRange,
    tally: Tally,
    interrupt: &Interrupt,
    new: impl Fn() -> A + Sync + Send,
    add_n: impl Fn(&mut A, &Event, u64) + Sync + Send,
    merge: impl Fn(A, A) -> A + Sync + Send,
) -> Result<A, SegmentError> {
    if !Columns::for_fields(tally.by).iter().all(countable) {
        let add = |acc: &mut A, event: &Event| add_n(acc, event, 1);
        let columns = Columns::for_fields(tally.by);
        let columns = if tally.step.is_some() { columns.with(Column::Time) } else { columns };
        return scan::aggregate(segments, query, range, columns, interrupt, new, add, merge);
    }
    let plan = Plan::of(query);
    // A filter that reads only columns counted as numbers is tested once per key value
    // rather than once per row: its columns join the key.
    let filter_by_key = plan.columns.iter().all(countable);
    let key =
        if filter_by_key { Columns::for_fields(tally.by).union(plan.columns) } else { Columns::for_fields(tally.by) };
    let key: Vec<Column> = key.iter().collect();
    let counters = Counters::default();
    let opened = open_all(segments, &plan, range, None, &counters)?;
    let mut columns = key.iter().fold(plan.columns, |columns, &column| columns.with(column));
    if tally.step.is_some() {
        columns = columns.with(Column::Time);
    }
    let count = Count { query, filter_by_key, range, tally, key: &key, counters: &counters, interrupt, add_n: &add_n };
    units(&opened)
        .par_iter()
        .try_fold(&new, |mut acc, &(segment, group)| {
            let columns = if group.within { columns } else { columns.with(Column::Time) };
            count.group(segment, group, columns, &mut acc)?;
            Ok(acc)
        })
        .try_reduce(&new, |a, b| Ok(merge(a, b)))
}

/// Whether a column's values can be counted as numbers ([`Rows::codes`]).
fn countable(column: Column) -> bool {
    matches!(
        column,
        Column::Channel
            | Column::Source
            | Column::Host
            | Column::App
            | Column::Version
            | Column::Type
            | Column::Severity
            | Column::Facility
    )
}

/// What counting one query's row groups shares.
struct Count<'a, F> {
    query: &'a Query,
    /// Whether the key holds every column the query reads, so that the query is tested once
    /// per key value, when its count is handed on.
    filter_by_key: bool,
    range: TimeRange,
    tally: Tally,
    key: &'a [Column],
    counters: &'a Counters,
    interrupt: &'a Interrupt,
    add_n: &'a F,
}

/// The counts of one batch's key values within one time bucket.
struct Counts {
    /// The key number of each row of the batch.
    codes: Vec<u32>,
    /// Rows per key number.
    rows: Vec<u64>,
    /// A row of each key number counted, the one that stands for the others.
    first: Vec<usize>,
    /// The key numbers counted, in the order first seen.
    seen: Vec<usize>,
}

impl<F> Count<'_, F> {
    fn group<A>(&self, segment: &Opened, group: &Group, columns: Columns, acc: &mut A) -> Result<(), SegmentError>
    where
        F: Fn(&mut A, &Event, u64),
    {
        let Count { query, filter_by_key, range, tally, key, counters, interrupt, add_n } = *self;
        interrupt.check()?;
        counters.row_group_read();
        let per_row = !query.is_all() && !filter_by_key;
        let per_key = (!query.is_all() && filter_by_key).then_some(query);
        let mut event = blank_event();
        let mut counts = Counts { codes: Vec::new(), rows: Vec::new(), first: Vec::new(), seen: Vec::new() };
        segment.read(group, columns, group.selection(), &mut |batch| {
            interrupt.check()?;
            let rows = Rows::new(batch).map_err(|e| corrupt(segment, e))?;
            counters.rows_tested(batch.num_rows() as u64);
            let codes: Option<Vec<Codes>> = key.iter().map(|&column| rows.codes(column)).collect();
            let size = codes.as_ref().map(|codes| codes.iter().try_fold(1usize, |n, c| n.checked_mul(c.count())));
            let (Some(codes), Some(Some(size))) = (codes, size) else {
                return Err(SegmentError::invalid(&segment.path, "a key column is not what the segment holds"));
            };
            let wanted = |row: usize, event: &mut Event| -> Result<bool, SegmentError> {
                if !group.within && !range.contains(rows.time(row)) {
                    return Ok(false);
                }
                if !per_row {
                    return Ok(true);
                }
                rows.fill(row, event).map_err(|e| corrupt(segment, e))?;
                Ok(query.matches(event))
            };
            if size > MAX_CODES {
                for row in 0..batch.num_rows() {
                    if wanted(row, &mut event)? {
                        rows.fill(row, &mut event).map_err(|e| corrupt(segment, e))?;
                        if per_key.is_none_or(|query| query.matches(&event)) {
                            add_n(acc, &event, 1);
                        }
                    }
                }
                return Ok(ControlFlow::Continue(()));
            }
            counts.rows.clear();
            counts.rows.resize(size, 0);
            counts.first.resize(size, 0);
            // Each row's key number, a column at a time.
            counts.codes.clear();
            counts.codes.resize(batch.num_rows(), 0);
            for codes in &codes {
                codes.fold_into(&mut counts.codes);
            }
            if group.within && !per_row && tally.step.is_none() {
                // Every row counts, in one bucket: the loop that `stats count() by F` runs.
                for (row, &code) in counts.codes.iter().enumerate() {
                    let code = code as usize;
                    if counts.rows[code] == 0 {
                        counts.seen.push(code);
                        counts.first[code] = row;
                    }
                    counts.rows[code] += 1;
                }
            } else {
                // The bucket of the rows being counted, as a range of times.
                let mut bucket = i64::MAX..i64::MAX;
                for row in 0..batch.num_rows() {
                    if !wanted(row, &mut event)? {
                        continue;
                    }
                    if let Some(step) = tally.step {
                        let time = rows.time(row).as_micros();
                        if !bucket.contains(&time) {
                            counts.hand_on(&rows, per_key, &mut event, acc, add_n).map_err(|e| corrupt(segment, e))?;
                            let start = tally.bucket(time).saturating_mul(step);
                            bucket = start..start.saturating_add(step);
                        }
                    }
                    let code = counts.codes[row] as usize;
                    if counts.rows[code] == 0 {
                        counts.seen.push(code);
                        counts.first[code] = row;
                    }
                    counts.rows[code] += 1;
                }
            }
            counts.hand_on(&rows, per_key, &mut event, acc, add_n).map_err(|e| corrupt(segment, e))?;
            Ok(ControlFlow::Continue(()))
        })
    }
}

impl Counts {
    /// Hands on every key's count, with its first row as the event (when it matches `filter`),
    /// and starts again.
    fn hand_on<A>(
        &mut self,
        rows: &Rows<'_>,
        filter: Option<&Query>,
        event: &mut Event,
        acc: &mut A,
        add_n: &impl Fn(&mut A, &Event, u64),
    ) -> Result<(), super::decode::BadValue> {
        for &code in &self.seen {
            rows.fill(self.first[code], event)?;
            if filter.is_none_or(|query| query.matches(event)) {
                add_n(acc, event, self.rows[code]);
            }
            self.rows[code] = 0;
        }
        self.seen.clear();
        Ok(())
    }
}
