//! Timestamps in microseconds since the Unix epoch, RFC 3339 in and out, and the
//! relative forms (`15m`, `2h`, `7d`) that `since`/`until` accept.

use std::fmt;

/// Microseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// A time that could not be read, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid time {input:?}: expected RFC 3339 (2024-05-01T12:00:00Z), a relative age (15m, 2h, 7d) or \"now\"")]
pub struct InvalidTime {
    pub input: String,
}

impl Timestamp {
    pub const MIN: Timestamp = Timestamp(i64::MIN);
    pub const MAX: Timestamp = Timestamp(i64::MAX);
    /// The earliest time RFC 3339 can name here (`-009999-01-02T01:59:59Z`, jiff's range):
    /// a relative age reaching further back means this. Times between `EARLIEST` and
    /// [`Timestamp::LATEST`] are at most about 6.3e17 µs apart, so that arithmetic on them and
    /// on steps no longer than that cannot overflow an `i64`.
    pub const EARLIEST: Timestamp = Timestamp(-377_705_023_201_000_000);
    /// The latest time RFC 3339 can name here, to the second (`9999-12-30T22:00:00Z`).
    pub const LATEST: Timestamp = Timestamp(253_402_207_200_000_000);

    /// The current time of the system clock.
    pub fn now() -> Timestamp {
        Timestamp(jiff::Timestamp::now().as_microsecond())
    }

    pub fn from_micros(micros: i64) -> Timestamp {
        Timestamp(micros)
    }

    pub fn as_micros(self) -> i64 {
        self.0
    }

