//! The server's own log as an operator keeps it: standard error written to a file (no colour
//! escapes), as JSON lines, at the configured level, and `RUST_LOG` when no level is set.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::harness::sift_binary;

/// Runs `sift serve` (memory only, port 0) with configuration `config` and variables `env`,
/// its standard error written to a file; once it is listening, posts an event with an
/// unknown severity (logged as a warning), then stops it with SIGTERM. Returns the file.
fn server_log(config: &str, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config_path, log_path) = (dir.path().join("sift.toml"), dir.path().join("sift.log"));
    std::fs::write(&config_path, config).expect("write config");
    let mut command = Command::new(sift_binary());
    command.arg("serve").arg("--config").arg(&config_path).arg("--data-dir").arg(dir.path().join("data"));
    command.args(["--memory-only", "--http", "127.0.0.1:0", "--syslog", "127.0.0.1:0", "--popcorn", "127.0.0.1:0"]);
    for (key, _) in std::env::vars() {
        if key.starts_with("SIFT_") || key == "RUST_LOG" || key == "NO_COLOR" {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let mut child = command.stdout(Stdio::piped()).stderr(log_file).spawn().expect("spawn sift");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let addr = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("listening http on ").map(str::to_owned))
        .unwrap_or_else(|| panic!("sift serve did not start: {}", std::fs::read_to_string(&log_path).unwrap()));
    let posted = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &format!("http://{addr}/api/v1/events")])
        .args(["-d", r#"{"message":"m","severity":"loud"}"#])
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&posted.stdout), "400");
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill").success());
    assert!(child.wait().expect("wait").success());
    std::fs::read_to_string(&log_path).expect("read log")
}

#[test]
fn r_server_log_in_a_file_has_no_colour_escapes() {
    let log = server_log("", &[]);
    assert!(log.contains(" INFO ") && log.contains(" WARN ") && log.contains("stopped"), "{log}");
    assert!(!log.contains('\u{1b}'), "escape sequences in a log file: {log:?}");
}

#[test]
fn log_format_json_gives_one_object_per_line() {
    let log = server_log("", &[("SIFT_LOG_FORMAT", "json")]);
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: not JSON: {line:?}")))
        .collect();
    for line in &lines {
        assert!(line["level"].is_string() && line["message"].is_string() && line["timestamp"].is_string(), "{line}");
    }
    let rejected = lines.iter().find(|line| line["message"] == "rejected event").expect("the warning");
    assert_eq!((&rejected["level"], &rejected["reason"]), (&Value::from("WARN"), &Value::from("unknown_severity")));
    assert!(lines.iter().any(|line| line["level"] == "INFO" && line["message"] == "stopped"), "{log}");
}

#[test]
fn log_level_warn_hides_the_info_lines() {
    let log = server_log("[log]\nlevel = \"warn\"\n", &[]);
    assert!(log.contains(" WARN ") && log.contains("rejected event"), "warnings are kept: {log}");
    assert!(!log.contains(" INFO "), "info lines at level warn: {log}");
}

#[test]
fn rust_log_applies_where_no_level_is_configured() {
    let log = server_log("", &[("RUST_LOG", "warn")]);
    assert!(log.contains(" WARN ") && !log.contains(" INFO "), "{log}");
    let log = server_log("[log]\nlevel = \"info\"\n", &[("RUST_LOG", "warn")]);
    assert!(log.contains(" INFO "), "the configured level beats RUST_LOG: {log}");
    let log = server_log("", &[("RUST_LOG", "sift=[")]);
    assert!(log.contains(" INFO ") && log.contains("RUST_LOG ignored, logging at info"), "{log}");
}
