#!/usr/bin/env python3
"""NDJSON over HTTP into the ring, and live-tail latency, with `sift bench`.

    python3 bench/http_ingest.py [--events 2000000] [--repeats 3] [--durable-only] [--connections 4] [--flush-events N]
    python3 bench/http_ingest.py --sustained 3 [--events 3000000] [--connections 16]

Builds and starts release servers on free ports and runs, against them:
0. ring only (`--memory-only`) against durable (WAL + segments), no tail, back to back;
1. ingest at full speed: NDJSON batches of 1000, 4 connections, end-to-end latency through a
   live tail measured at the same time;
2. tail latency at a fixed 50k events/s (ingest to SSE client, p50/p99).
Each run is repeated and the median reported, because these machines are noisy.

With `--sustained N`, instead: N runs of `--events` back to back against one ring-only server,
then against one durable server, so that the durable rate includes writing the segments (which
the flusher does with the CPU ingest leaves, while the WAL holds the backlog); with the server's
CPU time per event (user + system, from /proc), which says what each part costs. After the
durable runs it counts every event at once, while the backlog is still in the WAL (what a query
costs then), and times how long the flusher takes to write the backlog into segments.
Prints Markdown rows for BENCHMARKS.md.
"""
import argparse
import json
import statistics
import subprocess
import tempfile
import time
import urllib.request

from common import ROOT, SIFT, Sift, cpu_seconds


def start_server(data_dir=None, flush_events=None, max_backlog=None):
    """A release server: memory only, or durable (WAL + segments) in `data_dir`, flushing into
    segments every `flush_events` pending events, with at most `max_backlog` of WAL waiting."""
    env = {}
    if flush_events:
        env["SIFT_STORAGE_FLUSH_EVENTS"] = str(flush_events)
    if max_backlog:
        env["SIFT_STORAGE_MAX_BACKLOG"] = max_backlog
    sift = Sift(data_dir, env)
    return sift.process, sift.url


def sustained(args):
    """Runs back to back against one ring-only server, then one durable server."""
    rows = []
    for durable_run in (False, True):
        with tempfile.TemporaryDirectory(prefix="sift-bench-") as data:
            server, url = start_server(data if durable_run else None, args.flush_events, args.max_backlog)
            try:
                for run in range(args.sustained):
                    before = cpu_seconds(server.pid)
                    result = bench(url, "--count", str(args.events), "--batch", "1000",
                                   "--connections", str(args.connections), "--latency", "false")
                    cpu = cpu_seconds(server.pid) - before
                    rows.append((durable_run, run + 1, result["events_per_sec"], cpu * 1e6 / args.events,
                                 result["request_latency_ms"]["p99"]))
                if durable_run:
                    backlog = after_the_runs(url)
            finally:
                server.kill()
    print(f"| run of {args.events:,} events | ring only: events/s | server CPU µs per event | durable: events/s "
          "| server CPU µs per event | durable request p99 ms |")
    print("|---|---|---|---|---|---|")
    ring = [r for r in rows if not r[0]]
    durable = [r for r in rows if r[0]]
    for (_, run, ring_rate, ring_cpu, _), (_, _, rate, cpu, p99) in zip(ring, durable):
        print(f"| {run} | {ring_rate:,.0f} | {ring_cpu:.2f} | {rate:,.0f} | {cpu:.2f} | {p99:.0f} |")
    ring_rate = statistics.median(r[2] for r in ring)
    rate = statistics.median(r[2] for r in durable)
    print(f"| median | {ring_rate:,.0f} | {statistics.median(r[3] for r in ring):.2f} | {rate:,.0f} "
          f"| {statistics.median(r[3] for r in durable):.2f} | |")
    print(f"\ndurable / ring only, sustained: {rate / ring_rate:.2f}")
    print(backlog)


def get_json(url):
    with urllib.request.urlopen(url, timeout=600) as response:
        return json.load(response)


def after_the_runs(url):
    """Counts every event while the backlog waits, then waits for the flusher to write it."""
    store = get_json(url + "/api/v1/stats")["store"]
    began = time.monotonic()
    count = get_json(url + "/api/v1/count?q=*")["count"]
    query_ms = (time.monotonic() - began) * 1000
    began = time.monotonic()
    while get_json(url + "/api/v1/stats")["store"]["pending_events"] > 0:
        time.sleep(0.1)
    catch_up = time.monotonic() - began
    return (f"right after the durable runs: {store['pending_events']:,} events waited for segments "
            f"({store['pending_in_memory']:,} in memory, {store['pending_wal_bytes'] / 2**20:,.0f} MiB of WAL); "
            f"`count` of all {count:,} events took {query_ms:,.0f} ms; "
            f"the flusher wrote the backlog {catch_up:.1f} s later")


