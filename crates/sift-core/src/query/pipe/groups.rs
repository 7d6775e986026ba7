//! Grouping events by key and aggregating each group: the state behind `stats`, `top` and
//! `timechart`. A key is a time bucket (for `timechart`) and one value per `by` field. Groups
//! live in an open-addressing table of group numbers; keys, hashes, event counts and
//! aggregate states are flat vectors indexed by group number, so a group costs no allocation
//! of its own beyond its key strings.
//!
//! Looking up an event's group hashes the values borrowed from the event and compares them
//! with the stored key; only a new group copies its key. When every key part is one value
//! read straight from the event (`severity`, `host`, a time bucket) nothing is copied at all.
//! A field with several values (a list such as `tags`, a JSON array) puts the event in one
//! group per distinct value, and several such fields in one group per combination: those
//! values (at most [`MAX_VALUES`] per field) and combinations (at most [`MAX_COMBINATIONS`])
//! are copied into reused buffers first.
//!
//! A key that is at most one severity, source or facility, besides the time bucket, skips
//! the hash table: a small array maps the value to its group within the last time bucket, so
//! `stats count() by severity` and `timechart 1m count() by severity` over events in time
//! order cost an array lookup per event.
//!
//! A run holds at most [`GroupSpec::max_groups`] groups; events of further new keys go to one
//! `other` group, whose key parts are all [`Part::Other`].

use std::fmt::Write;

use super::aggregate::{Agg, State};
use super::value::{FieldRef, Found, Getter, Part, Val, each_json};
use crate::Event;
use crate::event::Source;
use crate::severity::Severity;

/// Values of one field that one event contributes to its keys.
pub(crate) const MAX_VALUES: usize = 64;
/// Keys (combinations of values) one event contributes to.
pub(crate) const MAX_COMBINATIONS: usize = 64;
/// Key parts: a time bucket and up to eight `by` fields.
const MAX_KEY: usize = 9;

const SEED: u64 = 0x2545_f491_4f6c_dd1d;

/// What a grouping stage computes.
#[derive(Clone)]
pub(crate) struct GroupSpec {
    /// `timechart`: the bucket width in microseconds; buckets start at multiples of it.
    pub step: Option<i64>,
    pub by: Vec<FieldRef>,
    pub aggs: Vec<Agg>,
    pub max_groups: usize,
}

impl GroupSpec {
    fn key_len(&self) -> usize {
        self.by.len() + usize::from(self.step.is_some())
    }

    /// The value of key part `i` for an event whose key parts are all single values, given
    /// the event's time bucket.
    #[inline]
    fn simple_part<'e>(&'e self, event: &'e Event, bucket: i64, i: usize) -> Val<'e> {
        let i = match self.step {
            Some(_) if i == 0 => return Val::Time(bucket),
            Some(_) => i - 1,
            None => i,
        };
        match self.by.get(i).map(|field| field.get.find(event)) {
            Some(Found::One(value)) => value,
            _ => Val::Null,
        }
    }
}

/// The groups of one partial run.
pub(crate) struct Groups {
    key_len: usize,
    aggs: usize,
    /// Whether an aggregate reads a field (all but `count()` do).
    reads_fields: bool,
    /// Group number + 1, or 0 for an empty slot; the length is a power of two.
    slots: Vec<u32>,
    hashes: Vec<u64>,
    keys: Vec<Part>,
    events: Vec<u64>,
    states: Vec<State>,
    /// Per aggregate: values left out because they were not numbers.
    pub skipped: Vec<u64>,
    /// Events that had more key values or combinations than the bounds.
    pub capped: u64,
    /// For a key of at most one small value and a time bucket: the groups of the last bucket.
    direct: Option<Direct>,
    last_bucket: Option<i64>,
    /// Reused buffers for keys with several values.
    owned: Vec<Owned>,
    scratch: String,
}

/// One group, taken out at the end.
pub(crate) struct Group {
    pub key: Vec<Part>,
    pub events: u64,
    pub states: Vec<State>,
}

