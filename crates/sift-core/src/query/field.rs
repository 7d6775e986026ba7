//! The event fields a query can name (DESIGN.md section 3): their names and aliases, how each
//! is read from an [`Event`] without copying, and the syslog facility names.

use crate::Event;

/// A field named in a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field<'a> {
    Id,
    Time(TimeField),
    Source,
    Severity,
    Facility,
    Line,
    Str(StrField),
    List(ListField),
    /// `fields.a.b`: the path after `fields.`.
    Json(&'a str),
}

/// The fields listed in the unknown-field error.
pub(crate) const KNOWN_FIELDS: &str = "id, time, received_at, channel, source, host, app, version, proc, \
     msgid, severity, facility, type, message (msg), module, function, line, tags (tag), \
     topics (topic), identities (identity), fingerprint";

impl Field<'_> {
    /// The field called `name` (ASCII case-insensitive; a `fields.` path keeps its case).
    pub(crate) fn lookup(name: &str) -> Option<Field<'_>> {
        if name.get(..7).is_some_and(|prefix| prefix.eq_ignore_ascii_case("fields.")) {
            return Some(Field::Json(&name[7..]));
        }
        let field = match name.to_ascii_lowercase().as_str() {
            "id" => Field::Id,
            "time" => Field::Time(TimeField::Time),
            "received_at" => Field::Time(TimeField::ReceivedAt),
            "source" => Field::Source,
            "severity" => Field::Severity,
            "facility" => Field::Facility,
            "line" => Field::Line,
            "channel" => Field::Str(StrField::Channel),
            "host" => Field::Str(StrField::Host),
            "app" => Field::Str(StrField::App),
            "version" => Field::Str(StrField::Version),
            "proc" => Field::Str(StrField::Proc),
            "msgid" => Field::Str(StrField::Msgid),
            "type" => Field::Str(StrField::Type),
            "message" | "msg" => Field::Str(StrField::Message),
            "module" => Field::Str(StrField::Module),
            "function" => Field::Str(StrField::Function),
            "fingerprint" => Field::Str(StrField::Fingerprint),
            "tag" | "tags" => Field::List(ListField::Tags),
            "topic" | "topics" => Field::List(ListField::Topics),
            "identity" | "identities" => Field::List(ListField::Identities),
            _ => return None,
        };
        Some(field)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeField {
    Time,
    ReceivedAt,
}

impl TimeField {
    pub(crate) fn name(self) -> &'static str {
        match self {
            TimeField::Time => "time",
            TimeField::ReceivedAt => "received_at",
        }
    }

    #[inline]
    pub(crate) fn get(self, event: &Event) -> i64 {
        match self {
            TimeField::Time => event.time.as_micros(),
            TimeField::ReceivedAt => event.received_at.as_micros(),
        }
    }
}

/// A string field. Absent optional strings read as `""`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrField {
    Channel,
    Host,
    App,
    Version,
    Proc,
    Msgid,
    Type,
    Message,
    Module,
    Function,
    Fingerprint,
}

impl StrField {
    pub(crate) fn name(self) -> &'static str {
        match self {
            StrField::Channel => "channel",
            StrField::Host => "host",
            StrField::App => "app",
            StrField::Version => "version",
            StrField::Proc => "proc",
            StrField::Msgid => "msgid",
            StrField::Type => "type",
            StrField::Message => "message",
            StrField::Module => "module",
            StrField::Function => "function",
            StrField::Fingerprint => "fingerprint",
        }
    }

    #[inline]
    pub(crate) fn get(self, event: &Event) -> &str {
        let optional = match self {
            StrField::Channel => return &event.channel,
            StrField::Message => return &event.message,
            StrField::Host => &event.host,
            StrField::App => &event.app,
            StrField::Version => &event.version,
            StrField::Proc => &event.proc,
            StrField::Msgid => &event.msgid,
            StrField::Type => &event.kind,
            StrField::Module => &event.module,
            StrField::Function => &event.function,
            StrField::Fingerprint => &event.fingerprint,
        };
        optional.as_deref().unwrap_or("")
    }
}

/// A list of strings; a term matches when any element does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListField {
    Tags,
    Topics,
    Identities,
}

impl ListField {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ListField::Tags => "tags",
            ListField::Topics => "topics",
            ListField::Identities => "identities",
        }
    }

    #[inline]
    pub(crate) fn get(self, event: &Event) -> &[crate::Str] {
        match self {
            ListField::Tags => &event.tags,
            ListField::Topics => &event.topics,
            ListField::Identities => &event.identities,
        }
    }
}

/// Syslog facility names by number, as rsyslog spells them.
pub(crate) const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

/// A facility by number (`0`..`23`) or name (`local0`), case-insensitively.
pub(crate) fn facility_from_str(s: &str) -> Option<u8> {
    if let Ok(n) = s.parse::<u8>() {
        return (usize::from(n) < FACILITIES.len()).then_some(n);
    }
    FACILITIES.iter().position(|name| name.eq_ignore_ascii_case(s)).and_then(|n| u8::try_from(n).ok())
}
