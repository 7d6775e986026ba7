#!/usr/bin/env python3
"""Syslog and Popcorn over UDP with `sift bench`: datagrams a second accepted at full speed,
and the loss at 100k datagrams a second.

    python3 bench/udp.py [--count 2000000] [--repeats 3]

For each of `syslog-udp` (RFC 5424, 200-byte messages) and `popcorn` (v2 protobuf, 200-byte
messages, about 290-byte datagrams), against a release `sift serve` with a data directory and
the default configuration:
1. full speed: `--count` datagrams from one socket as fast as the kernel takes them;
2. 100k datagrams/s for 10 s (`--rate 100000 --count 1000000`).
The bench reads the server's `protocols.<name>` counters before and after, so loss shows as
sent against accepted: datagrams the kernel dropped never arrive (sent - received), and those
sift could not queue are counted by sift (`dropped.queue_full`).
Prints Markdown rows for BENCHMARKS.md.
"""
import argparse
import os
import statistics
import tempfile

from common import Sift, build, sift_bench


def run(protocol, counters, *args):
    with tempfile.TemporaryDirectory(prefix="sift-bench-") as data:
        server = Sift(data)
        try:
            report = sift_bench("--protocol", protocol, "--url", server.url, "--syslog",
                                f"127.0.0.1:{server.syslog_port}", "--popcorn", f"127.0.0.1:{server.popcorn_port}",
                                "--latency", "false", *args)
            report["counters"] = server.counters(counters)
            return report
        finally:
            server.kill()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    build()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start\n")
    print("| protocol | run | command | datagrams/s accepted (runs) | sent | not received (kernel) | "
          "dropped by sift | loss (runs) |")
    print("|---|---|---|---|---|---|---|---|")
    for protocol, counters in (("syslog-udp", "syslog_udp"), ("popcorn", "popcorn")):
        for name, extra in (("full speed", ["--count", str(args.count), "--connections", "1"]),
                            ("100k/s for 10 s", ["--count", "1000000", "--rate", "100000", "--connections", "1"])):
            runs = [run(protocol, counters, *extra) for _ in range(args.repeats)]
            median = sorted(runs, key=lambda r: r["events_per_sec"])[len(runs) // 2]
            server = median["server"]
            kernel = median["events_sent"] - server["received"]
            command = f"sift bench --protocol {protocol} {' '.join(extra)} --latency false"
            rates = ", ".join(f"{r['events_per_sec']:,.0f}" for r in runs)
            losses = ", ".join(f"{r['loss_pct']:.3f}%" for r in runs)
            print(f"| {protocol} | {name} | `{command}` | {median['events_per_sec']:,.0f} ({rates}) | "
                  f"{median['events_sent']:,} | {kernel:,} | {server['dropped']:,} "
                  f"{median['counters']['dropped_by_reason'] or ''} | {statistics.median(r['loss_pct'] for r in runs):.3f}% ({losses}) |")


if __name__ == "__main__":
    main()
