//! Files and directories that only sift's own user can read: directories `0700`, files
//! `0600`. The mode is set explicitly once a file or directory is made, so the process's
//! umask neither widens it (a umask of 0) nor narrows it until sift cannot use its own files.
//! Everything in the data directory is made through here: the WAL, segments, the lock, the
//! state database and its key.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The mode of every directory sift makes.
pub const DIR_MODE: u32 = 0o700;
/// The mode of every file sift makes.
pub const FILE_MODE: u32 = 0o600;

/// Makes `dir` and every missing parent, each `0700`; a directory already there is left as
/// it is.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        create_dir_all(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => fs::set_permissions(dir, Permissions::from_mode(DIR_MODE)),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(error) => Err(error),
    }
}

/// Opens `path` as `options` say, creating it if missing; the file is `0600` afterwards,
/// whether it was made now or was there already.
pub fn create_file(options: &mut OpenOptions, path: &Path) -> io::Result<File> {
    let file = options.create(true).mode(FILE_MODE).open(path)?;
    file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    Ok(file)
}

/// Writes `bytes` into a new (or emptied) `0600` file at `path`.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    create_file(OpenOptions::new().write(true).truncate(true), path)?.write_all(bytes)
}

/// Makes an existing file `0600` (a file an earlier sift made with the umask's mode);
/// nothing when it is missing.
pub fn restrict(path: &Path) -> io::Result<()> {
    match fs::set_permissions(path, Permissions::from_mode(FILE_MODE)) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
