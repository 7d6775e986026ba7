//! Queries over segments, answered like the ring's [`Snapshot`](crate::Snapshot): counts,
//! newest-first searches with cursors, scans of one segment, and folds over the rows of a
//! query for the analytics pipes.
//!
//! Every query runs in two passes over the row groups that survive pruning: the first reads only
//! the columns the query reads (and `time`, and `id` for searches) into one reused event per
//! thread and tests it; the second reads every column of the matching rows only. Row groups of
//! all the segments are the units of work for rayon. A search takes them newest first, a few
//! at a time, and stops taking those older than its `limit`-th best once it has that many.
//! Every query stops with [`SegmentError::Interrupted`] once its [`Interrupt`] fires, looked
//! at every [`CHECK_EVERY`](crate::interrupt::CHECK_EVERY) rows tested.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::ops::ControlFlow;

use parquet::arrow::arrow_reader::RowSelection;
use rayon::prelude::*;
use sift_core::Event;
use sift_core::query::Query;

use super::decode::{BadValue, Rows, blank_event};
use super::open::{Counters, Group, Opened, open, overlaps};
use super::plan::Plan;
use super::schema::{Column, Columns};
use super::{SegmentError, SegmentMeta};
use crate::interrupt::Interrupt;
use crate::search::{Cursor, TimeRange};

/// What a query did, for tests and observability.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Segment files opened (their footers read).
    pub files_opened: u64,
    /// Row groups in the files opened.
    pub row_groups: u64,
    /// Row groups whose rows were read, after pruning.
    pub row_groups_read: u64,
    /// Rows tested against the query.
    pub rows_tested: u64,
}

/// How many events of `segments` match `query` in `range`.
pub fn count(
    segments: &[SegmentMeta],
    query: &Query,
    range: TimeRange,
    interrupt: &Interrupt,
) -> Result<u64, SegmentError> {
    count_with_stats(segments, query, range, interrupt).map(|(n, _)| n)
}

/// [`count`], with what it read.
pub fn count_with_stats(
    segments: &[SegmentMeta],
    query: &Query,
    range: TimeRange,
    interrupt: &Interrupt,
) -> Result<(u64, ScanStats), SegmentError> {
    let plan = Plan::of(query);
    let counters = Counters::default();
    let opened = open_all(segments, &plan, range, None, &counters)?;
    let scan = Scan { query, range, before: None, counters: &counters, interrupt };
    let n = units(&opened)
        .par_iter()
        .map(|&(segment, group)| {
            if query.is_all() && group.within {
                return Ok(group.rows as u64);
            }
            let mut n = 0;
            let columns = with_time(plan.columns, group);
            scan.matches(segment, group, columns, &mut |_, _| n += 1)?;
            Ok(n)
        })
        .sum::<Result<u64, SegmentError>>()?;
    Ok((n, counters.snapshot()))
}

/// Folds every event of `segments` matching `query` in `range` into an accumulator per thread,
/// then merges those: what the analytics pipes (`stats count() by severity`) run on. Only
/// `columns` and the query's own columns are read (and `time` where the range cuts a row
/// group); the event's other fields hold placeholders.
#[allow(clippy::too_many_arguments)]
pub fn aggregate<A: Send>(
    segments: &[SegmentMeta],
    query: &Query,
    range: TimeRange,
    columns: Columns,
    interrupt: &Interrupt,
    new: impl Fn() -> A + Sync + Send,
    add: impl Fn(&mut A, &Event) + Sync + Send,
    merge: impl Fn(A, A) -> A + Sync + Send,
) -> Result<A, SegmentError> {
    let plan = Plan::of(query);
    let counters = Counters::default();
    let opened = open_all(segments, &plan, range, None, &counters)?;
    let columns = columns.union(plan.columns);
    let scan = Scan { query, range, before: None, counters: &counters, interrupt };
    units(&opened)
        .par_iter()
        .try_fold(&new, |mut acc, &(segment, group)| {
            let columns = with_time(columns, group);
            scan.matches(segment, group, columns, &mut |_, event| add(&mut acc, event))?;
            Ok(acc)
        })
        .try_reduce(&new, |a, b| Ok(merge(a, b)))
}

