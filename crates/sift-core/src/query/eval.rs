//! The compiled query: a tree of AND, OR and NOT over leaf matchers, each bound to one field of
//! the event. Evaluating it reads the event and allocates nothing. [`simplify`] flattens
//! nested ANDs and ORs, folds negated severity and source sets into their complements, and
//! orders children cheapest first (all tests are pure, so order only changes speed). The tree
//! prints as a one-line expression, `and(severity(emergency|alert), eq(app, "calc"))`, which
//! the tests and `Query`'s `Debug` show.

use std::fmt;

use super::field::{FACILITIES, ListField, StrField, TimeField};
use super::json::{JsonPath, JsonPred};
use super::text::{TextPred, decimal};
use crate::event::Source;
use crate::{Event, Severity, Timestamp};

#[derive(Clone)]
pub(crate) enum Node {
    All,
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Leaf(Leaf),
}

/// One test on one field.
#[derive(Clone)]
pub(crate) enum Leaf {
    /// Bit `n` set: severity `n` matches. Every severity test compiles to this.
    Severity(u8),
    /// Bit `n` set: `Source::ALL[n]` matches.
    Source(u8),
    /// Bit `n` set: facility `n` matches; events without a facility never do.
    Facility(u32),
    Time(TimeField, Cmp, i64),
    Id(IdPred),
    /// Events without a line never match.
    Line(NumPred),
    Str(StrField, TextPred),
    /// Any element.
    List(ListField, TextPred),
    Json(JsonPath, JsonPred),
}

/// A comparison, `value OP operand`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    #[inline]
    pub(crate) fn test<T: PartialOrd>(self, value: T, operand: T) -> bool {
        match self {
            Cmp::Eq => value == operand,
            Cmp::Lt => value < operand,
            Cmp::Le => value <= operand,
            Cmp::Gt => value > operand,
            Cmp::Ge => value >= operand,
        }
    }
}

impl fmt::Display for Cmp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cmp::Eq => "eq",
            Cmp::Lt => "lt",
            Cmp::Le => "le",
            Cmp::Gt => "gt",
            Cmp::Ge => "ge",
        })
    }
}

/// A test on the `line` number.
#[derive(Clone)]
pub(crate) enum NumPred {
    Cmp(Cmp, f64),
    /// Globs and regexes, on the decimal digits.
    Text(TextPred),
}

/// A test on the event's ULID.
#[derive(Clone)]
pub(crate) enum IdPred {
    Cmp(Cmp, u128),
    /// Globs and regexes, on the 26-character form.
    Text(TextPred),
}

/// Every severity, as a mask.
pub(crate) const ALL_SEVERITIES: u8 = 0xff;
/// Every source, as a mask.
pub(crate) const ALL_SOURCES: u8 = (1 << Source::ALL.len()) - 1;
/// Every facility, as a mask.
pub(crate) const ALL_FACILITIES: u32 = (1 << FACILITIES.len()) - 1;

impl Node {
    #[inline]
    pub(crate) fn matches(&self, event: &Event) -> bool {
        match self {
            Node::All => true,
            Node::And(children) => children.iter().all(|c| c.matches(event)),
            Node::Or(children) => children.iter().any(|c| c.matches(event)),
            Node::Not(inner) => !inner.matches(event),
            Node::Leaf(leaf) => leaf.matches(event),
        }
    }

    fn cost(&self) -> u32 {
        match self {
            Node::All => 0,
            Node::And(children) | Node::Or(children) => children.iter().map(Node::cost).sum(),
            Node::Not(inner) => inner.cost(),
            Node::Leaf(leaf) => leaf.cost(),
        }
    }
}

impl Leaf {
    #[inline]
    fn matches(&self, event: &Event) -> bool {
        match self {
            Leaf::Severity(mask) => mask & (1 << event.severity.syslog()) != 0,
            Leaf::Source(mask) => mask & (1 << event.source as u8) != 0,
            Leaf::Facility(mask) => {
                event.facility.is_some_and(|f| mask.checked_shr(u32::from(f)).unwrap_or(0) & 1 != 0)
            }
            Leaf::Time(field, cmp, at) => cmp.test(field.get(event), *at),
            Leaf::Id(IdPred::Cmp(cmp, id)) => cmp.test(event.id.0, *id),
            Leaf::Id(IdPred::Text(pred)) => {
                let mut buf = [0; ulid::ULID_LEN];
                pred.matches(event.id.array_to_str(&mut buf))
            }
            Leaf::Line(pred) => event.line.is_some_and(|line| match pred {
                NumPred::Cmp(cmp, n) => cmp.test(f64::from(line), *n),
                NumPred::Text(text) => text.matches(decimal(u64::from(line), &mut [0; 20])),
            }),
            Leaf::Str(field, pred) => pred.matches(field.get(event)),
            Leaf::List(field, pred) => field.get(event).iter().any(|s| pred.matches(s)),
            Leaf::Json(path, pred) => path.any(&event.fields, &|value| pred.matches(value)),
        }
    }

