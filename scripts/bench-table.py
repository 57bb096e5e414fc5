#!/usr/bin/env python3
"""Prints criterion's medians for the given groups as a Markdown table with ratios.

Usage: scripts/bench-table.py GROUP [GROUP ...]   (after `cargo bench`)
Each row gives the median and its ratio to `mfa-kit` and to `hmac-floor` of the same
group, when that group has them. Reads target/criterion/<group>/<function>/new/estimates.json.
"""
import json
import pathlib
import sys

root = pathlib.Path("target/criterion")


def median_ns(group, function):
    path = root / group / function / "new" / "estimates.json"
    return json.loads(path.read_text())["median"]["point_estimate"]


def show(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


print("| group | function | median | vs mfa-kit | vs hmac-floor |")
print("|---|---|---:|---:|---:|")
for group in sys.argv[1:]:
    functions = sorted(p.name for p in (root / group).iterdir() if (p / "new").is_dir())
    medians = {f: median_ns(group, f) for f in functions}
    ours = medians.get("mfa-kit")
    floor = medians.get("hmac-floor")
    for function, ns in sorted(medians.items(), key=lambda item: item[1]):
        vs_ours = f"{ns / ours:.2f}x" if ours else "-"
        vs_floor = f"{ns / floor:.2f}x" if floor else "-"
        print(f"| {group} | {function} | {show(ns)} | {vs_ours} | {vs_floor} |")
