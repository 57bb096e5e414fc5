#!/usr/bin/env python3
"""Runs mfa-kit-sqlx's `verify_code` bench (verify_code against its floor, issue 26)
several times and tabulates the ratios across runs, for README's Performance section.

    scripts/floor-runs.py [--runs 5] [-- extra bench arguments, e.g. --db postgres]

Each run is its own process (A and B interleave inside it); the table gives, per
database and number of tasks, the median and the range over the runs of A over B at
p50 and p99 and of A's throughput over B's, plus the last run's absolute figures.
Prints the load average before and after. Needs PostgreSQL (.ci/services).
"""

import os
import re
import statistics
import subprocess
import sys


def main():
    args = sys.argv[1:]
    runs = 5
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1 :]
        args = args[: args.index("--")]
    if args[:1] == ["--runs"]:
        runs = int(args[1])
    cmd = ["cargo", "bench", "-j1", "-p", "mfa-kit-sqlx", "--all-features", "--bench", "verify_code", "--"] + extra
    results = {}
    for run in range(runs):
        load = open("/proc/loadavg").read().split()[:3]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        print(f"run {run + 1}/{runs}: load before {' '.join(load)}", file=sys.stderr)
        for line in out.splitlines():
            if not line.startswith("RESULT "):
                continue
            parts = line.split()
            fields = dict(p.split("=") for p in parts[2:])
            key = (parts[1], int(fields["tasks"]))
            results.setdefault(key, []).append({k: float(v) for k, v in fields.items()})
    print(f"load after: {' '.join(open('/proc/loadavg').read().split()[:3])}", file=sys.stderr)

    def spread(values):
        return f"{statistics.median(values):.2f}x ({min(values):.2f}..{max(values):.2f})"

    print(f"| db | tasks | p50 A / B | p99 A / B | throughput A / B | last run: p50 A, B | p99 A, B | calls/s A, B |")
    print("|---|---:|---|---|---|---|---|---|")
    for (db, tasks), rs in sorted(results.items()):
        p50 = [r["a_p50_us"] / r["b_p50_us"] for r in rs]
        p99 = [r["a_p99_us"] / r["b_p99_us"] for r in rs]
        rate = [r["a_rate"] / r["b_rate"] for r in rs]
        last = rs[-1]
        ms = lambda us: f"{us / 1000:.2f} ms"
        print(
            f"| {db} | {tasks} | {spread(p50)} | {spread(p99)} | {spread(rate)} | "
            f"{ms(last['a_p50_us'])}, {ms(last['b_p50_us'])} | {ms(last['a_p99_us'])}, {ms(last['b_p99_us'])} | "
            f"{last['a_rate']:.0f}, {last['b_rate']:.0f} |"
        )
    print("\nEach run's A / B at p50 and p99:")
    for (db, tasks), rs in sorted(results.items()):
        p50 = " ".join(f"{r['a_p50_us'] / r['b_p50_us']:.2f}" for r in rs)
        p99 = " ".join(f"{r['a_p99_us'] / r['b_p99_us']:.2f}" for r in rs)
        print(f"- {db}, {tasks} tasks: p50 {p50}; p99 {p99}")
    print(f"\n{runs} runs of: {' '.join(cmd)}")


if __name__ == "__main__":
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    main()
