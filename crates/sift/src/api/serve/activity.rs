//! What one HTTP connection is doing, seen from outside hyper: how many of its requests are
//! open (from the service's call until the answer's body is dropped, so a stream the client
//! reads is open for as long as it lasts), whether bytes of a next request have arrived,
//! and why it is closing. The [`Watcher`] turns that into the header and idle timeouts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

pub use crate::observe::CloseReason;

/// Shared by the connection's IO, its service, the answers' bodies and its watcher.
#[derive(Default)]
pub struct Activity {
    /// Requests called and not yet answered in full.
    open: AtomicUsize,
    /// Requests called since the connection opened.
    calls: AtomicU64,
    /// Bytes arrived while no request was open: the head of a next request is on its way.
    head: AtomicBool,
    /// The first reason given for closing, as `CloseReason as u8` (0: none yet).
    reason: AtomicU8,
    /// A request's body was left unread (an answer came first): closing lingers.
    unread: AtomicBool,
    changed: Notify,
}

impl Activity {
    /// A request begins; it is open until the guard drops (with the answer's body).
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.head.store(false, Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::AcqRel);
        self.open.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_one();
        InFlight(Arc::clone(self))
    }

    /// Bytes came in from the client.
    pub fn bytes_read(&self) {
        if self.open.load(Ordering::Acquire) == 0 && !self.head.swap(true, Ordering::Relaxed) {
            self.changed.notify_one();
        }
    }

    /// Records why the connection is closing, unless a reason was given before.
    pub fn closing(&self, reason: CloseReason) {
        let _ = self.reason.compare_exchange(0, reason as u8, Ordering::AcqRel, Ordering::Acquire);
    }

    pub fn reason(&self) -> Option<CloseReason> {
        CloseReason::from_u8(self.reason.load(Ordering::Acquire))
    }

    /// A request was answered before its body was read to the end.
    pub fn body_left_unread(&self) {
        self.unread.store(true, Ordering::Release);
    }

    pub fn has_unread_body(&self) -> bool {
        self.unread.load(Ordering::Acquire)
    }

    #[cfg(test)]
    pub fn head_started(&self) -> bool {
        self.head.load(Ordering::Relaxed)
    }
}

/// An open request; dropping it closes the request.
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.changed.notify_one();
        }
    }
}

/// Watches a connection for the waits it must not exceed while no request is open: the
/// first request's headers within `header_timeout` of connecting, a later request's headers
/// within `header_timeout` of their first byte, and the next request within `idle_timeout`
/// of the last answer. While a request is open (its body being read, its answer written or
/// streamed) the body and send limits apply instead.
pub struct Watcher {
    activity: Arc<Activity>,
    header_timeout: Duration,
    idle_timeout: Duration,
    connected: Instant,
    /// Requests called when last looked: a change means requests came and went unseen.
    calls: u64,
    idle_since: Option<Instant>,
    head_since: Option<Instant>,
}

impl Watcher {
    pub fn new(
        activity: Arc<Activity>,
        connected: Instant,
        header_timeout: Duration,
        idle_timeout: Duration,
    ) -> Watcher {
        Watcher {
            activity,
            header_timeout,
            idle_timeout,
            connected,
            calls: 0,
            idle_since: Some(connected),
            head_since: None,
        }
    }

    /// Waits until the connection has waited too long; says which wait. Cancel-safe: what it
    /// has seen is kept in `self`.
    pub async fn overstayed(&mut self) -> CloseReason {
        loop {
            let deadline = self.look(Instant::now());
            // A change between the look and here leaves a permit: `notified` sees it.
            let notified = self.activity.changed.notified();
            match deadline {
                None => notified.await,
                Some((at, reason)) => tokio::select! {
                    () = notified => {}
                    () = tokio::time::sleep_until(at) => return reason,
                },
            }
        }
    }

