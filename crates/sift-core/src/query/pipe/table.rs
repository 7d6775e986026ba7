//! The result of a piped query, [`Table`], and how the groups of `stats`, `top` and
//! `timechart` become one: rows in key order (`stats`), by count (`top`) or by time bucket
//! with one column per series (`timechart`), then the `sort`, `limit` and `fields` stages
//! that follow, applied in order on the table's columns.

use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;

use super::aggregate::{Func, State};
use super::groups::{Group, GroupSpec, Groups, MAX_COMBINATIONS, MAX_VALUES};
use super::sketch::{EXACT_DISTINCT, EXACT_VALUES};
use super::value::{Part, Val, cmp_sort};

/// Series a `timechart ... by F` shows; the rest are merged into `other`.
pub(crate) const MAX_SERIES: usize = 10;
/// Empty buckets a `timechart` fills in, over the query's range or between its first and
/// last bucket.
pub const MAX_BUCKETS: u64 = 10_000;

/// A piped query's answer: named columns and rows of JSON values, and notes on anything
/// bounded, estimated or left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// Sentences on what the table leaves out or estimates: groups over the bound, events
    /// over the limit, values that were not numbers, percentiles and distinct counts from
    /// sketches. Empty when the table is exact and complete.
    pub notes: Vec<String>,
}

impl fmt::Display for Table {
    /// Aligned columns of compact JSON, then one `# note` line per note.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells: Vec<Vec<String>> = self.rows.iter().map(|row| row.iter().map(Value::to_string).collect()).collect();
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, items: &mut dyn Iterator<Item = &str>| -> fmt::Result {
            let mut text = String::new();
            for (i, item) in items.enumerate() {
                let width = widths.get(i).copied().unwrap_or(0);
                text.push_str(&format!("{item:width$}  "));
            }
            writeln!(f, "{}", text.trim_end())
        };
        line(f, &mut self.columns.iter().map(String::as_str))?;
        for row in &cells {
            line(f, &mut row.iter().map(String::as_str))?;
        }
        for note in &self.notes {
            writeln!(f, "# {note}")?;
        }
        Ok(())
    }
}

/// A grouping stage and the stages after it.
#[derive(Clone)]
pub(crate) struct TablePlan {
    pub reduce: Reduce,
    pub spec: GroupSpec,
    pub steps: Vec<TableStep>,
}

#[derive(Clone, Copy)]
pub(crate) enum Reduce {
    Stats,
    /// `top N F`.
    Top(usize),
    Timechart,
}

#[derive(Clone)]
pub(crate) enum TableStep {
    /// Column names (resolved at parse time where the columns are known) and directions.
    Sort(Vec<(String, bool)>),
    Limit(usize),
    Fields(Vec<String>),
}

/// Rows while the stages run: cells that still sort by their kind.
struct Rows {
    columns: Vec<String>,
    rows: Vec<Vec<Part>>,
    notes: Vec<String>,
}

/// The table of `groups`. `span` is the time range the events were taken from, in
/// microseconds (`since` inclusive, `until` exclusive), when the query had one.
pub(crate) fn finish(plan: &TablePlan, groups: Groups, span: Option<(i64, i64)>) -> Table {
    let spec = &plan.spec;
    let mut notes = Vec::new();
    // Aggregates of one field see the same values: one note per field.
    let mut noted: Vec<&str> = Vec::new();
    for (agg, &skipped) in spec.aggs.iter().zip(&groups.skipped) {
        let Some(input) = agg.input.as_ref().filter(|input| skipped > 0 && !noted.contains(&input.name.as_str()))
        else {
            continue;
        };
        noted.push(&input.name);
        let what = if skipped == 1 { "value that is not a number" } else { "values that are not numbers" };
        notes.push(format!("{}: left out {skipped} {what}", input.name));
    }
    if groups.capped > 0 {
        notes.push(format!(
            "{} events had more than {MAX_VALUES} values in a field or {MAX_COMBINATIONS} groups; the rest were not counted",
            groups.capped
        ));
    }
    let mut rows = Rows { columns: Vec::new(), rows: Vec::new(), notes };
    match plan.reduce {
        Reduce::Stats => stats(spec, groups, &mut rows),
        Reduce::Top(n) => top(spec, n, groups, &mut rows),
        Reduce::Timechart => timechart(spec, groups, span, &mut rows),
    }
    for step in &plan.steps {
        match step {
            TableStep::Sort(keys) => rows.sort(keys),
            TableStep::Limit(n) => rows.rows.truncate(*n),
            TableStep::Fields(names) => rows.select(names),
        }
    }
    let Rows { columns, rows, notes } = rows;
    let rows = rows.into_iter().map(|row| row.iter().map(|part| part.as_val().to_json()).collect()).collect();
    Table { columns, rows, notes }
}

