//! Syslog timestamps into microseconds: RFC 3339 as RFC 5424 writes it (fractions of 1-6
//! digits, `Z` or `±hh:mm`), and the RFC 3164 `Mmm dd hh:mm:ss` that carries no year and no
//! zone. Hand-written rather than through `jiff` because the parser runs once per message and
//! these two shapes need only a few byte comparisons and the civil-date arithmetic below.

use crate::Timestamp;

const MICROS_PER_SEC: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SEC;

/// Where a legacy timestamp ends and what it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Legacy {
    pub time: Timestamp,
    /// Bytes of the timestamp, including a trailing `:` (Cisco) but not the space after it.
    pub len: usize,
}

/// Parses an RFC 3339 timestamp that must fill `b` exactly. `zone_optional` lets a missing
/// offset mean UTC (some RFC 3164 senders write ISO 8601 local times without one).
pub(super) fn rfc3339(b: &[u8], zone_optional: bool) -> Option<Timestamp> {
    let year = digits(b, 0, 4)?;
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't'))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    let mut pos = 19;
    let mut micros = 0;
    if b.get(pos) == Some(&b'.') {
        let (frac, len) = fraction(&b[pos + 1..])?;
        micros = frac;
        pos += 1 + len;
    }
    let offset_secs = match b.get(pos) {
        Some(b'Z' | b'z') if pos + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if pos + 6 == b.len() && b[pos + 3] == b':' => {
            let oh = digits(b, pos + 1, 2)?;
            let om = digits(b, pos + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if sign == b'+' { secs } else { -secs }
        }
        None if zone_optional => 0,
        _ => return None,
    };
    let local = civil_micros(year as i64, month, day, hour, minute, second)?;
    Some(Timestamp(local + micros - offset_secs * MICROS_PER_SEC))
}

/// Parses an RFC 3164 timestamp at the start of `b`: `Mmm dd hh:mm:ss` (day padded with a
/// space or a zero, or not at all), optionally with a year before the time
/// (`Mmm dd yyyy hh:mm:ss`), a fraction (`.123`), and the `*` or `.` prefix and `:` suffix Cisco
/// devices add. Without a year the year is `received_at`'s, or the one before when that would
/// put the time more than a day ahead of `received_at` (a December message read in January).
/// The time is read as UTC: the format has no zone.
///
/// `Err(())` when the text has the shape of a timestamp but names no real time (`Feb 30`):
/// the caller reports it rather than read a date as the message.
pub(super) fn legacy(b: &[u8], received_at: Timestamp) -> Result<Option<Legacy>, ()> {
    let start = usize::from(matches!(b.first(), Some(b'*' | b'.')));
    let Some(month) = b.get(start..start + 3).and_then(month_number) else {
        return Ok(None);
    };
    let mut pos = start + 3;
    if b.get(pos) != Some(&b' ') {
        return Ok(None);
    }
    pos += 1;
    if b.get(pos) == Some(&b' ') {
        pos += 1;
    }
    let day_len = b[pos..].iter().take(3).take_while(|c| c.is_ascii_digit()).count();
    if day_len == 0 || day_len > 2 || b.get(pos + day_len) != Some(&b' ') {
        return Ok(None);
    }
    let day = digits(b, pos, day_len).ok_or(())?;
    pos += day_len + 1;
    let mut year = None;
    if b.get(pos + 4) == Some(&b' ') {
        let Some(y) = digits(b, pos, 4) else { return Ok(None) };
        year = Some(i64::from(y));
        pos += 5;
    }
    let (Some(hour), Some(minute), Some(second)) = (digits(b, pos, 2), digits(b, pos + 3, 2), digits(b, pos + 6, 2))
    else {
        return Ok(None);
    };
    if b.get(pos + 2) != Some(&b':') || b.get(pos + 5) != Some(&b':') {
        return Ok(None);
    }
    pos += 8;
    let mut micros = 0;
    if b.get(pos) == Some(&b'.') && b.get(pos + 1).is_some_and(u8::is_ascii_digit) {
        let end = b[pos + 1..].iter().position(|c| !c.is_ascii_digit()).map_or(b.len(), |n| pos + 1 + n);
        micros = fraction(&b[pos + 1..end]).ok_or(())?.0;
        pos = end;
    }
    if b.get(pos) == Some(&b':') {
        pos += 1;
    }
    if pos < b.len() && b[pos] != b' ' {
        return Ok(None);
    }
    let at = |year: i64| civil_micros(year, month, day, hour, minute, second).map(|t| t + micros);
    let time = match year {
        Some(year) => at(year).ok_or(())?,
        None => {
            let this_year = year_of(received_at);
            match at(this_year) {
                Some(t) if t <= received_at.0.saturating_add(MICROS_PER_DAY) => t,
                // Too far ahead, or no such day this year (Feb 29): last year's.
                _ => at(this_year - 1).ok_or(())?,
            }
        }
    };
    Ok(Some(Legacy { time: Timestamp(time), len: pos }))
}

