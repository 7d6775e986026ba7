#!/usr/bin/env python3
"""Syslog over TCP from syslog-ng's `loggen` into sift and into rsyslog, and sift's bytes on
disk per syslog event.

    python3 bench/syslog_tcp.py [--seconds 10] [--repeats 3] [--connections 1 10]

The same loggen stream (`loggen -i -S -P -s 200`: TCP, RFC 5424 octet-counted, 200-byte
messages, as fast as it goes, on 1 and on 10 connections) goes to:
- a release `sift serve` with a data directory and the default configuration (parsed,
  classified, stored durably: WAL, then Parquet segments); stored = `protocols.syslog_tcp.accepted`;
- `rsyslogd` with `imtcp` writing every message to a plain file (its own config and pid file in
  a temporary directory, nothing shared with a system rsyslog); stored = lines in the file.
Each rate is what was stored over a fixed interval after one second of warm-up, so neither
loggen's start nor its end counts. Runs alternate between the peers and the median is
reported, because these machines are noisy.

Then compression: loggen sends a fixed number of messages to a fresh durable sift, which is
stopped with SIGTERM (flushing everything into segments); the bytes of `segments/` per event
are compared with the 200 bytes of each syslog message sent (204 with its octet count). loggen
pads its messages with a repeated `PADD`, which flatters any compressor, so the same is
measured with `sift bench --protocol syslog-tcp` (messages of varied log words).

loggen comes from Debian's `syslog-ng-core`, which conflicts with the `rsyslog` package; as
root the script installs syslog-ng-core and unpacks rsyslog's package into a cache directory
instead of installing it (`apt-get download`, `dpkg-deb -x`). Prints Markdown rows for
BENCHMARKS.md.
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time

from common import Sift, build, dir_bytes, free_port, need, sift_bench

CACHE = os.path.join(os.path.expanduser("~"), ".cache", "sift-bench")
WARMUP = 1.0


def rsyslogd():
    """rsyslogd and its modules directory: installed, or unpacked from Debian's package."""
    import shutil
    installed = shutil.which("rsyslogd")
    if installed:
        return installed, None
    root = os.path.join(CACHE, "rsyslog")
    binary = os.path.join(root, "usr", "sbin", "rsyslogd")
    if not os.path.exists(binary):
        if os.geteuid() != 0:
            sys.exit("rsyslogd is missing: install rsyslog (it conflicts with syslog-ng-core, which has loggen), "
                     "or run this script as root to unpack it beside loggen")
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "libestr0", "libfastjson4",
                        "liblognorm5"], check=True, env=env, capture_output=True)
        os.makedirs(CACHE, exist_ok=True)
        with tempfile.TemporaryDirectory() as download:
            os.chmod(download, 0o777)  # apt's sandbox user writes the download
            subprocess.run(["apt-get", "download", "rsyslog"], cwd=download, check=True, capture_output=True)
            deb = glob.glob(os.path.join(download, "rsyslog_*.deb"))[0]
            subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    modules = glob.glob(os.path.join(root, "usr", "lib", "*", "rsyslog"))[0]
    return binary, modules


class Rsyslog:
    """rsyslogd in the foreground with imtcp on a free port and one omfile action (its default
    synchronous writing, or `asynchronous`: a writer thread with a 64 KiB buffer)."""

    def __init__(self, binary, modules, directory, asynchronous=False):
        self.port = free_port()
        self.file = os.path.join(directory, "messages.log")
        conf = os.path.join(directory, "rsyslog.conf")
        options = ' asyncWriting="on" ioBufferSize="64k" flushOnTXEnd="off"' if asynchronous else ""
        with open(conf, "w") as out:
            out.write(f'global(workDirectory="{directory}")\n'
                      f'module(load="imtcp" MaxSessions="1000")\n'
                      f'input(type="imtcp" port="{self.port}" address="127.0.0.1" ruleset="bench")\n'
                      f'ruleset(name="bench") {{ action(type="omfile" file="{self.file}"{options}) }}\n')
        command = [binary, "-n", "-f", conf, "-i", os.path.join(directory, "rsyslogd.pid")]
        if modules:
            command += ["-M", modules]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while not listening(self.port):
            if self.process.poll() is not None or time.time() > deadline:
                sys.exit(f"rsyslogd did not start: {self.process.stderr.read().decode() if self.process.poll() is not None else 'timeout'}")
            time.sleep(0.05)

    def stored_bytes(self):
        return os.path.getsize(self.file) if os.path.exists(self.file) else 0

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)