/// Marks the aggregates whose answers come from sketches in some group.
fn note_estimates(states: &[State], estimated: &mut [bool]) {
    for (state, flag) in states.iter().zip(estimated) {
        *flag |= state.is_estimate();
    }
}

fn push_estimate_notes(spec: &GroupSpec, estimated: &[bool], notes: &mut Vec<String>) {
    for (agg, _) in spec.aggs.iter().zip(estimated).filter(|(_, estimated)| **estimated) {
        let how = match agg.func {
            Func::CountDistinct => {
                format!("estimated within about 1% where a group has more than {EXACT_DISTINCT} distinct values")
            }
            _ => format!("estimated within 1% where a group has more than {EXACT_VALUES} values"),
        };
        notes.push(format!("{}: {how}", agg.name));
    }
}

/// The order of rows by key: each part ascending with nulls last, the `other` row last.
fn cmp_key(a: &[Part], b: &[Part]) -> Ordering {
    let parts = || a.iter().zip(b).map(|(a, b)| cmp_part(a, b)).find(|o| o.is_ne()).unwrap_or(Ordering::Equal);
    is_other(a).cmp(&is_other(b)).then_with(parts)
}

fn cmp_part(a: &Part, b: &Part) -> Ordering {
    cmp_sort(a.as_val(), b.as_val(), false)
}

fn is_other(key: &[Part]) -> bool {
    key.first().is_some_and(|part| matches!(part, Part::Other))
}

fn overflow_note(spec: &GroupSpec) -> String {
    format!("more than {} groups: the events of further groups are counted in the row `other`", spec.max_groups)
}

fn stats(spec: &GroupSpec, groups: Groups, rows: &mut Rows) {
    let mut groups = groups.into_groups();
    if groups.is_empty() && spec.by.is_empty() {
        // Without `by` there is always one row, even over no events.
        groups.push(Group { key: Vec::new(), events: 0, states: spec.aggs.iter().map(State::new).collect() });
    }
    groups.sort_by(|a, b| cmp_key(&a.key, &b.key));
    if groups.iter().any(|group| is_other(&group.key)) {
        rows.notes.push(overflow_note(spec));
    }
    let mut estimated = vec![false; spec.aggs.len()];
    rows.columns =
        spec.by.iter().map(|field| field.name.clone()).chain(spec.aggs.iter().map(|a| a.name.clone())).collect();
    for mut group in groups {
        note_estimates(&group.states, &mut estimated);
        let values = group.states.iter_mut().zip(&spec.aggs).map(|(state, agg)| state.finish(agg, group.events));
        rows.rows.push(group.key.into_iter().chain(values).collect());
    }
    push_estimate_notes(spec, &estimated, &mut rows.notes);
}

fn top(spec: &GroupSpec, n: usize, groups: Groups, rows: &mut Rows) {
    let mut groups = groups.into_groups();
    if groups.iter().any(|group| is_other(&group.key)) {
        rows.notes.push(format!(
            "more than {} distinct values: values first seen after that were not counted, so the list may miss some",
            spec.max_groups
        ));
    }
    // Events without the field, and the overflow group, are no value to list.
    groups.retain(|group| !is_other(&group.key) && !matches!(group.key.first(), Some(Part::Null)));
    groups.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| cmp_key(&a.key, &b.key)));
    groups.truncate(n);
    rows.columns = spec.by.iter().map(|field| field.name.clone()).chain(["count".to_owned()]).collect();
    rows.rows = groups
        .into_iter()
        .map(|group| group.key.into_iter().chain([Part::Int(group.events as i64)]).collect())
        .collect();
}