/// Up to `limit` events of `segments` matching `query` in `range`, strictly older than `before`
/// when given, newest first by `(time, id)`: the same answer as the ring's `Snapshot::search`.
pub fn search(
    segments: &[SegmentMeta],
    query: &Query,
    range: TimeRange,
    before: Option<Cursor>,
    limit: usize,
    interrupt: &Interrupt,
) -> Result<Vec<Event>, SegmentError> {
    search_with_stats(segments, query, range, before, limit, interrupt).map(|(events, _)| events)
}

/// A match found by a search's first pass: its key and where it lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    cursor: Cursor,
    unit: usize,
    row: usize,
}

/// [`search`], with what it read.
pub fn search_with_stats(
    segments: &[SegmentMeta],
    query: &Query,
    range: TimeRange,
    before: Option<Cursor>,
    limit: usize,
    interrupt: &Interrupt,
) -> Result<(Vec<Event>, ScanStats), SegmentError> {
    let counters = Counters::default();
    if limit == 0 {
        return Ok((Vec::new(), counters.snapshot()));
    }
    let plan = Plan::of(query);
    let opened = open_all(segments, &plan, range, before, &counters)?;
    let scan = Scan { query, range, before, counters: &counters, interrupt };
    let mut units = units(&opened);
    units.sort_by_key(|(_, group)| Reverse(group.max_time));
    let columns = plan.columns.with(Column::Time).with(Column::Id);
    let wave = rayon::current_num_threads().max(1);
    let mut best: BinaryHeap<Reverse<Hit>> = BinaryHeap::with_capacity(limit + 1);
    let mut next = 0;
    while next < units.len() {
        let floor = (best.len() == limit).then(|| best.peek().map(|Reverse(hit)| hit.cursor)).flatten();
        let batch: Vec<usize> =
            (next..units.len()).filter(|&u| floor.is_none_or(|f| units[u].1.max_time >= f.time)).take(wave).collect();
        let Some(&last) = batch.last() else { break };
        next = last + 1;
        let found = batch
            .par_iter()
            .map(|&unit| {
                let (segment, group) = units[unit];
                let mut newest = VecDeque::with_capacity(limit + 1);
                scan.matches(segment, group, columns, &mut |row, event| {
                    newest.push_back(Hit { cursor: Cursor::of(event), unit, row });
                    if newest.len() > limit {
                        newest.pop_front();
                    }
                })?;
                Ok(newest)
            })
            .collect::<Result<Vec<_>, SegmentError>>()?;
        for hit in found.into_iter().flatten() {
            best.push(Reverse(hit));
            if best.len() > limit {
                best.pop();
            }
        }
    }
    let mut by_unit: BTreeMap<usize, Vec<(usize, Cursor)>> = BTreeMap::new();
    for Reverse(hit) in best {
        by_unit.entry(hit.unit).or_default().push((hit.row, hit.cursor));
    }
    let mut events = by_unit
        .into_par_iter()
        .map(|(unit, mut rows)| {
            rows.sort_unstable();
            let (segment, group) = units[unit];
            let mut events = Vec::with_capacity(rows.len());
            let selection = select(rows.iter().map(|&(row, _)| row), group.rows);
            segment.read(group, Columns::ALL, Some(selection), &mut |batch| {
                let rows = Rows::new(batch).map_err(|e| corrupt(segment, e))?;
                for row in 0..batch.num_rows() {
                    let mut event = blank_event();
                    rows.fill(row, &mut event).map_err(|e| corrupt(segment, e))?;
                    events.push(event);
                }
                Ok(ControlFlow::Continue(()))
            })?;
            Ok(events)
        })
        .collect::<Result<Vec<Vec<Event>>, SegmentError>>()?
        .into_iter()
        .flatten()
        .collect::<Vec<Event>>();
    events.sort_unstable_by_key(|event| Reverse(Cursor::of(event)));
    Ok((events, counters.snapshot()))
}

