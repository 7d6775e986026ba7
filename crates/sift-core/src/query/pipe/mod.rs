//! Pipes (DESIGN.md section 6): a filter followed by stages that turn the matching events
//! into a table, for ad-hoc analytics and the dashboard's charts.
//!
//! ```text
//! severity>=error | stats count() by app, host
//! type:page_load | stats count(), avg(fields.execution_time), p99(fields.execution_time) by fields.url | sort -p99 | limit 10
//! app:checkout | timechart 1m count() by severity
//! * | top 10 host
//! ```
//!
//! A [`PipedQuery`] is parsed once. Running it is split so that work divides across threads
//! and storage tiers: each scan partition gets a [`Run`] from [`PipedQuery::start`], feeds it
//! the events that match the filter ([`Run::add`]), the runs are merged ([`Run::merge`]) and
//! the last one is finished into a [`Table`]. Merging is exact: runs merged in any grouping
//! give the table one run over all the events would.
//!
//! # Stages
//!
//! - `stats AGG, ... [by F, ...]`: one row per distinct combination of the `by` fields (up to
//!   eight), in key order, with the `by` columns then one column per aggregate. Without `by`
//!   there is exactly one row, even over no events.
//! - `timechart STEP AGG, ... [by F]`: one row per time bucket of `STEP` (`30s`, `1m`, `5m`,
//!   `1h`, `1d`; buckets start at multiples of the step since the epoch, UTC), oldest first,
//!   column `time` (RFC 3339) first. Empty buckets are listed too (counts 0, other aggregates
//!   null): every bucket of the query's time range when it has one ([`Run::finish_over`]),
//!   else those between the first and the last event, when there are at most 10,000. Without
//!   `by` there is one column per aggregate; with `by`, one column per value of the field,
//!   named after it (or `AGG: value` with several aggregates), the 10 values with the most
//!   events in value order, and the others merged into a column `other`.
//! - `top [N] F`: columns `F, count`, the `N` (default 10) most frequent values, ties in value
//!   order; events without the field are not counted.
//! - `sort [-]COL, ...`: a stable sort, `-` for descending. After a grouping stage it sorts
//!   the table's columns; an aggregate's column may be named by its text (`p99(fields.x)`,
//!   any case), its `as` name, or its bare function name when only one column has it
//!   (`sort -p99`, `sort -count`). Without one it sorts events by any field (by its first
//!   value when it has several).
//! - `limit N`: the first `N` rows.
//! - `fields A, ...`: after a grouping stage, chooses and orders columns; without one, the
//!   event fields shown as columns (default `time, severity, host, app, message`).
//!
//! `stats`, `timechart` and `top` may only be the first stage; `sort`, `limit` and `fields`
//! follow in any number and order. Stage names, function names, `by` and `as` are
//! case-insensitive. Every name is checked when the query is parsed: an unknown stage,
//! function or field, a bad step or number, or a column that the table will not have is a
//! [`ParseError`] at its position in the whole query.
//!
//! Aggregates: `count()` (events; also `count` alone), `count(F)` (non-null values of F),
//! `sum(F)`, `avg(F)`, `min(F)`, `max(F)`, `pN(F)` for `0 < N < 100` (`p50`, `p90`, `p99`,
//! `p99.9`; the nearest-rank value: the smallest with at least N% of the values at or below
//! it), `count_distinct(F)`, each optionally `as NAME`. A column is named by `as`, else by
//! the aggregate's text: `count`, `count(F)`, `avg(fields.execution_time)`. Numbers are JSON
//! numbers, strings that read as one (`"0.3"`), `line`, `facility`, and severities as their
//! syslog number; other values are left out, and a note says how many. Sums, averages,
//! extremes and percentiles of no values are null; whole numbers come out as integers; `min`
//! and `max` of `time` or `received_at` come out as RFC 3339.
//!
//! # Values
//!
//! Fields are the filter's: `severity`, `source` and `facility` show their names, `time`
//! RFC 3339, `id` its ULID, absent optional strings null. A list field (`tags`, `topics`,
//! `identities`) or a JSON array contributes each distinct element: `by tags` counts an event
//! once under each of its tags, and an aggregate reads every element. `fields.a.b` follows the
//! filter's path rules; JSON values group by type (`404` and `"404"` are two groups), objects
//! by their JSON text. An event without a `by` field groups under null.
//!
//! Rows and sorts order values the same way: nulls last (in either direction), booleans,
//! numbers and strings that read as numbers (by value), other strings (by bytes), severities
//! (worse is greater, as in `severity>=warning`), then sources, facilities, times and ids.
//!
//! # Without a grouping stage
//!
//! Rows are events. A run keeps only what it may show: the first `limit` events (default
//! 1,000, at most 10,000) in the order of the sorts before that limit, then newest first by
//! `(time, id)`, whatever order the events arrive in; the stages after the first `limit`
//! work on those. Feed events newest first, or through [`Run::add_all`], so that few are
//! copied.
//!
//! # Bounds
//!
//! - Groups: 100,000 per run (10,000 when an aggregate is a percentile or `count_distinct`);
//!   events of further new groups are counted in one row whose key columns are `"other"`
//!   (for `top`, left out; for `timechart`, not charted), and a note says so.
//! - Percentiles: exact while a group has at most 1,024 values, then within 1% relative
//!   error (a log-bucketed histogram, as DDSketch).
//! - `count_distinct`: exact while a group has at most 2,048 distinct values (by 64-bit
//!   hash), then a HyperLogLog estimate with 0.81% standard error.
//! - A field contributes at most 64 values, and an event at most 64 key combinations.
//!
//! Whatever is bounded, estimated or left out is said in [`Table::notes`].
//!
//! # Layout
//!
//! `parse` reads the stages into a plan; `value` reads fields from events; `groups` holds
//! the grouping stages' state, with `aggregate` and `sketch` for the aggregates; `events`
//! keeps the events of a plan without grouping; `table` turns groups into rows and applies
//! `sort`, `limit` and `fields`.

