//! Round trips with every field set, the string table, and decoding of cut, flipped and random
//! bytes, which must give an error and never a panic.

use std::sync::Arc;

use serde_json::json;
use sift_core::{Event, Fields, Severity, Source, Str, Timestamp};

use super::*;

fn full_event(n: u64) -> Event {
    let mut event = Event::new(Source::SyslogTcp, Timestamp::from_micros(1_700_000_000_000_000), "");
    event.id = ulid::Ulid::from_parts(1_700_000_000_000 + n, u128::from(n) << 64 | 0xdead_beef);
    event.time = Timestamp::from_micros(1_700_000_000_123_456 + n as i64 * 17);
    event.received_at = Timestamp::from_micros(1_700_000_000_200_000 - n as i64);
    event.channel = Str::from("payments");
    event.host = Some(Str::from("web-1"));
    event.app = Some(Str::from("checkout"));
    event.version = Some(Str::from("1.4.2"));
    event.proc = Some(Str::from("4242"));
    event.msgid = Some(Str::from("ID47"));
    event.severity = Severity::Warning;
    event.facility = Some(23);
    event.kind = Some(Str::from("login_failed"));
    event.message = format!("user @bob failed #login {n} times — ünïcödé ✓");
    event.module = Some(Str::from("auth"));
    event.function = Some(Str::from("check/2"));
    event.line = Some(u32::MAX);
    event.tags = vec![Str::from("a"), Str::from("b"), Str::from("a")];
    event.topics = vec![Str::from("login")];
    event.identities = vec![Str::from("bob"), Str::from("web-1")];
    event.fingerprint = Some(Str::from("0123456789abcdef"));
    let json = json!({
        "z_first": 1,
        "execution_time": 0.1 + 0.2,
        "neg": -42,
        "min": i64::MIN,
        "max": u64::MAX,
        "tiny": 5e-324,
        "minus_zero": -0.0,
        "flag": true,
        "off": false,
        "nothing": null,
        "text": "quoted \" and \n newline",
        "list": [1, "two", [3.5, {"deep": {"deeper": []}}], {}],
        "sd@32473": {"iut": "3", "eventSource": "Application"},
    });
    let serde_json::Value::Object(fields) = json else { unreachable!("an object literal") };
    event.fields = fields;
    event
}

fn round_trip(events: &[Event]) -> Vec<Event> {
    let mut bytes = Vec::new();
    encode_batch(events, &mut bytes);
    match decode_batch(&bytes) {
        Ok(decoded) => decoded,
        Err(error) => panic!("decoding what was just encoded: {error}"),
    }
}

/// Equality that also checks key order and float bits in `fields`.
fn assert_same(left: &[Event], right: &[Event]) {
    assert_eq!(left, right);
    for (l, r) in left.iter().zip(right) {
        let l_text = serde_json::to_string(&l.fields).unwrap_or_default();
        let r_text = serde_json::to_string(&r.fields).unwrap_or_default();
        assert_eq!(l_text, r_text);
    }
}

#[test]
fn every_field_round_trips() {
    let events: Vec<Event> = (0..5).map(full_event).collect();
    assert_same(&round_trip(&events), &events);
}

#[test]
fn minimal_and_extreme_events_round_trip() {
    let mut events = vec![Event::new(Source::Internal, Timestamp::from_micros(0), "")];
    for (i, source) in Source::ALL.into_iter().enumerate() {
        let mut event = Event::new(source, Timestamp::from_micros(-1), "x");
        event.severity = Severity::ALL[i % 8];
        event.facility = Some(0);
        event.line = Some(0);
        events.push(event);
    }
    let mut extreme = Event::new(Source::Otlp, Timestamp::MAX, "extreme");
    extreme.time = Timestamp::MIN;
    extreme.id = ulid::Ulid(u128::MAX);
    events.push(extreme);
    let mut back = Event::new(Source::Otlp, Timestamp::MIN, "back");
    back.time = Timestamp::MAX;
    events.push(back);
    assert_same(&round_trip(&events), &events);
    assert_same(&round_trip(&[]), &[]);
}

#[test]
fn repeated_strings_are_written_once_and_shared_when_decoded() {
    let events: Vec<Event> = (0..100).map(full_event).collect();
    let mut bytes = Vec::new();
    encode_batch(&events, &mut bytes);
    let count = |needle: &[u8]| bytes.windows(needle.len()).filter(|w| *w == needle).count();
    // Strings in the table are written once; messages and string values in fields each time.
    for once in ["payments", "checkout", "login_failed", "check/2", "0123456789abcdef", "execution_time", "eventSource"]
    {
        assert_eq!(count(once.as_bytes()), 1, "{once}");
    }
    assert_eq!(count(b"Application"), 100);

    let decoded = round_trip(&events);
    let hosts: Vec<&Str> = decoded.iter().filter_map(|e| e.host.as_ref()).collect();
    assert!(hosts.windows(2).all(|w| Arc::ptr_eq(w[0], w[1])));
    // Equal strings in different fields share too.
    let first = &decoded[0];
    assert!(Arc::ptr_eq(first.host.as_ref().map_or(&first.channel, |h| h), &first.identities[1]));
}

