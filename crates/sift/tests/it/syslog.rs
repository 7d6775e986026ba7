//! Syslog over UDP and TCP with the clients people use: util-linux `logger` (RFC 5424 and
//! 3164, UDP and TCP, octet counting, structured data) and Python's `SysLogHandler`; and bad
//! input on a TCP connection, which is counted and never stops the connection or another.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Server, protocol_stats, protocol_stats_when, start_server, start_server_with, wait_for_events};

fn syslog_addr(server: &Server) -> SocketAddr {
    server.syslog.expect("the server announces its syslog listener")
}

/// Runs `logger` from util-linux against the server's syslog port, with `stdin` as the
/// messages when there is no message argument.
fn logger(server: &Server, args: &[&str], stdin: Option<&str>) {
    let addr = syslog_addr(server);
    let mut command = Command::new("logger");
    command.args(["-n", &addr.ip().to_string(), "-P", &addr.port().to_string()]).args(args);
    command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = command.spawn().expect("logger from util-linux is installed (scripts/test installs it)");
    if let Some(text) = stdin {
        child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write to logger");
    }
    let status = child.wait().expect("logger runs");
    assert!(status.success(), "logger {args:?} failed");
}

fn machine_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
    name.trim().split('.').next().unwrap_or_default().to_owned()
}

fn only_event(answer: &Value) -> &Value {
    let events = answer["events"].as_array().expect("events");
    assert_eq!(events.len(), 1, "{answer}");
    &events[0]
}

#[tokio::test]
async fn logger_rfc5424_over_udp_with_structured_data() {
    let server = start_server();
    logger(
        &server,
        &[
            "--udp",
            "--rfc5424",
            "-t",
            "billing",
            "-p",
            "local3.err",
            "--id=4242",
            "--msgid",
            "CHARGE",
            "--sd-id",
            "order@32473",
            "--sd-param",
            "id=\"42\"",
            "--sd-param",
            "currency=\"EUR\"",
            "charge failed for order 42",
        ],
        None,
    );
    let answer = wait_for_events(&server, "app:billing", 1).await;
    let event = only_event(&answer);
    assert_eq!(event["message"], "charge failed for order 42");
    assert_eq!(event["severity"], "error");
    assert_eq!(event["facility"], 19);
    assert_eq!(event["proc"], "4242");
    assert_eq!(event["msgid"], "CHARGE");
    assert_eq!(event["source"], "syslog_udp");
    assert_eq!(event["channel"], "default");
    assert_eq!(event["host"].as_str().unwrap_or_default().split('.').next(), Some(machine_name().as_str()));
    // Two SD elements: ours and the timeQuality logger adds.
    assert_eq!(event["fields"]["order@32473"], json!({"id": "42", "currency": "EUR"}));
    assert_eq!(event["fields"]["timeQuality"]["tzKnown"], "1");
}

#[tokio::test]
async fn logger_rfc3164_over_tcp_and_octet_counted_frames_on_one_connection() {
    let server = start_server_with("[syslog]\nchannel = \"devices\"\n");
    logger(&server, &["--tcp", "--rfc3164", "-t", "cron", "-p", "cron.warning", "job finished late"], None);
    let answer = wait_for_events(&server, "app:cron", 1).await;
    let event = only_event(&answer);
    assert_eq!(event["message"], "job finished late");
    assert_eq!(event["severity"], "warning");
    assert_eq!(event["facility"], 9);
    assert_eq!(event["source"], "syslog_tcp");
    assert_eq!(event["channel"], "devices");

    // logger sends each stdin line as a message, all on one connection.
    let lines = "first of three\nsecond of three\nthird of three\n";
    logger(&server, &["--tcp", "--octet-count", "--rfc5424", "-t", "batch", "-p", "user.info"], Some(lines));
    let answer = wait_for_events(&server, "app:batch", 3).await;
    let mut messages: Vec<&str> =
        answer["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap()).collect();
    messages.sort();
    assert_eq!(messages, ["first of three", "second of three", "third of three"]);
    let tcp = protocol_stats(&server, "syslog_tcp").await;
    assert_eq!(tcp["accepted"], 4, "{tcp}");
}

#[tokio::test]
async fn python_sysloghandler_over_udp_and_tcp() {
    let server = start_server();
    let script = r#"
import logging, logging.handlers, socket, sys
port = int(sys.argv[1])
for name, kind in (("udp", socket.SOCK_DGRAM), ("tcp", socket.SOCK_STREAM)):
    handler = logging.handlers.SysLogHandler(address=("127.0.0.1", port), facility="local0", socktype=kind)
    handler.setFormatter(logging.Formatter("pyapp[%(process)d]: %(message)s"))
    log = logging.getLogger(name)
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.error("python %s error", name)
    log.warning("python %s warning", name)
    handler.close()
"#;
    let port = syslog_addr(&server).port().to_string();
    let status = Command::new("python3").args(["-c", script, &port]).status().expect("python3 is installed");
    assert!(status.success());
    let answer = wait_for_events(&server, "app:pyapp", 4).await;
    let mut seen: Vec<String> = answer["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {} {} {}", e["source"], e["severity"], e["facility"], e["message"]))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            r#""syslog_tcp" "error" 16 "python tcp error""#,
            r#""syslog_tcp" "warning" 16 "python tcp warning""#,
            r#""syslog_udp" "error" 16 "python udp error""#,
            r#""syslog_udp" "warning" 16 "python udp warning""#,
        ]
    );
    assert!(answer["events"][0]["proc"].as_str().is_some_and(|p| p.parse::<u32>().is_ok()), "{answer}");
}

fn connect(server: &Server) -> TcpStream {
    let stream = TcpStream::connect(syslog_addr(server)).expect("connect to syslog TCP");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream
}