def listening(port):
    import socket
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def loggen_command(port, connections, seconds=None, count=None):
    command = ["loggen", "-i", "-S", "-P", "-s", "200", "-r", "100000000", "--active-connections", str(connections)]
    command += ["-I", str(seconds)] if seconds else ["-n", str(count)]
    return command + ["127.0.0.1", str(port)]


def measure(stored, port, connections, seconds):
    """Events a second stored over `seconds`, after the warm-up, while loggen sends."""
    loggen = subprocess.Popen(loggen_command(port, connections, seconds=int(WARMUP + seconds + 2)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(WARMUP)
    first, began = stored(), time.perf_counter()
    time.sleep(seconds)
    last, ended = stored(), time.perf_counter()
    _, report = loggen.communicate()
    sent = next((line.strip() for line in report.splitlines() if "average rate" in line), report.strip()[-200:])
    return (last - first) / (ended - began), sent


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--compression-events", type=int, default=2_000_000)
    args = parser.parse_args()
    need("loggen", "syslog-ng-core")
    binary, modules = rsyslogd()
    build()

    rows = []
    for connections in args.connections:
        sift_rates, rsyslog_rates, sent = [], [], []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory(prefix="sift-bench-") as data:
                server = Sift(data)
                try:
                    rate, loggen = measure(lambda: server.counters("syslog_tcp")["accepted"], server.syslog_port,
                                           connections, args.seconds)
                    sift_rates.append(rate)
                    sent.append(f"sift: {loggen}")
                finally:
                    server.kill()
            with tempfile.TemporaryDirectory(prefix="rsyslog-bench-") as directory:
                peer = Rsyslog(binary, modules, directory)
                try:
                    # Bytes per line from the file itself: the line format is rsyslog's.
                    rate, loggen = measure(peer.stored_bytes, peer.port, connections, args.seconds)
                    peer.stop()
                    with open(peer.file, "rb") as f:
                        size, lines = 0, 0
                        for block in iter(lambda: f.read(1 << 20), b""):
                            size += len(block)
                            lines += block.count(b"\n")
                    rsyslog_rates.append(rate / (size / max(lines, 1)))
                    sent.append(f"rsyslog: {loggen}")
                finally:
                    if peer.process.poll() is None:
                        peer.process.kill()
        rows.append((connections, sift_rates, rsyslog_rates, sent))

    print(f"loggen: {' '.join(loggen_command('PORT', 'N', seconds=int(WARMUP + args.seconds + 2)))}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| loggen connections | sift events/s stored (runs) | rsyslog events/s to a file (runs) | sift / rsyslog |")
    print("|---|---|---|---|")
    for connections, sift_rates, rsyslog_rates, _ in rows:
        s, r = statistics.median(sift_rates), statistics.median(rsyslog_rates)
        runs = lambda rates: ", ".join(f"{x:,.0f}" for x in rates)
        print(f"| {connections} | {s:,.0f} ({runs(sift_rates)}) | {r:,.0f} ({runs(rsyslog_rates)}) | {s / r:.2f} |")
    for connections, _, _, sent in rows:
        for line in sent:
            print(f"  {connections} connections, {line}", file=sys.stderr)

    # Compression: loggen's padded messages, then the bench's varied ones.
    print("\n| messages | events | segments bytes | bytes per event on disk | syslog bytes per event | ratio |")
    print("|---|---|---|---|---|---|")
    for kind in ("loggen", "sift bench"):
        with tempfile.TemporaryDirectory(prefix="sift-bench-") as data:
            server = Sift(data)
            try:
                if kind == "loggen":
                    subprocess.run(loggen_command(server.syslog_port, 1, count=args.compression_events),
                                   check=True, capture_output=True)
                else:
                    sift_bench("--protocol", "syslog-tcp", "--count", str(args.compression_events), "--url",
                               server.url, "--syslog", f"127.0.0.1:{server.syslog_port}", "--latency", "false")
                deadline = time.time() + 120
                while server.counters("syslog_tcp")["received"] < args.compression_events and time.time() < deadline:
                    time.sleep(0.2)
                events = server.counters("syslog_tcp")["accepted"]
                server.stop()
            finally:
                server.kill()
            stored = dir_bytes(os.path.join(data, "segments"))
            print(f"| {kind} (200 bytes each, 204 with the octet count) | {events:,} | {stored:,} | "
                  f"{stored / events:.1f} | 200 | {200 * events / stored:.1f}x |")


if __name__ == "__main__":
    main()
