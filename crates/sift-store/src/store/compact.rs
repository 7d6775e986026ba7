//! Compaction in the store: a merge's files are swapped for the merged one in the view under
//! the tiers' lock, like a flush round's batches for its segments, so a query sees the inputs
//! or the merged file, never both and never neither (docs/adr/0016-segment-compaction.md).
//!
//! A view taken before the swap still reads the inputs, so they are deleted only once no such
//! view is left: every view holds the [`Lease`] current when it was taken, a swap starts a new
//! lease, and each lease keeps the one after it alive. So when the lease of a swap's time is
//! gone, every view older than the swap is gone too, and its inputs are deleted
//! ([`Store::delete_retired`]). Until then they are on disk but out of the view; a stop or a
//! crash meanwhile leaves them to the listing at the next start, which deletes the inputs of
//! every merged file in place.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak};

use sift_core::Timestamp;

use super::{Store, StoreError};
use crate::segment::{self, MergeStep, SegmentMeta};

/// What views taken since the last swap hold: while a lease is alive, the files retired after
/// it stay on disk. A lease keeps the next one alive, so an old view holds all later leases.
#[derive(Debug, Default)]
pub struct Lease {
    next: OnceLock<Arc<Lease>>,
}

/// Files merged away, out of the view, deleted once the lease of their swap is gone.
#[derive(Debug)]
pub(super) struct Retired {
    readers: Weak<Lease>,
    paths: Vec<PathBuf>,
}

/// What one merge did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Compacted {
    /// Files merged.
    pub inputs: usize,
    pub rows: u64,
    /// Their total size, and the merged file's.
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// A hook at each step of a merge (tests stop a merge there, as a crash would).
pub(super) type MergeHook = Arc<dyn Fn(MergeStep) + Send + Sync>;

impl Store {
    /// The groups of segment files to merge now: each retention class's files of each hour
    /// that ended [`segment::CLOSED_AFTER_MICROS`] before `now`, whose WAL records are
    /// released (see [`segment::compaction_plan`]).
    pub fn compaction_plan(&self, now: Timestamp) -> Vec<Vec<SegmentMeta>> {
        let released = self.wal.stats().released_through;
        let segments = Arc::clone(&self.lock_tiers().segments);
        segment::compaction_plan(&segments, now, released)
    }

    /// Merges one group of [`Store::compaction_plan`] into one file and swaps it for them in
    /// the view; `None` when a file of the group has left the view since (retention deleted
    /// it), and nothing changed. Blocking file I/O and CPU work: call it off the async runtime.
    pub fn compact(&self, group: &[SegmentMeta]) -> Result<Option<Compacted>, StoreError> {
        self.delete_retired();
        if group.len() < 2 || !self.all_in_view(group) {
            return Ok(None);
        }
        let hook = self.merge_hook.clone();
        let merged = segment::merge(group, &|step| {
            if let Some(hook) = &hook {
                hook(step);
            }
        })?;
        let compacted = Compacted {
            inputs: group.len(),
            rows: merged.rows,
            bytes_before: group.iter().map(|s| s.bytes).sum(),
            bytes_after: merged.bytes,
        };
        let merged_path = merged.path.clone();
        let swapped = {
            let mut tiers = self.lock_tiers();
            let inputs: HashSet<&Path> = group.iter().map(|s| s.path.as_path()).collect();
            let present = tiers.segments.iter().filter(|s| inputs.contains(s.path.as_path())).count() == inputs.len();
            if present {
                let mut segments: Vec<SegmentMeta> =
                    tiers.segments.iter().filter(|s| !inputs.contains(s.path.as_path())).cloned().collect();
                segments.push(merged);
                segments.sort_by(|a, b| (a.min_time, &a.path).cmp(&(b.min_time, &b.path)));
                tiers.segments = Arc::new(segments);
                let next = Arc::new(Lease::default());
                let old = std::mem::replace(&mut tiers.lease, Arc::clone(&next));
                let _ = old.next.set(next);
                let paths = group.iter().map(|s| s.path.clone()).collect();
                tiers.retired.push(Retired { readers: Arc::downgrade(&old), paths });
            }
            present
        };
        if !swapped {
            // Retention deleted an input meanwhile: the merged file would bring its events back.
            std::fs::remove_file(&merged_path)
                .map_err(|source| StoreError::Remove { path: merged_path.clone(), source })?;
            return Ok(None);
        }
        self.delete_retired();
        Ok(Some(compacted))
    }

    /// Deletes the files merged away that no view reads any more; returns how many.
    pub fn delete_retired(&self) -> usize {
        let free: Vec<Retired> = {
            let mut tiers = self.lock_tiers();
            let (free, held) =
                std::mem::take(&mut tiers.retired).into_iter().partition(|r| r.readers.strong_count() == 0);
            tiers.retired = held;
            free
        };
        let mut deleted = 0;
        for path in free.into_iter().flat_map(|retired| retired.paths) {
            // One that cannot be deleted is out of the view; the next start deletes it (the
            // merged file names it).
            if std::fs::remove_file(&path).is_ok() {
                deleted += 1;
            }
        }
        deleted
    }

    fn all_in_view(&self, group: &[SegmentMeta]) -> bool {
        let segments = Arc::clone(&self.lock_tiers().segments);
        let inputs: HashSet<&Path> = group.iter().map(|s| s.path.as_path()).collect();
        segments.iter().filter(|s| inputs.contains(s.path.as_path())).count() == inputs.len()
    }
}
