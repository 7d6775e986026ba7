//! Record batches read from a segment back into events: [`Rows`] holds the typed columns of one
//! batch (all of them, or only those a query reads) and fills an [`Event`] from one row. The
//! query pass refills one reused event per row, so that testing a row allocates nothing for
//! the columns it does not read; the matching rows are then read again with every column.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int32Type, TimestampMicrosecondType, UInt32Type};
use arrow_array::{Array, DictionaryArray, GenericListArray, PrimitiveArray, RecordBatch, StringArray};
use sift_core::{Event, Fields, Severity, Source, Str, Timestamp};

use super::schema::Column;

/// A value that is not what sift writes; the caller adds the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BadValue(pub String);

/// A dictionary column with its values shared once per batch.
struct Dict<'a> {
    keys: &'a PrimitiveArray<Int32Type>,
    values: Vec<Str>,
}

impl Dict<'_> {
    #[inline]
    fn get(&self, row: usize) -> Option<&Str> {
        if self.keys.is_null(row) {
            return None;
        }
        self.values.get(self.keys.value(row) as usize)
    }
}

/// A column's values in one batch as numbers below [`Codes::count`], equal numbers for equal
/// values: a dictionary column's keys (null, or a key past the dictionary, is the last
/// number), or a small integer's byte (null is 256). Counting rows by these numbers counts
/// them by value without reading the values.
pub(super) enum Codes<'a> {
    Keys(&'a PrimitiveArray<Int32Type>, usize),
    Small(&'a PrimitiveArray<Int8Type>),
}

impl Codes<'_> {
    pub(super) fn count(&self) -> usize {
        match self {
            Codes::Keys(_, values) => values + 1,
            Codes::Small(_) => 257,
        }
    }

    /// Makes each row's key number `code` into `code * count + this column's number`, so that
    /// folding every key column in turn numbers each combination of values once.
    pub(super) fn fold_into(&self, codes: &mut [u32]) {
        let count = self.count() as u32;
        match self {
            Codes::Keys(keys, values) => {
                let null = *values as u32;
                // A negative key reads as a large one: past the dictionary, so null.
                let number = |key: i32| (key as u32).min(null);
                fold(codes, keys, null, count, |key| number(*key));
            }
            Codes::Small(small) => fold(codes, small, 256, count, |value| u32::from(*value as u8)),
        }
    }
}

/// `codes[row] = codes[row] * count + number(value)` for each row, `null` for a null value.
#[inline]
fn fold<T: arrow_array::ArrowPrimitiveType>(
    codes: &mut [u32],
    array: &PrimitiveArray<T>,
    null: u32,
    count: u32,
    number: impl Fn(&T::Native) -> u32,
) {
    let values = array.values();
    match array.nulls() {
        None => codes.iter_mut().zip(values.iter()).for_each(|(code, value)| *code = *code * count + number(value)),
        Some(nulls) => {
            for (row, (code, value)) in codes.iter_mut().zip(values.iter()).enumerate() {
                *code = *code * count + if nulls.is_valid(row) { number(value) } else { null };
            }
        }
    }
}

/// The columns of one batch, typed.
#[derive(Default)]
pub(super) struct Rows<'a> {
    id: Option<&'a StringArray>,
    time: Option<&'a PrimitiveArray<TimestampMicrosecondType>>,
    received_at: Option<&'a PrimitiveArray<TimestampMicrosecondType>>,
    channel: Option<Dict<'a>>,
    source: Option<Dict<'a>>,
    host: Option<Dict<'a>>,
    app: Option<Dict<'a>>,
    version: Option<Dict<'a>>,
    proc: Option<&'a StringArray>,
    msgid: Option<&'a StringArray>,
    severity: Option<&'a PrimitiveArray<Int8Type>>,
    facility: Option<&'a PrimitiveArray<Int8Type>>,
    kind: Option<Dict<'a>>,
    message: Option<&'a StringArray>,
    module: Option<&'a StringArray>,
    function: Option<&'a StringArray>,
    line: Option<&'a PrimitiveArray<UInt32Type>>,
    tags: Option<&'a GenericListArray<i32>>,
    topics: Option<&'a GenericListArray<i32>>,
    identities: Option<&'a GenericListArray<i32>>,
    fingerprint: Option<&'a StringArray>,
    fields: Option<&'a StringArray>,
    sources: Vec<Source>,
}