def bench(url, *args):
    out = subprocess.run([SIFT, "bench", "--url", url, "--quiet", "--json", *args],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--durable-only", action="store_true",
                        help="only ring only against durable, without the tail runs")
    parser.add_argument("--connections", type=int, default=4,
                        help="concurrent connections of the ring-only against durable runs (default 4): "
                             "durable ingest waits for the WAL's group commit, so it needs more requests "
                             "in flight than ring-only to keep the cores busy")
    parser.add_argument("--sustained", type=int, metavar="RUNS",
                        help="RUNS back to back against one server of each kind (see the module docs)")
    parser.add_argument("--flush-events", type=int,
                        help="the durable server's storage.flush_events (default: the server's default)")
    parser.add_argument("--max-backlog",
                        help="the durable server's storage.max_backlog, e.g. 512MiB (default: the server's default)")
    args = parser.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "sift"], cwd=ROOT, check=True)
    if args.sustained:
        return sustained(args)

    full, paced, durable, memory = [], [], [], []
    for _ in range(args.repeats):
        # Ring only against durable (WAL with group commit, then segments), back to back.
        for runs, durable_run in ((memory, False), (durable, True)):
            with tempfile.TemporaryDirectory(prefix="sift-bench-") as data:
                server, url = start_server(data if durable_run else None, args.flush_events)
                try:
                    runs.append(bench(url, "--count", str(args.events), "--batch", "1000",
                                      "--connections", str(args.connections), "--latency", "false"))
                finally:
                    server.kill()
        if args.durable_only:
            continue
        # A fresh server each time, so every run starts with an empty ring.
        server, url = start_server()
        try:
            full.append(bench(url, "--count", str(args.events), "--batch", "1000", "--connections", "4"))
        finally:
            server.kill()
        server, url = start_server()
        try:
            paced.append(bench(url, "--count", "500000", "--rate", "50000", "--batch", "500", "--connections", "2"))
        finally:
            server.kill()

    def med(runs, *path):
        values = []
        for run in runs:
            value = run
            for key in path:
                value = value[key]
            values.append(value)
        return statistics.median(values)

    print("| work | median of runs | runs |")
    print("|---|---|---|")
    rates = ", ".join(f"{r['events_per_sec']:.0f}" for r in memory)
    print(f"| NDJSON over HTTP, ring only (`--memory-only`), no tail: events/s | {med(memory, 'events_per_sec'):.0f} | {rates} |")
    rates = ", ".join(f"{r['events_per_sec']:.0f}" for r in durable)
    print(f"| the same, durable (WAL `batch` + segments): events/s | {med(durable, 'events_per_sec'):.0f} | {rates} |")
    print(f"| durable / ring only | {med(durable, 'events_per_sec') / med(memory, 'events_per_sec'):.2f} | |")
    if args.durable_only:
        return
    rates = ", ".join(f"{r['events_per_sec']:.0f}" for r in full)
    print(f"| NDJSON over HTTP, batches of 1000, 4 connections: events/s | {med(full, 'events_per_sec'):.0f} | {rates} |")
    print(f"| same run: request latency p99 ms | {med(full, 'request_latency_ms', 'p99'):.1f} | |")
    print(f"| same run: ingest-to-tail latency p99 ms (tail dropped {med(full, 'e2e_latency_ms', 'dropped'):.0f}) "
          f"| {med(full, 'e2e_latency_ms', 'p99'):.1f} | |")
    p99s = ", ".join(f"{r['e2e_latency_ms']['p99']:.1f}" for r in paced)
    print(f"| tail latency at 50k events/s: p50 ms | {med(paced, 'e2e_latency_ms', 'p50'):.1f} | |")
    print(f"| tail latency at 50k events/s: p99 ms | {med(paced, 'e2e_latency_ms', 'p99'):.1f} | {p99s} |")
    print(f"| tail at 50k events/s: events dropped by the tail | {med(paced, 'e2e_latency_ms', 'dropped'):.0f} | |")


if __name__ == "__main__":
    main()
