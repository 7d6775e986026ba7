//! The release checkpoint (`released`): the LSN through which every record is released, so
//! that replay skips those records. [`super::Wal::release_through`] writes it before it
//! deletes any file, so a crash in the middle of a release never leaves some records of a
//! flush round deleted and others replayed (docs/adr/0003-wal-format.md).
//!
//! The file has two slots of the same shape, written in turn in place: a release overwrites
//! the slot that does not hold the current checkpoint and syncs it. A write torn by a crash
//! damages only that slot, and the other still holds the checkpoint before; and an update
//! needs no free space, so a full disk still gets its space back from the files the release
//! deletes after it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::format::{self, CHECKPOINT_NAME, CHECKPOINT_SLOT_LEN};
use super::open::sync_dir;
use super::{Lsn, Op, WalError};
use crate::private;

pub(super) struct Checkpoint {
    /// Every record through this LSN is released.
    pub through: Lsn,
    /// The file in its two-slot shape, open to write in place; `None` until it could be made.
    file: Option<File>,
    /// The slot that holds `through`.
    slot: usize,
}

impl Checkpoint {
    /// Reads the checkpoint in `dir`, and whether the file was there but no slot of it was
    /// valid (then nothing counts as released). A file that is missing, damaged or in the
    /// one-slot shape of an earlier sift is made again in the two-slot shape, holding what
    /// was read, if it can be: otherwise the first release makes it.
    pub fn open(dir: &Path) -> Result<(Checkpoint, bool), WalError> {
        let path = dir.join(CHECKPOINT_NAME);
        let bytes = match fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(error) if error.kind() == io::ErrorKind::NotFound => None,
            Err(error) => return Err(WalError::io(Op::Read, &path, error)),
        };
        let parsed = bytes.as_deref().map(format::parse_checkpoint);
        let damaged = matches!(parsed, Some(None));
        let (through, slot) = parsed.flatten().unwrap_or((0, 0));
        let (file, slot) = match bytes {
            Some(bytes) if bytes.len() == format::CHECKPOINT_LEN && !damaged => {
                let file = OpenOptions::new().write(true).open(&path);
                (Some(file.map_err(|error| WalError::io(Op::Open, &path, error))?), slot)
            }
            _ => (create(dir, through).ok(), 0),
        };
        Ok((Checkpoint { through, file, slot }, damaged))
    }

    /// Records durably that every record through `lsn` is released.
    pub fn write(&mut self, dir: &Path, lsn: Lsn) -> Result<(), WalError> {
        match &self.file {
            Some(file) => {
                let path = dir.join(CHECKPOINT_NAME);
                let slot = 1 - self.slot;
                let offset = (slot * CHECKPOINT_SLOT_LEN) as u64;
                file.write_all_at(&format::checkpoint_slot(lsn), offset)
                    .map_err(|error| WalError::io(Op::Write, &path, error))?;
                file.sync_data().map_err(|error| WalError::io(Op::Sync, &path, error))?;
                self.slot = slot;
            }
            None => {
                self.file = Some(create(dir, lsn)?);
                self.slot = 0;
            }
        }
        self.through = lsn;
        Ok(())
    }
}

/// Makes the checkpoint file in its two-slot shape, `lsn` in both slots: written aside,
/// synced, renamed, the directory synced. Returns it open for writing in place.
pub(super) fn create(dir: &Path, lsn: Lsn) -> Result<File, WalError> {
    let path = dir.join(CHECKPOINT_NAME);
    let temporary = dir.join(format!("{CHECKPOINT_NAME}.tmp"));
    let io = |op, path: &Path, e| WalError::io(op, path, e);
    let mut file = private::create_file(OpenOptions::new().write(true).truncate(true), &temporary)
        .map_err(|e| io(Op::Create, &temporary, e))?;
    let slot = format::checkpoint_slot(lsn);
    file.write_all(&slot).and_then(|()| file.write_all(&slot)).map_err(|e| io(Op::Write, &temporary, e))?;
    file.sync_data().map_err(|e| io(Op::Sync, &temporary, e))?;
    fs::rename(&temporary, &path).map_err(|e| io(Op::Write, &path, e))?;
    sync_dir(dir)?;
    Ok(file)
}
