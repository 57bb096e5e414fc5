#!/usr/bin/env python3
"""Runs the in-process benches several times and prints README's target rows for them:
each ratio's median and its range over the runs (issue 26).

    scripts/perf-runs.py [--runs 3]

Per run, in one process each: `cargo bench --bench totp` (the core against the HMAC
floor and the fastest peer, totp-rs) and `cargo bench --bench signin --all-features`
(the service on `MemoryStore` against the core's verify, and two threads against one);
ratios are taken within a run, between functions that ran in the same process. Then
once: `cargo bench --bench memory` (bytes per user at 10^6 users) and
`tests/service_allocations.rs` (allocations per call). Prints the load average before
and after, since the machine's other work moves absolute times.
"""

import json
import os
import pathlib
import re
import statistics
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def medians(group):
    """Criterion's median (ns) of each function of `group`, from the last run."""
    found = {}
    folder = TARGET / "criterion" / group
    for function in folder.iterdir():
        estimates = function / "new" / "estimates.json"
        if estimates.is_file():
            name = json.loads((function / "new" / "benchmark.json").read_text())["function_id"]
            found[name] = json.loads(estimates.read_text())["median"]["point_estimate"]
    return found


def bench(*args):
    subprocess.run(["cargo", "bench", *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def load():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def spread(values, fmt="{:.2f}x"):
    values = sorted(values)
    middle = statistics.median(values)
    return f"{fmt.format(middle)} ({fmt.format(values[0])}..{fmt.format(values[-1])})"


def main():
    runs = 3
    if "--runs" in sys.argv:
        runs = int(sys.argv[sys.argv.index("--runs") + 1])
    print(f"load average before: {load()}", file=sys.stderr)
    rows = {key: [] for key in ("floor", "peer", "service", "full", "threads")}
    for run in range(runs):
        bench("--bench", "totp", "--all-features", "--", "verify_window1_worst", "--noplot")
        totp = medians("verify_window1_worst")
        rows["floor"].append(totp["mfa-kit"] / totp["hmac-floor"])
        rows["peer"].append(totp["totp-rs"] / totp["mfa-kit"])
        bench("--bench", "signin", "--all-features", "--", "--noplot")
        single = medians("sign_in_verify")
        core = single["core-verify"]
        rows["service"].append(single["service, authenticator only"] / core)
        rows["full"].append(single["service, full record, AEAD sealer"] / core)
        threads = medians("sign_in_threads")
        rows["threads"].append(threads["1 thread, 2 users in turn"] / threads["2 threads, 1 user each"])
        print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in rows.items()), file=sys.stderr)
    memory = subprocess.run(
        ["cargo", "bench", "--bench", "memory", "--all-features"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    per_user = re.search(r"memory_per_user: ([0-9]+) bytes", memory)
    allocations = subprocess.run(
        ["cargo", "test", "--release", "--all-features", "--test", "service_allocations", "--", "--nocapture"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    per_call = re.search(r"allocations per verify_code: ([0-9.]+)", allocations)
    print(f"load average after: {load()}", file=sys.stderr)
    print(f"| what | target | measured over {runs} runs: median (range) |")
    print("|---|---|---|")
    print(f"| core verify vs the HMAC floor | ≤ 1.1x | {spread(rows['floor'])} |")
    print(f"| core verify vs totp-rs, the fastest peer | ≥ 1.5x faster | {spread(rows['peer'])} faster |")
    print(f"| `verify_code` on `MemoryStore` vs the core's verify | ≤ 1.5x | {spread(rows['service'])} |")
    print(f"| the same, full record and AEAD sealer | (none) | {spread(rows['full'])} |")
    print(f"| two threads for two users vs one thread | ≥ 1.9x | {spread(rows['threads'])} |")
    print(f"| allocations per `verify_code` | ≤ 2 | {per_call.group(1) if per_call else 'not printed'} |")
    print(f"| memory per enrolled user at 10^6 users | ≤ 640 B | {per_user.group(1) + ' B' if per_user else 'not printed'} |")


if __name__ == "__main__":
    main()
