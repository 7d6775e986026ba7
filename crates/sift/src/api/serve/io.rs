//! A connection's stream as hyper sees it: reads tell the connection's [`Activity`] that
//! bytes came, a write (or flush) that makes no progress for `http.send_timeout` fails the
//! connection, closing lingers (as nginx's lingering close does) when an answer came before
//! its request's body was read, so the client reads that answer instead of a reset, and the
//! connection's permit (its place under `http.max_connections`) lives here, so it is given
//! back only when the socket closes, even after an upgrade hands the stream to someone else.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use super::activity::{Activity, CloseReason};

/// Longest a close waits for the rest of a request body it will not read, and the most it
/// reads and throws away meanwhile (a client that sends its whole body before it reads the
/// answer, as Python's `urllib` does, reads it whole within four times `http.max_body`).
const LINGER_TIME: Duration = Duration::from_secs(5);
const LINGER_BYTES: usize = 64 << 20;
/// Bytes thrown away per poll before giving other tasks a turn.
const LINGER_SLICE: usize = 256 << 10;

pub struct Conn<S> {
    io: S,
    activity: Arc<Activity>,
    send_timeout: Duration,
    /// Running while a write waits: reset when one begins to wait, not polled otherwise.
    stall: Pin<Box<Sleep>>,
    stalled: bool,
    /// Once our side is shut: the bytes thrown away, and until when.
    linger: Option<(usize, Pin<Box<Sleep>>)>,
    _permit: OwnedSemaphorePermit,
}

impl<S> Conn<S> {
    pub fn new(io: S, activity: Arc<Activity>, send_timeout: Duration, permit: OwnedSemaphorePermit) -> Conn<S> {
        let stall = Box::pin(tokio::time::sleep(send_timeout));
        Conn { io, activity, send_timeout, stall, stalled: false, linger: None, _permit: permit }
    }

    /// What a write that returned `poll` means: progress ends a stall; waiting starts one or
    /// fails the write once it has lasted `send_timeout`.
    fn pace<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = false;
            return poll;
        }
        if !self.stalled {
            self.stalled = true;
            self.stall.as_mut().reset(Instant::now() + self.send_timeout);
        }
        ready!(self.stall.as_mut().poll(cx));
        self.activity.closing(CloseReason::SendTimeout);
        Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client took no data for http.send_timeout")))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Conn<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            this.activity.bytes_read();
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Conn<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.pace(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.pace(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.pace(cx, poll)
    }

    /// Shuts our side, then reads and throws away what the client still sends: what is
    /// already there, and while a body was left unread, what comes within [`LINGER_TIME`]
    /// (up to [`LINGER_BYTES`]), so closing with unread bytes does not reset the answer away.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.linger.is_none() {
            let poll = Pin::new(&mut this.io).poll_shutdown(cx);
            ready!(this.pace(cx, poll))?;
            this.linger = Some((0, Box::pin(tokio::time::sleep(LINGER_TIME))));
        }
        let wait = this.activity.has_unread_body();
        let Some((discarded, until)) = &mut this.linger else { return Poll::Ready(Ok(())) };
        let mut buf = [0; 8 << 10];
        let mut slice = 0;
        loop {
            let mut read = ReadBuf::new(&mut buf);
            match Pin::new(&mut this.io).poll_read(cx, &mut read) {
                Poll::Ready(Ok(())) if !read.filled().is_empty() && *discarded < LINGER_BYTES => {
                    *discarded += read.filled().len();
                    slice += read.filled().len();
                    if slice >= LINGER_SLICE {
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                }
                Poll::Pending if wait && until.as_mut().poll(cx).is_pending() => return Poll::Pending,
                // The client's end, an error, or enough: close.
                _ => return Poll::Ready(Ok(())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn permit() -> OwnedSemaphorePermit {
        Arc::new(tokio::sync::Semaphore::new(1)).try_acquire_owned().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_nobody_takes_fails_after_the_send_timeout() {
        let (client, server) = tokio::io::duplex(16);
        let activity = Arc::new(Activity::default());
        let mut conn = Conn::new(server, Arc::clone(&activity), Duration::from_secs(5), permit());
        let start = Instant::now();
        let error = conn.write_all(&[0; 64]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(Instant::now() - start, Duration::from_secs(5));
        assert_eq!(activity.reason(), Some(CloseReason::SendTimeout));
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_reader_that_keeps_taking_is_not_cut_off() {
        let (mut client, server) = tokio::io::duplex(16);
        let activity = Arc::new(Activity::default());
        let mut conn = Conn::new(server, Arc::clone(&activity), Duration::from_secs(5), permit());
        let reader = tokio::spawn(async move {
            let mut buf = [0; 16];
            let mut total = 0;
            while total < 256 {
                tokio::time::sleep(Duration::from_secs(4)).await;
                total += client.read(&mut buf).await.unwrap();
            }
            total
        });
        conn.write_all(&[0; 256]).await.unwrap();
        drop(conn);
        assert_eq!(reader.await.unwrap(), 256);
        assert_eq!(activity.reason(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn closing_lingers_only_for_an_unread_body() {
        let (client, server) = tokio::io::duplex(1024);
        let activity = Arc::new(Activity::default());
        let mut conn = Conn::new(server, Arc::clone(&activity), Duration::from_secs(5), permit());
        let start = Instant::now();
        conn.shutdown().await.unwrap();
        assert_eq!(Instant::now(), start, "nothing to wait for");
        drop(client);

        let (mut client, server) = tokio::io::duplex(1024);
        activity.body_left_unread();
        let mut conn = Conn::new(server, Arc::clone(&activity), Duration::from_secs(5), permit());
        client.write_all(b"the rest of a body").await.unwrap();
        let closing = tokio::spawn(async move { conn.shutdown().await });
        // The client reads our answer's end, sends more, then closes: the close waited for it.
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        client.write_all(b"more of it").await.unwrap();
        drop(client);
        closing.await.unwrap().unwrap();
        assert!(Instant::now() - start < LINGER_TIME);

        let (_client, server) = tokio::io::duplex(1024);
        let mut conn = Conn::new(server, Arc::clone(&activity), Duration::from_secs(5), permit());
        let start = Instant::now();
        conn.shutdown().await.unwrap();
        assert_eq!(Instant::now() - start, LINGER_TIME, "a client that neither sends nor closes is waited for so long");
    }

    #[tokio::test]
    async fn reads_are_activity() {
        let (mut client, server) = tokio::io::duplex(16);
        let activity = Arc::new(Activity::default());
        let mut conn = Conn::new(server, Arc::clone(&activity), Duration::from_secs(5), permit());
        client.write_all(b"GET").await.unwrap();
        let mut buf = [0; 3];
        assert!(!activity.head_started());
        conn.read_exact(&mut buf).await.unwrap();
        assert!(activity.head_started());
    }
}
