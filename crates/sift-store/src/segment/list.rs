//! Finding the segments under a directory at start: every `*.parquet` file is described from its
//! footer alone; leftover temporary files of an interrupted write are deleted, and so are the
//! inputs of a merge that a crash stopped after the merged file was in place (`compact`);
//! files that are not readable segments are reported and left alone.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use parquet::file::metadata::{KeyValue, ParquetMetaDataReader};
use rayon::prelude::*;
use sift_core::Timestamp;
use ulid::Ulid;

use super::schema::SCHEMA_VERSION;
use super::{SegmentError, SegmentMeta, key};

/// What [`list_segments`] found.
#[derive(Debug, Default)]
pub struct Listing {
    /// The readable segments, by `min_time` then path.
    pub segments: Vec<SegmentMeta>,
    /// Temporary files of interrupted writes, deleted.
    pub removed: Vec<PathBuf>,
    /// Files that a merged file in place holds all of (its merge stopped before it deleted
    /// them), deleted.
    pub merged: Vec<PathBuf>,
    /// `.parquet` files that are not readable segments (truncated, foreign, garbage), with
    /// why; they are neither used nor deleted.
    pub broken: Vec<SegmentError>,
}

/// Finds every finished segment under `dir` (the `segments` directory; none if it does not
/// exist), reading only footers. Deletes the temporary files of interrupted writes, so call it
/// when no [`write_segment`](super::write_segment) runs on `dir`: at start.
pub fn list_segments(dir: &Path) -> Result<Listing, SegmentError> {
    let mut files = Vec::new();
    let mut listing = Listing::default();
    walk(dir, &mut files, &mut listing.removed)?;
    let read: Vec<Result<(SegmentMeta, Vec<PathBuf>), SegmentError>> =
        files.par_iter().map(|path| read_meta(path)).collect();
    let mut merged_away = HashSet::new();
    for result in read {
        match result {
            Ok((meta, inputs)) => {
                merged_away.extend(inputs);
                listing.segments.push(meta);
            }
            Err(error) => listing.broken.push(error),
        }
    }
    // A merged file is in place only once it is complete: the inputs it names are finished.
    let (merged, kept) = std::mem::take(&mut listing.segments).into_iter().partition(|s| merged_away.contains(&s.path));
    listing.segments = kept;
    for input in merged {
        let input: SegmentMeta = input;
        // Left out of the listing either way: the merged file holds its events. One that
        // cannot be deleted now is found again, and tried again, at the next start.
        if fs::remove_file(&input.path).is_ok() {
            listing.merged.push(input.path);
        }
    }
    listing.segments.sort_by(|a, b| (a.min_time, &a.path).cmp(&(b.min_time, &b.path)));
    Ok(listing)
}

/// Collects the `.parquet` files under `dir` and deletes the temporary ones.
fn walk(dir: &Path, files: &mut Vec<PathBuf>, removed: &mut Vec<PathBuf>) -> Result<(), SegmentError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(SegmentError::io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(SegmentError::io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(SegmentError::io(&path))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if kind.is_dir() {
            walk(&path, files, removed)?;
        } else if name.starts_with('.') && name.ends_with(".parquet.tmp") {
            fs::remove_file(&path).map_err(SegmentError::io(&path))?;
            removed.push(path);
        } else if kind.is_file() && name.ends_with(".parquet") && !name.starts_with('.') {
            files.push(path);
        }
    }
    Ok(())
}

/// The description of one segment, from its footer, and the files it merged, if any.
fn read_meta(path: &Path) -> Result<(SegmentMeta, Vec<PathBuf>), SegmentError> {
    let file = File::open(path).map_err(SegmentError::io(path))?;
    let bytes = file.metadata().map_err(SegmentError::io(path))?.len();
    let metadata = ParquetMetaDataReader::new().parse_and_finish(&file).map_err(SegmentError::parquet(path))?;
    let kv = metadata.file_metadata().key_value_metadata().map_or(&[][..], Vec::as_slice);
    let get =
        |k: &str| find(kv, k).ok_or_else(|| SegmentError::invalid(path, format!("no {k} in the key-value metadata")));
    let version = get(key::SCHEMA_VERSION)?;
    if version != SCHEMA_VERSION {
        return Err(SegmentError::invalid(path, format!("schema version {version}, expected {SCHEMA_VERSION}")));
    }
    let time = |k: &str| -> Result<Timestamp, SegmentError> {
        get(k)?.parse().map(Timestamp).map_err(|_| SegmentError::invalid(path, format!("bad {k}")))
    };
    let id = |k: &str| -> Result<Ulid, SegmentError> {
        Ulid::from_string(get(k)?).map_err(|_| SegmentError::invalid(path, format!("bad {k}")))
    };
    let folder = path.parent().unwrap_or(Path::new(""));
    let merged_from = find(kv, key::MERGED_FROM).map_or(Vec::new(), |names| {
        // Names alone, beside the merged file: nothing else is ever deleted for it.
        let name = |n: &&str| !n.is_empty() && !n.contains('/') && n.ends_with(".parquet") && !n.starts_with('.');
        names.split(',').filter(name).map(|n| folder.join(n)).filter(|input| input != path).collect()
    });
    let meta = SegmentMeta {
        path: path.to_owned(),
        min_time: time(key::MIN_TIME)?,
        max_time: time(key::MAX_TIME)?,
        min_id: id(key::MIN_ID)?,
        max_id: id(key::MAX_ID)?,
        rows: u64::try_from(metadata.file_metadata().num_rows()).unwrap_or(0),
        bytes,
        class: get(key::CLASS)?.to_owned(),
        wal_through: find(kv, key::WAL_THROUGH).and_then(|lsn| lsn.parse().ok()),
    };
    Ok((meta, merged_from))
}

/// The value of key `k`.
pub(super) fn find<'a>(kv: &'a [KeyValue], k: &str) -> Option<&'a str> {
    kv.iter().find(|entry| entry.key == k).and_then(|entry| entry.value.as_deref())
}