impl Groups {
    pub(crate) fn new(spec: &GroupSpec) -> Groups {
        Groups {
            key_len: spec.key_len(),
            aggs: spec.aggs.len(),
            reads_fields: spec.aggs.iter().any(|agg| agg.input.is_some()),
            slots: vec![0; 16],
            hashes: Vec::new(),
            keys: Vec::new(),
            events: Vec::new(),
            states: Vec::new(),
            skipped: vec![0; spec.aggs.len()],
            capped: 0,
            direct: match spec.by.as_slice() {
                [] => Some(Direct { small: None, groups: [0; 32] }),
                [field] => Small::of(&field.get).map(|small| Direct { small: Some(small), groups: [0; 32] }),
                _ => None,
            },
            last_bucket: None,
            owned: Vec::new(),
            scratch: String::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.hashes.len()
    }

    #[inline]
    pub(crate) fn add(&mut self, spec: &GroupSpec, event: &Event) {
        self.add_n(spec, event, 1);
    }

    /// Adds `event` `n` times: what `n` calls of [`Groups::add`] would do.
    #[inline]
    pub(crate) fn add_n(&mut self, spec: &GroupSpec, event: &Event, n: u64) {
        let bucket = match spec.step {
            Some(step) => self.bucket(step, event),
            None => 0,
        };
        let code = match &self.direct {
            Some(direct) => {
                let code = direct.small.map_or(Some(0), |small| small.code(event));
                match code.and_then(|code| direct.groups.get(code)) {
                    Some(&group) if group > 0 => return self.update(spec, group as usize - 1, event, n),
                    _ => code,
                }
            }
            None => None,
        };
        let mut hash = SEED;
        if spec.step.is_some() {
            hash = Val::Time(bucket).hash_into(hash);
        }
        for field in &spec.by {
            hash = match field.get.find(event) {
                Found::One(value) => value.hash_into(hash),
                Found::None => Val::Null.hash_into(hash),
                Found::List(_) | Found::Json(..) => return self.add_several(spec, event, bucket, n),
            };
        }
        let group = self.group_of(spec, hash, |i| spec.simple_part(event, bucket, i));
        if let Some(slot) = code.and_then(|code| self.direct.as_mut()?.groups.get_mut(code)) {
            *slot = group as u32 + 1;
        }
        self.update(spec, group, event, n);
    }

    /// The start of the event's time bucket. Events come mostly in time order, so the last
    /// bucket is checked before dividing; when the bucket changes the direct groups do too.
    #[inline]
    fn bucket(&mut self, step: i64, event: &Event) -> i64 {
        let time = event.time.as_micros();
        if let Some(last) =
            self.last_bucket.filter(|&last| time.checked_sub(last).is_some_and(|d| (0..step).contains(&d)))
        {
            return last;
        }
        let bucket = time.div_euclid(step).saturating_mul(step);
        self.last_bucket = Some(bucket);
        if let Some(direct) = &mut self.direct {
            direct.groups = [0; 32];
        }
        bucket
    }

    /// An event whose key has a list or a JSON value: its values are copied, then the event
    /// goes to the group of every combination.
    fn add_several(&mut self, spec: &GroupSpec, event: &Event, bucket: i64, n: u64) {
        let mut owned = std::mem::take(&mut self.owned);
        let mut scratch = std::mem::take(&mut self.scratch);
        owned.clear();
        scratch.clear();
        let mut ranges = [(0, 0); MAX_KEY];
        let mut capped = false;
        if spec.step.is_some() {
            owned.push(Owned::Time(bucket));
            ranges[0] = (0, 1);
        }
        let first = usize::from(spec.step.is_some());
        for (i, field) in spec.by.iter().enumerate() {
            let start = owned.len();
            // A value repeated within the field (`tags: [a, a]`) counts once.
            let mut push = |value: Val<'_>| {
                if owned[start..].iter().any(|seen| seen.val(&scratch).cmp(value).is_eq()) {
                    return;
                }
                if owned.len() - start < MAX_VALUES {
                    owned.push(Owned::new(value, &mut scratch));
                } else {
                    capped = true;
                }
            };
            match field.get.find(event) {
                Found::Json(path, fields) => each_json(path, fields, |value| push(Val::json(value))),
                found => found.each(&mut push),
            }
            if owned.len() == start {
                owned.push(Owned::Null);
            }
            if let Some(range) = ranges.get_mut(first + i) {
                *range = (start, owned.len());
            }
        }
        let key_len = self.key_len.min(MAX_KEY);
        // An odometer over one value index per key part, the last part turning fastest.
        let mut at: [usize; MAX_KEY] = std::array::from_fn(|i| ranges[i].0);
        for _ in 0..MAX_COMBINATIONS {
            let part = |i: usize| at.get(i).and_then(|&j| owned.get(j)).map_or(Val::Null, |value| value.val(&scratch));
            let hash = (0..key_len).fold(SEED, |hash, i| part(i).hash_into(hash));
            let group = self.group_of(spec, hash, part);
            self.update(spec, group, event, n);
            let mut i = key_len;
            let turned = loop {
                if i == 0 {
                    break false;
                }
                i -= 1;
                at[i] += 1;
                if at[i] < ranges[i].1 {
                    break true;
                }
                at[i] = ranges[i].0;
            };
            if !turned {
                break;
            }
        }
        let combinations: usize = ranges[..key_len].iter().map(|(start, end)| end - start).product();
        capped |= combinations > MAX_COMBINATIONS;
        self.capped += u64::from(capped) * n;
        self.owned = owned;
        self.scratch = scratch;
    }