mod aggregate;
mod events;
mod groups;
mod parse;
mod sketch;
mod table;
mod value;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

pub use table::{MAX_BUCKETS, Table};

use super::{EventField, FieldSet, ParseError, Query, parse_filter_prefix};
use crate::time::format_duration_micros;
use crate::{Event, Timestamp};
use events::{EventPlan, EventStep, Events};
use groups::Groups;
use table::TablePlan;
use value::Getter;

/// A filter plus zero or more pipe stages:
/// `severity>=error | stats count() by app, host | sort -count | limit 10`.
/// A `PipedQuery` that exists is valid; cloning it is cheap.
#[derive(Clone)]
pub struct PipedQuery {
    filter: Query,
    stages: Arc<[Stage]>,
    plan: Arc<Plan>,
}

/// One stage as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    kind: StageKind,
    text: String,
}

/// What a stage does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageKind {
    Stats,
    Timechart,
    Top,
    Sort,
    Limit,
    Fields,
}

impl Stage {
    pub fn kind(&self) -> StageKind {
        self.kind
    }

    /// The stage's text, trimmed, without the `|`.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// What running the stages takes.
pub(crate) enum Plan {
    Events(EventPlan),
    Table(TablePlan),
}

impl Plan {
    fn fields(&self) -> FieldSet {
        match self {
            Plan::Table(plan) => {
                let spec = &plan.spec;
                let inputs = spec.aggs.iter().filter_map(|agg| agg.input.as_ref());
                let read: FieldSet = spec.by.iter().chain(inputs).map(|field| field.get.field()).collect();
                if spec.step.is_some() { read.with(EventField::Time) } else { read }
            }
            Plan::Events(plan) => {
                let sorts = plan.steps.iter().flat_map(|step| match step {
                    EventStep::Sort(keys) => keys.as_slice(),
                    EventStep::Limit(_) => &[],
                });
                let keys = plan.order.iter().chain(sorts).map(|key| &key.field);
                let read: FieldSet = plan.columns.iter().chain(keys).map(|field| field.get.field()).collect();
                read.with(EventField::Time).with(EventField::Id)
            }
        }
    }
}

impl PipedQuery {
    /// Parses `src`; relative times in the filter count back from the current time.
    pub fn parse(src: &str) -> Result<PipedQuery, ParseError> {
        PipedQuery::parse_at(src, Timestamp::now())
    }