/// Hands `visit` every event of one segment matching `query` in `range`, oldest first by
/// `(time, id)`, until it breaks. Runs on the calling thread.
pub fn scan_segment(
    meta: &SegmentMeta,
    query: &Query,
    range: TimeRange,
    visit: &mut dyn FnMut(Event) -> ControlFlow<()>,
) -> Result<(), SegmentError> {
    let plan = Plan::of(query);
    let counters = Counters::default();
    if !overlaps(meta, range, None) {
        return Ok(());
    }
    let Some(segment) = open(meta, &plan, range, None, &counters)? else { return Ok(()) };
    let columns = plan.columns.with(Column::Time);
    let interrupt = Interrupt::never();
    let scan = Scan { query, range, before: None, counters: &counters, interrupt: &interrupt };
    for group in &segment.groups {
        let mut rows = Vec::new();
        scan.matches(&segment, group, columns, &mut |row, _| rows.push(row))?;
        if rows.is_empty() {
            continue;
        }
        let selection = select(rows.into_iter(), group.rows);
        let mut stopped = false;
        segment.read(group, Columns::ALL, Some(selection), &mut |batch| {
            let rows = Rows::new(batch).map_err(|e| corrupt(&segment, e))?;
            for row in 0..batch.num_rows() {
                let mut event = blank_event();
                rows.fill(row, &mut event).map_err(|e| corrupt(&segment, e))?;
                if visit(event).is_break() {
                    stopped = true;
                    return Ok(ControlFlow::Break(()));
                }
            }
            Ok(ControlFlow::Continue(()))
        })?;
        if stopped {
            break;
        }
    }
    Ok(())
}

/// Opens the segments that may hold events in `range` before `before`, on every core.
pub(super) fn open_all(
    segments: &[SegmentMeta],
    plan: &Plan,
    range: TimeRange,
    before: Option<Cursor>,
    counters: &Counters,
) -> Result<Vec<Opened>, SegmentError> {
    let opened: Vec<Option<Opened>> = segments
        .par_iter()
        .filter(|meta| overlaps(meta, range, before))
        .map(|meta| open(meta, plan, range, before, counters))
        .collect::<Result<_, _>>()?;
    Ok(opened.into_iter().flatten().collect())
}

/// `columns`, with `time` when the range cuts `group`, whose rows are then checked one by one.
fn with_time(columns: Columns, group: &Group) -> Columns {
    if group.within { columns } else { columns.with(Column::Time) }
}

/// Every row group to read, with its segment.
pub(super) fn units(opened: &[Opened]) -> Vec<(&Opened, &Group)> {
    opened.iter().flat_map(|segment| segment.groups.iter().map(move |group| (segment, group))).collect()
}

/// What one query's first passes share.
struct Scan<'a> {
    query: &'a Query,
    range: TimeRange,
    before: Option<Cursor>,
    counters: &'a Counters,
    interrupt: &'a Interrupt,
}

impl Scan<'_> {
    /// The first pass over one row group: reads `columns` of the rows that may match, and calls
    /// `found` with the row's index in the row group and the event (holding only `columns`) for
    /// every row in `range`, before `before`, that matches `query`.
    fn matches(
        &self,
        segment: &Opened,
        group: &Group,
        columns: Columns,
        found: &mut dyn FnMut(usize, &Event),
    ) -> Result<(), SegmentError> {
        let Scan { query, range, before, counters, interrupt } = *self;
        interrupt.check()?;
        counters.row_group_read();
        let mut event = blank_event();
        let all = query.is_all();
        let whole = 0..group.rows;
        let mut positions =
            group.ranges.as_deref().unwrap_or(std::slice::from_ref(&whole)).iter().flat_map(|range| range.clone());
        let mut every = interrupt.every();
        segment.read(group, columns, group.selection(), &mut |batch| {
            let rows = Rows::new(batch).map_err(|e| corrupt(segment, e))?;
            for row in 0..batch.num_rows() {
                let position =
                    positions.next().ok_or_else(|| SegmentError::invalid(&segment.path, "more rows than selected"))?;
                if !group.within && !range.contains(rows.time(row)) {
                    continue;
                }
                rows.fill(row, &mut event).map_err(|e| corrupt(segment, e))?;
                every.tick(&event)?;
                if before.is_some_and(|b| Cursor::of(&event) >= b) {
                    continue;
                }
                if all || query.matches(&event) {
                    found(position, &event);
                }
            }
            counters.rows_tested(batch.num_rows() as u64);
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(())
    }
}

/// A selection of the given rows (ascending) of a row group of `total` rows.
fn select(rows: impl Iterator<Item = usize>, total: usize) -> RowSelection {
    RowSelection::from_consecutive_ranges(rows.map(|row| row..row + 1), total)
}

pub(super) fn corrupt(segment: &Opened, error: BadValue) -> SegmentError {
    SegmentError::invalid(&segment.path, error.0)
}
