//! The WAL's bytes: file names, the file header, record framing and the release checkpoint.
//! The layout is documented in the module above and in `docs/adr/0003-wal-format.md`.

use std::path::{Path, PathBuf};

use super::Lsn;

pub(super) const FILE_MAGIC: [u8; 8] = *b"SIFTWAL\0";
pub(super) const FILE_VERSION: u32 = 1;
pub(super) const FILE_HEADER_LEN: usize = 16;

pub(super) const RECORD_MAGIC: [u8; 4] = *b"SWR1";
/// Magic, payload length, CRC.
pub(super) const RECORD_HEADER_LEN: usize = 12;
/// The payload starts with the LSN; the encoded batch follows it.
pub(super) const LSN_LEN: usize = 8;
pub(super) const BATCH_OFFSET: usize = RECORD_HEADER_LEN + LSN_LEN;
/// The largest payload a record may have. Larger lengths in a header are damage.
pub const MAX_PAYLOAD: usize = 256 << 20;

const CHECKPOINT_MAGIC: [u8; 8] = *b"SIFTREL\0";
/// One slot of the checkpoint: magic, LSN, CRC.
pub(super) const CHECKPOINT_SLOT_LEN: usize = 20;
/// The checkpoint file: two slots, written in turn in place (a sift before them wrote one).
pub(super) const CHECKPOINT_LEN: usize = 2 * CHECKPOINT_SLOT_LEN;
pub(super) const CHECKPOINT_NAME: &str = "released";

/// `000000000042.wal`: the file whose first record will be (or is) LSN 42.
pub(super) fn file_name(first: Lsn) -> String {
    format!("{first:012}.wal")
}

pub(super) fn file_path(dir: &Path, first: Lsn) -> PathBuf {
    dir.join(file_name(first))
}

/// The first LSN a WAL file's name gives, or `None` for any other file.
pub(super) fn parse_file_name(name: &str) -> Option<Lsn> {
    let digits = name.strip_suffix(".wal")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub(super) fn file_header() -> [u8; FILE_HEADER_LEN] {
    let mut header = [0; FILE_HEADER_LEN];
    header[..8].copy_from_slice(&FILE_MAGIC);
    header[8..12].copy_from_slice(&FILE_VERSION.to_le_bytes());
    header
}

/// What the first bytes of a WAL file say.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Header {
    Valid,
    /// Shorter than a header but what is there is right: a crash while the file was created.
    Torn,
    /// The right magic and a version this sift does not know.
    Newer(u32),
    Invalid,
}

pub(super) fn check_file_header(bytes: &[u8]) -> Header {
    let expected = file_header();
    let Some(header) = bytes.get(..FILE_HEADER_LEN) else {
        return if expected.starts_with(bytes) { Header::Torn } else { Header::Invalid };
    };
    if header[..8] != FILE_MAGIC {
        return Header::Invalid;
    }
    match u32::from_le_bytes([header[8], header[9], header[10], header[11]]) {
        FILE_VERSION if header[12..] == [0; 4] => Header::Valid,
        FILE_VERSION => Header::Invalid,
        version => Header::Newer(version),
    }
}

/// A record as the appending thread prepares it: header and LSN left blank, the batch
/// encoded after them, and the batch's CRC computed, so that the writer thread only has to
/// fill in the LSN.
pub(super) struct Unsealed {
    pub bytes: Vec<u8>,
    pub batch_crc: u32,
}

/// Writes `lsn`, the length and the CRC into a record prepared as [`Unsealed`].
/// The CRC (CRC32C) covers the magic, the length and the whole payload.
pub(super) fn seal(record: &mut Unsealed, lsn: Lsn) {
    let bytes = &mut record.bytes;
    let payload_len = (bytes.len() - RECORD_HEADER_LEN) as u32;
    bytes[..4].copy_from_slice(&RECORD_MAGIC);
    bytes[4..8].copy_from_slice(&payload_len.to_le_bytes());
    bytes[RECORD_HEADER_LEN..BATCH_OFFSET].copy_from_slice(&lsn.to_le_bytes());
    let head = crc32c::crc32c_append(crc32c::crc32c(&bytes[..8]), &bytes[RECORD_HEADER_LEN..BATCH_OFFSET]);
    let crc = super::crc::combine(head, record.batch_crc, bytes.len() - BATCH_OFFSET);
    bytes[8..12].copy_from_slice(&crc.to_le_bytes());
}