    /// Notes what changed since the last look; returns the deadline that applies now.
    fn look(&mut self, now: Instant) -> Option<(Instant, CloseReason)> {
        // Read before `open`: a request called after this is seen at the next look.
        let calls = self.activity.calls.load(Ordering::Acquire);
        if calls != self.calls {
            self.calls = calls;
            self.idle_since = None;
            self.head_since = None;
        }
        if self.activity.open.load(Ordering::Acquire) > 0 {
            self.idle_since = None;
            self.head_since = None;
            return None;
        }
        let idle_since = *self.idle_since.get_or_insert(now);
        if self.activity.head.load(Ordering::Relaxed) && self.head_since.is_none() {
            self.head_since = Some(now);
        }
        let fresh = self.calls == 0;
        Some(match (fresh, self.head_since) {
            (true, _) => (self.connected + self.header_timeout, CloseReason::HeaderTimeout),
            (false, Some(head)) => (head + self.header_timeout, CloseReason::HeaderTimeout),
            (false, None) => (idle_since + self.idle_timeout, CloseReason::IdleTimeout),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(60);

    fn watcher() -> (Arc<Activity>, Watcher, Instant) {
        let activity = Arc::new(Activity::default());
        let start = Instant::now();
        (Arc::clone(&activity), Watcher::new(activity, start, HEADER, IDLE), start)
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_new_connection_has_the_header_timeout() {
        let (_activity, mut watcher, start) = watcher();
        assert_eq!(watcher.overstayed().await, CloseReason::HeaderTimeout);
        assert_eq!(Instant::now() - start, HEADER);
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_request_trickled_has_the_header_timeout_from_connecting() {
        let (activity, mut watcher, start) = watcher();
        tokio::time::advance(Duration::from_secs(5)).await;
        activity.bytes_read();
        assert_eq!(watcher.overstayed().await, CloseReason::HeaderTimeout);
        assert_eq!(Instant::now() - start, HEADER);
    }

    #[tokio::test(start_paused = true)]
    async fn after_an_answer_the_idle_timeout_applies_then_the_header_timeout_once_bytes_come() {
        let (activity, mut watcher, _) = watcher();
        let request = activity.begin();
        tokio::time::advance(Duration::from_secs(100)).await;
        // An open request never overstays here: its body and answer have their own limits.
        assert!(watcher.look(Instant::now()).is_none());
        drop(request);
        let answered = Instant::now();
        let idle = tokio::spawn(async move {
            let reason = watcher.overstayed().await;
            (reason, watcher)
        });
        let (reason, mut watcher) = idle.await.unwrap();
        assert_eq!((reason, Instant::now() - answered), (CloseReason::IdleTimeout, IDLE));

        let request = activity.begin();
        assert!(watcher.look(Instant::now()).is_none());
        drop(request);
        watcher.look(Instant::now());
        tokio::time::advance(Duration::from_secs(30)).await;
        activity.bytes_read();
        let head = Instant::now();
        assert_eq!(watcher.overstayed().await, CloseReason::HeaderTimeout);
        assert_eq!(Instant::now() - head, HEADER);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_come_and_go_between_looks() {
        let (activity, mut watcher, _) = watcher();
        tokio::time::advance(Duration::from_secs(5)).await;
        // Answered before the watcher looked: the connection is no longer new, but idle.
        drop(activity.begin());
        let answered = Instant::now();
        assert_eq!(watcher.overstayed().await, CloseReason::IdleTimeout);
        assert_eq!(Instant::now() - answered, IDLE);
    }

    #[test]
    fn the_first_reason_stays() {
        let activity = Activity::default();
        assert_eq!(activity.reason(), None);
        activity.closing(CloseReason::BodyTimeout);
        activity.closing(CloseReason::ServerStopped);
        assert_eq!(activity.reason(), Some(CloseReason::BodyTimeout));
        for reason in CloseReason::ALL {
            assert_eq!(CloseReason::from_u8(reason as u8), Some(reason));
        }
    }
}