    /// The group of the key whose parts `part` gives, created if new (or the `other` group
    /// when the bound on groups is reached).
    #[inline]
    fn group_of<'v>(&mut self, spec: &GroupSpec, hash: u64, part: impl Fn(usize) -> Val<'v>) -> usize {
        let key_len = self.key_len;
        let found = self.find(hash, |group| {
            let key = &self.keys[group * key_len..(group + 1) * key_len];
            key.iter().enumerate().all(|(i, stored)| part(i).eq_part(stored))
        });
        match found {
            Ok(group) => group,
            Err(_) if self.len() >= spec.max_groups && !matches!(part(0), Val::Other) => self.other(spec),
            Err(slot) => self.insert(spec, slot, hash, (0..key_len).map(|i| Part::from_val(part(i)))),
        }
    }

    /// The `other` group.
    fn other(&mut self, spec: &GroupSpec) -> usize {
        let hash = (0..self.key_len).fold(SEED, |hash, _| Val::Other.hash_into(hash));
        self.group_of(spec, hash, |_| Val::Other)
    }

    /// The group whose key `eq` accepts, or the empty slot where it would go.
    #[inline]
    fn find(&self, hash: u64, eq: impl Fn(usize) -> bool) -> Result<usize, usize> {
        let mask = self.slots.len() - 1;
        let mut slot = spread(hash, mask);
        loop {
            match self.slots[slot] {
                0 => return Err(slot),
                n => {
                    let group = n as usize - 1;
                    if self.hashes[group] == hash && eq(group) {
                        return Ok(group);
                    }
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    fn insert(&mut self, spec: &GroupSpec, slot: usize, hash: u64, key: impl Iterator<Item = Part>) -> usize {
        let group = self.len();
        self.slots[slot] = group as u32 + 1;
        self.hashes.push(hash);
        self.keys.extend(key);
        self.events.push(0);
        self.states.extend(spec.aggs.iter().map(State::new));
        if self.len() * 2 > self.slots.len() {
            self.grow();
        }
        group
    }

    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let mask = size - 1;
        self.slots = vec![0; size];
        for (group, &hash) in self.hashes.iter().enumerate() {
            let mut slot = spread(hash, mask);
            while self.slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = group as u32 + 1;
        }
    }

    /// Counts `event` `n` times in `group`.
    #[inline(always)]
    fn update(&mut self, spec: &GroupSpec, group: usize, event: &Event, n: u64) {
        if let Some(events) = self.events.get_mut(group) {
            *events += n;
        }
        if !self.reads_fields {
            return;
        }
        for (i, agg) in spec.aggs.iter().enumerate() {
            let Some(input) = &agg.input else { continue };
            let (Some(state), Some(skipped)) = (self.states.get_mut(group * self.aggs + i), self.skipped.get_mut(i))
            else {
                continue;
            };
            for _ in 0..n {
                input.get.find(event).each(|value| state.add(value, skipped));
            }
        }
    }

    /// Adds the groups of another partial run of the same stage (another stage's are ignored).
    pub(crate) fn merge(&mut self, spec: &GroupSpec, other: Groups) {
        if (other.key_len, other.aggs) != (self.key_len, self.aggs) {
            return;
        }
        let Groups { keys, hashes, events, states, skipped, capped, .. } = other;
        let mut states = states.into_iter();
        for (group, (&hash, &events)) in hashes.iter().zip(&events).enumerate() {
            let key = keys.get(group * self.key_len..(group + 1) * self.key_len).unwrap_or(&[]);
            let mine = self.group_of(spec, hash, |i| key.get(i).map_or(Val::Null, Part::as_val));
            self.events[mine] += events;
            for (i, state) in states.by_ref().take(self.aggs).enumerate() {
                if let Some(target) = self.states.get_mut(mine * self.aggs + i) {
                    target.merge(state);
                }
            }
        }
        self.skipped.iter_mut().zip(skipped).for_each(|(a, b)| *a += b);
        self.capped += capped;
    }

    /// The groups, in the order they were created.
    pub(crate) fn into_groups(self) -> Vec<Group> {
        let Groups { key_len, aggs, keys, events, states, .. } = self;
        let mut keys = keys.into_iter();
        let mut states = states.into_iter();
        events
            .into_iter()
            .map(|events| Group {
                key: keys.by_ref().take(key_len).collect(),
                events,
                states: states.by_ref().take(aggs).collect(),
            })
            .collect()
    }
}

/// Group number + 1 by [`Small::code`] (0 until seen), within the last time bucket.
struct Direct {
    small: Option<Small>,
    groups: [u32; 32],
}

/// A field whose values are few and numbered.
#[derive(Clone, Copy)]
enum Small {
    Severity,
    Source,
    Facility,
}

impl Small {
    fn of(get: &Getter) -> Option<Small> {
        match get {
            Getter::Severity => Some(Small::Severity),
            Getter::Source => Some(Small::Source),
            Getter::Facility => Some(Small::Facility),
            _ => None,
        }
    }

    /// A different number below 32 for each value (an absent facility is 31), or `None` for a
    /// value out of that range.
    #[inline]
    fn code(self, event: &Event) -> Option<usize> {
        let code = match self {
            Small::Severity => usize::from(event.severity.syslog()),
            Small::Source => event.source as usize,
            Small::Facility => event.facility.map_or(31, usize::from),
        };
        (code < 31 || (code == 31 && event.facility.is_none())).then_some(code)
    }
}

/// The slot a hash starts probing at: its high bits, which the multiplicative mixing spreads best.
#[inline]
fn spread(hash: u64, mask: usize) -> usize {
    (hash.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize & mask
}

/// A key value copied out of the event, strings into the scratch buffer.
#[derive(Clone, Copy)]
enum Owned {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(u32, u32),
    Severity(Severity),
    Source(Source),
    Facility(u8),
    Time(i64),
    Id(u128),
    Other,
}

impl Owned {
    fn new(value: Val<'_>, scratch: &mut String) -> Owned {
        let start = scratch.len() as u32;
        match value {
            Val::Str(s) => scratch.push_str(s),
            Val::Object(v) => {
                let _ = write!(scratch, "{v}");
            }
            Val::Null => return Owned::Null,
            Val::Bool(b) => return Owned::Bool(b),
            Val::Int(i) => return Owned::Int(i),
            Val::Float(x) => return Owned::Float(x),
            Val::Severity(s) => return Owned::Severity(s),
            Val::Source(s) => return Owned::Source(s),
            Val::Facility(f) => return Owned::Facility(f),
            Val::Time(t) => return Owned::Time(t),
            Val::Id(id) => return Owned::Id(id),
            Val::Other => return Owned::Other,
        }
        Owned::Str(start, scratch.len() as u32)
    }

    fn val(self, scratch: &str) -> Val<'_> {
        match self {
            Owned::Null => Val::Null,
            Owned::Bool(b) => Val::Bool(b),
            Owned::Int(i) => Val::Int(i),
            Owned::Float(x) => Val::Float(x),
            Owned::Str(start, end) => Val::Str(scratch.get(start as usize..end as usize).unwrap_or("")),
            Owned::Severity(s) => Val::Severity(s),
            Owned::Source(s) => Val::Source(s),
            Owned::Facility(f) => Val::Facility(f),
            Owned::Time(t) => Val::Time(t),
            Owned::Id(id) => Val::Id(id),
            Owned::Other => Val::Other,
        }
    }
}