    /// Parses `src`; relative times in the filter count back from `now`. Error positions are
    /// character offsets in the whole of `src`.
    pub fn parse_at(src: &str, now: Timestamp) -> Result<PipedQuery, ParseError> {
        let (filter, stop) = parse_filter_prefix(src, now)?;
        let (plan, stages) = parse::parse_stages(src, stop).map_err(|fail| fail.into_error(src))?;
        Ok(PipedQuery { filter, stages: stages.into(), plan: Arc::new(plan) })
    }

    /// The filter before the first `|`: run it on events before feeding them to a [`Run`].
    pub fn filter(&self) -> &Query {
        &self.filter
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The same query over only the events `scope` matches as well (see [`Query::and`]).
    pub fn within(mut self, scope: &Query) -> PipedQuery {
        self.filter = scope.and(&self.filter);
        self
    }

    /// The event fields running the query reads: the filter's, and those its stages read (the
    /// `by` fields, the aggregates' inputs, `time` for `timechart`; when rows are events, the
    /// shown and sorted fields with `time` and `id`, which order them). `count()` reads none.
    pub fn fields(&self) -> FieldSet {
        self.filter.fields().union(self.plan.fields())
    }

    /// What the stages need from the events when all they do is count them per key: the
    /// `by` fields and the `timechart` step, when every aggregate is `count()` and every `by`
    /// field holds one value per event (not a list or a `fields.` path). Events that agree on
    /// those fields and fall in the same time bucket are then interchangeable, so a tier that
    /// reads by column may feed one of them with their number ([`Run::add_n`]).
    pub fn tally(&self) -> Option<Tally> {
        let Plan::Table(plan) = &*self.plan else { return None };
        let spec = &plan.spec;
        let counts_only = spec.aggs.iter().all(|agg| agg.input.is_none());
        let single = spec.by.iter().all(|field| !matches!(field.get, Getter::List(_) | Getter::Json(_)));
        (counts_only && single)
            .then(|| Tally { by: spec.by.iter().map(|field| field.get.field()).collect(), step: spec.step })
    }

    /// Whether any stage follows the filter.
    pub fn has_stages(&self) -> bool {
        !self.stages.is_empty()
    }

    /// Whether the rows are events (no `stats`, `timechart` or `top`).
    pub fn rows_are_events(&self) -> bool {
        matches!(*self.plan, Plan::Events(_))
    }

    /// Checks, before any event is read, that the table of events taken from `since` to
    /// `until` ([`Run::finish_over`]) is one the query may make: a `timechart` lists every
    /// bucket of the range, at most [`MAX_BUCKETS`] of them.
    pub fn check_range(&self, since: Timestamp, until: Timestamp) -> Result<(), TooManyBuckets> {
        let Plan::Table(plan) = &*self.plan else { return Ok(()) };
        let Some(step) = plan.spec.step else { return Ok(()) };
        let first = table::first_bucket(since.as_micros(), step).unwrap_or(i64::MIN);
        let buckets = table::bucket_count(first, until.as_micros(), step);
        if buckets <= u128::from(MAX_BUCKETS) {
            return Ok(());
        }
        Err(TooManyBuckets { step: format_duration_micros(step), since, until, buckets })
    }

    /// A new, empty run: one per scan partition.
    pub fn start(&self) -> Run {
        let body = match &*self.plan {
            Plan::Events(_) => Body::Events(Events::default()),
            Plan::Table(plan) => Body::Groups(Groups::new(&plan.spec)),
        };
        Run { plan: Arc::clone(&self.plan), body }
    }
}

impl fmt::Debug for PipedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stages: Vec<&str> = self.stages.iter().map(Stage::text).collect();
        f.debug_struct("PipedQuery").field("filter", &self.filter.source()).field("stages", &stages).finish()
    }
}

/// What stages that only count events read ([`PipedQuery::tally`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// The fields of the key, each holding one value per event.
    pub by: FieldSet,
    /// The width of a `timechart`'s time buckets in microseconds; buckets start at multiples
    /// of it since the epoch.
    pub step: Option<i64>,
}

