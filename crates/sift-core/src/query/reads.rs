//! What a compiled query reads, for storage tiers that read by column: the event fields its
//! terms test ([`FieldSet`]), and the needles, substrings that the message of every matching
//! event contains (for the segments' n-gram filters). Both come from the compiled tree, so
//! they follow the parser exactly: a `fields.a.b` path reads the `fields` field, `msg` is
//! `message`, and a needle is only taken from terms that every match must pass: the children
//! of an AND, never under a NOT, and under an OR only what every branch requires.

use std::fmt;

use super::eval::{IdPred, Leaf, Node, NumPred};
use super::field::{ListField, StrField, TimeField};

/// One field of an event as the query language names it (DESIGN.md section 3); `Fields` is the
/// whole `fields` object, which every `fields.` path reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum EventField {
    Id,
    Time,
    ReceivedAt,
    Channel,
    Source,
    Host,
    App,
    Version,
    Proc,
    Msgid,
    Severity,
    Facility,
    Type,
    Message,
    Module,
    Function,
    Line,
    Tags,
    Topics,
    Identities,
    Fingerprint,
    Fields,
}

impl EventField {
    pub const ALL: [EventField; 22] = [
        EventField::Id,
        EventField::Time,
        EventField::ReceivedAt,
        EventField::Channel,
        EventField::Source,
        EventField::Host,
        EventField::App,
        EventField::Version,
        EventField::Proc,
        EventField::Msgid,
        EventField::Severity,
        EventField::Facility,
        EventField::Type,
        EventField::Message,
        EventField::Module,
        EventField::Function,
        EventField::Line,
        EventField::Tags,
        EventField::Topics,
        EventField::Identities,
        EventField::Fingerprint,
        EventField::Fields,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventField::Id => "id",
            EventField::Time => "time",
            EventField::ReceivedAt => "received_at",
            EventField::Channel => "channel",
            EventField::Source => "source",
            EventField::Host => "host",
            EventField::App => "app",
            EventField::Version => "version",
            EventField::Proc => "proc",
            EventField::Msgid => "msgid",
            EventField::Severity => "severity",
            EventField::Facility => "facility",
            EventField::Type => "type",
            EventField::Message => "message",
            EventField::Module => "module",
            EventField::Function => "function",
            EventField::Line => "line",
            EventField::Tags => "tags",
            EventField::Topics => "topics",
            EventField::Identities => "identities",
            EventField::Fingerprint => "fingerprint",
            EventField::Fields => "fields",
        }
    }
}

impl From<StrField> for EventField {
    fn from(field: StrField) -> EventField {
        match field {
            StrField::Channel => EventField::Channel,
            StrField::Host => EventField::Host,
            StrField::App => EventField::App,
            StrField::Version => EventField::Version,
            StrField::Proc => EventField::Proc,
            StrField::Msgid => EventField::Msgid,
            StrField::Type => EventField::Type,
            StrField::Message => EventField::Message,
            StrField::Module => EventField::Module,
            StrField::Function => EventField::Function,
            StrField::Fingerprint => EventField::Fingerprint,
        }
    }
}

impl From<ListField> for EventField {
    fn from(field: ListField) -> EventField {
        match field {
            ListField::Tags => EventField::Tags,
            ListField::Topics => EventField::Topics,
            ListField::Identities => EventField::Identities,
        }
    }
}

impl From<TimeField> for EventField {
    fn from(field: TimeField) -> EventField {
        match field {
            TimeField::Time => EventField::Time,
            TimeField::ReceivedAt => EventField::ReceivedAt,
        }
    }
}

/// A set of event fields. Prints as `{host, message}`, in field order.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct FieldSet(u32);

impl FieldSet {
    pub const NONE: FieldSet = FieldSet(0);
    pub const ALL: FieldSet = FieldSet((1 << EventField::ALL.len()) - 1);

    pub const fn of(field: EventField) -> FieldSet {
        FieldSet(1 << field as u32)
    }

    #[must_use]
    pub const fn with(self, field: EventField) -> FieldSet {
        FieldSet(self.0 | 1 << field as u32)
    }

    #[must_use]
    pub const fn union(self, other: FieldSet) -> FieldSet {
        FieldSet(self.0 | other.0)
    }

    pub const fn contains(self, field: EventField) -> bool {
        self.0 & (1 << field as u32) != 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = EventField> {
        EventField::ALL.into_iter().filter(move |&f| self.contains(f))
    }
}

impl FromIterator<EventField> for FieldSet {
    fn from_iter<I: IntoIterator<Item = EventField>>(fields: I) -> FieldSet {
        fields.into_iter().fold(FieldSet::NONE, FieldSet::with)
    }
}

impl fmt::Debug for FieldSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, field) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(field.name())?;
        }
        f.write_str("}")
    }
}

impl Node {
    /// The fields the tree's leaves test.
    pub(crate) fn fields(&self) -> FieldSet {
        match self {
            Node::All => FieldSet::NONE,
            Node::And(children) | Node::Or(children) => {
                children.iter().fold(FieldSet::NONE, |set, child| set.union(child.fields()))
            }
            Node::Not(inner) => inner.fields(),
            Node::Leaf(leaf) => FieldSet::of(leaf.field()),
        }
    }

    /// Substrings that the message of every event the tree matches contains, ignoring case.
    pub(crate) fn needles(&self) -> Vec<&str> {
        match self {
            Node::All | Node::Not(_) => Vec::new(),
            Node::Leaf(Leaf::Str(StrField::Message, pred)) => pred.required_substrings(),
            Node::Leaf(_) => Vec::new(),
            Node::And(children) => {
                let mut needles: Vec<&str> = Vec::new();
                for needle in children.iter().flat_map(Node::needles) {
                    if !needles.contains(&needle) {
                        needles.push(needle);
                    }
                }
                needles
            }
            // A needle of the first branch that some needle of every other branch contains.
            Node::Or(children) => {
                let Some((first, rest)) = children.split_first() else { return Vec::new() };
                let others: Vec<Vec<&str>> = rest.iter().map(Node::needles).collect();
                first
                    .needles()
                    .into_iter()
                    .filter(|needle| others.iter().all(|branch| branch.iter().any(|n| contains_folded(n, needle))))
                    .collect()
            }
        }
    }
}

impl Leaf {
    fn field(&self) -> EventField {
        match self {
            Leaf::Severity(_) => EventField::Severity,
            Leaf::Source(_) => EventField::Source,
            Leaf::Facility(_) => EventField::Facility,
            Leaf::Time(field, ..) => EventField::from(*field),
            Leaf::Id(IdPred::Cmp(..) | IdPred::Text(_)) => EventField::Id,
            Leaf::Line(NumPred::Cmp(..) | NumPred::Text(_)) => EventField::Line,
            Leaf::Str(field, _) => EventField::from(*field),
            Leaf::List(field, _) => EventField::from(*field),
            Leaf::Json(..) => EventField::Fields,
        }
    }
}

/// Whether `haystack` contains `needle`, ignoring ASCII case: enough to keep a needle only
/// where it is surely required (a miss merely drops a needle).
fn contains_folded(haystack: &str, needle: &str) -> bool {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    needle.is_empty() || haystack.windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle))
}