/// Waits until the server closes the connection (an end of stream, or a reset); false when
/// the read timeout passes first.
fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 256];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[tokio::test]
async fn bad_frames_are_counted_and_the_connection_goes_on() {
    let server = start_server_with("[syslog]\nmax_frame = \"1KiB\"\n");
    let mut bad = connect(&server);
    let mut good = connect(&server);
    bad.write_all(b"<999>1 - - - - - - bad priority\n").unwrap();
    bad.write_all(format!("<13>1 - host app - - - {}\n", "x".repeat(3000)).as_bytes()).unwrap();
    // Octet-counted, over the limit: kept cut to 1 KiB, the rest skipped.
    let long = format!("<13>1 - host app - - - {}", "y".repeat(5000));
    bad.write_all(format!("{} {long}", long.len()).as_bytes()).unwrap();
    good.write_all(b"<14>1 - host other - - - from the good client\n").unwrap();
    bad.write_all(b"<14>1 - host app - - - after the bad frames\n").unwrap();
    bad.flush().unwrap();

    let answer = wait_for_events(&server, "\"after the bad frames\"", 1).await;
    assert_eq!(only_event(&answer)["app"], "app");
    let answer = wait_for_events(&server, "\"from the good client\"", 1).await;
    assert_eq!(only_event(&answer)["app"], "other");
    let answer = wait_for_events(&server, "app:app", 3).await;
    let lengths: Vec<usize> =
        answer["events"].as_array().unwrap().iter().map(|e| e["message"].as_str().unwrap().len()).collect();
    assert!(lengths.iter().all(|&n| n <= 1024), "{lengths:?}");

    // A length of more than ten digits: the framing is lost, the connection is closed.
    bad.write_all(b"123456789012345 <13>1 - - - - - - lost\n").unwrap();
    assert!(closed_by_server(&mut bad));
    good.write_all(b"<14>1 - host other - - - still served\n").unwrap();
    wait_for_events(&server, "\"still served\"", 1).await;

    let tcp = protocol_stats_when(&server, "syslog_tcp", |tcp| tcp["connections"]["open"] == 1).await;
    assert_eq!(tcp["malformed"]["bad_pri"], 1, "{tcp}");
    assert_eq!(tcp["malformed"]["unrecoverable_framing"], 1, "{tcp}");
    assert_eq!(tcp["truncated"], 2, "{tcp}");
    assert_eq!(tcp["connections"]["closed"]["unrecoverable_framing"], 1, "{tcp}");
    assert_eq!(tcp["connections"]["open"], 1, "{tcp}");
}

#[tokio::test]
async fn connections_over_the_limit_and_idle_ones_are_closed_and_counted() {
    let server = start_server_with("[syslog]\nmax_connections = 2\nidle_timeout = \"1s\"\n");
    let mut first = connect(&server);
    let mut second = connect(&server);
    first.write_all(b"<14>one\n").unwrap();
    second.write_all(b"<14>two\n").unwrap();
    wait_for_events(&server, "one OR two", 2).await;
    let mut third = connect(&server);
    assert!(closed_by_server(&mut third), "a third connection is over the limit");
    // Both idle connections end after a second of silence.
    assert!(closed_by_server(&mut first));
    assert!(closed_by_server(&mut second));
    let tcp = protocol_stats_when(&server, "syslog_tcp", |tcp| tcp["connections"]["open"] == 0).await;
    assert_eq!(tcp["connections"]["closed"]["connection_limit"], 1, "{tcp}");
    assert_eq!(tcp["connections"]["closed"]["idle_timeout"], 2, "{tcp}");
    assert_eq!(tcp["connections"]["open"], 0, "{tcp}");
}

#[tokio::test]
async fn undecodable_datagrams_are_counted_by_reason() {
    let server = start_server();
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.send_to(b"<999>bad priority", syslog_addr(&server)).unwrap();
    socket.send_to(b"", syslog_addr(&server)).unwrap();
    socket.send_to(b"<14>fine", syslog_addr(&server)).unwrap();
    wait_for_events(&server, "fine", 1).await;
    let udp = protocol_stats_when(&server, "syslog_udp", |udp| udp["received"] == 3).await;
    assert_eq!(udp["received"], 3, "{udp}");
    assert_eq!(udp["accepted"], 1, "{udp}");
    assert_eq!(udp["malformed"]["bad_pri"], 1, "{udp}");
    assert_eq!(udp["malformed"]["empty"], 1, "{udp}");
}

#[tokio::test]
async fn two_thousand_connections_at_once_are_all_served() {
    const CLIENTS: usize = 2000;
    let server = start_server();
    // Every connection is opened before any sends, so all are open at the same time.
    let mut streams: Vec<TcpStream> = (0..CLIENTS).map(|_| connect(&server)).collect();
    for (i, stream) in streams.iter_mut().enumerate() {
        stream.write_all(format!("<14>1 - host crowd - - - hello from client {i}\n").as_bytes()).unwrap();
    }
    let tcp = protocol_stats_when(&server, "syslog_tcp", |tcp| tcp["accepted"] == CLIENTS).await;
    assert_eq!(tcp["accepted"], CLIENTS, "{tcp}");
    let (_, count) = crate::harness::get_json(&server, "/api/v1/count?q=app%3Acrowd").await;
    assert_eq!(count["count"], CLIENTS);
    let tcp = protocol_stats(&server, "syslog_tcp").await;
    assert_eq!(tcp["connections"]["open"], CLIENTS, "{tcp}");
    drop(streams);
    let tcp = protocol_stats_when(&server, "syslog_tcp", |tcp| tcp["connections"]["open"] == 0).await;
    assert_eq!(tcp["connections"]["closed"]["client_closed"], CLIENTS, "{tcp}");
}
