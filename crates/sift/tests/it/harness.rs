//! Starting a real server for a test: `sift serve` with every listener on port 0 and an
//! optional config file, the addresses read from its `listening <what> on ADDR` lines,
//! killed when the handle drops.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::Value;

pub struct Server {
    pub addr: std::net::SocketAddr,
    /// The syslog listener (UDP and TCP on one port), once the server has one.
    pub syslog: Option<std::net::SocketAddr>,
    /// The syslog over TLS listener, for a server with a certificate.
    pub syslog_tls: Option<std::net::SocketAddr>,
    /// The Popcorn UDP listener, once the server has one.
    pub popcorn: Option<std::net::SocketAddr>,
    /// Credentials the helpers below send, for a server with users.
    pub auth: Option<(String, String)>,
    pub child: Child,
    /// Holds the config file and data directory until the server is gone.
    _dir: tempfile::TempDir,
    pub config_path: PathBuf,
    /// Lines the server printed on stderr (its log), collected in the background.
    pub log: Arc<Log>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The URL of `path` on a server with a certificate for `localhost`.
    pub fn https_url(&self, path: &str) -> String {
        format!("https://localhost:{}{}", self.addr.port(), path)
    }

    /// Whether the process is still running (a crash or an out-of-memory end is not).
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The most resident memory the process has held since it started (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> u64 {
        self.proc_status_kib("VmHWM:") * 1024
    }

    /// The threads of the process now.
    pub fn threads(&self) -> u64 {
        self.proc_status_value("Threads:")
    }

    fn proc_status_kib(&self, key: &str) -> u64 {
        self.proc_status_value(key)
    }

    fn proc_status_value(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Stops the server as `kill -9` would: no flush, no goodbye.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for a server already told to stop to exit, and asserts it exited cleanly; fails
    /// the test if it is still running after 30 s (a stop that hangs).
    pub fn wait_for_exit(mut self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            match self.child.try_wait().expect("wait") {
                Some(status) => {
                    assert!(status.success(), "sift serve exited with {status}");
                    return;
                }
                None if std::time::Instant::now() > deadline => {
                    panic!("sift serve did not exit within 30 s of its stop")
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Stops the server with SIGTERM and waits for it to finish (a clean stop flushes).
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(sent.success());
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "sift serve exited with {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- sift serve log ---\n{}", self.log.text());
        }
    }
}

pub fn sift_binary() -> &'static str {
    env!("CARGO_BIN_EXE_sift")
}

/// A configuration that keeps events of any age: for tests whose events carry fixed dates
/// (the default retention of 30 days would hide them, as it should).
pub const KEEP_EVERYTHING: &str = "[retention]\ndefault = \"100000d\"\n";

/// A server with the embedded defaults (memory only, port 0).
pub fn start_server() -> Server {
    start_server_with("")
}

/// A server with this configuration file text.
pub fn start_server_with(config: &str) -> Server {
    try_start_server(config, &[]).unwrap_or_else(|output| panic!("sift serve did not start:\n{output}"))
}

/// Starts a server; on failure returns everything it printed.
pub fn try_start_server(config: &str, extra_args: &[&str]) -> Result<Server, String> {
    launch(config, extra_args, None, None)
}

/// A server that keeps its data in `data_dir` (not memory only), to be stopped and started
/// again on the same directory.
pub fn start_durable_server(data_dir: &std::path::Path, config: &str) -> Server {
    try_start_durable_server(data_dir, config).unwrap_or_else(|output| panic!("sift serve did not start:\n{output}"))
}

/// Starts a server that keeps its data in `data_dir`; on failure returns everything it printed.
pub fn try_start_durable_server(data_dir: &std::path::Path, config: &str) -> Result<Server, String> {
    launch(config, &[], Some(data_dir), None)
}

/// A server whose address space is limited to `bytes` (`setrlimit(RLIMIT_AS)`), so that an
/// input that would balloon its memory ends the process instead of the machine's other work;
/// `data_dir` keeps its data there (not memory only).
pub fn start_limited_server(config: &str, data_dir: Option<&std::path::Path>, bytes: u64) -> Server {
    launch(config, &[], data_dir, Some(bytes)).unwrap_or_else(|output| panic!("sift serve did not start:\n{output}"))
}

fn launch(
    config: &str,
    extra_args: &[&str],
    data_dir: Option<&std::path::Path>,
    address_space: Option<u64>,
) -> Result<Server, String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let config_path = dir.path().join("sift.toml");
    std::fs::write(&config_path, config).expect("write config");
    let mut command = Command::new(sift_binary());
    command
        .arg("serve")
        .arg("--config")
        .arg(&config_path)
        .arg("--data-dir")
        .arg(data_dir.map_or_else(|| dir.path().join("data"), |d| d.to_path_buf()))
        .args(if data_dir.is_some() { &[][..] } else { &["--memory-only"][..] })
        .args(if extra_args.contains(&"--http") { &[][..] } else { &["--http", "127.0.0.1:0"][..] })
        .args(if extra_args.contains(&"--syslog") { &[][..] } else { &["--syslog", "127.0.0.1:0"][..] })
        .args(if extra_args.contains(&"--popcorn") { &[][..] } else { &["--popcorn", "127.0.0.1:0"][..] })
        .args(extra_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars() {
        if key.starts_with("SIFT_") {
            command.env_remove(key);
        }
    }
    if let Some(bytes) = address_space {
        use std::os::unix::process::CommandExt;
        // SAFETY: setrlimit is async-signal-safe and touches nothing of the parent's.
        unsafe {
            command.pre_exec(move || {
                let limit = libc::rlimit { rlim_cur: bytes, rlim_max: bytes };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    let mut child = command.spawn().expect("spawn sift");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let log = Arc::new(Log::default());
    let sink = Arc::clone(&log);
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.push(line);
        }
    });
    let mut lines = BufReader::new(stdout).lines();
    let (mut syslog, mut syslog_tls, mut popcorn) = (None, None, None);
    let address = |text: &str| text.trim().parse::<std::net::SocketAddr>().expect("address");
    loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(addr) = line.strip_prefix("listening syslog on ") {
                    syslog = Some(address(addr));
                } else if let Some(addr) = line.strip_prefix("listening syslog-tls on ") {
                    syslog_tls = Some(address(addr));
                } else if let Some(addr) = line.strip_prefix("listening popcorn on ") {
                    popcorn = Some(address(addr));
                } else if let Some(addr) = line.strip_prefix("listening http on ") {
                    // HTTP is announced last, once every listener is up.
                    let addr = address(addr);
                    // Keep draining stdout so the server never blocks on a full pipe.
                    std::thread::spawn(move || for _ in lines {});
                    return Ok(Server {
                        addr,
                        syslog,
                        syslog_tls,
                        popcorn,
                        auth: None,
                        child,
                        _dir: dir,
                        config_path,
                        log,
                    });
                }
            }
            _ => {
                let _ = child.wait();
                // The process is gone, so its stderr ends and the reader finishes.
                let _ = reader.join();
                return Err(log.text());
            }
        }
    }
}

