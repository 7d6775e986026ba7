#!/usr/bin/env python3
"""Start with 30 days of a quiet server's data, before and after compaction (issue 16).

Makes the segments a quiet server leaves in DAYS days (one event a second, a flush every 30 s:
120 files an hour, written by sift's own segment writer: `cargo run --example quiet_month`),
copies them, lets a `sift serve` compact the copy (`storage.compact`, the default) until every
hour is one file, then times `sift serve` from its start until `/readyz` answers, alternately
on the data as flushed (with `storage.compact = false`, so that it stays as it is) and on the
compacted copy. Prints the medians, the files, and what compacting cost (wall and CPU seconds
of the server).

    python3 bench/start.py [--days 30] [--runs 5] [--keep DIR]
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from common import ROOT, SIFT, build, cpu_seconds, dir_bytes, free_port


def make(path, days):
    subprocess.run(["cargo", "run", "--release", "--quiet", "-p", "sift-store", "--example", "quiet_month", "--",
                    path, str(days)], cwd=ROOT, check=True)


def files(path):
    found = [f for _, _, names in os.walk(os.path.join(path, "segments")) for f in names]
    return sum(f.endswith(".parquet") and not f.startswith(".") for f in found), len(found)


def serve(data, compact):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIFT_")}
    env["SIFT_STORAGE_COMPACT"] = "true" if compact else "false"
    port = free_port()
    process = subprocess.Popen(
        [SIFT, "serve", "--data-dir", data, "--http", f"127.0.0.1:{port}", "--syslog", f"127.0.0.1:{free_port()}",
         "--popcorn", f"127.0.0.1:{free_port()}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return process, f"http://127.0.0.1:{port}"


def ready(url):
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def time_start(data, compact):
    """Seconds from `sift serve` until `/readyz` answers 200, and the CPU seconds by then."""
    began = time.perf_counter()
    process, url = serve(data, compact)
    try:
        while not ready(url):
            if process.poll() is not None:
                sys.exit(f"sift serve stopped ({process.returncode})")
            time.sleep(0.005)
        return time.perf_counter() - began, cpu_seconds(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=300)


def compact(data, hours):
    """Runs a server on `data` until every hour is one file; returns wall and CPU seconds."""
    began = time.perf_counter()
    process, url = serve(data, True)
    try:
        while files(data)[1] > hours:
            if process.poll() is not None:
                sys.exit(f"sift serve stopped ({process.returncode})")
            time.sleep(0.5)
        return time.perf_counter() - began, cpu_seconds(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=300)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", metavar="DIR", help="keep the data in DIR, and reuse it")
    args = parser.parse_args()
    build()
    work = args.keep or tempfile.mkdtemp(prefix="sift-start-")
    flushed, compacted = os.path.join(work, "flushed"), os.path.join(work, "compacted")
    hours = args.days * 24
    if not os.path.isdir(flushed):
        began = time.perf_counter()
        make(flushed, args.days)
        print(f"made {files(flushed)[0]} files in {time.perf_counter() - began:.0f} s")
    if not os.path.isdir(compacted):
        shutil.copytree(flushed, compacted)
        wall, cpu = compact(compacted, hours)
        print(f"compacted in {wall:.1f} s, {cpu:.1f} CPU seconds of the server")
    for name, path in (("flushed", flushed), ("compacted", compacted)):
        print(f"{name}: {files(path)[0]} files, {dir_bytes(os.path.join(path, 'segments')) / 2**20:.1f} MiB")
    times = {"flushed": [], "compacted": []}
    for _ in range(args.runs):
        for name, path in (("flushed", flushed), ("compacted", compacted)):
            times[name].append(time_start(path, False))
    for name, runs in times.items():
        walls = sorted(w for w, _ in runs)
        cpus = sorted(c for _, c in runs)
        print(f"start to /readyz, {name}: median {statistics.median(walls):.3f} s "
              f"(min {walls[0]:.3f}, max {walls[-1]:.3f}), CPU {statistics.median(cpus):.2f} s")
    ratio = statistics.median(w for w, _ in times["flushed"]) / statistics.median(w for w, _ in times["compacted"])
    print(f"compacted starts {ratio:.1f}x faster")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
