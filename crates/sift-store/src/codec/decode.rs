//! Decoding a batch from untrusted bytes: every read is bounds-checked, every count is checked
//! against the bytes left before anything is allocated for it, and nesting is bounded.

use serde_json::{Number, Value};
use sift_core::{Event, Fields, Severity, Str, Timestamp};

use super::{CodecError, CodecErrorKind, MAX_DEPTH, VERSION, meta, source_from_number, tag};

pub(super) fn batch(bytes: &[u8]) -> Result<Vec<Event>, CodecError> {
    let mut r = Reader { bytes, pos: 0, table: Vec::new() };
    let version = r.u8()?;
    if version != VERSION {
        return Err(CodecError { kind: CodecErrorKind::UnknownVersion(version), offset: 0 });
    }
    let count = r.count()?;
    let mut events = Vec::with_capacity(count);
    let mut previous_time = 0i64;
    for _ in 0..count {
        let event = r.event(previous_time)?;
        previous_time = event.time.as_micros();
        events.push(event);
    }
    if r.pos != bytes.len() {
        return Err(r.error(CodecErrorKind::TrailingBytes));
    }
    Ok(events)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// The batch's string table so far.
    table: Vec<Str>,
}

impl Reader<'_> {
    fn event(&mut self, previous_time: i64) -> Result<Event, CodecError> {
        let id = ulid::Ulid(u128::from_be_bytes(*self.array::<16>()?));
        let time = previous_time.wrapping_add(self.svarint()?);
        let received_at = time.wrapping_add(self.svarint()?);
        let flags = self.u8()?;
        let severity = Severity::from_syslog(flags & meta::SEVERITY).unwrap_or(Severity::Debug);
        let source = source_from_number((flags & meta::SOURCE) >> meta::SOURCE_SHIFT)
            .ok_or_else(|| self.error_before(1, CodecErrorKind::BadSource))?;
        let facility = match flags & meta::FACILITY {
            0 => None,
            _ => match self.u8()? {
                f @ 0..=23 => Some(f),
                _ => return Err(self.error_before(1, CodecErrorKind::BadFacility)),
            },
        };
        let line = match flags & meta::LINE {
            0 => None,
            _ => Some(u32::try_from(self.varint()?).map_err(|_| self.error(CodecErrorKind::BadLine))?),
        };
        let channel = self.required()?;
        let host = self.optional()?;
        let app = self.optional()?;
        let version = self.optional()?;
        let proc = self.optional()?;
        let msgid = self.optional()?;
        let kind = self.optional()?;
        let module = self.optional()?;
        let function = self.optional()?;
        let message = self.str()?.to_owned();
        let tags = self.list()?;
        let topics = self.list()?;
        let identities = self.list()?;
        let fingerprint = self.optional()?;
        let fields = self.object(0)?;
        Ok(Event {
            id,
            time: Timestamp::from_micros(time),
            received_at: Timestamp::from_micros(received_at),
            channel,
            source,
            host,
            app,
            version,
            proc,
            msgid,
            severity,
            facility,
            kind,
            message,
            module,
            function,
            line,
            tags,
            topics,
            identities,
            fingerprint,
            fields,
        })
    }

    fn object(&mut self, depth: usize) -> Result<Fields, CodecError> {
        if depth > MAX_DEPTH {
            return Err(self.error(CodecErrorKind::TooDeep));
        }
        let count = self.count()?;
        let mut fields = Fields::with_capacity(count);
        for _ in 0..count {
            let key = self.required()?;
            let value = self.value(depth + 1)?;
            fields.insert(String::from(&*key), value);
        }
        Ok(fields)
    }

    fn value(&mut self, depth: usize) -> Result<Value, CodecError> {
        if depth > MAX_DEPTH {
            return Err(self.error(CodecErrorKind::TooDeep));
        }
        Ok(match self.u8()? {
            tag::NULL => Value::Null,
            tag::FALSE => Value::Bool(false),
            tag::TRUE => Value::Bool(true),
            tag::UINT => Value::Number(Number::from(self.varint()?)),
            tag::NEG_INT => {
                let v = i64::try_from(self.varint()?).map_err(|_| self.error(CodecErrorKind::BadNumber))?;
                Value::Number(Number::from(!v))
            }
            tag::FLOAT => {
                let f = f64::from_le_bytes(*self.array::<8>()?);
                Value::Number(Number::from_f64(f).ok_or_else(|| self.error_before(8, CodecErrorKind::BadNumber))?)
            }
            tag::STRING => Value::String(self.str()?.to_owned()),
            tag::ARRAY => {
                let count = self.count()?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            tag::OBJECT => Value::Object(self.object(depth)?),
            _ => return Err(self.error_before(1, CodecErrorKind::BadValueTag)),
        })
    }

    fn list(&mut self) -> Result<Vec<Str>, CodecError> {
        let count = self.count()?;
        let mut list = Vec::with_capacity(count);
        for _ in 0..count {
            list.push(self.required()?);
        }
        Ok(list)
    }

    fn required(&mut self) -> Result<Str, CodecError> {
        let start = self.pos;
        self.optional()?.ok_or(CodecError { kind: CodecErrorKind::MissingString, offset: start })
    }

    fn optional(&mut self) -> Result<Option<Str>, CodecError> {
        let start = self.pos;
        match self.varint()? {
            0 => Ok(None),
            1 => {
                let s = Str::from(self.str()?);
                self.table.push(Str::clone(&s));
                Ok(Some(s))
            }
            n => match usize::try_from(n - 2).ok().and_then(|i| self.table.get(i)) {
                Some(s) => Ok(Some(Str::clone(s))),
                None => Err(CodecError { kind: CodecErrorKind::BadStringRef, offset: start }),
            },
        }
    }

    fn str(&mut self) -> Result<&str, CodecError> {
        let len = self.varint()?;
        let start = self.pos;
        let len = usize::try_from(len).map_err(|_| self.error(CodecErrorKind::UnexpectedEnd))?;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|_| CodecError { kind: CodecErrorKind::InvalidUtf8, offset: start })
    }

    /// A count of items that take at least one byte each: larger than the bytes left means the
    /// input is cut or corrupt, so no allocation is ever larger than the input.
    fn count(&mut self) -> Result<usize, CodecError> {
        let n = self.varint()?;
        let left = self.bytes.len() - self.pos;
        match usize::try_from(n) {
            Ok(n) if n <= left => Ok(n),
            _ => Err(self.error(CodecErrorKind::UnexpectedEnd)),
        }
    }

    fn svarint(&mut self) -> Result<i64, CodecError> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn varint(&mut self) -> Result<u64, CodecError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            if shift == 63 && byte > 1 {
                return Err(self.error_before(1, CodecErrorKind::VarintOverflow));
            }
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(v);
            }
        }
        Err(self.error(CodecErrorKind::VarintOverflow))
    }

    fn u8(&mut self) -> Result<u8, CodecError> {
        let byte = *self.bytes.get(self.pos).ok_or(self.error(CodecErrorKind::UnexpectedEnd))?;
        self.pos += 1;
        Ok(byte)
    }

    fn array<const N: usize>(&mut self) -> Result<&[u8; N], CodecError> {
        let (array, _) = self.bytes[self.pos..]
            .split_first_chunk::<N>()
            .ok_or(CodecError { kind: CodecErrorKind::UnexpectedEnd, offset: self.bytes.len() })?;
        self.pos += N;
        Ok(array)
    }

    fn take(&mut self, len: usize) -> Result<&[u8], CodecError> {
        let end = self.pos.checked_add(len).filter(|&end| end <= self.bytes.len());
        let end = end.ok_or(CodecError { kind: CodecErrorKind::UnexpectedEnd, offset: self.bytes.len() })?;
        let bytes = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn error(&self, kind: CodecErrorKind) -> CodecError {
        CodecError { kind, offset: self.pos }
    }

    /// An error about the `n` bytes just read.
    fn error_before(&self, n: usize, kind: CodecErrorKind) -> CodecError {
        CodecError { kind, offset: self.pos - n }
    }
}