/// One timechart cell: the events and states of one series in one bucket.
type Cell = Option<(u64, Vec<State>)>;

fn timechart(spec: &GroupSpec, groups: Groups, span: Option<(i64, i64)>, rows: &mut Rows) {
    let step = spec.step.unwrap_or(1).max(1);
    let mut groups = groups.into_groups();
    if let Some(other) = groups.iter().find(|group| is_other(&group.key)) {
        rows.notes.push(format!(
            "more than {} buckets and series: {} events of further ones are not charted",
            spec.max_groups, other.events
        ));
        groups.retain(|group| !is_other(&group.key));
    }
    // Series: the distinct values of the `by` field, the largest first.
    let series_of = |key: &[Part]| key.get(1).cloned().unwrap_or(Part::Null);
    let mut series: Vec<(Part, u64)> = Vec::new();
    groups.sort_by(|a, b| cmp_key(a.key.get(1..).unwrap_or(&[]), b.key.get(1..).unwrap_or(&[])));
    for group in &groups {
        let value = series_of(&group.key);
        match series.last_mut() {
            Some((last, total)) if cmp_part(last, &value).is_eq() => *total += group.events,
            _ => series.push((value, group.events)),
        }
    }
    let by = !spec.by.is_empty();
    let mut shown: Vec<usize> = (0..series.len()).collect();
    shown.sort_by(|&a, &b| series[b].1.cmp(&series[a].1).then(a.cmp(&b)));
    let has_other = by && shown.len() > MAX_SERIES;
    if has_other {
        rows.notes.push(format!(
            "{} series: the {MAX_SERIES} with the most events are shown, the others are merged into `other`",
            shown.len()
        ));
    }
    shown.truncate(MAX_SERIES);
    shown.sort_unstable();
    // Without `by` there is one series, even over no events.
    let columns_per_bucket = if by { shown.len() + usize::from(has_other) } else { 1 };
    // Buckets, in time order, and each group's cell.
    groups.sort_by(|a, b| cmp_key(&a.key, &b.key));
    let mut buckets: Vec<(i64, Vec<Cell>)> = Vec::new();
    for group in groups {
        let Some(Part::Time(at)) = group.key.first().cloned() else { continue };
        if buckets.last().is_none_or(|(last, _)| *last != at) {
            buckets.push((at, vec![None; columns_per_bucket]));
        }
        let value = series_of(&group.key);
        let index = series.binary_search_by(|(s, _)| cmp_part(s, &value)).unwrap_or(0);
        let column = shown.binary_search(&index).unwrap_or(columns_per_bucket.saturating_sub(1));
        match buckets.last_mut().and_then(|(_, cells)| cells.get_mut(column)) {
            Some(cell @ None) => *cell = Some((group.events, group.states)),
            Some(Some((events, states))) => {
                *events += group.events;
                states.iter_mut().zip(group.states).for_each(|(a, b)| a.merge(b));
            }
            None => {}
        }
    }
    // The buckets listed: every one of the query's range, else those from the first event's
    // to the last's, when there are at most MAX_BUCKETS.
    let listable = |(first, end): (i64, i64)| bucket_count(first, end, step) <= MAX_BUCKETS as u128;
    let range = span.and_then(|(since, until)| Some((first_bucket(since, step)?, until)));
    let listed = range.filter(|&(first, end)| end > first && listable((first, end))).or_else(|| {
        match (buckets.first(), buckets.last()) {
            (Some(&(first, _)), Some(&(last, _))) => {
                let end = last.saturating_add(step);
                listable((first, end)).then_some((first, end))
            }
            _ => Some((0, 0)),
        }
    });
    let fill = listed.is_some();
    if !fill {
        rows.notes.push(format!("more than {MAX_BUCKETS} buckets: only buckets with events are listed"));
    }
    let (mut next, end) = listed.unwrap_or((0, 0));
    // Columns.
    let mut names: Vec<String> = shown.iter().map(|&i| series[i].0.as_val().to_name()).collect();
    if has_other {
        names.push("other".to_owned());
    }
    rows.columns = vec!["time".to_owned()];
    for name in if by { names } else { vec![String::new()] } {
        for agg in &spec.aggs {
            rows.columns.push(match (by, spec.aggs.len()) {
                (false, _) => agg.name.clone(),
                (true, 1) => name.clone(),
                (true, _) => format!("{}: {name}", agg.name),
            });
        }
    }
    let mut estimated = vec![false; spec.aggs.len()];
    for (at, cells) in buckets {
        // Only within the listed range: an event outside it (a caller that fed events from
        // beyond `span`) gets its own row, not a run of empty ones up to it or from it.
        while fill && next < at && next < end {
            rows.rows.push(empty_row(spec, next, columns_per_bucket));
            next = next.saturating_add(step);
        }
        let mut row = vec![Part::Time(at)];
        for cell in cells.into_iter().chain(std::iter::repeat_n(None, columns_per_bucket)).take(columns_per_bucket) {
            match cell {
                Some((events, mut states)) => {
                    note_estimates(&states, &mut estimated);
                    row.extend(states.iter_mut().zip(&spec.aggs).map(|(state, agg)| state.finish(agg, events)));
                }
                None => row.extend(spec.aggs.iter().map(|agg| State::new(agg).finish(agg, 0))),
            }
        }
        rows.rows.push(row);
        next = next.max(at.saturating_add(step));
    }
    while fill && next < end {
        rows.rows.push(empty_row(spec, next, columns_per_bucket));
        next = next.saturating_add(step);
    }
    push_estimate_notes(spec, &estimated, &mut rows.notes);
}

