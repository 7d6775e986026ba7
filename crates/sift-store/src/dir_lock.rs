//! The data directory's lock: one process at a time keeps its data in a directory.
//!
//! Two servers started on one data directory would both append to one WAL, each replaying
//! and releasing records the other wrote, and each deleting segment files the other is
//! reading: events acknowledged by one would be lost or stored twice. So the store takes an
//! exclusive advisory lock (`flock`) on `DATA_DIR/lock` before it touches anything else, and
//! holds it as long as it is open. The kernel drops the lock when the process ends, however
//! it ends (`kill -9` too), so a lock file left behind never keeps a later start out.
//! The file holds the holder's process id, for the error that a second start reports.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::private;

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "lock";

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "the data directory {dir} is in use by another sift{} (its lock is {dir}/{LOCK_FILE}); \
         stop that one, or give this one another --data-dir",
        holder.map(|pid| format!(" (process {pid})")).unwrap_or_default()
    )]
    InUse { dir: PathBuf, holder: Option<u32> },
    #[error("cannot lock the data directory with {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// An exclusive hold on a data directory, released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Locks `dir` (which must exist) for this process, or says who holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io { path: path.clone(), source };
        // Not truncated on open: until the lock is ours, the holder's pid must stay readable.
        let mut file =
            private::create_file(OpenOptions::new().read(true).write(true).truncate(false), &path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let holder = file.read_to_string(&mut text).ok().and_then(|_| text.trim().parse().ok());
                return Err(LockError::InUse { dir: dir.to_path_buf(), holder });
            }
            Err(TryLockError::Error(source)) => return Err(io(source)),
        }
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_hold_on_a_directory_is_refused_naming_the_holder_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        // flock conflicts between open files, so a second open in the same process stands for
        // a second server.
        let refused = DirLock::acquire(dir.path()).unwrap_err();
        assert!(
            matches!(&refused, LockError::InUse { holder: Some(pid), .. } if *pid == std::process::id()),
            "{refused:?}"
        );
        let message = refused.to_string();
        assert!(message.contains("in use by another sift") && message.contains("--data-dir"), "{message}");
        drop(first);
        DirLock::acquire(dir.path()).expect("free again once the holder let go");
    }

    #[test]
    fn a_lock_file_left_by_an_ended_holder_does_not_keep_a_start_out() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), "4242\n").unwrap();
        let _held = DirLock::acquire(dir.path()).expect("nobody holds the lock");
        let text = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        assert_eq!(text, format!("{}\n", std::process::id()));
    }
}
