//! The value of each known key, checked and converted: strings, severities, times, facilities,
//! line numbers and tags, each with the precise error a client sees when it does not fit.

use std::borrow::Cow;

use serde_json::Value;

use super::object::{Entry, Scalar};
use super::{ItemError, ItemErrorKind};
use crate::event::non_empty;
use crate::intern::Interner;
use crate::{Severity, Str, Timestamp};

/// A known key whose value has the wrong type.
pub(super) fn invalid(key: &str, expected: &str, found: &Scalar) -> ItemError {
    ItemError::new(
        ItemErrorKind::InvalidField,
        format!("field {key:?}: expected {expected}, found {}", found.describe()),
    )
}

/// A string field: strings as sent, numbers as JSON writes them; `null` and `""` are absent.
pub(super) fn text(entry: Option<Entry<'_>>) -> Result<Option<Cow<'_, str>>, ItemError> {
    let Some(Entry { key, value, .. }) = entry else {
        return Ok(None);
    };
    Ok(match value {
        Scalar::Null => None,
        Scalar::Str(s) if s.is_empty() => None,
        Scalar::Str(s) => Some(s),
        Scalar::Int(n) => Some(Cow::Owned(n.to_string())),
        Scalar::UInt(n) => Some(Cow::Owned(n.to_string())),
        Scalar::Float(n) => Some(Cow::Owned(float(n))),
        other => return Err(invalid(key, "a string", &other)),
    })
}

/// A float as JSON writes it (`1e300`, `2.5`).
fn float(n: f64) -> String {
    Value::from(n).to_string()
}

/// A non-empty text value as a shared string, interned so repeated values share memory.
pub(super) fn shared(entry: Option<Entry<'_>>, interner: &mut Interner) -> Result<Option<Str>, ItemError> {
    Ok(text(entry)?.as_deref().filter(|s| !s.is_empty()).map(|s| interner.intern(s)))
}

/// A whole number, from a JSON number or a string holding one.
fn integer(value: &Scalar) -> Option<i128> {
    match value {
        Scalar::Int(n) => Some(i128::from(*n)),
        Scalar::UInt(n) => Some(i128::from(*n)),
        Scalar::Float(n) if n.fract() == 0.0 && n.abs() < 1e18 => Some(*n as i128),
        Scalar::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn severity(entry: Option<Entry<'_>>, lager: bool) -> Result<Severity, ItemError> {
    let Some(Entry { key, value, .. }) = entry else {
        return Ok(Severity::Info);
    };
    let unknown = |shown: String, expected: &str| {
        ItemError::new(
            ItemErrorKind::UnknownSeverity,
            format!("field {key:?}: unknown severity {shown}, expected {expected}"),
        )
    };
    const NAMES: &str = "one of emergency, alert, critical, error, warning, notice, info, debug";
    match (&value, integer(&value)) {
        (Scalar::Null, _) => Ok(Severity::Info),
        (Scalar::Str(s), _) if s.is_empty() => Ok(Severity::Info),
        (_, Some(n)) if lager => i64::try_from(n).ok().and_then(Severity::from_lager).ok_or_else(|| {
            unknown(n.to_string(), "a lager bitmask (1, 2, 4, 8, 16, 32, 64 or 128) with packet_version")
        }),
        (_, Some(n)) => u8::try_from(n)
            .ok()
            .and_then(Severity::from_syslog)
            .ok_or_else(|| unknown(n.to_string(), &format!("{NAMES} (or 0-7)"))),
        (Scalar::Str(s), None) => {
            Severity::from_name(s.trim()).ok_or_else(|| unknown(format!("{s:?}"), &format!("{NAMES} (or 0-7)")))
        }
        (Scalar::Float(n), None) => Err(unknown(float(*n), &format!("{NAMES} (or 0-7)"))),
        (other, None) => Err(invalid(key, "a severity name or number", other)),
    }
}

const TIME_EXPECTED: &str =
    "expected RFC 3339 (2024-05-01T12:00:00Z) or a number of seconds, milliseconds or microseconds since the epoch";

pub(super) fn time(entry: Option<Entry<'_>>) -> Result<Option<Timestamp>, ItemError> {
    let Some(Entry { key, value, .. }) = entry else {
        return Ok(None);
    };
    let invalid_time = |shown: String| {
        ItemError::new(ItemErrorKind::InvalidTime, format!("field {key:?}: invalid time {shown}, {TIME_EXPECTED}"))
    };
    let time = match &value {
        Scalar::Null => return Ok(None),
        Scalar::Str(s) if s.trim().is_empty() => return Ok(None),
        Scalar::Str(s) => {
            let s = s.trim();
            let numeric = s.strip_prefix('-').unwrap_or(s).starts_with(|c: char| c.is_ascii_digit())
                && !s.contains([':', 'T', 't']);
            if numeric {
                match s.parse::<i64>() {
                    Ok(n) => from_epoch_int(n),
                    Err(_) => s.parse::<f64>().ok().and_then(from_epoch_float),
                }
            } else {
                rfc3339_fast(s.as_bytes()).or_else(|| Timestamp::parse_rfc3339(s).ok())
            }
        }
        Scalar::Int(n) => from_epoch_int(*n),
        Scalar::UInt(n) => i64::try_from(*n).ok().and_then(from_epoch_int),
        Scalar::Float(n) => from_epoch_float(*n),
        other => return Err(invalid(key, "a time", other)),
    };
    match (time, &value) {
        (Some(time), _) => Ok(Some(time)),
        (None, Scalar::Str(s)) => Err(invalid_time(format!("{s:?}"))),
        (None, Scalar::Int(n)) => Err(invalid_time(n.to_string())),
        (None, Scalar::UInt(n)) => Err(invalid_time(n.to_string())),
        (None, Scalar::Float(n)) => Err(invalid_time(float(*n))),
        (None, other) => Err(invalid(key, "a time", other)),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` from 1970 on, the form nearly every client sends,
/// read without jiff's general parser (a quarter of the decoding time of a small event). `None`
/// for anything else, which then goes to [`Timestamp::parse_rfc3339`]; the two agree where both
/// apply (tested).
pub(super) fn rfc3339_fast(s: &[u8]) -> Option<Timestamp> {
    fn number(s: &[u8]) -> Option<i64> {
        s.iter().try_fold(0i64, |n, &b| b.is_ascii_digit().then(|| n * 10 + i64::from(b - b'0')))
    }
    if s.len() < 20 || s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b'T' | b't') || s[13] != b':' || s[16] != b':' {
        return None;
    }
    let (year, month, day) = (number(&s[0..4])?, number(&s[5..7])?, number(&s[8..10])?);
    let (hour, minute, second) = (number(&s[11..13])?, number(&s[14..16])?, number(&s[17..19])?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let valid_day =
        usize::try_from(month - 1).ok().and_then(|m| month_days.get(m)).is_some_and(|&d| (1..=d).contains(&day));
    if year < 1970 || !valid_day || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut at = 19;
    let mut micros = 0;
    if s[at] == b'.' {
        let digits = s[at + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let kept = &s[at + 1..at + 1 + digits.min(6)];
        micros = number(kept)? * 10i64.pow(6 - kept.len() as u32);
        at += 1 + digits;
    }
    let offset = match &s[at..] {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (hours, minutes) = (number(&[*h1, *h2])?, number(&[*m1, *m2])?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            (hours * 60 + minutes) * 60 * if *sign == b'-' { -1 } else { 1 }
        }
        _ => return None,
    };
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset;
    Some(Timestamp::from_micros(seconds * 1_000_000 + micros))
}

/// Seconds below 1e11, milliseconds below 1e14, else microseconds.
fn from_epoch_int(n: i64) -> Option<Timestamp> {
    let magnitude = n.unsigned_abs();
    let scale = if magnitude < 100_000_000_000 {
        1_000_000
    } else if magnitude < 100_000_000_000_000 {
        1_000
    } else {
        1
    };
    n.checked_mul(scale).map(Timestamp::from_micros)
}

fn from_epoch_float(n: f64) -> Option<Timestamp> {
    if !n.is_finite() {
        return None;
    }
    let scale = if n.abs() < 1e11 {
        1e6
    } else if n.abs() < 1e14 {
        1e3
    } else {
        1.0
    };
    let micros = (n * scale).round();
    // Both bounds are exactly ±2^63: the cast below cannot saturate.
    (i64::MIN as f64..i64::MAX as f64).contains(&micros).then(|| Timestamp::from_micros(micros as i64))
}

/// Syslog facility names in number order (RFC 5424 table 1, with the usual short names).
const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp",
    "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];

pub(super) fn facility(entry: Option<Entry<'_>>) -> Result<Option<u8>, ItemError> {
    let Some(Entry { key, value, .. }) = entry else {
        return Ok(None);
    };
    if matches!(&value, Scalar::Null) || matches!(&value, Scalar::Str(s) if s.is_empty()) {
        return Ok(None);
    }
    let number = integer(&value).and_then(|n| u8::try_from(n).ok()).filter(|&n| n < 24);
    let named = match &value {
        Scalar::Str(s) => FACILITIES.iter().position(|name| name.eq_ignore_ascii_case(s.trim())),
        _ => None,
    };
    match number.or(named.and_then(|n| u8::try_from(n).ok())) {
        Some(n) => Ok(Some(n)),
        None => Err(ItemError::new(
            ItemErrorKind::InvalidField,
            format!("field {key:?}: expected a syslog facility 0-23 or a name such as local0, found {}", shown(&value)),
        )),
    }
}

pub(super) fn line(entry: Option<Entry<'_>>) -> Result<Option<u32>, ItemError> {
    let Some(Entry { key, value, .. }) = entry else {
        return Ok(None);
    };
    if matches!(&value, Scalar::Null) || matches!(&value, Scalar::Str(s) if s.trim().is_empty()) {
        return Ok(None);
    }
    match integer(&value).and_then(|n| u32::try_from(n).ok()) {
        Some(n) => Ok(Some(n)),
        None => Err(ItemError::new(
            ItemErrorKind::InvalidField,
            format!("field {key:?}: expected a line number, found {}", shown(&value)),
        )),
    }
}

/// A value for an error message: short strings and numbers as sent, other things by type.
fn shown(value: &Scalar) -> String {
    match value {
        Scalar::Str(s) if s.chars().count() <= 40 => format!("{s:?}"),
        Scalar::Int(n) => n.to_string(),
        Scalar::UInt(n) => n.to_string(),
        Scalar::Float(n) => float(*n),
        other => other.describe().to_owned(),
    }
}

pub(super) fn tags(entry: Option<Entry<'_>>) -> Result<Vec<Str>, ItemError> {
    let Some(Entry { key, value, .. }) = entry else {
        return Ok(Vec::new());
    };
    match value {
        Scalar::Null => Ok(Vec::new()),
        Scalar::Str(s) => Ok(non_empty(&s).into_iter().collect()),
        Scalar::List(items) => {
            let mut tags = Vec::with_capacity(items.len());
            for (position, item) in items.iter().enumerate() {
                match item {
                    Scalar::Str(s) => tags.extend(non_empty(s)),
                    other => {
                        return Err(ItemError::new(
                            ItemErrorKind::InvalidField,
                            format!(
                                "field {key:?}: expected an array of strings, found {} at position {position}",
                                other.describe()
                            ),
                        ));
                    }
                }
            }
            Ok(tags)
        }
        other => Err(invalid(key, "an array of strings", &other)),
    }
}
