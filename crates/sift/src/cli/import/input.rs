//! Opening what `sift import` reads: a file, or standard input for `-`; gunzipped when it starts
//! with gzip's magic bytes (whatever its name); a leading UTF-8 byte order mark dropped; and its
//! format, given with `--format` or detected from the first non-blank bytes.
//!
//! Both tests read a little ahead and hand those bytes back in front of the rest, so they work
//! on pipes as well as on files, and nothing is read twice.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;

/// The formats `sift import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One syslog message per line, RFC 5424 or RFC 3164.
    Syslog,
    /// One JSON event per line, sent as it is.
    Ndjson,
    /// Logplex frames: `LEN SP RFC5424-MESSAGE` repeated.
    Logplex,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Syslog => "syslog",
            Format::Ndjson => "ndjson",
            Format::Logplex => "logplex",
        }
    }
}

/// An opened input, ready to read from the start of its first record.
pub struct Input {
    /// The path as given, or `standard input`.
    pub name: String,
    pub reader: Box<dyn BufRead + Send>,
    pub format: Format,
    pub gzip: bool,
    /// Bytes of the file read so far (compressed bytes when gzipped), for the progress bar.
    pub read: Arc<AtomicU64>,
    /// The file's size in bytes, when it is a regular file.
    pub size: Option<u64>,
}

/// How far detection reads ahead at most: past this many blank bytes the input is syslog.
const PEEK_LIMIT: usize = 64 * 1024;
/// Read buffer: large reads keep the system calls few on multi-gigabyte files.
const BUFFER: usize = 256 * 1024;
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Opens `path` (`-` for standard input) and finds its format unless `format` is given.
pub fn open(path: &Path, format: Option<Format>) -> io::Result<Input> {
    let read = Arc::new(AtomicU64::new(0));
    let (name, raw, size): (String, Box<dyn Read + Send>, Option<u64>) = if path.as_os_str() == "-" {
        ("standard input".to_owned(), Box::new(io::stdin()), None)
    } else {
        let file = File::open(path)?;
        let metadata = file.metadata()?;
        if metadata.is_dir() {
            return Err(io::Error::other("is a directory"));
        }
        let size = metadata.is_file().then_some(metadata.len());
        (path.display().to_string(), Box::new(file), size)
    };
    let counted = Counting { inner: raw, read: Arc::clone(&read) };
    let (head, rest) = peek(counted, 2, |head| head.len() >= 2)?;
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    let plain = Cursor::new(head).chain(rest);
    let decoded: Box<dyn Read + Send> =
        if gzip { Box::new(MultiGzDecoder::new(BufReader::with_capacity(BUFFER, plain))) } else { Box::new(plain) };
    let (mut head, rest) = peek(decoded, PEEK_LIMIT, |head| detect(head).is_some())?;
    if head.starts_with(BOM) {
        head.drain(..BOM.len());
    }
    let format = format.or_else(|| detect(&head)).unwrap_or(Format::Syslog);
    let reader = BufReader::with_capacity(BUFFER, Cursor::new(head).chain(rest));
    Ok(Input { name, reader: Box::new(reader), format, gzip, read, size })
}

/// The format the first non-blank bytes of `head` say, or `None` while they do not decide yet:
/// `{` is NDJSON, up to ten digits, a space and `<` is Logplex, anything else is syslog (a 3164
/// line may start with digits, as `1 <13>...` would not).
pub fn detect(head: &[u8]) -> Option<Format> {
    if !head.is_empty() && head.len() < BOM.len() && BOM.starts_with(head) {
        return None;
    }
    let head = head.strip_prefix(BOM).unwrap_or(head);
    let start = head.iter().position(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'))?;
    let text = &head[start..];
    if text[0] == b'{' {
        return Some(Format::Ndjson);
    }
    let digits = text.iter().take(11).take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 10 {
        return Some(Format::Syslog);
    }
    match (text.get(digits), text.get(digits + 1)) {
        (None, _) | (Some(b' '), None) => None,
        (Some(b' '), Some(b'<')) => Some(Format::Logplex),
        _ => Some(Format::Syslog),
    }
}

/// Reads until `enough` holds for the bytes so far, `limit` bytes were read, or the input
/// ends; returns those bytes and the input, to be chained behind them.
fn peek<R: Read>(mut input: R, limit: usize, enough: impl Fn(&[u8]) -> bool) -> io::Result<(Vec<u8>, R)> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 4096];
    while head.len() < limit && !enough(&head) {
        let want = (limit - head.len()).min(chunk.len());
        match input.read(&mut chunk[..want]) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok((head, input))
}

/// Counts the bytes read from the file itself, below any gunzipping.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn formats_from_the_first_bytes() {
        let d = |head: &str| detect(head.as_bytes());
        assert_eq!(d(r#"{"message":"x"}"#), Some(Format::Ndjson));
        assert_eq!(d("\n\n  {"), Some(Format::Ndjson));
        assert_eq!(d("\u{feff}{"), Some(Format::Ndjson));
        assert_eq!(d("83 <40>1 2012-11-30T06:45:29+00:00 host app web.3 - State"), Some(Format::Logplex));
        assert_eq!(d("<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - hi"), Some(Format::Syslog));
        assert_eq!(d("Oct 11 22:14:15 mymachine su: hi"), Some(Format::Syslog));
        assert_eq!(d("2024-05-01T12:00:00Z host app: iso timestamp"), Some(Format::Syslog));
        assert_eq!(d("12 apples"), Some(Format::Syslog));
        assert_eq!(d("12345678901 <13>"), Some(Format::Syslog), "more than ten digits is no length");
        // Not decided yet: more bytes may still make it Logplex.
        assert_eq!(d(""), None);
        assert_eq!(d("  \n"), None);
        assert_eq!(d("83"), None);
        assert_eq!(d("83 "), None);
        assert_eq!(detect(&BOM[..2]), None);
    }

    #[test]
    fn gzip_and_bom_are_read_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all("\u{feff}83 <40>1 - - - - - -\n".as_bytes()).unwrap();
        std::fs::write(&path, encoder.finish().unwrap()).unwrap();

        let mut input = open(&path, None).unwrap();
        assert!(input.gzip);
        assert_eq!(input.format, Format::Logplex);
        let mut text = String::new();
        input.reader.read_to_string(&mut text).unwrap();
        assert_eq!(text, "83 <40>1 - - - - - -\n");
        assert_eq!(input.read.load(Ordering::Relaxed), input.size.unwrap());

        let input = open(&path, Some(Format::Syslog)).unwrap();
        assert_eq!(input.format, Format::Syslog, "--format beats detection");
    }
}
