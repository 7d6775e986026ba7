//! `sift user add` as a person runs it: at a real terminal (a pseudo-terminal driven by
//! `terminal.py`), the password typed twice and never shown; and from a pipe, as scripts do.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::harness::{client, sift_binary, start_server_with};

/// Runs `sift user add alice` on a pseudo-terminal, typing each of `typed` at its prompt.
fn at_a_terminal(typed: &[&str]) -> Value {
    let prompts = ["password", "again: "];
    let steps: Vec<Value> = prompts.iter().zip(typed).map(|(p, t)| json!({"after": p, "type": t})).collect();
    let spec = json!({"argv": [sift_binary(), "user", "add", "alice"], "steps": steps});
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/terminal.py");
    let mut command = Command::new("python3");
    command.arg(script).arg(spec.to_string());
    command.env_remove("SIFT_NEW_PASSWORD");
    let output = command.output().expect("python3 is installed (scripts/test installs it)");
    assert!(output.status.success(), "terminal.py failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("terminal.py prints JSON")
}

/// Whether a server configured with `entry` lets alice in with `password`.
fn lets_in(entry: &str, password: &str) -> bool {
    let server = start_server_with(entry);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let status = runtime.block_on(async {
        let answer = client().get(server.url("/api/v1/stats")).basic_auth("alice", Some(password)).send().await;
        answer.expect("an answer").status().as_u16()
    });
    status == 200
}

/// The `[[auth.users]]` entry in what the terminal showed.
fn entry(screen: &str) -> String {
    let start = screen.find("[[auth.users]]").unwrap_or_else(|| panic!("no entry printed: {screen:?}"));
    screen[start..].replace("\r\n", "\n")
}

#[test]
fn r_user_add_asks_twice_without_echo() {
    let terminal = at_a_terminal(&["correct horse\r", "correct horse\r"]);
    let screen = terminal["screen"].as_str().expect("screen");
    assert_eq!(terminal["status"], 0, "{screen}");
    assert_eq!(terminal["echo_off"], json!([true, true]), "echo was on at a prompt: {screen:?}");
    assert!(!screen.contains("correct horse"), "the password was shown: {screen:?}");
    let entry = entry(screen);
    assert!(lets_in(&entry, "correct horse"), "the printed entry does not verify: {entry}");
    assert!(!lets_in(&entry, "wrong horse"));
}

#[test]
fn user_add_refuses_a_mismatch_and_an_empty_password() {
    let terminal = at_a_terminal(&["correct horse\r", "correct hose\r"]);
    let screen = terminal["screen"].as_str().expect("screen");
    assert_eq!(terminal["status"], 1, "{screen}");
    assert!(screen.contains("error: the two passwords differ"), "{screen:?}");
    assert!(!screen.contains("[[auth.users]]") && !screen.contains("correct ho"), "{screen:?}");

    let terminal = at_a_terminal(&["\r"]);
    let screen = terminal["screen"].as_str().expect("screen");
    assert_eq!(terminal["status"], 1, "{screen}");
    assert!(screen.contains("error: refusing an empty password"), "{screen:?}");
}

#[test]
fn user_add_reads_one_line_from_a_pipe() {
    let mut child = Command::new(sift_binary())
        .args(["user", "add", "alice"])
        .env_remove("SIFT_NEW_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sift");
    child.stdin.take().expect("stdin").write_all(b"from a pipe\nnot this\n").expect("write");
    let output = child.wait_with_output().expect("sift user add");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr, "", "nothing asked or shown for a pipe");
    assert!(lets_in(&stdout, "from a pipe"), "{stdout}");
}
