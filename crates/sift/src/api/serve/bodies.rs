//! The bodies that pass through the connection layer: a request body held to a pace
//! (`http.body_timeout`, `http.body_min_rate`), and an answer's body that keeps its request
//! open until hyper drops it and, for a stream, ends it when the server stops.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::WaitForCancellationFutureOwned;

use super::activity::{Activity, InFlight};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How fast a request body must come: whole by `grace` after the handler starts reading
/// it, plus one second per `min_rate` bytes received (Apache's `mod_reqtimeout` rule), so a
/// large body on a slow link passes and a trickle does not hold a connection for ever.
#[derive(Debug, Clone, Copy)]
pub struct BodyPace {
    pub grace: Duration,
    pub min_rate: u64,
}

impl BodyPace {
    fn deadline(&self, started: Instant, received: u64) -> Instant {
        let earned = Duration::from_micros(received.saturating_mul(1_000_000) / self.min_rate.max(1));
        started + self.grace + earned
    }
}

/// The error a body too slow ends with; the connection answers 408 in place of what the
/// handler made of it.
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived too slowly (http.body_min_rate)")]
pub struct TooSlow;

/// A request body that fails with [`TooSlow`] once it falls behind its [`BodyPace`], and
/// tells the connection when it is dropped before its end (so that closing lingers).
pub struct PacedBody<B: Body> {
    inner: B,
    pace: BodyPace,
    started: Option<Instant>,
    received: u64,
    /// Made the first time the body has to wait: a body that is all there never needs one.
    timer: Option<Pin<Box<Sleep>>>,
    too_slow: Arc<AtomicBool>,
    ended: bool,
    activity: Arc<Activity>,
}

impl<B: Body> PacedBody<B> {
    /// `too_slow` is set when the body gives up, for the connection to answer.
    pub fn new(inner: B, pace: BodyPace, too_slow: Arc<AtomicBool>, activity: Arc<Activity>) -> PacedBody<B> {
        PacedBody { inner, pace, started: None, received: 0, timer: None, too_slow, ended: false, activity }
    }
}

impl<B: Body> Drop for PacedBody<B> {
    fn drop(&mut self) {
        if !self.ended && !self.inner.is_end_stream() {
            self.activity.body_left_unread();
        }
    }
}

impl<B> Body for PacedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let started = *this.started.get_or_insert_with(Instant::now);
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => {
                this.ended = true;
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        let deadline = this.pace.deadline(started, this.received);
        let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        if timer.as_mut().poll(cx).is_ready() {
            this.too_slow.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(Box::new(TooSlow))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An answer's body: its request stays open (for the idle and header timeouts) until hyper
/// drops it, and a stream (`stop` given) ends cleanly when the server stops, so a stop never
/// waits for a tail's client to leave.
pub struct AnswerBody {
    inner: axum::body::Body,
    _open: InFlight,
    stop: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
}

impl AnswerBody {
    pub fn new(inner: axum::body::Body, open: InFlight, stop: Option<WaitForCancellationFutureOwned>) -> AnswerBody {
        AnswerBody { inner, _open: open, stop: stop.map(Box::pin) }
    }
}

impl Body for AnswerBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if let Some(stop) = &mut this.stop
            && stop.as_mut().poll(cx).is_ready()
        {
            // A stream that has a last word for a stop (a tail's `event: shutdown`) says it
            // now; one that has nothing ready is cut.
            return match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Ready(Some(frame)) => Poll::Ready(Some(frame)),
                _ => Poll::Ready(None),
            };
        }
        Pin::new(&mut this.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    const PACE: BodyPace = BodyPace { grace: Duration::from_secs(10), min_rate: 100 };

    /// A body sending `chunk` bytes every `every`, `count` times.
    fn trickle(chunk: usize, every: Duration, count: usize) -> impl Body<Data = Bytes, Error = BoxError> + Unpin {
        let frames = futures_util::stream::unfold(0, move |sent| async move {
            if sent == count {
                return None;
            }
            tokio::time::sleep(every).await;
            Some((Ok::<_, BoxError>(Frame::data(Bytes::from(vec![b'a'; chunk]))), sent + 1))
        });
        StreamBody::new(Box::pin(frames))
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_at_the_rate_arrives_whole() {
        let too_slow = Arc::new(AtomicBool::new(false));
        // 100 bytes every 1.2 s: slower than 100 B/s, but the 10 s of grace cover the gap.
        let activity = Arc::new(Activity::default());
        let body = PacedBody::new(
            trickle(100, Duration::from_millis(1200), 20),
            PACE,
            Arc::clone(&too_slow),
            Arc::clone(&activity),
        );
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(bytes.len(), 2000);
        assert!(!too_slow.load(Ordering::Acquire));
        assert!(!activity.has_unread_body());
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_fails_when_it_falls_behind() {
        let too_slow = Arc::new(AtomicBool::new(false));
        // 10 bytes every 2 s: behind after 10 s of grace plus 0.1 s per 10 bytes.
        let activity = Arc::new(Activity::default());
        let body = PacedBody::new(
            trickle(10, Duration::from_secs(2), 1000),
            PACE,
            Arc::clone(&too_slow),
            Arc::clone(&activity),
        );
        let start = Instant::now();
        let error = body.collect().await.unwrap_err();
        assert!(activity.has_unread_body(), "a body given up on is left unread");
        assert!(error.is::<TooSlow>(), "{error}");
        assert!(too_slow.load(Ordering::Acquire));
        let took = Instant::now() - start;
        assert!(took > Duration::from_secs(10) && took < Duration::from_secs(13), "{took:?}");
    }
}