/// How many buckets of `step` a timechart lists from the bucket starting at `first` to `end`
/// (exclusive), in 128 bits: no two `i64` times and no step can overflow it.
pub(crate) fn bucket_count(first: i64, end: i64, step: i64) -> u128 {
    let (span, step) = (i128::from(end) - i128::from(first), i128::from(step.max(1)));
    if span <= 0 { 0 } else { ((span + step - 1) / step) as u128 }
}

/// The start of the bucket of `step` that holds `at`, when it is an `i64`.
pub(crate) fn first_bucket(at: i64, step: i64) -> Option<i64> {
    let step = i128::from(step.max(1));
    i64::try_from(i128::from(at).div_euclid(step) * step).ok()
}

/// A bucket without events: counts are 0, everything else null.
fn empty_row(spec: &GroupSpec, at: i64, cells: usize) -> Vec<Part> {
    let empty = spec.aggs.iter().map(|agg| State::new(agg).finish(agg, 0));
    std::iter::once(Part::Time(at)).chain(std::iter::repeat_n(empty, cells).flatten()).collect()
}

impl Rows {
    fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|column| column == name)
    }

    /// A stable sort on the named columns; a column the table does not have is ignored.
    fn sort(&mut self, keys: &[(String, bool)]) {
        let keys: Vec<(usize, bool)> =
            keys.iter().filter_map(|(name, descending)| Some((self.column(name)?, *descending))).collect();
        self.rows.sort_by(|a, b| {
            keys.iter()
                .map(|&(i, descending)| cmp_sort(cell(a, i), cell(b, i), descending))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
    }

    /// Keeps the named columns in that order; a column the table does not have is null.
    fn select(&mut self, names: &[String]) {
        let picks: Vec<Option<usize>> = names.iter().map(|name| self.column(name)).collect();
        for row in &mut self.rows {
            *row = picks.iter().map(|pick| pick.and_then(|i| row.get(i).cloned()).unwrap_or(Part::Null)).collect();
        }
        self.columns = names.to_vec();
    }
}

fn cell(row: &[Part], i: usize) -> Val<'_> {
    row.get(i).map_or(Val::Null, Part::as_val)
}