    /// A relative cost, for ordering: masks and numbers first, the message (long) last.
    fn cost(&self) -> u32 {
        match self {
            Leaf::Severity(_) | Leaf::Source(_) | Leaf::Facility(_) | Leaf::Time(..) => 1,
            Leaf::Id(IdPred::Cmp(..)) | Leaf::Line(NumPred::Cmp(..)) => 1,
            Leaf::Id(IdPred::Text(pred)) | Leaf::Line(NumPred::Text(pred)) => 2 + pred.cost(),
            Leaf::Str(StrField::Message, TextPred::Eq(_) | TextPred::Present) => 3,
            Leaf::Str(StrField::Message, pred) => 10 * pred.cost(),
            Leaf::Str(_, pred) => pred.cost(),
            Leaf::List(_, pred) => 2 * pred.cost(),
            Leaf::Json(_, pred) => 4 + pred.cost(),
        }
    }
}

/// Flattens, folds and orders the tree (see the module docs).
pub(crate) fn simplify(node: Node) -> Node {
    match node {
        Node::And(children) => {
            let mut out = Vec::with_capacity(children.len());
            for child in children.into_vec() {
                match simplify(child) {
                    Node::All => {}
                    Node::And(grandchildren) => out.extend(grandchildren.into_vec()),
                    child => out.push(child),
                }
            }
            combine(out, Node::And)
        }
        Node::Or(children) => {
            let mut out = Vec::with_capacity(children.len());
            for child in children.into_vec() {
                match simplify(child) {
                    Node::All => return Node::All,
                    Node::Or(grandchildren) => out.extend(grandchildren.into_vec()),
                    child => out.push(child),
                }
            }
            combine(out, Node::Or)
        }
        Node::Not(inner) => match simplify(*inner) {
            Node::Not(inner) => *inner,
            Node::Leaf(Leaf::Severity(mask)) => Node::Leaf(Leaf::Severity(!mask)),
            Node::Leaf(Leaf::Source(mask)) => Node::Leaf(Leaf::Source(!mask & ALL_SOURCES)),
            inner => Node::Not(Box::new(inner)),
        },
        node => node,
    }
}

fn combine(mut children: Vec<Node>, make: fn(Box<[Node]>) -> Node) -> Node {
    match children.len() {
        0 => Node::All,
        1 => children.pop().unwrap_or(Node::All),
        _ => {
            children.sort_by_cached_key(Node::cost);
            make(children.into())
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::All => f.write_str("all"),
            Node::And(children) => list(f, "and", children),
            Node::Or(children) => list(f, "or", children),
            Node::Not(inner) => write!(f, "not({inner})"),
            Node::Leaf(leaf) => write!(f, "{leaf}"),
        }
    }
}

fn list(f: &mut fmt::Formatter<'_>, name: &str, children: &[Node]) -> fmt::Result {
    write!(f, "{name}(")?;
    for (i, child) in children.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{child}")?;
    }
    f.write_str(")")
}

impl fmt::Display for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Leaf::Severity(mask) => set(f, "severity", u32::from(*mask), Severity::ALL.iter().map(|s| s.name())),
            Leaf::Source(mask) => set(f, "source", u32::from(*mask), Source::ALL.iter().map(|s| s.name())),
            Leaf::Facility(ALL_FACILITIES) => f.write_str("present(facility)"),
            Leaf::Facility(mask) => set(f, "facility", *mask, FACILITIES.iter().copied()),
            Leaf::Time(field, cmp, at) => write!(f, "{cmp}({}, {})", field.name(), Timestamp(*at)),
            Leaf::Id(IdPred::Cmp(cmp, id)) => write!(f, "{cmp}(id, {})", ulid::Ulid(*id)),
            Leaf::Id(IdPred::Text(pred)) => pred.fmt_on(&"id", f),
            Leaf::Line(NumPred::Cmp(cmp, n)) => write!(f, "{cmp}(line, {n})"),
            Leaf::Line(NumPred::Text(pred)) => pred.fmt_on(&"line", f),
            Leaf::Str(field, pred) => pred.fmt_on(&field.name(), f),
            Leaf::List(field, pred) => pred.fmt_on(&field.name(), f),
            Leaf::Json(path, pred) => pred.fmt_on(path, f),
        }
    }
}

/// `name(a|b|c)`: the names whose bit is set in `mask`.
fn set<'a>(f: &mut fmt::Formatter<'_>, name: &str, mask: u32, names: impl Iterator<Item = &'a str>) -> fmt::Result {
    write!(f, "{name}(")?;
    let mut first = true;
    for (i, item) in names.enumerate() {
        if mask >> i & 1 == 1 {
            if !first {
                f.write_str("|")?;
            }
            f.write_str(item)?;
            first = false;
        }
    }
    f.write_str(")")
}
