//! The README's `curl` examples, run as a newcomer runs them: every ```` ```sh ```` block of
//! README.md that uses `curl` is taken from the file and run by bash, in the README's order,
//! against one fresh server (`localhost:9125` replaced by its address, `sift` the built binary
//! with `SIFT_URL` pointing at it), with a `curl` that fails on an error status
//! (`--fail-with-body`). A block that follows a live stream (`curl -N`, `sift tail`) runs line
//! by line, each stream until its first event. So an example that stops working as written
//! (a bare `>` in a URL is refused with an empty 400) fails here.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{Server, sift_binary, start_server};

/// A ```` ```sh ```` block of the README and the line it starts on.
struct Block {
    line: usize,
    text: String,
}

impl Block {
    fn commands(&self) -> impl Iterator<Item = &str> {
        self.text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'))
    }

    /// Whether a command follows a live stream, which never ends by itself.
    fn streams(&self) -> bool {
        self.commands().any(is_stream)
    }

    /// The output the block shows in comments after a command (`# {"accepted":1,...}`), as
    /// pieces between `...`, which stands for anything.
    fn shown_output(&self) -> Vec<Vec<&str>> {
        let lines: Vec<&str> = self.text.lines().collect();
        let mut shown = Vec::new();
        for pair in lines.windows(2) {
            if let Some(output) = pair[1].strip_prefix("# ").filter(|_| !pair[0].starts_with('#')) {
                shown.push(output.split("...").collect());
            }
        }
        shown
    }
}

fn is_stream(command: &str) -> bool {
    command.starts_with("curl -N") || command.starts_with("sift tail")
}

/// The README's sh blocks that use curl, in order.
fn curl_blocks() -> Vec<Block> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README.md");
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in readme.lines().enumerate() {
        match (&mut open, line) {
            (None, "```sh") => open = Some(Block { line: i + 2, text: String::new() }),
            (Some(_), "```") => blocks.extend(open.take()),
            (Some(block), line) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks.into_iter().filter(|block| block.text.contains("curl ")).collect()
}

/// Runs the README's commands against one server.
struct Newcomer {
    server: Server,
    /// Holds the `curl` that fails on an error status, and is the working directory.
    dir: tempfile::TempDir,
}

impl Newcomer {
    fn new() -> Newcomer {
        let dir = tempfile::tempdir().expect("temp dir");
        let found = Command::new("bash").args(["-c", "command -v curl"]).output().expect("bash");
        let real = String::from_utf8(found.stdout).expect("utf-8");
        assert!(!real.trim().is_empty(), "curl is installed (scripts/test installs it)");
        let shim = dir.path().join("curl");
        std::fs::write(&shim, format!("#!/bin/sh\nexec {} --fail-with-body \"$@\"\n", real.trim())).expect("write");
        std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
        Newcomer { server: start_server(), dir }
    }

    /// bash running `script` as the README wrote it, but at this server.
    fn bash(&self, script: &str) -> Command {
        let script = script.replace("localhost:9125", &self.server.addr.to_string());
        let sift_dir = Path::new(sift_binary()).parent().expect("the binary's directory");
        let path = format!(
            "{}:{}:{}",
            self.dir.path().display(),
            sift_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new("bash");
        command.args(["-e", "-o", "pipefail", "-c", &script]).current_dir(self.dir.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("SIFT_") {
                command.env_remove(key);
            }
        }
        command.env("PATH", path).env("SIFT_URL", self.server.url("")).env("NO_COLOR", "1");
        command
    }

    /// Runs a block to its end; returns what it printed.
    fn run(&self, block: &Block) -> String {
        let output = self.bash(&block.text).output().expect("bash");
        let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "README line {}:\n{}failed: {stderr}{stdout}", block.line, block.text);
        stdout.into_owned()
    }

    /// Runs one streaming command until it prints an event (for `curl -N`, a `data:` line);
    /// returns that line.
    fn first_event(&self, command: &str) -> String {
        let mut child =
            self.bash(command).process_group(0).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("bash");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let wanted =
            |line: &String| if command.starts_with("curl") { line.starts_with("data: ") } else { !line.is_empty() };
        let found = loop {
            match lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) if wanted(&line) => break Some(line),
                Ok(_) => {}
                Err(_) => break None,
            }
        };
        // The stream and its shell, as Ctrl-C would end them.
        // SAFETY: kill has no memory effects; the group is the one this child leads.
        unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
        let output = child.wait_with_output().expect("wait");
        found.unwrap_or_else(|| {
            panic!("README: {command}\nprinted no event within 30 s: {}", String::from_utf8_lossy(&output.stderr))
        })
    }
}

#[test]
fn r_readme_curl_examples_work_as_written() {
    let blocks = curl_blocks();
    assert!(blocks.iter().any(|block| block.text.contains("curl -N")), "the README's live tail example is read");
    let newcomer = Newcomer::new();
    let mut events_seen = 0;
    for block in &blocks {
        if block.streams() {
            for command in block.commands() {
                if !is_stream(command) {
                    newcomer.run(&Block { line: block.line, text: command.to_owned() });
                    continue;
                }
                let line = newcomer.first_event(command);
                if let Some(data) = line.strip_prefix("data: ") {
                    let event: Value = serde_json::from_str(data).expect("an event as JSON");
                    assert_eq!(event["message"], "payment failed for @alice #checkout", "{command}");
                }
                events_seen += 1;
            }
            continue;
        }
        let stdout = newcomer.run(block);
        for pieces in block.shown_output() {
            let mut rest = stdout.as_str();
            for piece in pieces {
                let at = rest.find(piece).unwrap_or_else(|| {
                    panic!("README line {}: {piece:?} is not in what it printed:\n{stdout}", block.line)
                });
                rest = &rest[at + piece.len()..];
            }
        }
        events_seen += stdout.matches("\"identities\":[\"alice\"]").count();
    }
    assert!(events_seen >= 3, "the search and the tails found the first event {events_seen} times");
}