fn bad(what: &str) -> BadValue {
    BadValue(format!("column {what} does not have the segment's type"))
}

impl<'a> Rows<'a> {
    /// The columns of `batch`, whichever of the segment's columns it holds.
    pub(super) fn new(batch: &'a RecordBatch) -> Result<Rows<'a>, BadValue> {
        let mut rows = Rows::default();
        let schema = batch.schema();
        for (field, array) in schema.fields().iter().zip(batch.columns()) {
            let Some(column) = Column::ALL.into_iter().find(|c| c.name() == field.name()) else { continue };
            let name = column.name();
            let text = || array.as_string_opt::<i32>().ok_or_else(|| bad(name));
            let time = || array.as_primitive_opt::<TimestampMicrosecondType>().ok_or_else(|| bad(name));
            let int8 = || array.as_primitive_opt::<Int8Type>().ok_or_else(|| bad(name));
            let list = || {
                array
                    .as_list_opt::<i32>()
                    .filter(|l| l.values().as_string_opt::<i32>().is_some())
                    .ok_or_else(|| bad(name))
            };
            let dict = || -> Result<Dict<'a>, BadValue> {
                let dict: &DictionaryArray<Int32Type> = array.as_dictionary_opt().ok_or_else(|| bad(name))?;
                let values = dict.values().as_string_opt::<i32>().ok_or_else(|| bad(name))?;
                Ok(Dict { keys: dict.keys(), values: values.iter().map(|v| Str::from(v.unwrap_or(""))).collect() })
            };
            match column {
                Column::Id => rows.id = Some(text()?),
                Column::Time => rows.time = Some(time()?),
                Column::ReceivedAt => rows.received_at = Some(time()?),
                Column::Channel => rows.channel = Some(dict()?),
                Column::Source => {
                    let source = dict()?;
                    rows.sources = source
                        .values
                        .iter()
                        .map(|name| Source::from_name(name).ok_or_else(|| BadValue(format!("unknown source {name:?}"))))
                        .collect::<Result<_, _>>()?;
                    rows.source = Some(source);
                }
                Column::Host => rows.host = Some(dict()?),
                Column::App => rows.app = Some(dict()?),
                Column::Version => rows.version = Some(dict()?),
                Column::Proc => rows.proc = Some(text()?),
                Column::Msgid => rows.msgid = Some(text()?),
                Column::Severity => rows.severity = Some(int8()?),
                Column::SeverityName => {}
                Column::Facility => rows.facility = Some(int8()?),
                Column::Type => rows.kind = Some(dict()?),
                Column::Message => rows.message = Some(text()?),
                Column::Module => rows.module = Some(text()?),
                Column::Function => rows.function = Some(text()?),
                Column::Line => rows.line = Some(array.as_primitive_opt::<UInt32Type>().ok_or_else(|| bad(name))?),
                Column::Tags => rows.tags = Some(list()?),
                Column::Topics => rows.topics = Some(list()?),
                Column::Identities => rows.identities = Some(list()?),
                Column::Fingerprint => rows.fingerprint = Some(text()?),
                Column::Fields => rows.fields = Some(text()?),
            }
        }
        Ok(rows)
    }