impl Tally {
    /// The time bucket of a time: the number of the step it falls in.
    #[inline]
    pub fn bucket(&self, micros: i64) -> i64 {
        self.step.map_or(0, |step| micros.div_euclid(step))
    }
}

/// A `timechart` over a range would list more buckets than it may ([`PipedQuery::check_range`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a timechart of {step} steps from {since} to {until} would list {buckets} buckets, more than the {max} a \
     timechart may list: use a longer step or a shorter range",
    max = MAX_BUCKETS
)]
pub struct TooManyBuckets {
    /// The step, as a duration such as `1h`.
    pub step: String,
    pub since: Timestamp,
    pub until: Timestamp,
    pub buckets: u128,
}

/// The state of running a piped query over some events: built once per scan partition with
/// [`PipedQuery::start`], fed events, merged with other partitions' runs, then finished. Its
/// memory is bounded whatever it is fed (see the module documentation).
pub struct Run {
    plan: Arc<Plan>,
    body: Body,
}

// One per scan partition, so its size does not matter; a box would cost a load per event.
#[allow(clippy::large_enum_variant)]
enum Body {
    Events(Events),
    Groups(Groups),
}

impl Run {
    /// Adds one event. The filter is not checked here: feed only events that match
    /// [`PipedQuery::filter`], in any order (but see [`Run::add_all`]).
    #[inline]
    pub fn add(&mut self, event: &Event) {
        match (&*self.plan, &mut self.body) {
            (Plan::Table(plan), Body::Groups(groups)) => groups.add(&plan.spec, event),
            (Plan::Events(plan), Body::Events(events)) => events.add(plan, event),
            _ => {}
        }
    }

    /// Adds `event` `n` times: the table is the one `n` calls of [`Run::add`] would make.
    #[inline]
    pub fn add_n(&mut self, event: &Event, n: u64) {
        match (&*self.plan, &mut self.body) {
            (Plan::Table(plan), Body::Groups(groups)) => groups.add_n(&plan.spec, event, n),
            (Plan::Events(plan), Body::Events(events)) => (0..n).for_each(|_| events.add(plan, event)),
            _ => {}
        }
    }

    /// Adds many events, as [`Run::add`] does each. When rows are events, this copies only
    /// the events of each chunk that can be shown, however the events are ordered; `add`
    /// copies every event that can still be shown when it arrives, so with `add`, feed
    /// events newest first.
    pub fn add_all<'a>(&mut self, events: impl IntoIterator<Item = &'a Event>) {
        match (&*self.plan, &mut self.body) {
            (Plan::Table(plan), Body::Groups(groups)) => events.into_iter().for_each(|e| groups.add(&plan.spec, e)),
            (Plan::Events(plan), Body::Events(kept)) => kept.add_all(plan, events),
            _ => {}
        }
    }

    /// Adds the events another run of the same query was fed. The result is the same whichever
    /// runs are merged into which. A run of another query is ignored.
    pub fn merge(&mut self, other: Run) {
        match (&*self.plan, &mut self.body, other.body) {
            (Plan::Table(plan), Body::Groups(groups), Body::Groups(theirs)) => groups.merge(&plan.spec, theirs),
            (Plan::Events(plan), Body::Events(events), Body::Events(theirs)) => events.merge(plan, theirs),
            _ => {}
        }
    }

    /// The table.
    pub fn finish(self) -> Table {
        self.finish_within(None)
    }

    /// The table of events taken from `since` (inclusive) to `until` (exclusive): as
    /// [`Run::finish`], except that a `timechart` lists every bucket of that range, those before
    /// the first event and after the last too (when there are at most 10,000).
    pub fn finish_over(self, since: Timestamp, until: Timestamp) -> Table {
        self.finish_within(Some((since.as_micros(), until.as_micros())))
    }

    fn finish_within(self, span: Option<(i64, i64)>) -> Table {
        match (&*self.plan, self.body) {
            (Plan::Table(plan), Body::Groups(groups)) => table::finish(plan, groups, span),
            (Plan::Events(plan), Body::Events(events)) => {
                let (columns, rows, note) = events.finish(plan);
                Table { columns, rows, notes: note.into_iter().collect() }
            }
            _ => Table::default(),
        }
    }
}