#[test]
fn strings_equal_but_not_shared_are_deduplicated_too() {
    let mut a = Event::new(Source::HttpJson, Timestamp::from_micros(1), "a");
    a.host = Some(Str::from("same-host"));
    let mut b = a.clone();
    b.host = Some(Str::from("same-host"));
    let mut bytes = Vec::new();
    encode_batch(&[a.clone(), b.clone()], &mut bytes);
    assert_eq!(bytes.windows(9).filter(|w| w == b"same-host").count(), 1);
    assert_same(&round_trip(&[a.clone(), b.clone()]), &[a, b]);
}

#[test]
fn encode_appends_to_what_is_there() {
    let mut bytes = b"prefix".to_vec();
    encode_batch(&[full_event(1)], &mut bytes);
    assert_eq!(&bytes[..6], b"prefix");
    assert!(decode_batch(&bytes[6..]).is_ok());
}

fn error(bytes: &[u8]) -> String {
    match decode_batch(bytes) {
        Ok(events) => format!("ok: {} events", events.len()),
        Err(error) => error.to_string(),
    }
}

#[test]
fn precise_errors() {
    let mut good = Vec::new();
    encode_batch(&[full_event(1)], &mut good);
    let mut trailing = good.clone();
    trailing.push(0);
    expect_test::expect![[r#"
        invalid event batch at byte 0: unexpected end of input
        invalid event batch at byte 0: unknown format version 2
        invalid event batch at byte 1: unexpected end of input
        ok: 0 events
        invalid event batch at byte 2: unexpected end of input
        invalid event batch at byte 10: varint longer than 64 bits
        invalid event batch at byte 462: bytes after the last event"#]]
    .assert_eq(
        &[
            error(b""),
            error(&[2]),
            error(&[1]),
            error(&[1, 0]),
            error(&[1, 1]),
            error(&[1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
            error(&trailing),
        ]
        .join("\n"),
    );
}

#[test]
fn fields_nested_beyond_the_limit_are_an_error_not_a_crash() {
    // An array nested 100 000 deep: 2 bytes per level.
    let mut bytes = Vec::new();
    encode_batch(&[Event::new(Source::Internal, Timestamp::from_micros(0), "")], &mut bytes);
    let fields_at = bytes.len() - 1; // the empty object's count
    bytes.truncate(fields_at);
    bytes.extend_from_slice(&[1, 1, 1, b'k']); // one field, a new key of one byte
    for _ in 0..100_000 {
        bytes.extend_from_slice(&[tag::ARRAY, 1]);
    }
    bytes.push(tag::NULL);
    let error = decode_batch(&bytes).err().map(|e| e.kind);
    assert_eq!(error, Some(CodecErrorKind::TooDeep));
}

#[test]
fn non_finite_floats_are_rejected() {
    let mut fields = Fields::new();
    fields.insert("f".into(), json!(1.5));
    let mut event = Event::new(Source::Internal, Timestamp::from_micros(0), "");
    event.fields = fields;
    let mut bytes = Vec::new();
    encode_batch(&[event], &mut bytes);
    let at = bytes.len() - 8;
    bytes[at..].copy_from_slice(&f64::NAN.to_le_bytes());
    assert_eq!(decode_batch(&bytes).err().map(|e| e.kind), Some(CodecErrorKind::BadNumber));
}

/// xorshift64*: reproducible noise without a dependency.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn mutated_input_never_panics() {
    let events: Vec<Event> = (0..3).map(full_event).collect();
    let mut good = Vec::new();
    encode_batch(&events, &mut good);
    // Every prefix is an error: the batch is cut.
    for cut in 0..good.len() {
        assert!(decode_batch(&good[..cut]).is_err(), "prefix of {cut} bytes decoded");
    }
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let mut bytes = good.clone();
        for _ in 0..1 + noise.below(4) {
            let at = noise.below(bytes.len());
            match noise.below(4) {
                0 => bytes[at] ^= 1 << noise.below(8),
                1 => bytes[at] = noise.next() as u8,
                2 => bytes.insert(at, noise.next() as u8),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        // A value or an error, never a panic; what decodes re-encodes to a valid batch.
        if let Ok(decoded) = decode_batch(&bytes) {
            assert_same(&round_trip(&decoded), &decoded);
        }
    }
    for _ in 0..20_000 {
        let len = noise.below(64);
        let mut bytes: Vec<u8> = (0..len).map(|_| noise.next() as u8).collect();
        if let Some(first) = bytes.first_mut() {
            *first = VERSION;
        }
        let _ = decode_batch(&bytes);
    }
}
