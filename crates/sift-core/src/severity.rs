//! Severities in syslog order (0 emergency … 7 debug) and every way a client names one:
//! names and aliases, syslog numbers, Popcorn's lager bitmask and OTLP severity numbers.

use std::fmt;
use std::str::FromStr;

/// A syslog severity. Lower is worse: `Severity::Error < Severity::Warning`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Severity {
    Emergency = 0,
    Alert = 1,
    Critical = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

/// A severity name, number or bitmask that maps to no severity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown severity {0:?}, expected one of emergency, alert, critical, error, warning, notice, info, debug (or 0-7)"
)]
pub struct UnknownSeverity(pub String);

impl Severity {
    pub const ALL: [Severity; 8] = [
        Severity::Emergency,
        Severity::Alert,
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Notice,
        Severity::Info,
        Severity::Debug,
    ];

    /// The canonical name, as the API writes it.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Emergency => "emergency",
            Severity::Alert => "alert",
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Notice => "notice",
            Severity::Info => "info",
            Severity::Debug => "debug",
        }
    }

    /// The syslog number, 0..=7.
    pub fn syslog(self) -> u8 {
        self as u8
    }

    /// From a syslog number; `None` outside 0..=7.
    pub fn from_syslog(n: u8) -> Option<Severity> {
        Severity::ALL.get(usize::from(n)).copied()
    }

    /// Popcorn's lager bitmask: emergency 1, alert 2, … debug 128.
    pub fn lager(self) -> u32 {
        1 << self.syslog()
    }

    /// From a lager bitmask value. Only the single-bit values 1..=128 name a severity.
    pub fn from_lager(mask: i64) -> Option<Severity> {
        if mask <= 0 || mask > 128 || mask.count_ones() != 1 {
            return None;
        }
        Severity::from_syslog(mask.trailing_zeros() as u8)
    }

    /// From an OTLP SeverityNumber. 0 (unspecified) gives `None`: use SeverityText, else info.
    pub fn from_otlp(n: i32) -> Option<Severity> {
        match n {
            1..=8 => Some(Severity::Debug),
            9..=12 => Some(Severity::Info),
            13..=16 => Some(Severity::Warning),
            17..=20 => Some(Severity::Error),
            21..=24 => Some(Severity::Critical),
            _ => None,
        }
    }

    /// From a name or alias, case-insensitively: `err`, `WARN`, `panic`, `trace`, ...
    pub fn from_name(name: &str) -> Option<Severity> {
        let severity = match name.to_ascii_lowercase().as_str() {
            "emergency" | "emerg" | "panic" => Severity::Emergency,
            "alert" => Severity::Alert,
            "critical" | "crit" | "fatal" => Severity::Critical,
            "error" | "err" => Severity::Error,
            "warning" | "warn" => Severity::Warning,
            "notice" => Severity::Notice,
            "info" | "informational" => Severity::Info,
            "debug" | "trace" => Severity::Debug,
            _ => return None,
        };
        Some(severity)
    }
}

impl FromStr for Severity {
    type Err = UnknownSeverity;

    /// A name, an alias, or a syslog number `0`..`7`.
    fn from_str(s: &str) -> Result<Severity, UnknownSeverity> {
        if let Some(severity) = Severity::from_name(s) {
            return Ok(severity);
        }
        s.parse::<u8>().ok().and_then(Severity::from_syslog).ok_or_else(|| UnknownSeverity(s.to_owned()))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases() {
        let cases = [
            ("emergency", 0),
            ("emerg", 0),
            ("panic", 0),
            ("alert", 1),
            ("critical", 2),
            ("crit", 2),
            ("fatal", 2),
            ("error", 3),
            ("err", 3),
            ("ERROR", 3),
            ("warning", 4),
            ("warn", 4),
            ("notice", 5),
            ("info", 6),
            ("debug", 7),
            ("trace", 7),
            ("5", 5),
        ];
        for (name, number) in cases {
            assert_eq!(name.parse::<Severity>().map(Severity::syslog), Ok(number), "{name}");
        }
        assert!("8".parse::<Severity>().is_err());
        assert!("loud".parse::<Severity>().is_err());
    }

    #[test]
    fn lager_bitmask_round_trips() {
        for severity in Severity::ALL {
            assert_eq!(Severity::from_lager(i64::from(severity.lager())), Some(severity));
        }
        assert_eq!(Severity::from_lager(8), Some(Severity::Error));
        assert_eq!(Severity::from_lager(3), None);
        assert_eq!(Severity::from_lager(0), None);
        assert_eq!(Severity::from_lager(256), None);
    }

    #[test]
    fn otlp_numbers() {
        assert_eq!(Severity::from_otlp(0), None);
        assert_eq!(Severity::from_otlp(1), Some(Severity::Debug));
        assert_eq!(Severity::from_otlp(9), Some(Severity::Info));
        assert_eq!(Severity::from_otlp(13), Some(Severity::Warning));
        assert_eq!(Severity::from_otlp(17), Some(Severity::Error));
        assert_eq!(Severity::from_otlp(24), Some(Severity::Critical));
        assert_eq!(Severity::from_otlp(25), None);
    }

    #[test]
    fn worse_is_smaller() {
        assert!(Severity::Error < Severity::Warning);
        assert!(Severity::Emergency < Severity::Debug);
    }
}
