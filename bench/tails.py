#!/usr/bin/env python3
"""What live tails cost ingest: 100 selective SSE tails plus one tail of everything, against
none, on a durable sift with the default configuration.

    python3 bench/tails.py [--events 2000000] [--rate 100000] [--repeats 3] [--protocol syslog-tcp]

DESIGN.md section 15 asks that 100 tail clients cost at most 10% of ingest throughput. The tails
are what people open: each of the 100 follows one app on one host (`host:web-1 app:checkout`,
about 2% of the generated events) or one app's errors (`app:checkout severity>=error`, about
0.3%), about 1.2% on average; the 101st follows everything (`q=*`). Every tail is a `curl -N`
process writing its stream to a file, so the clients cost the machine little and are not
what the run measures; the script waits until every tail has said `ready` before it sends.

Two measurements, each alternating a fresh server without tails and one with them:
1. throughput: `sift bench` at full speed (4 connections), events/s with tails over without;
2. cost at a fixed rate (`--rate`, 100k events/s by default): the server's CPU seconds
   (user + system, from /proc) per million events, with tails over without.
After each run with tails it reports what the tails received and were told they lost (a tail
that cannot keep up loses events, reported in-band as `event: dropped`, and never slows
ingest). Prints Markdown rows for BENCHMARKS.md.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import urllib.parse

from common import SIFT, Sift, build, cpu_seconds

HOSTS = ["web-1", "web-2", "web-3", "web-4", "api-1", "api-2", "worker-1", "db-1"]
APPS = ["checkout", "frontend", "payments", "search", "auth", "mailer"]


def tail_queries(selective):
    """`selective` queries of about 1% each on average, then one of everything."""
    queries = []
    for i in range(selective):
        if i % 2 == 0:
            queries.append(f"host:{HOSTS[(i // 2) % len(HOSTS)]} app:{APPS[(i // 2) % len(APPS)]}")
        else:
            queries.append(f"app:{APPS[(i // 2) % len(APPS)]} severity>=error")
    return queries + ["*"]


class Tails:
    """`curl -N` readers of `/api/v1/tail`, one per query, each writing to a file."""

    def __init__(self, url, queries, directory):
        self.files, self.processes = [], []
        for i, query in enumerate(queries):
            path = os.path.join(directory, f"tail-{i}.sse")
            self.files.append(path)
            target = f"{url}/api/v1/tail?" + urllib.parse.urlencode({"q": query, "backlog": "0"})
            self.processes.append(subprocess.Popen(["curl", "-sN", "-o", path, target]))
        deadline = time.monotonic() + 60
        while not all(self._says(path, b"event: ready") for path in self.files):
            if time.monotonic() > deadline:
                raise SystemExit("the tails did not all say ready within 60 s")
            time.sleep(0.1)

    @staticmethod
    def _says(path, text):
        try:
            with open(path, "rb") as f:
                return text in f.read(4096)
        except FileNotFoundError:
            return False

    def close(self):
        """Stops the readers and returns (events received, events reported lost) for the
        selective tails together and for the tail of everything."""
        time.sleep(2)  # let the last batches reach the readers
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait()
        counts = []
        for path in self.files:
            received = dropped = 0
            with open(path, "rb") as f:
                lines = iter(f)
                for line in lines:
                    if line.startswith(b"event: event"):
                        received += 1
                    elif line.startswith(b"event: dropped"):
                        data = next(lines, b"")
                        dropped += int(data.split(b":")[-1].strip(b" }\n"))
            counts.append((received, dropped))
        selective = counts[:-1]
        return (sum(c[0] for c in selective), sum(c[1] for c in selective)), counts[-1]


def run(args, with_tails, rate):
    """One fresh durable server, optionally with tails, under one `sift bench` run; returns
    (events/s, server CPU seconds per million events, tail counts or None)."""
    with tempfile.TemporaryDirectory(prefix="sift-bench-tails-") as directory:
        data = os.path.join(directory, "data")
        sift = Sift(data)
        try:
            tails = Tails(sift.url, tail_queries(args.selective), directory) if with_tails else None
            before = cpu_seconds(sift.process.pid)
            command = [SIFT, "bench", "--url", sift.url, "--quiet", "--json", "--protocol", args.protocol,
                       "--syslog", f"127.0.0.1:{sift.syslog_port}", "--count", str(args.events),
                       "--connections", "4", "--latency", "false"]
            if rate:
                command += ["--rate", str(rate)]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            cpu = cpu_seconds(sift.process.pid) - before
            result = json.loads(out)
            counts = tails.close() if tails else None
            return result["events_per_sec"], cpu * 1e6 / args.events, counts
        finally:
            sift.kill()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--rate", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--selective", type=int, default=100)
    parser.add_argument("--protocol", default="syslog-tcp")
    args = parser.parse_args()
    build()
    for label, rate in (("full speed", 0), (f"{args.rate:,} events/s", args.rate)):
        without, with_ = [], []
        for _ in range(args.repeats):
            without.append(run(args, False, rate))
            with_.append(run(args, True, rate))
        print(f"\n{label}, {args.events:,} events over {args.protocol}, {args.repeats} runs each, alternating:\n")
        print("| run | no tails: events/s | CPU s per 1M | 101 tails: events/s | CPU s per 1M "
              "| selective tails: received, lost | tail of everything: received, lost |")
        print("|---|---|---|---|---|---|---|")
        for i, (a, b) in enumerate(zip(without, with_)):
            (sel, everything) = b[2]
            print(f"| {i + 1} | {a[0]:,.0f} | {a[1]:.2f} | {b[0]:,.0f} | {b[1]:.2f} "
                  f"| {sel[0]:,}, {sel[1]:,} | {everything[0]:,}, {everything[1]:,} |")
        rate_a, rate_b = statistics.median(r[0] for r in without), statistics.median(r[0] for r in with_)
        cpu_a, cpu_b = statistics.median(r[1] for r in without), statistics.median(r[1] for r in with_)
        print(f"| median | {rate_a:,.0f} | {cpu_a:.2f} | {rate_b:,.0f} | {cpu_b:.2f} | | |")
        print(f"\nthroughput with tails / without: {rate_b / rate_a:.3f}; "
              f"CPU per event with tails / without: {cpu_b / cpu_a:.3f}")


if __name__ == "__main__":
    main()