/// One step of reading records from a file's bytes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Frame {
    /// A whole record whose CRC matches; the batch is `bytes[batch.0..batch.1]`.
    Record {
        lsn: Lsn,
        batch: (usize, usize),
        end: usize,
    },
    /// The end of the file, exactly at a record boundary.
    End,
    /// The file ends inside a record.
    Torn,
    Corrupt(Corruption),
}

/// Why a record is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corruption {
    BadFileHeader,
    BadMagic,
    BadLength,
    BadChecksum,
    LsnOutOfOrder,
    BadBatch(crate::codec::CodecError),
}

impl std::fmt::Display for Corruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Corruption::BadFileHeader => f.write_str("not a WAL file header"),
            Corruption::BadMagic => f.write_str("no record magic"),
            Corruption::BadLength => f.write_str("impossible record length"),
            Corruption::BadChecksum => f.write_str("checksum mismatch"),
            Corruption::LsnOutOfOrder => f.write_str("record LSN not after the previous one"),
            Corruption::BadBatch(error) => write!(f, "checksum matches but the batch does not decode: {error}"),
        }
    }
}

/// Reads the record at `pos` of a file's bytes. Never panics, whatever the bytes.
pub(super) fn read_frame(bytes: &[u8], pos: usize) -> Frame {
    let rest = bytes.get(pos..).unwrap_or_default();
    if rest.is_empty() {
        return Frame::End;
    }
    let Some((header, after)) = rest.split_first_chunk::<RECORD_HEADER_LEN>() else {
        let torn = (rest.len() < 4 && RECORD_MAGIC.starts_with(rest)) || rest.starts_with(&RECORD_MAGIC);
        return if torn { Frame::Torn } else { Frame::Corrupt(Corruption::BadMagic) };
    };
    if header[..4] != RECORD_MAGIC {
        return Frame::Corrupt(Corruption::BadMagic);
    }
    let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    if !(LSN_LEN..=MAX_PAYLOAD).contains(&len) {
        return Frame::Corrupt(Corruption::BadLength);
    }
    let Some(payload) = after.get(..len) else {
        return Frame::Torn;
    };
    let stored = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if crc32c::crc32c_append(crc32c::crc32c(&header[..8]), payload) != stored {
        return Frame::Corrupt(Corruption::BadChecksum);
    }
    let mut lsn = [0; LSN_LEN];
    lsn.copy_from_slice(&payload[..LSN_LEN]);
    let start = pos + BATCH_OFFSET;
    let end = pos + RECORD_HEADER_LEN + len;
    Frame::Record { lsn: Lsn::from_le_bytes(lsn), batch: (start, end), end }
}

/// One checkpoint slot's bytes: everything through `lsn` is released.
pub(super) fn checkpoint_slot(lsn: Lsn) -> [u8; CHECKPOINT_SLOT_LEN] {
    let mut bytes = [0; CHECKPOINT_SLOT_LEN];
    bytes[..8].copy_from_slice(&CHECKPOINT_MAGIC);
    bytes[8..16].copy_from_slice(&lsn.to_le_bytes());
    let crc = crc32c::crc32c(&bytes[..16]);
    bytes[16..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// What a checkpoint file says: the highest LSN among its valid slots, and which slot holds
/// it; `None` when no slot is valid. A file of one slot is what a sift before two wrote.
pub(super) fn parse_checkpoint(bytes: &[u8]) -> Option<(Lsn, usize)> {
    if bytes.len() != CHECKPOINT_SLOT_LEN && bytes.len() != CHECKPOINT_LEN {
        return None;
    }
    let slots = bytes.chunks_exact(CHECKPOINT_SLOT_LEN).enumerate();
    slots.filter_map(|(slot, bytes)| parse_slot(bytes).map(|lsn| (lsn, slot))).max()
}

fn parse_slot(bytes: &[u8]) -> Option<Lsn> {
    let crc = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    if bytes[..8] != CHECKPOINT_MAGIC || crc32c::crc32c(&bytes[..16]) != crc {
        return None;
    }
    let mut lsn = [0; 8];
    lsn.copy_from_slice(&bytes[8..16]);
    Some(Lsn::from_le_bytes(lsn))
}
