#!/usr/bin/env python3
"""Time between consecutive runs of a sweep (cooldown aside).

Runs a 10-value concurrency sweep against the in-process zero-latency simulator and reports,
for each pair of consecutive runs, the gap between the last response of one run and the first
request of the next, from the timestamps in their profile_export.jsonl files. Usage:

    cargo build --release -p aiperf
    scripts/sweep_overhead.py [--values 1,2,3,4,5,6,7,8,9,10] [--requests 200]
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default=str(ROOT / "target/release/aiperf"))
    p.add_argument("--values", default="1,2,3,4,5,6,7,8,9,10")
    p.add_argument("--requests", type=int, default=200)
    args = p.parse_args()
    values = args.values.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "sweep"
        cmd = [
            args.binary, "profile", "--sim", "zero", "--streaming", "--ui", "none",
            "--concurrency", args.values, "--request-count", str(args.requests),
            "--osl", "16", "--extra-inputs", "ignore_eos:true", "--artifact-dir", str(out),
        ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        spans = []
        for v in values:
            records = [json.loads(line) for line in (out / f"concurrency_{v}" / "profile_export.jsonl").open()]
            start = min(r["metadata"]["request_start_ns"] for r in records)
            end = max(r["metadata"]["request_end_ns"] for r in records)
            spans.append((start, end))
    gaps = [(spans[i + 1][0] - spans[i][1]) / 1e6 for i in range(len(spans) - 1)]
    print(f"{len(values)} runs of {args.requests} requests; gap between runs (ms):")
    print("  " + ", ".join(f"{g:.1f}" for g in gaps))
    print(f"  median {statistics.median(gaps):.1f} ms, max {max(gaps):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
