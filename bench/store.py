#!/usr/bin/env python3
"""The durable store: needle search and `stats count() by severity` over stored events, beside
`grep -c` over the same events as a text file; bytes per event on disk; restart after kill -9.

    python3 bench/store.py [--events 10000000] [--runs 5] [--keep DIR]
    python3 bench/store.py --restart 1000000 [--runs 3]

Generates service-log-like lines (templates with varying numbers, ids and hosts; the needle
`segfault` in 1 line per 100k), writes them to a text file (the peer's input), sends them to a
release `sift serve` with a data directory through `sift send` (one event per line), stops it
cleanly (which flushes everything into Parquet segments), starts it again and times queries.
With `--keep DIR` the text file and the data directory are kept in DIR and reused by the next
run with the same DIR (the queries are then timed without generating and sending again).

With `--restart N`: sends N events (`sift bench`, batches of 1000, 4 connections) to a server
that does not flush them into segments (`storage.flush_events` and `storage.flush_interval`
out of reach), kills it with SIGKILL, and times a new server from its start to `/readyz`
answering 200 and to all N events counted.
Prints Markdown rows for BENCHMARKS.md.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from common import ROOT, SIFT, Sift

TEMPLATES = [
    "GET /api/v1/orders/{n} completed status=200 duration_ms={d} user={u}",
    "POST /api/v1/checkout failed status=500 duration_ms={d} request_id={h}",
    "connection from 10.0.{a}.{b} port {p} accepted by worker {w}",
    "cache miss for key session:{h} after {d} ms, refetching from primary",
    "job {n} finished in {d} ms with {w} retries on queue billing",
    "user {u} logged in from 192.168.{a}.{b} using password authentication",
    "disk usage on /var/lib/data at {a} percent, threshold 90 percent",
]
SEVERITIES = ["info"] * 90 + ["warning"] * 5 + ["error"] * 3 + ["debug"] * 2


def generate(path, events, seed=7):
    rng = random.Random(seed)
    with open(path, "w") as out:
        for i in range(events):
            if i % 100_000 == 50_000:
                message = f"worker {rng.randrange(64)} crashed: segfault at 0x{rng.getrandbits(32):08x}"
            else:
                message = rng.choice(TEMPLATES).format(
                    n=rng.randrange(10**7), d=rng.randrange(2000), u=f"user{rng.randrange(5000)}",
                    h=f"{rng.getrandbits(32):08x}", a=rng.randrange(256), b=rng.randrange(256),
                    p=rng.randrange(1024, 65535), w=rng.randrange(64))
            out.write(message + "\n")


def start(data, env_extra=None):
    """A durable release server on `data`, with how long it took to start listening."""
    sift = Sift(data, env_extra)
    return sift.process, sift.url, sift.start_seconds


def get(url):
    with urllib.request.urlopen(url, timeout=600) as response:
        return json.loads(response.read())


def status(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def restart(events, runs):
    """Start to ready, and to every event counted, after kill -9 with `events` in the WAL."""
    no_flush = {"SIFT_STORAGE_FLUSH_EVENTS": str(10 * events), "SIFT_STORAGE_FLUSH_INTERVAL": "1h"}
    ready, found = [], []
    for _ in range(runs):
        work = tempfile.mkdtemp(prefix="sift-restart-bench-")
        try:
            data = os.path.join(work, "data")
            server, url, _ = start(data, no_flush)
            subprocess.run([SIFT, "bench", "--url", url, "--quiet", "--json", "--count", str(events), "--batch",
                            "1000", "--connections", "4", "--latency", "false"], check=True, capture_output=True)
            server.kill()
            server.wait()
            wal = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(data, "wal")) for f in fs)
            began = time.perf_counter()
            server, url, _ = start(data, no_flush)
            try:
                while status(f"{url}/readyz") != 200:
                    if time.perf_counter() - began > 300:
                        sys.exit("the restarted server was not ready after 300 s")
                    time.sleep(0.005)
                ready.append(time.perf_counter() - began)
                while (counted := get(f"{url}/api/v1/count")["count"]) < events:
                    if time.perf_counter() - began > 300:
                        sys.exit(f"after 300 s the restarted server counts {counted:,} of {events:,} events: some were lost")
                    time.sleep(0.005)
                found.append(time.perf_counter() - began)
            finally:
                server.kill()
                server.wait()
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(f"| restart after kill -9 with {events:,} events in the WAL ({wal / 2**20:.0f} MiB) | sift | target |")
    print("|---|---|---|")
    print(f"| start to `/readyz` 200 (runs: {', '.join(f'{s:.2f}' for s in ready)} s) | "
          f"{statistics.median(ready):.2f} s | |")
    print(f"| start to all {events:,} counted (runs: {', '.join(f'{s:.2f}' for s in found)} s) | "
          f"{statistics.median(found):.2f} s | ≤ 5 s |")


def timed(fn, runs):
    samples, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - began) * 1000)
    return result, statistics.median(samples)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", metavar="DIR", help="keep the text and the data in DIR, and reuse them")
    parser.add_argument("--restart", type=int, metavar="N", help="only time a restart with N events in the WAL")
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "sift"], cwd=ROOT, check=True)
    if args.restart:
        restart(args.restart, args.runs)
        return
    work = args.keep or tempfile.mkdtemp(prefix="sift-store-bench-")
    try:
        text = os.path.join(work, "events.txt")
        data = os.path.join(work, "data")
        sent = os.path.join(work, "sent")
        send_seconds = None
        if not os.path.exists(sent):
            os.makedirs(work, exist_ok=True)
            shutil.rmtree(data, ignore_errors=True)
            generate(text, args.events)
            server, url, _ = start(data)
            began = time.perf_counter()
            with open(text) as lines:
                subprocess.run([SIFT, "send", "--url", url, "--app", "bench", "--batch", "2000"], stdin=lines,
                               check=True, stderr=subprocess.DEVNULL)
            send_seconds = time.perf_counter() - began
            server.terminate()
            server.wait()
            with open(sent, "w") as out:
                out.write(f"{send_seconds}\n")
        text_bytes = os.path.getsize(text)
        segment_bytes = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(data, "segments"))
                            for f in fs if f.endswith(".parquet"))
        server, url, started = start(data)
        try:
            needle, needle_ms = timed(lambda: get(f"{url}/api/v1/count?q=segfault"), args.runs)
            q = urllib.parse.quote("* | stats count() by severity")
            _, stats_ms = timed(lambda: get(f"{url}/api/v1/query?q={q}"), args.runs)
            grep, grep_ms = timed(lambda: subprocess.run(["grep", "-c", "segfault", text], capture_output=True,
                                                           text=True).stdout.strip(), args.runs)
            total = get(f"{url}/api/v1/count")["count"]
        finally:
            server.kill()
        print(f"| work over {total:,} stored events | sift | peer | peer / sift |")
        print("|---|---|---|---|")
        print(f"| needle count `segfault` ({needle['count']} matches; grep: {grep}) | {needle_ms:.0f} ms | "
              f"`grep -c` {grep_ms:.0f} ms | {grep_ms / needle_ms:.1f}x |")
        print(f"| `* \\| stats count() by severity` | {stats_ms:.0f} ms | | |")
        print(f"| bytes per event on disk (segments) | {segment_bytes / total:.1f} | text {text_bytes / total:.1f} | "
              f"{text_bytes / segment_bytes:.1f}x smaller |")
        if send_seconds:
            print(f"| ingest through `sift send` (one event per line, durable) | {total / send_seconds:,.0f} events/s | | |")
        print(f"| start with {total:,} events in segments, to listening | {started * 1000:.0f} ms | | |")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