/// A fraction of a second from its digits (1 to 9; digits past the sixth are dropped) and how
/// many there were.
fn fraction(b: &[u8]) -> Option<(i64, usize)> {
    let len = b.iter().take(10).take_while(|c| c.is_ascii_digit()).count();
    if len == 0 || len > 9 {
        return None;
    }
    let kept = &b[..len.min(6)];
    let micros = kept.iter().fold(0i64, |n, &c| n * 10 + i64::from(c - b'0'));
    let micros = micros * 10i64.pow(6 - kept.len() as u32);
    Some((micros, len))
}

/// The number written by `len` ASCII digits at `b[at..]`.
fn digits(b: &[u8], at: usize, len: usize) -> Option<u32> {
    let s = b.get(at..at + len)?;
    s.iter().try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
}

fn month_number(name: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] =
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    MONTHS.iter().position(|m| m.eq_ignore_ascii_case(name)).map(|i| i as u32 + 1)
}

/// Microseconds since the epoch of a UTC civil time, `None` when a part is out of range.
/// A leap second (`:60`) is read as the first second of the next minute.
fn civil_micros(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i64> {
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400
        + i64::from(hour) * 3600
        + i64::from(minute) * 60
        + i64::from(second);
    Some(secs * MICROS_PER_SEC)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the era-based method: 400-year eras
/// of 146,097 days, years starting in March so the leap day comes last).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = i64::from(month);
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The UTC year of a timestamp.
fn year_of(t: Timestamp) -> i64 {
    // Inverse of `days_from_civil`, keeping only the year.
    let days = t.0.div_euclid(MICROS_PER_DAY) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    year_of_era + era * 400 + i64::from(mp >= 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> String {
        rfc3339(s.as_bytes(), false).map_or("none".into(), |t| t.to_string())
    }

    #[test]
    fn rfc3339_forms() {
        assert_eq!(iso("2024-05-01T12:00:00Z"), "2024-05-01T12:00:00Z");
        assert_eq!(iso("2024-05-01T12:00:00.5Z"), "2024-05-01T12:00:00.5Z");
        assert_eq!(iso("2024-05-01T12:00:00.123456+02:00"), "2024-05-01T10:00:00.123456Z");
        assert_eq!(iso("2024-05-01T12:00:00.123456789-01:30"), "2024-05-01T13:30:00.123456Z");
        assert_eq!(iso("1969-12-31T23:59:59.5Z"), "1969-12-31T23:59:59.5Z");
        assert_eq!(iso("2024-02-29T00:00:00Z"), "2024-02-29T00:00:00Z");
        for bad in [
            "2023-02-29T00:00:00Z",
            "2024-05-01T12:00:00",
            "2024-05-01T24:00:00Z",
            "2024-05-01 12:00:00Z",
            "2024-05-01T12:00:00.Z",
            "2024-05-01T12:00:00.1234567890Z",
            "2024-05-01T12:00:00+2:00",
            "2024-05-01T12:00:00Zjunk",
            "2024-13-01T12:00:00Z",
        ] {
            assert_eq!(iso(bad), "none", "{bad}");
        }
        assert!(rfc3339(b"2024-05-01T12:00:00", true).is_some());
    }

    #[test]
    fn years_match_the_calendar() {
        for (s, year) in [
            ("1970-01-01T00:00:00Z", 1970),
            ("2023-12-31T23:59:59Z", 2023),
            ("2024-01-01T00:00:00Z", 2024),
            ("2000-02-29T12:00:00Z", 2000),
            ("1969-12-31T23:59:59Z", 1969),
        ] {
            assert_eq!(year_of(rfc3339(s.as_bytes(), false).unwrap()), year, "{s}");
        }
    }
}
