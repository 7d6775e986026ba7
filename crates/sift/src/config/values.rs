//! The value types of the configuration file: sizes (`"512MiB"`), durations (`"365d"`),
//! listener addresses (`"127.0.0.1:9125"`, `"localhost:9125"`) and severities. Each parser
//! returns the value or a message that quotes the input and shows a valid example.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use sift_core::Severity;
use sift_store::MinFree;

use super::raw::RawSize;

/// Units a size may carry, matched without regard to case.
const UNITS: &[(&str, u64)] = &[
    ("b", 1),
    ("kb", 1_000),
    ("mb", 1_000_000),
    ("gb", 1_000_000_000),
    ("tb", 1_000_000_000_000),
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
    ("tib", 1 << 40),
];

/// A size in bytes: an integer, or a whole number with a unit (`"64KiB"`, `"64 KiB"`, `"2GB"`).
pub(super) fn size(raw: &RawSize) -> Result<usize, String> {
    let bytes = match raw {
        RawSize::Bytes(n) => *n,
        RawSize::Text(text) => size_text(text)?,
    };
    usize::try_from(bytes).map_err(|_| format!("{bytes} bytes is too large for this machine"))
}

fn size_text(text: &str) -> Result<u64, String> {
    let invalid = || {
        format!(
            "invalid size {text:?}: expected a whole number of bytes, optionally with a unit \
             (B, KB, MB, GB, KiB, MiB, GiB), such as \"64KiB\""
        )
    };
    let trimmed = text.trim();
    let digits = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(digits);
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let unit = unit.trim_start().to_ascii_lowercase();
    let scale = match unit.as_str() {
        "" => 1,
        unit => UNITS.iter().find(|(name, _)| *name == unit).ok_or_else(invalid)?.1,
    };
    number.checked_mul(scale).ok_or_else(|| format!("size {text:?} is too large"))
}

/// Free space to keep: a percentage of the file system's size (`"10%"`) or a size (`"5GiB"`);
/// `0` or `"0%"` for none.
pub(super) fn min_free(raw: &RawSize) -> Result<MinFree, String> {
    if let RawSize::Text(text) = raw
        && let Some(number) = text.trim().strip_suffix('%')
    {
        let percent: f64 = number.trim().parse().map_err(|_| {
            format!("invalid share {text:?}: expected a percentage of the file system such as \"10%\", or a size")
        })?;
        return if percent == 0.0 {
            Ok(MinFree::None)
        } else if percent > 0.0 && percent < 100.0 {
            Ok(MinFree::Percent(percent))
        } else {
            Err(format!("{text:?} must be at least 0% and below 100%"))
        };
    }
    Ok(match size(raw)? {
        0 => MinFree::None,
        bytes => MinFree::Bytes(bytes as u64),
    })
}

/// A size that limits something and so must not be zero.
pub(super) fn positive_size(raw: &RawSize) -> Result<usize, String> {
    match size(raw)? {
        0 => Err("must be greater than zero".into()),
        n => Ok(n),
    }
}

/// A count that sizes a buffer and so must not be zero.
pub(super) fn positive(n: usize) -> Result<usize, String> {
    match n {
        0 => Err("must be greater than zero".into()),
        n => Ok(n),
    }
}

/// A human-readable duration such as `"90s"`, `"1h 30m"`, `"365d"`.
pub(super) fn duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("invalid duration {text:?}: {e}; expected a duration such as \"90s\", \"1h\" or \"365d\""))
}

/// A duration that bounds a wait, so not zero.
pub(super) fn positive_duration(text: &str) -> Result<Duration, String> {
    match duration(text)? {
        Duration::ZERO => Err("must be longer than zero".into()),
        duration => Ok(duration),
    }
}

