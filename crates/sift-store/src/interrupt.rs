//! When a scan must stop before its end: at a deadline, or when whoever asked for it no longer
//! waits for the answer (an HTTP client that went away). Every scan of the ring, of pending
//! batches read back from the WAL and of segments looks at its [`Interrupt`] every
//! [`CHECK_EVERY`] events, or sooner when their messages are long (an atomic load and a read
//! of the monotonic clock), and stops with [`Interrupted`], which says which of the two it was.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use sift_core::Event;

/// How many events a scan looks at between two looks at its interrupt, each KiB of a message
/// counting as one more event (the work of matching grows with it): often enough that a scan
/// stops within a second of its deadline even when each event costs the slowest regexes a
/// query may hold (a millisecond or so on a short message), rarely enough that the look costs
/// nothing next to the events (a tenth of a nanosecond per event).
pub const CHECK_EVERY: u32 = 256;

/// A scan's deadline and cancellation. Cloning it is cheap; clones share the cancellation.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    cancelled: Option<Arc<AtomicBool>>,
    deadline: Option<Instant>,
}

/// Why a scan stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Interrupted {
    #[error("the scan ran past its deadline")]
    TimedOut,
    #[error("the scan was cancelled: nobody waits for its answer")]
    Cancelled,
}

impl Interrupt {
    /// An interrupt that never fires: scans run to their end.
    pub fn never() -> Interrupt {
        Interrupt::default()
    }

    /// An interrupt that fires at `deadline`, or once the returned guard is dropped, whichever
    /// comes first. Keep the guard where dropping it means the answer is no longer wanted
    /// (in the future of the request that asked for the scan).
    pub fn new(deadline: Option<Instant>) -> (Interrupt, CancelOnDrop) {
        let cancelled = Arc::new(AtomicBool::new(false));
        (Interrupt { cancelled: Some(Arc::clone(&cancelled)), deadline }, CancelOnDrop(cancelled))
    }

    /// Whether the scan must stop now. A cancellation wins over a deadline that has passed too.
    #[inline]
    pub fn check(&self) -> Result<(), Interrupted> {
        if self.cancelled.as_ref().is_some_and(|cancelled| cancelled.load(Ordering::Relaxed)) {
            return Err(Interrupted::Cancelled);
        }
        if self.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Err(Interrupted::TimedOut);
        }
        Ok(())
    }

    /// A counter that looks at this interrupt every [`CHECK_EVERY`] events.
    pub(crate) fn every(&self) -> Every<'_> {
        Every { interrupt: self, left: CHECK_EVERY }
    }
}

/// Cancels its [`Interrupt`] when dropped.
#[derive(Debug)]
pub struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Counts the events of one scan (one thread's part of it) and looks at the interrupt every
/// [`CHECK_EVERY`] of them.
pub(crate) struct Every<'a> {
    interrupt: &'a Interrupt,
    left: u32,
}

impl Every<'_> {
    /// One more event.
    #[inline]
    pub(crate) fn tick(&mut self, event: &Event) -> Result<(), Interrupted> {
        let weight = 1 + (event.message.len() >> 10) as u32;
        match self.left.checked_sub(weight) {
            Some(left) if left > 0 => {
                self.left = left;
                Ok(())
            }
            _ => {
                self.left = CHECK_EVERY;
                self.interrupt.check()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_dropped_guard_cancels_and_a_passed_deadline_times_out() {
        assert_eq!(Interrupt::never().check(), Ok(()));
        let (interrupt, guard) = Interrupt::new(None);
        let clone = interrupt.clone();
        assert_eq!(clone.check(), Ok(()));
        drop(guard);
        assert_eq!(interrupt.check(), Err(Interrupted::Cancelled));
        assert_eq!(clone.check(), Err(Interrupted::Cancelled));

        let (passed, _guard) = Interrupt::new(Some(Instant::now()));
        assert_eq!(passed.check(), Err(Interrupted::TimedOut));
        let (later, guard) = Interrupt::new(Some(Instant::now() + Duration::from_secs(3600)));
        assert_eq!(later.check(), Ok(()));
        drop(guard);
        assert_eq!(later.check(), Err(Interrupted::Cancelled));
    }

    #[test]
    fn every_looks_once_per_check_every_events_or_sooner_for_long_messages() {
        let (interrupt, guard) = Interrupt::new(None);
        drop(guard);
        let short = Event::new(sift_core::Source::Internal, sift_core::Timestamp(0), "short");
        let mut every = interrupt.every();
        for _ in 1..CHECK_EVERY {
            assert_eq!(every.tick(&short), Ok(()));
        }
        assert_eq!(every.tick(&short), Err(Interrupted::Cancelled));
        let long = Event::new(sift_core::Source::Internal, sift_core::Timestamp(0), "x".repeat(64 << 10));
        let mut every = interrupt.every();
        for _ in 1..4 {
            assert_eq!(every.tick(&long), Ok(()));
        }
        assert_eq!(every.tick(&long), Err(Interrupted::Cancelled));
    }
}
