//! HTTPS and syslog over TLS with real clients (`curl`, `openssl s_client`), against a
//! certificate for `localhost` that a test CA made here signed; SIGHUP serving a new
//! certificate; what a plain HTTP client gets on the HTTPS port; and the messages of a
//! certificate that does not load and of listening beyond loopback in clear.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::Value;

use crate::harness::{Server, enc, start_server_with, try_start_server, user_entry};

/// A test CA and the files a server is configured with.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, "sift test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("CA");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).expect("write CA");
        Pki { ca, dir }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    fn key(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// Writes a server certificate for `localhost` and 127.0.0.1 named `name` (its common
    /// name), and its key, over the configured files.
    fn issue(&self, name: &str) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.signed_by(&key, &self.ca).expect("sign");
        std::fs::write(self.cert(), cert.pem()).expect("write cert");
        std::fs::write(self.key(), key.serialize_pem()).expect("write key");
    }

    /// A configuration serving these files over HTTPS and syslog over TLS (on port 0).
    fn config(&self) -> String {
        format!(
            "[http]\ntls_cert = {:?}\ntls_key = {:?}\n[syslog]\ntls_listen = \"127.0.0.1:0\"\n",
            self.cert().display(),
            self.key().display()
        )
    }
}

/// A server with a certificate named "sift one".
fn start_tls_server(pki: &Pki) -> Server {
    pki.issue("sift one");
    start_server_with(&pki.config())
}

/// Runs curl against the HTTPS server, trusting only the test CA; returns the body and
/// what `-w` wrote after it.
fn curl(pki: &Pki, args: &[&str]) -> (String, String) {
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "30", "--cacert"])
        .arg(pki.ca())
        .args(args)
        .args(["-w", "\n%{http_code} %{http_version}"])
        .output()
        .expect("curl runs");
    assert!(output.status.success(), "curl failed: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("status line");
    (body.to_owned(), status.to_owned())
}

/// The common name of the certificate served at `addr`, as `openssl s_client` sees it
/// (verified against the test CA).
fn served_name(pki: &Pki, addr: std::net::SocketAddr) -> String {
    let output = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &addr.to_string(),
            "-servername",
            "localhost",
            "-verify_return_error",
            "-CAfile",
        ])
        .arg(pki.ca())
        .stdin(Stdio::null())
        .output()
        .expect("openssl runs (scripts/test installs it)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "openssl s_client failed:\n{text}\n{}", String::from_utf8_lossy(&output.stderr));
    let subject = text.lines().find_map(|line| line.strip_prefix("subject=")).expect("a subject line");
    subject.rsplit("CN = ").next().or_else(|| subject.rsplit("CN=").next()).unwrap_or(subject).trim().to_owned()
}

