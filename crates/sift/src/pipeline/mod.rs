//! The pipeline: every event, from every source, passes validate → classify → enrich before
//! it is published (DESIGN.md section 5). Pure computation on batches: no I/O, no waiting.
//!
//! Classification rules can be replaced at any time by their owner ([`rules::Rules`]); a
//! batch is classified entirely with the rules that were current when it started, and no
//! event is lost or held while rules change.

pub mod classify;
mod enrich;
pub mod rules;
mod validate;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use sift_core::{Event, Timestamp};

use crate::config::{AlertsConfig, PipelineConfig};
use rules::RuleSet;
pub use validate::Rejection;

pub struct Pipeline {
    limits: PipelineConfig,
    alerts: AlertsConfig,
    rules: Arc<RuleSet>,
    ids: Mutex<ulid::Generator>,
}

/// What the pipeline made of a batch.
#[derive(Debug, Default)]
pub struct Processed {
    pub accepted: Vec<Event>,
    /// Rejected items with their index in the submitted batch.
    pub rejected: Vec<(usize, Rejection)>,
}

impl Pipeline {
    pub fn new(limits: PipelineConfig, alerts: AlertsConfig, rules: Arc<RuleSet>) -> Pipeline {
        Pipeline { limits, alerts, rules, ids: Mutex::new(ulid::Generator::new()) }
    }

    /// Checks one event against the limits exactly as [`Pipeline::process`] will, for a
    /// source that must refuse a whole request for one bad item (Logplex cannot be told that
    /// part of a body was kept).
    pub fn validate(&self, event: &mut Event) -> Result<(), Rejection> {
        validate::check(&self.limits, event)
    }

    /// Runs decoded items (an event, or the reason it could not be decoded) through the
    /// pipeline. Accepted events come out with ids, in their submitted order.
    pub fn process(&self, items: impl ExactSizeIterator<Item = Result<Event, Rejection>>) -> Processed {
        let rules = self.rules.current();
        let mut out = Processed { accepted: Vec::with_capacity(items.len()), rejected: Vec::new() };
        for (index, item) in items.enumerate() {
            let checked = item.and_then(|mut event| {
                validate::check(&self.limits, &mut event)?;
                Ok(event)
            });
            match checked {
                Ok(mut event) => {
                    classify::classify(&rules, &mut event);
                    enrich::enrich(&self.alerts, &mut event);
                    out.accepted.push(event);
                }
                Err(rejection) => out.rejected.push((index, rejection)),
            }
        }
        self.assign_ids(&mut out.accepted);
        out
    }

    /// Gives each event a ULID from its arrival time, increasing within the process even
    /// when many events arrive in the same millisecond.
    fn assign_ids(&self, events: &mut [Event]) {
        let mut ids = self.ids.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for event in events {
            let at = SystemTime::UNIX_EPOCH + Duration::from_micros(event.received_at.as_micros().max(0) as u64);
            event.id = ids.generate_from_datetime(at).unwrap_or_else(|_| ulid::Ulid::from_datetime(at));
        }
    }
}

/// The current time for `received_at`.
pub fn now() -> Timestamp {
    Timestamp::now()
}
