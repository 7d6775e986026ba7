#!/usr/bin/env python3
"""CPU seconds per million syslog events over TCP: a durable sift against rsyslog writing a file.

    python3 bench/syslog_cpu.py [--events 1000000] [--repeats 3] [--connections 1 10]

The same fixed stream (`loggen -i -S -P -s 200`: TCP, RFC 5424 octet-counted, 200-byte
messages, as fast as it goes; `--events` in all, split over the connections) goes, alternately,
to three receivers, each started fresh:
- a release `sift serve` with a data directory and the default configuration (parsed,
  classified, enriched, WAL, then Parquet segments). Stored = `protocols.syslog_tcp.accepted`
  reaches the count (the events are durable in the WAL); then SIGTERM, which flushes every
  pending event into Parquet segments, and the process's whole CPU (user + system, all threads,
  from `wait4`) up to its exit, minus what it had spent idle after start-up;
- `rsyslogd` with `imtcp` and one `omfile` action (its default, synchronous writing), and
- the same with `asyncWriting="on"` (a writer thread and a 64 KiB buffer). Stored = lines in
  its file reach the count; CPU is the process's user + system from `/proc/PID/stat` at that
  moment, minus its idle start-up CPU.
loggen stops after 10 s unless told otherwise (`-I`), which cut runs short on a busy machine;
the count stored is the one in its report. Wall time is from loggen's start until stored (for sift: until accepted, i.e. in the WAL; the
flush into segments follows at stop and its CPU is counted). loggen's own send time (its
report) is the ceiling for wall time on this machine, since the generator shares the cores.

The better of rsyslog's two counts is the peer. Prints Markdown rows for BENCHMARKS.md with
medians and every run, and sift / rsyslog.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import common
from common import Sift, build, cpu_seconds, dir_bytes, need
from syslog_tcp import Rsyslog, rsyslogd


def loggen(port, connections, events):
    per_connection = events // connections  # loggen's -n counts per connection
    return subprocess.Popen(
        ["loggen", "-i", "-S", "-P", "-s", "200", "-r", "100000000", "-I", "3600", "--active-connections", str(connections),
         "-n", str(per_connection), "127.0.0.1", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


class Sender:
    """loggen sending `events` over `connections`, with `-I 3600` so that its default 10 s
    limit does not cut the stream short on a slow run; what it sent is the count from its own
    report."""

    def __init__(self, port, connections, events):
        self.process = loggen(port, connections, events)
        self.sent, self.seconds = None, None

    def done(self):
        """Whether loggen has finished; then `sent` and `seconds` are its report's."""
        if self.sent is None and self.process.poll() is not None:
            report = self.process.stderr.read()
            for line in report.splitlines():
                if "average rate" in line:
                    self.seconds = float(line.split("time=")[1].split(",")[0])
                    self.sent = int(line.split("count=")[1].split(",")[0])
            if self.sent is None:
                sys.exit(f"loggen failed: {report[-300:]}")
        return self.sent is not None

    def stored(self, count):
        """Whether `count` stored events are all loggen sent."""
        return self.done() and count >= self.sent


def settle():
    # Let start-up work (and the previous run's page cache writes) finish before the idle read.
    time.sleep(0.5)


def run_sift(connections, events):
    with tempfile.TemporaryDirectory(prefix="sift-cpu-") as data:
        server = Sift(data)
        try:
            settle()
            idle = cpu_seconds(server.process.pid)
            began = time.perf_counter()
            sender = Sender(server.syslog_port, connections, events)
            while not sender.stored(server.counters("syslog_tcp")["accepted"]):
                time.sleep(0.05)
            wall = time.perf_counter() - began
            server.process.send_signal(signal.SIGTERM)
            _, status, usage = os.wait4(server.process.pid, 0)
            server.process.returncode = status
            total = usage.ru_utime + usage.ru_stime - idle
            segments = dir_bytes(os.path.join(data, "segments"))
        finally:
            server.kill()
    return total / sender.sent, wall, sender.seconds, segments / sender.sent


def run_rsyslog(binary, modules, asynchronous, connections, events):
    with tempfile.TemporaryDirectory(prefix="rsyslog-cpu-") as directory:
        peer = Rsyslog(binary, modules, directory, asynchronous=asynchronous)
        try:
            settle()
            idle = cpu_seconds(peer.process.pid)
            began = time.perf_counter()
            sender = Sender(peer.port, connections, events)
            lines, offset = 0, 0
            while not sender.stored(lines):
                if os.path.exists(peer.file):
                    with open(peer.file, "rb") as f:
                        f.seek(offset)
                        block = f.read()
                    # Count only whole lines; a partial one is read again next time.
                    end = block.rfind(b"\n") + 1
                    lines += block.count(b"\n", 0, end)
                    offset += end
                if not sender.stored(lines):
                    time.sleep(0.02)
            total = cpu_seconds(peer.process.pid) - idle
            wall = time.perf_counter() - began
            peer.stop()
        finally:
            if peer.process.poll() is None:
                peer.process.kill()
    return total / sender.sent, wall, sender.seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--sift-only", action="store_true", help="skip rsyslog (for before/after runs of sift)")
    parser.add_argument("--sift", help="this sift binary instead of building the release one (an earlier commit's)")
    args = parser.parse_args()
    need("loggen", "syslog-ng-core")
    binary, modules = (None, None) if args.sift_only else rsyslogd()
    if args.sift:
        common.SIFT = args.sift
    else:
        build()

    per_million = 1_000_000
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    rows = []
    for connections in args.connections:
        runs = {"sift": [], "rsyslog": [], "rsyslog async": []}
        for _ in range(args.repeats):
            cpu, wall, sent, segments = run_sift(connections, args.events)
            runs["sift"].append((cpu * per_million, wall, sent))
            print(f"  {connections} conn sift: {cpu * per_million:.2f} CPU s/M, {wall:.2f} s wall, "
                  f"loggen {sent:.2f} s, segments {segments:.1f} B/event", file=sys.stderr)
            if args.sift_only:
                continue
            for name, asynchronous in (("rsyslog", False), ("rsyslog async", True)):
                cpu, wall, sent = run_rsyslog(binary, modules, asynchronous, connections, args.events)
                runs[name].append((cpu * per_million, wall, sent))
                print(f"  {connections} conn {name}: {cpu * per_million:.2f} CPU s/M, {wall:.2f} s wall, "
                      f"loggen {sent:.2f} s", file=sys.stderr)
        rows.append((connections, runs))

    print(f"load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| connections | receiver | CPU s per million, median (runs) | wall s to stored, median | loggen send s, median |")
    print("|---|---|---|---|---|")
    for connections, runs in rows:
        for name, results in runs.items():
            if not results:
                continue
            cpu = [r[0] for r in results]
            print(f"| {connections} | {name} | {statistics.median(cpu):.2f} ({', '.join(f'{c:.2f}' for c in cpu)}) | "
                  f"{statistics.median(r[1] for r in results):.2f} | {statistics.median(r[2] for r in results):.2f} |")
    if args.sift_only:
        return
    print("\n| connections | sift CPU s/M | rsyslog's better CPU s/M | sift / rsyslog | target |")
    print("|---|---|---|---|---|")
    for connections, runs in rows:
        sift = statistics.median(r[0] for r in runs["sift"])
        peer = min(statistics.median(r[0] for r in runs[name]) for name in ("rsyslog", "rsyslog async"))
        ratio = sift / peer
        print(f"| {connections} | {sift:.2f} | {peer:.2f} | {ratio:.2f} | ≤ 0.67: {'met' if ratio <= 0.67 else 'not met'} |")


if __name__ == "__main__":
    main()
