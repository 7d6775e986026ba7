//! End-to-end latency through a live tail: before sending, the bench opens
//! `GET /api/v1/tail?q=QUERY&backlog=0` for its own run's events and waits for `ready`; every
//! event carries its send time (`..sent_us`), and the reader records arrival minus send time.
//! After the last send it waits until the tail has seen (or been told it dropped) every
//! accepted event, or until [`TAIL_SILENCE`] passes without one.

use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::watch;
use tokio::time::Instant;

use super::super::client::{Client, SseMessage, SseStream};
use super::super::tail::dropped_count;
use super::template::sent_stamp;
use super::{latency_histogram, now_us};

/// How long the tail may take to say `ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long, after the last send, the tail may go without an event before the run ends.
const TAIL_SILENCE: Duration = Duration::from_secs(5);

/// What the live tail saw.
pub(super) struct TailCounts {
    ready: bool,
    pub received: u64,
    pub dropped: u64,
    /// Events without a readable send time.
    unstamped: u64,
    /// Arrival minus send time, µs.
    pub latency: Histogram<u64>,
    /// Why the tail stopped before seeing every accepted event, if it did.
    stopped: Option<String>,
}

impl TailCounts {
    fn new() -> TailCounts {
        TailCounts { ready: false, received: 0, dropped: 0, unstamped: 0, latency: latency_histogram(), stopped: None }
    }

    /// Handles one message; `now` is read once per chunk, as its events arrived together.
    fn on_message(&mut self, message: SseMessage<'_>, now: &mut Option<u64>) {
        match message.event {
            "event" => {
                self.received += 1;
                match sent_stamp(message.data) {
                    Some(sent) => {
                        let now = *now.get_or_insert_with(now_us);
                        self.latency.saturating_record(now.saturating_sub(sent));
                    }
                    None => self.unstamped += 1,
                }
            }
            "dropped" => self.dropped += dropped_count(message.data).unwrap_or(0),
            "ready" => self.ready = true,
            _ => {}
        }
    }

    fn seen(&self) -> u64 {
        self.received + self.dropped
    }

    pub(super) fn problems(&self, accepted: u64) -> Vec<String> {
        let mut problems = Vec::new();
        if self.seen() < accepted {
            let why = self.stopped.as_deref().unwrap_or("it stopped");
            problems.push(format!(
                "the live tail accounted for {} of {accepted} accepted events ({} received, {} dropped): {why}",
                self.seen(),
                self.received,
                self.dropped
            ));
        }
        if self.unstamped > 0 {
            problems.push(format!("{} tail events had no readable send time", self.unstamped));
        }
        problems
    }
}

/// Opens the tail for `query` and waits for its `ready`.
pub(super) async fn open(client: &Client, query: &str) -> anyhow::Result<(SseStream, TailCounts)> {
    let mut stream = client.open_sse("/api/v1/tail", &[("q", query), ("backlog", "0")]).await?;
    let mut counts = TailCounts::new();
    let deadline = Instant::now() + READY_TIMEOUT;
    while !counts.ready {
        let mut now = None;
        let read = stream.read(|message| {
            counts.on_message(message, &mut now);
            anyhow::Ok(())
        });
        match tokio::time::timeout_at(deadline, read).await {
            Err(_) => anyhow::bail!("the live tail did not send `ready` within {} s", READY_TIMEOUT.as_secs()),
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => anyhow::bail!("the server ended the live tail before it was ready"),
            Ok(Err(error)) => return Err(error),
        }
    }
    Ok((stream, counts))
}

/// Reads the tail until it has accounted for `goal` events (known once sending is over), or
/// until it has been silent for [`TAIL_SILENCE`] after that.
pub(super) async fn follow(
    mut stream: SseStream,
    mut counts: TailCounts,
    mut goal: watch::Receiver<Option<u64>>,
) -> TailCounts {
    let mut last_event = Instant::now();
    loop {
        let target = *goal.borrow_and_update();
        if target.is_some_and(|target| counts.seen() >= target) {
            break;
        }
        let before = counts.seen();
        let mut now = None;
        let read = stream.read(|message| {
            counts.on_message(message, &mut now);
            anyhow::Ok(())
        });
        let result = match target {
            None => tokio::select! {
                result = read => result,
                changed = goal.changed() => match changed {
                    Ok(()) => continue,
                    Err(_) => break,
                },
            },
            Some(_) => match tokio::time::timeout_at(last_event + TAIL_SILENCE, read).await {
                Ok(result) => result,
                Err(_) => {
                    counts.stopped = Some(format!("no event came for {} s", TAIL_SILENCE.as_secs()));
                    break;
                }
            },
        };
        if counts.seen() > before {
            last_event = Instant::now();
        }
        match result {
            Ok(true) => {}
            Ok(false) => {
                counts.stopped = Some("the server ended the tail stream".to_owned());
                break;
            }
            Err(error) => {
                counts.stopped = Some(format!("reading the tail failed: {error:#}"));
                break;
            }
        }
    }
    counts
}
