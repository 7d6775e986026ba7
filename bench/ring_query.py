#!/usr/bin/env python3
"""Filter queries over 1M events in sift's ring, timed over HTTP, beside `grep -c` over the
same events written as a text file (the peer), measured in the same run.

    python3 bench/ring_query.py [--events 1000000] [--runs 15]

Builds and starts a release `sift serve --memory-only` on a free port, loads it with
`sift bench`, then times `GET /api/v1/count?q=...` for each query (the whole ring is scanned
for a count) and prints a Markdown table for BENCHMARKS.md.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import common
from common import ROOT, Sift, cpu_seconds

# (query, the same test as a grep pattern or None when grep has no equivalent)
QUERIES = [
    ("severity>=error", None),
    ("host:web-3 app:checkout", None),
    ('"connection reset"', "connection reset"),
    ("status=500 -app:auth", None),
    ("message:/duration_ms=3[0-9]+/", "duration_ms=3[0-9]\\+"),
    ("fields.bench_sent_us>0", None),
]


def start_server(events):
    """A memory-only release server whose ring holds every event loaded."""
    sift = Sift(env={"SIFT_RING_MAX_BYTES": "4GiB", "SIFT_RING_MAX_EVENTS": str(events)})
    return sift.process, sift.url


def get(url):
    with urllib.request.urlopen(url, timeout=120) as response:
        return json.loads(response.read())


def timed(fn, runs):
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return result, samples


def summary(samples):
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1 if len(samples) >= 10 else -1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--sift", metavar="PATH", help="run this sift binary instead of building one (a baseline)")
    args = parser.parse_args()

    if args.sift:
        common.SIFT = os.path.abspath(args.sift)
    else:
        subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "sift"], cwd=ROOT, check=True)
    server, base = start_server(args.events)
    workdir = tempfile.mkdtemp(prefix="sift-bench-")
    try:
        load = subprocess.run(
            [common.SIFT, "bench", "--url", base, "--count", str(args.events), "--latency", "false", "--quiet", "--json"],
            check=True, capture_output=True, text=True)
        loaded = json.loads(load.stdout)
        stats = get(f"{base}/api/v1/stats")
        held = stats["ring"]["events"]
        print(f"loaded {loaded['events_accepted']} events at {loaded['events_per_sec']:.0f} events/s; "
              f"ring holds {held} events, {stats['ring']['bytes'] / held:.0f} bytes/event", file=sys.stderr)

        # The same events as a text file, one message per line, for grep.
        text_path = os.path.join(workdir, "events.txt")
        with open(text_path, "w") as out:
            cursor = ""
            while True:
                page = get(f"{base}/api/v1/events?limit=10000&cursor={urllib.parse.quote(cursor)}")
                for event in page["events"]:
                    out.write(f"{event['time']} {event['severity']} {event.get('host', '-')} "
                              f"{event.get('app', '-')}: {event['message']}\n")
                cursor = page.get("next_cursor")
                if not cursor:
                    break

        print(f"| query | matches | sift median ms | sift p90 ms | sift CPU ms per query | `grep -c` median ms | grep / sift |")
        print(f"|---|---|---|---|---|---|---|")
        for query, pattern in QUERIES:
            url = f"{base}/api/v1/count?q={urllib.parse.quote(query)}"
            cpu_before = cpu_seconds(server.pid)
            result, samples = timed(lambda: get(url), args.runs)
            cpu_ms = (cpu_seconds(server.pid) - cpu_before) * 1000 / args.runs
            median, p90 = summary(samples)
            grep_cell, ratio_cell = "n/a", "n/a"
            if pattern and shutil.which("grep"):
                _, grep_samples = timed(
                    lambda: subprocess.run(["grep", "-c", "-i", pattern, text_path], capture_output=True), args.runs)
                grep_median, _ = summary(grep_samples)
                grep_cell, ratio_cell = f"{grep_median:.1f}", f"{grep_median / median:.1f}x"
            print(f"| `{query}` | {result['count']} | {median:.1f} | {p90:.1f} | {cpu_ms:.0f} | {grep_cell} | {ratio_cell} |")
    finally:
        server.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
