"""Shared by the bench scripts: the release binary, free ports, starting and stopping a
server, its protocol counters, and installing the peers' Debian packages when run as root."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
SIFT = os.path.join(TARGET, "release", "sift")


def build():
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "sift"], cwd=ROOT, check=True)


def free_port():
    """A port free for TCP and UDP both (syslog takes both on one port)."""
    while True:
        with socket.socket(type=socket.SOCK_STREAM) as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


class Sift:
    """A release `sift serve`: durable in `data` (default config), or memory only; `env` adds
    `SIFT_*` settings. `start_seconds` is how long it took to print its listening lines."""

    def __init__(self, data=None, env=None):
        self.http_port, self.syslog_port, self.popcorn_port = free_port(), free_port(), free_port()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SIFT_")} | (env or {})
        storage = ["--data-dir", data] if data else ["--memory-only"]
        began = time.perf_counter()
        self.process = subprocess.Popen(
            [SIFT, "serve", *storage, "--http", f"127.0.0.1:{self.http_port}",
             "--syslog", f"127.0.0.1:{self.syslog_port}", "--popcorn", f"127.0.0.1:{self.popcorn_port}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment, text=True)
        # HTTP is announced last, once every listener is up.
        for line in self.process.stdout:
            if line.startswith("listening http on"):
                break
        else:
            sys.exit("sift serve did not start")
        self.start_seconds = time.perf_counter() - began
        self.url = f"http://127.0.0.1:{self.http_port}"

    def counters(self, protocol):
        with urllib.request.urlopen(self.url + "/api/v1/stats", timeout=60) as response:
            entry = json.loads(response.read())["protocols"][protocol]
        total = lambda v: sum(v.values()) if isinstance(v, dict) else v
        return {key: total(entry[key]) for key in ("received", "accepted", "malformed", "dropped")} | {
            "dropped_by_reason": entry["dropped"]}

    def stop(self):
        """SIGTERM: a clean stop flushes every event into segments."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=300)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def need(program, package):
    """The path of `program`, installing Debian's `package` first when root may."""
    path = shutil.which(program)
    if path:
        return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", package],
                       check=False, env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"})
        path = shutil.which(program)
    if not path:
        sys.exit(f"{program} is missing: install the Debian package {package} (apt-get install {package})")
    return path


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def sift_bench(*args):
    out = subprocess.run([SIFT, "bench", "--quiet", "--json", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def cpu_seconds(pid):
    """User + system CPU seconds of a process so far (from /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
