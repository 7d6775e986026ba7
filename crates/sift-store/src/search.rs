//! Result order and paging, shared by every tier that answers searches.
//!
//! Searches return events newest first by `(time, id)`: `time` is what a person means by
//! "newest", and the ULID breaks ties so the order is total and stable. A [`Cursor`] is the
//! key of the last event a page returned; the next page holds the events strictly older.

use std::fmt;
use std::str::FromStr;

use sift_core::{Event, Timestamp};
use ulid::Ulid;

/// The sort key of an event in search results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    pub time: Timestamp,
    pub id: Ulid,
}

impl Cursor {
    pub fn of(event: &Event) -> Cursor {
        Cursor { time: event.time, id: event.id }
    }
}

/// A cursor string that was not made by [`Cursor`]'s `Display`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor {0:?}: pass back the next_cursor of a previous page unchanged")]
pub struct InvalidCursor(pub String);

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.time.as_micros(), self.id)
    }
}

impl FromStr for Cursor {
    type Err = InvalidCursor;

    fn from_str(s: &str) -> Result<Cursor, InvalidCursor> {
        let invalid = || InvalidCursor(s.to_owned());
        let (time, id) = s.split_once('.').ok_or_else(invalid)?;
        let time = time.parse::<i64>().map_err(|_| invalid())?;
        let id = Ulid::from_string(id).map_err(|_| invalid())?;
        Ok(Cursor { time: Timestamp::from_micros(time), id })
    }
}

/// A half-open range of event times: `since` inclusive, `until` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl TimeRange {
    pub fn contains(&self, time: Timestamp) -> bool {
        self.since.is_none_or(|s| time >= s) && self.until.is_none_or(|u| time < u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let cursor = Cursor { time: Timestamp::from_micros(1_714_557_600_000_001), id: Ulid::from_parts(1, 2) };
        assert_eq!(cursor.to_string().parse::<Cursor>(), Ok(cursor));
        assert!("nonsense".parse::<Cursor>().is_err());
        assert!("12.notaulid".parse::<Cursor>().is_err());
    }

    #[test]
    fn time_range_is_half_open() {
        let range = TimeRange { since: Some(Timestamp(10)), until: Some(Timestamp(20)) };
        assert!(range.contains(Timestamp(10)));
        assert!(range.contains(Timestamp(19)));
        assert!(!range.contains(Timestamp(20)));
        assert!(!range.contains(Timestamp(9)));
        assert!(TimeRange::default().contains(Timestamp(i64::MIN)));
    }
}
