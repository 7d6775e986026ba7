#!/usr/bin/env python3
"""Pipes over stored events beside DuckDB reading sift's own Parquet segments, in the same run.

    python3 bench/aggregate.py [--events 10000000] [--runs 7] [--keep DIR]

Loads a durable release `sift serve` with `sift bench` (HTTP JSON, 200-byte messages, eight
hosts, six apps, a realistic mix of severities), stops it cleanly (which flushes every event
into Parquet segments), starts it again on the same data directory, and then, for each query,
alternates `GET /api/v1/query?q=...` with the same `GROUP BY` run by DuckDB (PyPI `duckdb`,
2 threads) over `read_parquet('DATA/segments/**/*.parquet')`, so that both read the same
files under the same load. Prints a Markdown table of medians and the ratio sift / DuckDB
(the target: at most 1.5), and the CPU milliseconds each spent (sift's server process,
from /proc; DuckDB's, the script's own process), which a shared machine disturbs less. With `--keep DIR`, the data directory is kept in DIR and reused.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import common
from common import Sift, build, cpu_seconds, sift_bench

# (sift's pipe, the same answer in DuckDB's SQL over the table `t`)
QUERIES = [
    ("* | stats count() by severity", "SELECT severity, count(*) FROM t GROUP BY severity"),
    ("* | stats count() by host, app", "SELECT host, app, count(*) FROM t GROUP BY host, app"),
    ("* | top 5 app", "SELECT app, count(*) AS n FROM t WHERE app IS NOT NULL GROUP BY app ORDER BY n DESC LIMIT 5"),
    ("* | timechart 1s count() by severity",
     "SELECT time_bucket(INTERVAL 1 second, time) AS b, severity, count(*) FROM t GROUP BY b, severity"),
    ("host:web-3 | stats count() by app",
     "SELECT app, count(*) FROM t WHERE lower(host) = 'web-3' GROUP BY app"),
]


def get(url):
    with urllib.request.urlopen(url, timeout=600) as response:
        return json.loads(response.read())


def ms(fn, cpu):
    """What `fn` returns, with the wall and CPU milliseconds it took (`cpu` reads the CPU seconds)."""
    began, began_cpu = time.perf_counter(), cpu()
    result = fn()
    return result, (time.perf_counter() - began) * 1000, (cpu() - began_cpu) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", metavar="DIR", help="keep the data directory in DIR, and reuse it")
    parser.add_argument("--sift", metavar="PATH", help="run this sift binary instead of building one (a baseline)")
    args = parser.parse_args()
    try:
        import duckdb
    except ImportError:
        sys.exit("DuckDB is missing: pip install duckdb")
    if args.sift:
        common.SIFT = os.path.abspath(args.sift)
    else:
        build()
    work = args.keep or tempfile.mkdtemp(prefix="sift-aggregate-bench-")
    data = os.path.join(work, "data")
    loaded = os.path.join(work, "loaded")
    try:
        if not os.path.exists(loaded):
            shutil.rmtree(data, ignore_errors=True)
            os.makedirs(work, exist_ok=True)
            sift = Sift(data)
            try:
                sift_bench("--url", sift.url, "--count", str(args.events), "--latency", "false")
                sift.stop()
            finally:
                sift.kill()
            open(loaded, "w").close()
        sift = Sift(data)
        duck = duckdb.connect()
        duck.execute("SET threads = 2")
        files = os.path.join(data, "segments", "**", "*.parquet")
        duck.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{files}')")
        try:
            total = get(f"{sift.url}/api/v1/count")["count"]
            (duck_total,), = duck.execute("SELECT count(*) FROM t").fetchall()
            if duck_total != total:
                sys.exit(f"sift counts {total:,} events, DuckDB {duck_total:,}: the segments are not all flushed")
            files_n = sum(1 for d, _, fs in os.walk(os.path.join(data, "segments")) for f in fs if f.endswith(".parquet"))
            print(f"{total:,} events in {files_n} segment files; medians of {args.runs} runs, alternating", file=sys.stderr)
            print("| pipe | rows | sift median | DuckDB median | sift / DuckDB | sift CPU | DuckDB CPU | sift / DuckDB CPU |")
            print("|---|---|---|---|---|---|---|---|")
            sift_cpu = lambda: cpu_seconds(sift.process.pid)
            duck_cpu = lambda: sum(os.times()[:2])
            for pipe, sql in QUERIES:
                url = f"{sift.url}/api/v1/query?q={urllib.parse.quote(pipe)}"
                sift_ms, duck_ms, sift_cpu_ms, duck_cpu_ms = [], [], [], []
                for _ in range(args.runs):
                    table, t, c = ms(lambda: get(url), sift_cpu)
                    sift_ms.append(t)
                    sift_cpu_ms.append(c)
                    rows, t, c = ms(lambda: duck.execute(sql).fetchall(), duck_cpu)
                    duck_ms.append(t)
                    duck_cpu_ms.append(c)
                if pipe.startswith("* | stats") or pipe.startswith("host:"):
                    ours = sum(row[-1] for row in table["rows"])
                    theirs = sum(row[-1] for row in rows)
                    if ours != theirs:
                        sys.exit(f"{pipe}: sift counts {ours:,}, DuckDB {theirs:,}")
                s, d = statistics.median(sift_ms), statistics.median(duck_ms)
                sc, dc = statistics.median(sift_cpu_ms), statistics.median(duck_cpu_ms)
                print(f"| `{pipe.replace('|', chr(92) + '|')}` | {len(table['rows'])} | {s:.0f} ms | {d:.0f} ms | {s / d:.2f} "
                      f"| {sc:.0f} ms | {dc:.0f} ms | {sc / dc:.2f} |")
        finally:
            sift.kill()
            duck.close()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
