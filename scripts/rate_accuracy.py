#!/usr/bin/env python3
"""Open-loop pacing accuracy of `aiperf profile --request-rate`.

Runs aiperf against its in-process zero-latency simulator at the given rate and reports the
achieved send rate (from the per-request start times in profile_export.jsonl), the rate of the
intended schedule itself, and the schedule lag. Usage:

    cargo build --release -p aiperf
    scripts/rate_accuracy.py [--rate 2000] [--count 20000] [--pattern constant|poisson|gamma]
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default=str(ROOT / "target/release/aiperf"))
    p.add_argument("--rate", type=float, default=2000.0)
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--pattern", default="constant")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "run"
        cmd = [
            args.binary, "profile", "--sim", "zero", "--streaming", "--ui", "none",
            "--request-rate", str(args.rate), "--arrival-pattern", args.pattern,
            "--request-count", str(args.count), "--osl", "16",
            "--extra-inputs", "ignore_eos:true", "--random-seed", str(args.seed),
            "--artifact-dir", str(out),
        ]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        records = [json.loads(line) for line in (out / "profile_export.jsonl").open()]
        summary = json.loads((out / "profile_export_aiperf.json").read_text())
    starts = sorted(r["metadata"]["request_start_ns"] for r in records)
    intended = sorted(r["metadata"]["credit_issued_ns"] for r in records)
    n = len(starts)
    achieved = (n - 1) / ((starts[-1] - starts[0]) / 1e9)
    schedule = (n - 1) / ((intended[-1] - intended[0]) / 1e9)
    lag = summary["schedule_lag"]
    errors = summary.get("error_request_count", {}).get("avg", 0)
    print(f"pattern {args.pattern}, {n} requests, {errors:.0f} errors")
    print(f"requested rate      {args.rate:10.1f} /s")
    print(f"intended schedule   {schedule:10.1f} /s  ({100 * (schedule - args.rate) / args.rate:+.2f} %)")
    print(f"achieved send rate  {achieved:10.1f} /s  ({100 * (achieved - args.rate) / args.rate:+.2f} % of requested, "
          f"{100 * (achieved - schedule) / schedule:+.3f} % of schedule)")
    print(f"schedule lag        p50 {lag['p50']:.3f} ms  p99 {lag['p99']:.3f} ms  max {lag['max']:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