#[test]
fn curl_posts_and_searches_over_https_with_http2() {
    let pki = Pki::new();
    let server = start_tls_server(&pki);
    let url = server.https_url("/api/v1/events");
    let (body, status) =
        curl(&pki, &["-H", "content-type: application/json", "-d", r#"{"message":"over https","app":"tls"}"#, &url]);
    assert_eq!(status, "200 2", "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["accepted"], 1, "{answer}");
    let (body, status) = curl(&pki, &[&server.https_url(&format!("/api/v1/events?q={}", enc("app:tls")))]);
    assert_eq!(status, "200 2", "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["events"][0]["message"], "over https", "{answer}");
    // HTTP/1.1 over TLS too.
    let (_, status) = curl(&pki, &["--http1.1", &server.https_url("/healthz")]);
    assert_eq!(status, "200 1.1");
}

#[test]
fn plain_http_to_the_https_port_is_answered_400_and_counted() {
    let pki = Pki::new();
    let server = start_tls_server(&pki);
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "30", "-w", "\n%{http_code}", &server.url("/healthz")])
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout);
    let (body, status) = text.rsplit_once('\n').expect("status");
    assert_eq!(status, "400", "{text}{}", String::from_utf8_lossy(&output.stderr));
    let answer: Value = serde_json::from_str(body).expect("a JSON error");
    assert!(answer["error"].as_str().is_some_and(|e| e.contains("https://")), "{answer}");
    assert_eq!(answer["detail"]["reason"], "not_tls");
    let (body, _) = curl(&pki, &[&server.https_url("/api/v1/stats")]);
    let stats: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(stats["http"]["connections"]["closed"]["not_tls"], 1, "{stats}");
}

#[tokio::test(flavor = "multi_thread")]
async fn syslog_over_tls_from_openssl_is_stored() {
    let pki = Pki::new();
    let server = start_tls_server(&pki);
    let addr = server.syslog_tls.expect("a syslog-tls line");
    // RFC 5425: octet-counted frames inside TLS.
    let frames: String = (1..=3)
        .map(|i| format!("<134>1 - web-1 billing - - - charged over tls {i}"))
        .map(|message| format!("{} {message}", message.len()))
        .collect();
    let mut openssl = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &addr.to_string(),
            "-servername",
            "localhost",
            "-verify_return_error",
            "-CAfile",
        ])
        .arg(pki.ca())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl runs (scripts/test installs it)");
    openssl.stdin.take().expect("stdin").write_all(frames.as_bytes()).expect("send frames");
    let output = openssl.wait_with_output().expect("openssl ends at the end of its input");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // Frames over TCP arrive a moment after the client is done: search until they are in.
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(pki.ca()).expect("CA")).expect("PEM"))
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("client");
    let url = server.https_url(&format!("/api/v1/events?q={}", enc("\"charged over tls\"")));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let answer = loop {
        let answer: Value = http.get(&url).send().await.expect("search").json().await.expect("JSON");
        if answer["events"].as_array().map_or(0, Vec::len) == 3 {
            break answer;
        }
        assert!(std::time::Instant::now() < deadline, "not all 3 frames found after 10 s: {answer}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let events = answer["events"].as_array().expect("events");
    assert!(events.iter().all(|e| e["app"] == "billing" && e["source"] == "syslog_tcp"), "{answer}");
}

#[test]
fn sighup_serves_a_new_certificate_to_the_next_connection_and_keeps_it_when_the_next_does_not_load() {
    let pki = Pki::new();
    let server = start_tls_server(&pki);
    let syslog_tls = server.syslog_tls.expect("syslog-tls");
    assert_eq!(served_name(&pki, server.addr), "sift one");
    assert_eq!(served_name(&pki, syslog_tls), "sift one");
    pki.issue("sift two");
    hangup(&server);
    assert!(server.log.wait_for("reloaded the TLS certificate on SIGHUP", 1), "{}", server.log.text());
    assert_eq!(served_name(&pki, server.addr), "sift two");
    assert_eq!(served_name(&pki, syslog_tls), "sift two");
    // A certificate that does not load is reported, and the one in force stays.
    std::fs::write(pki.cert(), "not a certificate").expect("write");
    hangup(&server);
    assert!(server.log.wait_for("configuration not reloaded", 1), "{}", server.log.text());
    assert!(server.log.text().contains("http.tls_cert"), "{}", server.log.text());
    assert_eq!(served_name(&pki, server.addr), "sift two");
}

fn hangup(server: &Server) {
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().expect("kill").success());
}

#[test]
fn a_certificate_that_does_not_load_fails_the_start_and_check_config() {
    let pki = Pki::new();
    pki.issue("sift one");
    let missing = pki.dir.path().join("missing.pem");
    let config = format!("[http]\ntls_cert = {:?}\ntls_key = {:?}\n", missing.display(), pki.key().display());
    let expected = format!("http.tls_cert: cannot read {}: No such file or directory", missing.display());
    let output = try_start_server(&config, &[]).err().expect("sift serve refuses to start");
    assert!(output.contains(&expected), "{output}");
    let file = pki.dir.path().join("sift.toml");
    std::fs::write(&file, &config).expect("write config");
    let check =
        Command::new(crate::harness::sift_binary()).arg("check-config").arg(&file).output().expect("check-config");
    assert!(!check.status.success());
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn listening_beyond_loopback_in_clear_is_warned_about() {
    let users = user_entry("alice", "correct horse");
    let clear = try_start_server(&users, &["--http", "0.0.0.0:0"]).expect("starts");
    let warning = "HTTP listens beyond loopback without TLS";
    assert!(clear.log.wait_for(warning, 1), "{}", clear.log.text());
    drop(clear);
    let pki = Pki::new();
    pki.issue("sift one");
    let tls = try_start_server(&format!("{}{users}", pki.config()), &["--http", "0.0.0.0:0"]).expect("starts");
    // Everything the server logged is in once its last line is.
    let log = std::sync::Arc::clone(&tls.log);
    tls.stop();
    assert!(log.wait_for("stopped", 1), "{}", log.text());
    assert!(!log.text().contains(warning), "{}", log.text());
}