/// The server's log lines, with a way to wait for one.
#[derive(Default)]
pub struct Log {
    lines: Mutex<Vec<String>>,
    added: Condvar,
}

impl Log {
    fn push(&self, line: String) {
        self.lines.lock().unwrap().push(line);
        self.added.notify_all();
    }

    pub fn text(&self) -> String {
        self.lines.lock().map(|lines| lines.join("\n")).unwrap_or_default()
    }

    /// Waits (at most 30 s) until the log holds `count` lines containing `needle`.
    pub fn wait_for(&self, needle: &str, count: usize) -> bool {
        let lines = self.lines.lock().unwrap();
        let (lines, _) = self
            .added
            .wait_timeout_while(lines, Duration::from_secs(30), |lines| {
                lines.iter().filter(|l| l.contains(needle)).count() < count
            })
            .unwrap();
        lines.iter().filter(|l| l.contains(needle)).count() >= count
    }
}

/// Percent-encodes a query parameter value.
pub fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// Sends SIGHUP and waits until the server logs that it reloaded its rules.
pub fn reload_rules(server: &Server) {
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().expect("kill").success());
    assert!(
        server.log.wait_for("reloaded classification rules on SIGHUP", 1),
        "no reload logged:\n{}",
        server.log.text()
    );
}

pub fn client() -> reqwest::Client {
    // A bound on every request, so a server that never answers fails the test instead of hanging it.
    reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build().expect("client")
}

/// POSTs a body to /api/v1/events and returns the status and JSON answer.
pub async fn post_events(server: &Server, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = client()
        .post(server.url("/api/v1/events"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("post");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json answer"))
}

/// GETs a path and returns the status and JSON answer.
pub async fn get_json(server: &Server, path_and_query: &str) -> (u16, Value) {
    let mut request = client().get(server.url(path_and_query));
    if let Some((user, password)) = &server.auth {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await.expect("get");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json answer"))
}

/// The messages of a search answer, in order.
pub fn messages(answer: &Value) -> Vec<String> {
    answer["events"]
        .as_array()
        .expect("events array")
        .iter()
        .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The `[[auth.users]]` entry `sift user add` prints for this user.
pub fn user_entry(name: &str, password: &str) -> String {
    let output = Command::new(sift_binary())
        .args(["user", "add", name, "--password", password])
        .output()
        .expect("sift user add");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8")
}

/// Searches until at least `count` events match `query` (events sent over UDP or TCP
/// arrive a moment after the client is done) and returns that answer; fails the test when
/// they have not all come after 10 s. With `count` 0 it is one search.
pub async fn wait_for_events(server: &Server, query: &str, count: usize) -> Value {
    let path = format!("/api/v1/events?limit=1000&q={}", enc(query));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, answer) = get_json(server, &path).await;
        assert_eq!(status, 200, "{answer}");
        let found = answer["events"].as_array().map_or(0, Vec::len);
        if found >= count {
            return answer;
        }
        assert!(std::time::Instant::now() < deadline, "{found} of {count} events for {query:?} after 10 s: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The server's `/api/v1/stats` counters of one protocol (`syslog_tcp`, `logplex`, ...).
pub async fn protocol_stats(server: &Server, protocol: &str) -> Value {
    let (status, stats) = get_json(server, "/api/v1/stats").await;
    assert_eq!(status, 200);
    stats["protocols"][protocol].clone()
}

/// The counters of one protocol once `ready` holds for them (counters of work a client
/// cannot see finish, such as a connection's close, lag a moment), or after 10 s, for the
/// caller's assertions to say what differs.
pub async fn protocol_stats_when(server: &Server, protocol: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stats = protocol_stats(server, protocol).await;
        if ready(&stats) || std::time::Instant::now() > deadline {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
