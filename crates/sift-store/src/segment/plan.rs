//! What a scan needs to know about a query before it opens a file: which columns the query
//! reads, and which needles every matching message must contain (for the n-gram filter). Both
//! come from the compiled query (`Query::fields`, `Query::needles`); this module maps them to
//! the segment's columns and keeps the needles the n-gram filter can check.

use sift_core::query::{EventField, FieldSet, Query};

use super::ngram::filter_needle;
use super::schema::{Column, Columns};

/// What the scan of one query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Plan {
    /// The columns the query's terms read (without `time` and `id`, which scans add).
    pub columns: Columns,
    /// Lowered needles that every matching message contains, for the n-gram filter.
    pub needles: Vec<Vec<u8>>,
}

impl Plan {
    pub(super) fn of(query: &Query) -> Plan {
        let needles = query.needles().into_iter().filter_map(filter_needle).collect();
        Plan { columns: Columns::for_fields(query.fields()), needles }
    }
}

impl Columns {
    /// The columns that hold `fields` (every `fields.` path is the `fields` column).
    pub fn for_fields(fields: FieldSet) -> Columns {
        fields.iter().fold(Columns::NONE, |columns, field| columns.with(Column::of_field(field)))
    }
}

impl Column {
    /// The column that holds an event field.
    pub fn of_field(field: EventField) -> Column {
        match field {
            EventField::Id => Column::Id,
            EventField::Time => Column::Time,
            EventField::ReceivedAt => Column::ReceivedAt,
            EventField::Channel => Column::Channel,
            EventField::Source => Column::Source,
            EventField::Host => Column::Host,
            EventField::App => Column::App,
            EventField::Version => Column::Version,
            EventField::Proc => Column::Proc,
            EventField::Msgid => Column::Msgid,
            EventField::Severity => Column::Severity,
            EventField::Facility => Column::Facility,
            EventField::Type => Column::Type,
            EventField::Message => Column::Message,
            EventField::Module => Column::Module,
            EventField::Function => Column::Function,
            EventField::Line => Column::Line,
            EventField::Tags => Column::Tags,
            EventField::Topics => Column::Topics,
            EventField::Identities => Column::Identities,
            EventField::Fingerprint => Column::Fingerprint,
            EventField::Fields => Column::Fields,
        }
    }
}
