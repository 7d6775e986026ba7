//! `--protocol popcorn`: Popcorn v2 datagrams, one `Log_Message_Proto` each, as Erlang
//! services send them: node, role, version, a lager severity, module, function, line, an
//! Erlang pid, the time in µs, and a message of `--message-size` bytes.
//!
//! A Popcorn event has no free-form fields, so nothing in it can name the run or carry a send
//! time: runs over Popcorn measure throughput and loss, not end-to-end latency.

use rand::Rng;
use sift_core::popcorn::{self, LogMessage};

use super::template::{Stamp, Template};
use super::text::{Sample, Words};

const MODULES: &[(&str, &str)] =
    &[("cowboy_handler", "execute"), ("gen_server", "handle_call"), ("bench_worker", "handle_info")];

/// `events` datagrams.
pub(super) fn generate(rng: &mut impl Rng, events: usize, message_size: usize) -> Template {
    // The slot kind is never used: these messages have no slot.
    let mut template = Template::new(Stamp::Digits);
    let words = Words::new();
    let mut message = String::with_capacity(message_size + 32);
    let time = jiff::Timestamp::now().as_microsecond().to_string();
    for _ in 0..events {
        let sample = Sample::generate(rng);
        words.fill(rng, message_size, &mut message);
        let (module, function) = MODULES[rng.gen_range(0..MODULES.len())];
        let datagram = LogMessage {
            packet_version: Some(2),
            node: Some(format!("{}@10.0.3.17", sample.host).into_bytes()),
            node_role: Some(sample.app.into()),
            node_version: Some(b"2.4.1".to_vec()),
            severity: i32::try_from(sample.severity.lager()).ok(),
            message: Some(message.as_bytes().to_vec()),
            module: Some(module.into()),
            function: Some(function.into()),
            line: Some(rng.gen_range(20..900).to_string().into_bytes()),
            pid: Some(format!("<0.{}.0>", rng.gen_range(100..9000)).into_bytes()),
            timestamp: Some(time.as_bytes().to_vec()),
            client: None,
        };
        template.push(&popcorn::encode(&datagram));
        template.end_message();
    }
    template
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use sift_core::Timestamp;
    use sift_core::intern::Interner;

    #[test]
    fn datagrams_decode_as_v2() {
        let mut rng = StdRng::seed_from_u64(5);
        let template = generate(&mut rng, 10, 200);
        assert_eq!(template.len(), 10);
        assert_eq!(template.slots(), 0);
        for index in 0..10 {
            let datagram = &template.bytes()[template.message(index)];
            let event = popcorn::decode(datagram, Timestamp::now(), &mut Interner::default()).unwrap();
            assert_eq!(event.message.len(), 200);
            assert!(event.line.is_some() && event.host.is_some());
        }
    }
}
