//! Rows that are events: a piped query without `stats`, `top` or `timechart`. A run keeps the
//! events that can still be shown, at most the first `limit` (default [`DEFAULT_ROWS`], at most
//! [`MAX_ROWS`]) in the order of the sorts before that limit, then newest first by
//! `(time, id)`. Events arrive in any order; one that cannot beat the worst kept event is not
//! copied, so feeding events newest first costs little, and [`Events::add_all`] cuts each
//! chunk of events to the best before copying any, so that oldest first costs little more. At the end the later stages sort and cut the kept events, and `fields` chooses the
//! columns (default `time, severity, host, app, message`).

use std::cmp::Ordering;

use serde_json::Value;

use super::value::{FieldRef, cmp_sort};
use crate::Event;

/// Events shown without a `limit`.
pub(crate) const DEFAULT_ROWS: usize = 1000;
/// Events a run keeps at most, whatever the `limit`.
pub(crate) const MAX_ROWS: usize = 10_000;
/// The columns without a `fields` stage.
pub(crate) const DEFAULT_COLUMNS: [&str; 5] = ["time", "severity", "host", "app", "message"];

/// `sort [-]field` over events.
#[derive(Clone)]
pub(crate) struct SortKey {
    pub field: FieldRef,
    pub descending: bool,
}

/// What to do with events, as parsed.
#[derive(Clone)]
pub(crate) struct EventPlan {
    /// The sorts before the first limit, the last one first (each sort is stable).
    pub order: Vec<SortKey>,
    /// How many events the run keeps: the first limit, bounded.
    pub keep: usize,
    /// The first limit as written, when there is one.
    pub limit: Option<usize>,
    /// The stages after the first limit.
    pub steps: Vec<EventStep>,
    pub columns: Vec<FieldRef>,
}

#[derive(Clone)]
pub(crate) enum EventStep {
    Sort(Vec<SortKey>),
    Limit(usize),
}

/// The order of `keys`, then newest first.
pub(crate) fn cmp_events(keys: &[SortKey], a: &Event, b: &Event) -> Ordering {
    cmp_keys(keys, a, b).then_with(|| (b.time, b.id).cmp(&(a.time, a.id)))
}

fn cmp_keys(keys: &[SortKey], a: &Event, b: &Event) -> Ordering {
    for key in keys {
        let get = &key.field.get;
        let order = get.find(a).first(|x| get.find(b).first(|y| cmp_sort(x, y, key.descending)));
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// The events one partial run keeps.
#[derive(Default)]
pub(crate) struct Events {
    kept: Vec<Event>,
    /// The index of a kept event that at least `keep` kept events are not worse than: an
    /// event that is not better cannot be shown.
    worst: Option<usize>,
    /// Events fed to the run.
    pub matched: u64,
}

impl Events {
    #[inline]
    pub(crate) fn add(&mut self, plan: &EventPlan, event: &Event) {
        self.matched += 1;
        if self.admits(plan, event) {
            self.push(plan, event.clone());
        }
    }

    /// Adds many events: each chunk of them is cut to the `keep` best before any is copied,
    /// so that events arriving oldest first are not all copied.
    pub(crate) fn add_all<'a>(&mut self, plan: &EventPlan, events: impl IntoIterator<Item = &'a Event>) {
        let chunk_len = (4 * plan.keep).max(4096);
        let mut chunk: Vec<&Event> = Vec::new();
        let mut events = events.into_iter();
        loop {
            chunk.clear();
            chunk.extend(events.by_ref().take(chunk_len));
            if chunk.is_empty() {
                return;
            }
            self.matched += chunk.len() as u64;
            if plan.keep == 0 {
                continue;
            }
            if chunk.len() > plan.keep {
                chunk.select_nth_unstable_by(plan.keep - 1, |a, b| cmp_events(&plan.order, a, b));
                chunk.truncate(plan.keep);
            }
            for &event in &chunk {
                if self.admits(plan, event) {
                    self.push(plan, event.clone());
                }
            }
        }
    }

    fn admits(&self, plan: &EventPlan, event: &Event) -> bool {
        let worst = self.worst.and_then(|worst| self.kept.get(worst));
        plan.keep > 0 && worst.is_none_or(|worst| cmp_events(&plan.order, event, worst) == Ordering::Less)
    }

    fn push(&mut self, plan: &EventPlan, event: Event) {
        self.kept.push(event);
        let order = |a: &Event, b: &Event| cmp_events(&plan.order, a, b);
        if self.worst.is_none() && self.kept.len() == plan.keep {
            self.worst = self.kept.iter().enumerate().max_by(|(_, a), (_, b)| order(a, b)).map(|(i, _)| i);
        }
        if self.kept.len() >= 2 * plan.keep {
            self.kept.select_nth_unstable_by(plan.keep - 1, order);
            self.kept.truncate(plan.keep);
            self.worst = Some(plan.keep - 1);
        }
    }

    pub(crate) fn merge(&mut self, plan: &EventPlan, other: Events) {
        self.matched += other.matched;
        for event in other.kept {
            if self.admits(plan, &event) {
                self.push(plan, event);
            }
        }
    }

    /// The columns and rows, and a note when the run saw more events than it shows for want
    /// of a limit (or beyond [`MAX_ROWS`]).
    pub(crate) fn finish(self, plan: &EventPlan) -> (Vec<String>, Vec<Vec<Value>>, Option<String>) {
        let mut events = self.kept;
        events.sort_by(|a, b| cmp_events(&plan.order, a, b));
        events.truncate(plan.keep);
        let note = match plan.limit {
            Some(limit) if limit > MAX_ROWS && self.matched > MAX_ROWS as u64 => {
                Some(format!("showing {MAX_ROWS} of {} events: a run keeps at most {MAX_ROWS} events", self.matched))
            }
            None if self.matched > plan.keep as u64 => Some(format!(
                "showing the first {} of {} events; add `| limit N` to choose how many",
                plan.keep, self.matched
            )),
            _ => None,
        };
        for step in &plan.steps {
            match step {
                EventStep::Sort(keys) => events.sort_by(|a, b| cmp_keys(keys, a, b)),
                EventStep::Limit(n) => events.truncate(*n),
            }
        }
        let columns = plan.columns.iter().map(|column| column.name.clone()).collect();
        let rows =
            events.iter().map(|event| plan.columns.iter().map(|column| column.get.to_json(event)).collect()).collect();
        (columns, rows, note)
    }
}