    /// `column`'s values as numbers ([`Codes`]), when the batch holds it and it is one whose
    /// values are few: a dictionary column, `severity` or `facility`.
    pub(super) fn codes(&self, column: Column) -> Option<Codes<'_>> {
        let keys = |dict: &Option<Dict<'a>>| dict.as_ref().map(|dict| Codes::Keys(dict.keys, dict.values.len()));
        match column {
            Column::Channel => keys(&self.channel),
            Column::Source => keys(&self.source),
            Column::Host => keys(&self.host),
            Column::App => keys(&self.app),
            Column::Version => keys(&self.version),
            Column::Type => keys(&self.kind),
            Column::Severity => self.severity.map(Codes::Small),
            Column::Facility => self.facility.map(Codes::Small),
            _ => None,
        }
    }

    /// The `time` of `row`; the column must have been read.
    #[inline]
    pub(super) fn time(&self, row: usize) -> Timestamp {
        Timestamp(self.time.map_or(0, |t| t.value(row)))
    }

    /// Sets the fields of `event` that this batch holds from `row`; the others keep their values.
    pub(super) fn fill(&self, row: usize, event: &mut Event) -> Result<(), BadValue> {
        if let Some(id) = self.id {
            event.id =
                ulid::Ulid::from_string(id.value(row)).map_err(|_| BadValue(format!("bad id {:?}", id.value(row))))?;
        }
        if let Some(time) = self.time {
            event.time = Timestamp(time.value(row));
        }
        if let Some(received_at) = self.received_at {
            event.received_at = Timestamp(received_at.value(row));
        }
        if let Some(channel) = &self.channel {
            event.channel = channel.get(row).cloned().ok_or_else(|| BadValue("null channel".into()))?;
        }
        if let Some(source) = &self.source {
            let key = (!source.keys.is_null(row)).then(|| source.keys.value(row) as usize);
            event.source = *key.and_then(|k| self.sources.get(k)).ok_or_else(|| BadValue("null source".into()))?;
        }
        for (dict, slot) in [
            (&self.host, &mut event.host),
            (&self.app, &mut event.app),
            (&self.version, &mut event.version),
            (&self.kind, &mut event.kind),
        ] {
            if let Some(dict) = dict {
                *slot = dict.get(row).cloned();
            }
        }
        for (text, slot) in [
            (self.proc, &mut event.proc),
            (self.msgid, &mut event.msgid),
            (self.module, &mut event.module),
            (self.function, &mut event.function),
            (self.fingerprint, &mut event.fingerprint),
        ] {
            if let Some(text) = text {
                *slot = text.is_valid(row).then(|| Str::from(text.value(row)));
            }
        }
        if let Some(severity) = self.severity {
            let n = severity.value(row);
            event.severity = u8::try_from(n)
                .ok()
                .and_then(Severity::from_syslog)
                .ok_or_else(|| BadValue(format!("bad severity {n}")))?;
        }
        if let Some(facility) = self.facility {
            event.facility = facility.is_valid(row).then(|| facility.value(row) as u8);
        }
        if let Some(message) = self.message {
            event.message.clear();
            event.message.push_str(message.value(row));
        }
        if let Some(line) = self.line {
            event.line = line.is_valid(row).then(|| line.value(row));
        }
        for (list, slot) in
            [(self.tags, &mut event.tags), (self.topics, &mut event.topics), (self.identities, &mut event.identities)]
        {
            if let Some(list) = list {
                slot.clear();
                let offsets = list.value_offsets();
                let (start, end) = (offsets[row] as usize, offsets[row + 1] as usize);
                // Checked to be strings in `Rows::new`.
                let values = list.values().as_string::<i32>();
                slot.extend((start..end).map(|i| Str::from(values.value(i))));
            }
        }
        if let Some(fields) = self.fields {
            event.fields = if fields.is_valid(row) {
                serde_json::from_str::<Fields>(fields.value(row)).map_err(|e| BadValue(format!("bad fields: {e}")))?
            } else {
                Fields::new()
            };
        }
        Ok(())
    }
}

/// An event to fill from rows: the fields a batch does not hold keep these values.
pub(super) fn blank_event() -> Event {
    Event::new(Source::Internal, Timestamp(0), String::new())
}