/// A listener address: `IP:PORT`, `[IPv6]:PORT`, or `localhost:PORT` (meaning 127.0.0.1).
pub(super) fn address(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some(port) = text.strip_prefix("localhost:").and_then(|p| p.parse::<u16>().ok()) {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    Err(format!(
        "invalid address {text:?}: expected host:port with an IP address, such as \
         127.0.0.1:9125, [::1]:9125, 0.0.0.0:9125 or localhost:9125"
    ))
}

/// A channel name, by the one rule every path that names a channel keeps.
pub(super) fn channel(text: &str) -> Result<String, String> {
    sift_core::event::check_channel(text).map(|()| text.to_owned()).map_err(|invalid| invalid.to_string())
}

/// A `log.level`: an `EnvFilter` directive, checked as the log setup will read it.
pub(super) fn log_level(text: &str) -> Result<String, String> {
    match tracing_subscriber::EnvFilter::builder().parse(text) {
        Ok(_) if !text.trim().is_empty() => Ok(text.to_owned()),
        Ok(_) => Err("must not be empty: use a level such as \"info\"".into()),
        Err(error) => Err(format!(
            "invalid log level {text:?} ({error}): use a level (error, warn, info, debug, trace) or \
             directives such as \"sift=debug,info\""
        )),
    }
}

/// A `log.format`.
pub(super) fn log_format(text: &str) -> Result<super::LogFormat, String> {
    match text {
        "text" => Ok(super::LogFormat::Text),
        "json" => Ok(super::LogFormat::Json),
        other => Err(format!("unknown log format {other:?}, expected \"text\" or \"json\"")),
    }
}

/// A `storage.wal_fsync` policy.
pub(super) fn wal_fsync(text: &str) -> Result<super::WalFsync, String> {
    match text {
        "always" => Ok(super::WalFsync::Always),
        "batch" => Ok(super::WalFsync::Batch),
        "interval" => Ok(super::WalFsync::Interval),
        other => Err(format!("unknown fsync policy {other:?}, expected \"always\", \"batch\" or \"interval\"")),
    }
}

/// A severity name, alias or syslog number.
pub(super) fn severity(text: &str) -> Result<Severity, String> {
    text.parse::<Severity>().map_err(|e| e.to_string())
}

/// A byte count the way the configuration writes it: `512 MiB`, `64 KiB`, `1000 B`.
pub fn format_size(bytes: usize) -> String {
    const BINARY: &[(&str, u32)] = &[("GiB", 30), ("MiB", 20), ("KiB", 10)];
    for (unit, shift) in BINARY {
        if bytes >> shift > 0 && bytes.trailing_zeros() >= *shift {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} B")
}

/// The URL people and links reach sift at: absolute, `http` or `https`, with a host; empty
/// for none.
pub(super) fn public_url(text: &str) -> Result<Option<axum::http::Uri>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let invalid = |why: &str| format!("invalid URL {text:?}: {why}; expected such as \"https://logs.example.com\"");
    let uri: axum::http::Uri = text.trim().parse().map_err(|_| invalid("not a URL"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(invalid("the scheme must be http or https"));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(invalid("it has no host"));
    }
    Ok(Some(uri))
}

/// A host name sift answers to: a DNS name, or `*.` and one (every name under it).
pub(super) fn host_pattern(text: &str) -> Result<(), String> {
    let name = text.strip_prefix("*.").unwrap_or(text);
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty() && label.len() <= 63 && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(())
    } else {
        Err(format!("{text:?} is not a host name: expected such as \"logs.example.com\" or \"*.example.com\""))
    }
}

#[cfg(test)]
mod tests {
    use super::format_size;

    #[test]
    fn sizes_are_formatted_as_written() {
        let sizes = [0, 1, 1000, 1024, 1536, 65536, 16 << 20, 512 << 20, 3 << 30, (1 << 30) + 1];
        let formatted: Vec<String> = sizes.into_iter().map(format_size).collect();
        expect_test::expect!["0 B, 1 B, 1000 B, 1 KiB, 1536 B, 64 KiB, 16 MiB, 512 MiB, 3 GiB, 1073741825 B"]
            .assert_eq(&formatted.join(", "));
    }
}