    /// Milliseconds since the epoch (ULIDs carry milliseconds).
    pub fn as_millis(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// Parses RFC 3339 with any offset (`2024-05-01T12:00:00.123+02:00`).
    pub fn parse_rfc3339(s: &str) -> Result<Timestamp, InvalidTime> {
        s.parse::<jiff::Timestamp>()
            .map(|t| Timestamp(t.as_microsecond()))
            .map_err(|_| InvalidTime { input: s.to_owned() })
    }

    /// Parses a point in time as the API and CLI accept it: RFC 3339, `now`, or an age
    /// relative to `now` such as `15m`, `2h`, `7d`, `1h30m` (meaning that long ago).
    ///
    /// The answer lies between [`Timestamp::EARLIEST`] and [`Timestamp::LATEST`]: an age that
    /// reaches further back (`9223372036854775807us`) means `EARLIEST`, silently, since no event
    /// time can be written before it (RFC 3339 cannot name one).
    pub fn parse_point(s: &str, now: Timestamp) -> Result<Timestamp, InvalidTime> {
        let s = s.trim();
        let point = if s.eq_ignore_ascii_case("now") {
            now
        } else if let Some(age) = parse_duration_micros(s) {
            Timestamp(now.0.saturating_sub(age))
        } else {
            Timestamp::parse_rfc3339(s)?
        };
        Ok(point.clamp(Timestamp::EARLIEST, Timestamp::LATEST))
    }

    /// RFC 3339 in UTC with microseconds when there are any: `2024-05-01T12:00:00.123456Z`.
    pub fn to_rfc3339(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::Timestamp::from_microsecond(self.0) {
            Ok(t) => write!(f, "{t}"),
            Err(_) => write!(f, "{}us", self.0),
        }
    }
}

/// A duration such as `15m`, `2h`, `7d`, `1h30m`, `500ms`, `30s`, in microseconds.
/// Units: `us`, `ms`, `s`, `m`, `h`, `d`, `w`. `None` for anything else.
pub fn parse_duration_micros(s: &str) -> Option<i64> {
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let value: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit: i64 = match &rest[..unit_len] {
            "us" => 1,
            "ms" => 1_000,
            "s" => 1_000_000,
            "m" => 60_000_000,
            "h" => 3_600_000_000,
            "d" => 86_400_000_000,
            "w" => 604_800_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add(value.checked_mul(unit)?)?;
    }
    Some(total)
}

/// A duration in microseconds as [`parse_duration_micros`] reads it, in the largest unit that
/// divides it: `1h`, `90s`, `1500ms`.
pub fn format_duration_micros(micros: i64) -> String {
    const UNITS: [(i64, &str); 6] =
        [(86_400_000_000, "d"), (3_600_000_000, "h"), (60_000_000, "m"), (1_000_000, "s"), (1_000, "ms"), (1, "us")];
    match UNITS.iter().find(|(unit, _)| micros != 0 && micros % unit == 0) {
        Some((unit, name)) => format!("{}{name}", micros / unit),
        None => format!("{micros}us"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip() {
        let t = Timestamp::parse_rfc3339("2024-05-01T12:00:00.123456+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-01T10:00:00.123456Z");
        let t = Timestamp::parse_rfc3339("2024-05-01T10:00:00Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-01T10:00:00Z");
    }

    #[test]
    fn relative_points() {
        let now = Timestamp::parse_rfc3339("2024-05-01T10:00:00Z").unwrap();
        let p = |s| Timestamp::parse_point(s, now).map(Timestamp::to_rfc3339);
        assert_eq!(p("15m").unwrap(), "2024-05-01T09:45:00Z");
        assert_eq!(p("1h30m").unwrap(), "2024-05-01T08:30:00Z");
        assert_eq!(p("2d").unwrap(), "2024-04-29T10:00:00Z");
        assert_eq!(p("now").unwrap(), "2024-05-01T10:00:00Z");
        assert!(p("yesterday").is_err());
        assert!(p("15").is_err());
    }

    #[test]
    fn durations_read_back() {
        for (micros, text) in
            [(3_600_000_000, "1h"), (90_000_000, "90s"), (1_500_000, "1500ms"), (7, "7us"), (0, "0us")]
        {
            assert_eq!(format_duration_micros(micros), text);
            assert_eq!(parse_duration_micros(text), Some(micros));
        }
        assert_eq!(format_duration_micros(i64::MAX), "9223372036854775807us");
    }

    /// The window is jiff's: what RFC 3339 can name.
    #[test]
    fn the_window_is_what_rfc3339_can_name() {
        assert_eq!(Timestamp::EARLIEST.as_micros(), jiff::Timestamp::MIN.as_microsecond());
        assert_eq!(Timestamp::LATEST.as_micros(), jiff::Timestamp::MAX.as_second() * 1_000_000);
        assert_eq!(Timestamp::EARLIEST.to_rfc3339(), "-009999-01-02T01:59:59Z");
        assert_eq!(Timestamp::LATEST.to_rfc3339(), "9999-12-30T22:00:00Z");
    }

    /// Extreme values as a request may send them: an age past the window means its start,
    /// anything that does not read as a time (a negative age, an age that overflows) is an
    /// error, and the ends of RFC 3339 read as they are.
    #[test]
    fn r_extreme_points_stay_in_the_window() {
        let now = Timestamp::parse_rfc3339("2024-05-01T10:00:00Z").unwrap();
        let p = |s| Timestamp::parse_point(s, now).map(Timestamp::to_rfc3339);
        assert_eq!(p("9223372036854775807us").unwrap(), "-009999-01-02T01:59:59Z");
        assert_eq!(p("106751991d").unwrap(), "-009999-01-02T01:59:59Z");
        assert!(p("999999999999d").is_err());
        assert!(p("9223372036854775808us").is_err());
        assert!(p("-1us").is_err());
        assert!(p("-9223372036854775808us").is_err());
        assert_eq!(p("0000-01-01T00:00:00Z").unwrap(), "0000-01-01T00:00:00Z");
        assert_eq!(p("9999-12-30T00:00:00Z").unwrap(), "9999-12-30T00:00:00Z");
        assert!(p("10000-01-01T00:00:00Z").is_err());
        let far = |micros| Timestamp::parse_point("now", Timestamp(micros)).unwrap();
        assert_eq!(far(i64::MAX), Timestamp::LATEST);
        assert_eq!(far(i64::MIN), Timestamp::EARLIEST);
        assert_eq!(Timestamp::parse_point("1h", Timestamp(i64::MIN)).unwrap(), Timestamp::EARLIEST);
    }
}
