#!/usr/bin/env python3
"""Resident memory of a durable sift taking syslog over TCP at a steady rate, and of rsyslog
taking the same stream.

    python3 bench/memory.py [--seconds 300] [--rate 100000]
    python3 bench/memory.py --ring-bytes 64MiB 256MiB 1GiB [--seconds 120]

The stream is syslog-ng's `loggen` at a fixed rate (`loggen -i -S -P -s 200 -r RATE`: TCP,
RFC 5424 octet-counted, 200-byte messages, one connection), as `bench/syslog_tcp.py` sends it.
The receivers:
- a release `sift serve` with a fresh data directory and the default configuration (durable:
  WAL, then Parquet segments);
- `rsyslogd` with `imtcp` writing every message to a plain file, set up as in `syslog_tcp.py`.
Each receiver's resident memory (VmRSS) is sampled every 0.5 s: for 3 s before the stream
starts (the idle baseline: the median), then while it runs. Printed: idle, steady (the median
of the second half of the run), peak, and events stored per second.

With `--ring-bytes`, sift runs once per size with `ring.max_bytes` set to it (and
`ring.max_events` out of the way, so that the bytes bind), and the script prints
(steady - idle) / ring.max_bytes: what the ring's byte bound costs in resident memory.

Runs alternate between the peers on one machine; the machine may be shared, so read the
figures of one run together. Prints Markdown rows for BENCHMARKS.md.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import common
from common import Sift, build, need
from syslog_tcp import Rsyslog, rsyslogd

SAMPLE_EVERY = 0.5
IDLE_SECONDS = 3.0
UNITS = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "": 1}


def parse_size(text):
    for unit, factor in sorted(UNITS.items(), key=lambda u: -len(u[0])):
        if unit and text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def rss(pid):
    """Resident memory of `pid` in bytes (VmRSS), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        return None
    return None


def sample_for(pid, seconds):
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = rss(pid)
        if value is not None:
            samples.append(value)
        time.sleep(SAMPLE_EVERY)
    return samples


def run(pid, port, stored, rate, seconds):
    """Idle, steady and peak resident bytes of `pid` while loggen sends `rate` events/s to
    `port` for `seconds`, and the events stored per second over the run."""
    idle = statistics.median(sample_for(pid, IDLE_SECONDS))
    command = ["loggen", "-i", "-S", "-P", "-s", "200", "-r", str(rate), "--active-connections", "1",
               "-I", str(int(seconds)), "127.0.0.1", str(port)]
    first, began = stored(), time.monotonic()
    loggen = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = []
    while loggen.poll() is None:
        value = rss(pid)
        if value is not None:
            samples.append(value)
        time.sleep(SAMPLE_EVERY)
    ended = time.monotonic()
    # The last events may still be on their way in: give the receiver a moment.
    time.sleep(1.0)
    count = stored() - first
    steady = statistics.median(samples[len(samples) // 2:]) if samples else idle
    peak = max(samples, default=idle)
    return {"idle": idle, "steady": steady, "peak": peak, "rate": count / (ended - began), "events": count}


def sift_run(rate, seconds, env=None):
    with tempfile.TemporaryDirectory(prefix="sift-bench-") as data:
        server = Sift(data, env=env)
        try:
            return run(server.process.pid, server.syslog_port, lambda: server.counters("syslog_tcp")["accepted"],
                       rate, seconds)
        finally:
            server.kill()


def rsyslog_run(binary, modules, rate, seconds):
    with tempfile.TemporaryDirectory(prefix="rsyslog-bench-") as directory:
        peer = Rsyslog(binary, modules, directory)

        def stored():
            # Lines in the file so far: loggen's messages are one line each.
            if not os.path.exists(peer.file):
                return 0
            with open(peer.file, "rb") as f:
                return sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b""))

        try:
            return run(peer.process.pid, peer.port, stored, rate, seconds)
        finally:
            if peer.process.poll() is None:
                peer.process.kill()
                peer.process.wait()


def mib(n):
    return f"{n / (1 << 20):,.1f}"


def row(name, r):
    return (f"| {name} | {mib(r['idle'])} | {mib(r['steady'])} | {mib(r['peak'])} | "
            f"{mib(r['steady'] - r['idle'])} | {r['rate']:,.0f} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--rate", type=int, default=100_000)
    parser.add_argument("--ring-bytes", nargs="*", default=None,
                        help="run sift once per ring.max_bytes (64MiB, 256MiB, 1GiB) instead of against rsyslog")
    parser.add_argument("--no-rsyslog", action="store_true", help="sift alone")
    parser.add_argument("--sift", help="this sift binary instead of building the release one (to compare two builds)")
    args = parser.parse_args()
    need("loggen", "syslog-ng-core")
    if args.sift:
        common.SIFT = os.path.abspath(args.sift)
    else:
        build()
    header = ("| receiver | idle MiB | steady MiB | peak MiB | steady - idle MiB | events/s stored |\n"
              "|---|---|---|---|---|---|")
    print(f"loggen -i -S -P -s 200 -r {args.rate} --active-connections 1 -I {int(args.seconds)}; "
          f"RSS every {SAMPLE_EVERY}s; steady = median of the second half\n")

    if args.ring_bytes:
        print("| ring.max_bytes | idle MiB | steady MiB | peak MiB | steady - idle MiB | (steady - idle) / max_bytes "
              "| (peak - idle) / max_bytes | events/s stored |")
        print("|---|---|---|---|---|---|---|---|")
        for size in args.ring_bytes:
            limit = parse_size(size)
            r = sift_run(args.rate, args.seconds,
                         env={"SIFT_RING_MAX_BYTES": str(limit), "SIFT_RING_MAX_EVENTS": "1000000000"})
            print(f"| {size} | {mib(r['idle'])} | {mib(r['steady'])} | {mib(r['peak'])} | "
                  f"{mib(r['steady'] - r['idle'])} | {(r['steady'] - r['idle']) / limit:.2f} | "
                  f"{(r['peak'] - r['idle']) / limit:.2f} | {r['rate']:,.0f} |", flush=True)
        print(f"\nmachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end (shared)")
        return

    results = [("sift (durable, default configuration)", sift_run(args.rate, args.seconds))]
    if not args.no_rsyslog:
        binary, modules = rsyslogd()
        results.append(("rsyslog (imtcp, omfile)", rsyslog_run(binary, modules, args.rate, args.seconds)))
    print(header)
    for name, r in results:
        print(row(name, r))
    if len(results) == 2:
        print(f"\nsift / rsyslog steady: {results[0][1]['steady'] / results[1][1]['steady']:.1f}x")
    print(f"\nmachine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end (shared)")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(1)
