//! A connection's stream as hyper sees it: reads tell the connection's [`Activity`] that
//! bytes came, a write (or flush) that makes no progress for `http.send_timeout` fails the
//! connection, and the connection's permit (its place under `http.max_connections`) lives
//! here, so it is given back only when the socket closes, even after an upgrade hands the
//! stream to someone else.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use super::activity::{Activity, CloseReason};

pub struct Conn<S> {
    io: S,
    activity: Arc<Activity>,
    send_timeout: Duration,
    /// Running while a write waits: reset when one begins to wait, not polled otherwise.
    stall: Pin<Box<Sleep>>,
    stalled: bool,
    _permit: OwnedSemaphorePermit,
}

impl<S> Conn<S> {
    pub fn new(io: S, activity: Arc<Activity>, send_timeout: Duration, permit: OwnedSemaphorePermit) -> Conn<S> {
        let stall = Box::pin(tokio::time::sleep(send_timeout));
        Conn { io, activity, send_timeout, stall, stalled: false, _permit: permit }
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

impl<S: AsyncWrite + Unpin> AsyncWrite for Conn<S> {
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

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.pace(cx, poll)
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
