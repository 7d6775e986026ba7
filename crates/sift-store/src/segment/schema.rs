//! The segment's columns: their names (the event's field names, DESIGN.md section 3), their
//! Arrow and Parquet types, how each is encoded, and [`Columns`], the set of columns a scan
//! reads.

use std::sync::{Arc, LazyLock};

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

/// Rows per row group: the unit of pruning (time statistics, the n-gram filter) and of
/// parallel scanning.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// Rows per n-gram filter block: the unit of pruning for needle searches, which then read only
/// the pages of the blocks that may hold the needle.
pub const NGRAM_BLOCK_ROWS: usize = 8192;

/// The version of the layout below, stored in every file as `sift.schema_version`.
pub const SCHEMA_VERSION: &str = "1";

/// One column of a segment, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Column {
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
    SeverityName,
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

impl Column {
    pub const ALL: [Column; 23] = [
        Column::Id,
        Column::Time,
        Column::ReceivedAt,
        Column::Channel,
        Column::Source,
        Column::Host,
        Column::App,
        Column::Version,
        Column::Proc,
        Column::Msgid,
        Column::Severity,
        Column::SeverityName,
        Column::Facility,
        Column::Type,
        Column::Message,
        Column::Module,
        Column::Function,
        Column::Line,
        Column::Tags,
        Column::Topics,
        Column::Identities,
        Column::Fingerprint,
        Column::Fields,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::Time => "time",
            Column::ReceivedAt => "received_at",
            Column::Channel => "channel",
            Column::Source => "source",
            Column::Host => "host",
            Column::App => "app",
            Column::Version => "version",
            Column::Proc => "proc",
            Column::Msgid => "msgid",
            Column::Severity => "severity",
            Column::SeverityName => "severity_name",
            Column::Facility => "facility",
            Column::Type => "type",
            Column::Message => "message",
            Column::Module => "module",
            Column::Function => "function",
            Column::Line => "line",
            Column::Tags => "tags",
            Column::Topics => "topics",
            Column::Identities => "identities",
            Column::Fingerprint => "fingerprint",
            Column::Fields => "fields",
        }
    }

    /// The column's position among the file's top-level columns.
    pub fn index(self) -> usize {
        self as usize
    }

    fn field(self) -> Field {
        let dict = || DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
        let list = || DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, false)));
        let time = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let (data_type, nullable) = match self {
            Column::Id | Column::Message => (DataType::Utf8, false),
            Column::Time | Column::ReceivedAt => (time(), false),
            Column::Channel | Column::Source | Column::SeverityName => (dict(), false),
            Column::Host | Column::App | Column::Version | Column::Type => (dict(), true),
            Column::Proc | Column::Msgid | Column::Module | Column::Function | Column::Fingerprint | Column::Fields => {
                (DataType::Utf8, true)
            }
            Column::Severity => (DataType::Int8, false),
            Column::Facility => (DataType::Int8, true),
            Column::Line => (DataType::UInt32, true),
            Column::Tags | Column::Topics | Column::Identities => (list(), false),
        };
        Field::new(self.name(), data_type, nullable)
    }
}

/// The Arrow schema of every segment.
pub fn schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> =
        LazyLock::new(|| Arc::new(Schema::new(Column::ALL.iter().map(|c| c.field()).collect::<Vec<_>>())));
    SCHEMA.clone()
}

/// How segments are written: zstd everywhere; delta encoding for the sorted times; no
/// dictionary for the columns that are nearly unique per row; statistics on every column chunk
/// except the long texts, whose minimum and maximum prune nothing.
pub(super) fn writer_properties() -> WriterProperties {
    let path = |c: Column| ColumnPath::from(c.name());
    let mut builder = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_data_page_row_count_limit(NGRAM_BLOCK_ROWS)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_created_by(format!("sift {}", env!("CARGO_PKG_VERSION")))
        .set_sorting_columns(Some(vec![
            SortingColumn { column_idx: Column::Time.index() as i32, descending: false, nulls_first: false },
            SortingColumn { column_idx: Column::Id.index() as i32, descending: false, nulls_first: false },
        ]));
    for column in [Column::Time, Column::ReceivedAt] {
        builder = builder
            .set_column_dictionary_enabled(path(column), false)
            .set_column_encoding(path(column), Encoding::DELTA_BINARY_PACKED);
    }
    builder = builder.set_column_encoding(path(Column::Id), Encoding::DELTA_BYTE_ARRAY);
    for column in [Column::Id, Column::Message, Column::Fields] {
        builder = builder
            .set_column_dictionary_enabled(path(column), false)
            .set_column_statistics_enabled(path(column), EnabledStatistics::None);
    }
    builder.build()
}

/// A set of columns, for reading only what a query needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Columns(u32);

impl Columns {
    pub const NONE: Columns = Columns(0);
    pub const ALL: Columns = Columns((1 << Column::ALL.len()) - 1);

    pub const fn of(column: Column) -> Columns {
        Columns(1 << column as u32)
    }

    #[must_use]
    pub const fn with(self, column: Column) -> Columns {
        Columns(self.0 | 1 << column as u32)
    }

    #[must_use]
    pub const fn union(self, other: Columns) -> Columns {
        Columns(self.0 | other.0)
    }

    pub const fn contains(self, column: Column) -> bool {
        self.0 & (1 << column as u32) != 0
    }

    pub fn iter(self) -> impl Iterator<Item = Column> {
        Column::ALL.into_iter().filter(move |&c| self.contains(c))
    }
}
