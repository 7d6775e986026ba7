//! `--protocol syslog-tcp|syslog-udp`: RFC 5424 messages as daemons send them, and the same
//! frames for Logplex.
//!
//! `<PRI>1 TIME HOST APP PROCID MSGID [bench@32473 run="RUN" sent_us="…"] MSG`, with a local
//! facility, the severity mix of every generator, and MSG filling the message to exactly
//! `--message-size` bytes (as syslog-ng's `loggen -s` counts them), so the whole message is
//! what is measured. The structured data names the run (the live tail follows
//! `fields.bench@32473.run:RUN`) and carries the send time. Over TCP each message is
//! octet-counted (`LEN SP MSG`, RFC 6587), as `loggen -P` and rsyslog send RFC 5424; over UDP
//! each is one datagram.

use rand::Rng;

use super::template::{Stamp, Template};
use super::text::{Sample, Words};

/// The structured-data id of the bench's parameters (32473 is the example enterprise number).
pub(super) const SD_ID: &str = "bench@32473";
/// The least message text a message keeps, whatever `--message-size` says.
const MIN_TEXT: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// `LEN SP MSG`: a TCP stream or a Logplex body.
    OctetCounted,
    /// The message alone: one UDP datagram.
    Bare,
}

/// The tail query that finds this run's syslog and Logplex events.
pub(super) fn tail_query(run: &str) -> String {
    format!("fields.{SD_ID}.run:{run}")
}

/// `events` messages of `size` bytes tagged with `run`. With `app`, every message has that
/// APP-NAME (Logplex puts the token there) and a dyno name as PROCID.
pub(super) fn generate(
    rng: &mut impl Rng,
    events: usize,
    size: usize,
    run: &str,
    framing: Framing,
    app: Option<&str>,
) -> Template {
    let mut template = Template::new(Stamp::Digits);
    let words = Words::new();
    // One time for the whole template: the events are a few seconds old when they arrive,
    // inside every retention and time window, and the server keeps them in order anyway.
    let time = format!("{:.6}", jiff::Timestamp::now());
    let mut message = String::with_capacity(size + 32);
    let mut head = String::with_capacity(160);
    for _ in 0..events {
        let sample = Sample::generate(rng);
        let facility = rng.gen_range(16..24u8);
        let pri = u32::from(facility) * 8 + u32::from(sample.severity.syslog());
        let procid = match app {
            Some(_) => format!("web.{}", rng.gen_range(1..5)),
            None => rng.gen_range(1000..40000).to_string(),
        };
        let msgid = ["-", "req", "audit", "job"][rng.gen_range(0..4)];
        head.clear();
        head.push_str(&format!(
            "<{pri}>1 {time} {} {} {procid} {msgid} [{SD_ID} run=\"{run}\" sent_us=\"",
            sample.host,
            app.unwrap_or(sample.app)
        ));
        let tail_start = "\"] ";
        let fixed = head.len() + Stamp::Digits.width() + tail_start.len();
        words.fill(rng, size.saturating_sub(fixed).max(MIN_TEXT), &mut message);
        if framing == Framing::OctetCounted {
            template.push(format!("{} ", fixed + message.len()).as_bytes());
        }
        template.push(head.as_bytes());
        template.push_stamp();
        template.push(tail_start.as_bytes());
        template.push(message.as_bytes());
        template.end_message();
    }
    template
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use sift_core::intern::Interner;
    use sift_core::syslog::{Frame, Framer};
    use sift_core::{Source, Timestamp};

    #[test]
    fn octet_counted_messages_parse_with_the_run_and_stamp() {
        let mut rng = StdRng::seed_from_u64(3);
        let template = generate(&mut rng, 20, 200, "abcdefghijklmnop", Framing::OctetCounted, None);
        let body = template.body(20, || 1_714_557_600_123_456);
        let mut framer = Framer::new(65536);
        let mut rest = &body[..];
        let mut seen = 0;
        while let Some((used, frame)) = framer.next_frame(rest) {
            let Frame::Message(message) = frame else { panic!("{frame:?}") };
            assert_eq!(message.len(), 200);
            let event =
                sift_core::syslog::parse(message, Source::SyslogTcp, Timestamp::now(), &mut Interner::default())
                    .unwrap();
            assert_eq!(event.fields[SD_ID]["run"], "abcdefghijklmnop");
            assert_eq!(event.fields[SD_ID]["sent_us"], "1714557600123456");
            rest = &rest[used..];
            seen += 1;
        }
        assert_eq!(seen, 20);
        assert!(rest.is_empty());
    }

    #[test]
    fn bare_messages_with_a_fixed_app() {
        let mut rng = StdRng::seed_from_u64(4);
        let template = generate(&mut rng, 3, 10, "r", Framing::Bare, Some("t.token"));
        let message = &template.bytes()[template.message(1)];
        let text = std::str::from_utf8(message).unwrap();
        assert!(text.starts_with('<') && text.contains(" t.token web."), "{text}");
        assert!(text.len() > 10, "a message keeps some text: {text}");
    }
}
