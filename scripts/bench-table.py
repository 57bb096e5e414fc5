#!/usr/bin/env python3
"""Prints criterion's medians for the given groups as a Markdown table with ratios.

Usage: scripts/bench-table.py [--base FUNCTION] GROUP [GROUP ...]   (after `cargo bench`)
Each row gives the median and its ratio to the base function (default `mfa-kit`) and
to `hmac-floor` of the same group, where the group has them.
Reads target/criterion/<group>/<function>/new/estimates.json.
"""
import json
import pathlib
import sys

root = pathlib.Path("target/criterion")
args = sys.argv[1:]
base = "mfa-kit"
if args[:1] == ["--base"]:
    base, args = args[1], args[2:]


def show(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


print(f"| group | function | median | vs {base} | vs hmac-floor |")
print("|---|---|---:|---:|---:|")
for group in args:
    folder = root / group
    if not folder.is_dir():
        sys.exit(f"no results for group {group!r}: run `cargo bench` first")
    medians = {}
    for function in folder.iterdir():
        estimates = function / "new" / "estimates.json"
        if estimates.is_file():
            benchmark = json.loads((function / "new" / "benchmark.json").read_text())
            medians[benchmark["function_id"]] = json.loads(estimates.read_text())["median"]["point_estimate"]
    reference = medians.get(base)
    floor = medians.get("hmac-floor")
    for function, ns in sorted(medians.items(), key=lambda item: item[1]):
        vs_base = f"{ns / reference:.2f}x" if reference else "-"
        vs_floor = f"{ns / floor:.2f}x" if floor else "-"
        print(f"| {group} | {function} | {show(ns)} | {vs_base} | {vs_floor} |")
