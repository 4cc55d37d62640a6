#!/usr/bin/env python3
"""Side by side: the same benchmark by aiperf and by the Python AIPerf, on one simulator.

Starts `aiperf sim` (fixed preset: 20 ms to the first token, 5 ms between tokens), runs the
same streaming benchmark with both tools against it, and prints every metric the Python
AIPerf reports next to ours: tag, unit, both averages and their relative difference. Exits 1
when one of its metrics is missing from ours or carries another unit.

Usage:
  python3 scripts/compare_reference.py --binary target/release/aiperf \
      --python /path/to/venv/bin/python [--concurrency 4] [--requests 200]

The Python AIPerf must be installed for --python (pip install aiperf==0.13.0). Its
`--tokenizer builtin` needs tiktoken's o200k_base file; set TIKTOKEN_CACHE_DIR to a cache
that has it when the machine is offline.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def start_sim(binary: str) -> tuple[subprocess.Popen, str]:
    sim = subprocess.Popen(
        [binary, "sim", "--port", "0", "--preset", "fixed"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = sim.stdout.readline()
    url = next(w for w in line.split() if w.startswith("http://"))
    return sim, url


def run_both(args, url: str, work: Path) -> tuple[dict, dict]:
    common = [
        "--endpoint-type", "chat", "--streaming",
        "--concurrency", str(args.concurrency), "--request-count", str(args.requests),
        "--isl", "64", "--osl", "32", "--extra-inputs", "ignore_eos:true",
        "--gpu-telemetry", f"{url}/dcgm/metrics", "--server-metrics", f"{url}/metrics",
        "--export-http-trace",
    ]
    ours, ref = work / "ours", work / "reference"
    subprocess.run(
        [args.binary, "profile", "-m", "fixed-latency-sim", "-u", url, "--ui", "none",
         "--artifact-dir", str(ours), *common],
        check=True, stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        [args.python, "-m", "aiperf", "profile", "-m", "fixed-latency-sim", "-u", url,
         "--tokenizer", "builtin", "--ui", "none", "--artifact-dir", str(ref), *common],
        check=True, stdout=subprocess.DEVNULL,
    )
    load = lambda d: json.loads((d / "profile_export_aiperf.json").read_text())
    return load(ours), load(ref)


def metrics(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if isinstance(v, dict) and "unit" in v}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default="target/release/aiperf")
    p.add_argument("--python", default="python3")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--requests", type=int, default=200)
    args = p.parse_args()
    sim, url = start_sim(args.binary)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ours, ref = run_both(args, url, Path(tmp))
    finally:
        sim.kill()
        sim.wait()
    ours_m, ref_m = metrics(ours), metrics(ref)
    bad = 0
    print(f"{'metric':46} {'unit':>16} {'reference':>12} {'aiperf':>12} {'diff':>8}")
    for tag, r in ref_m.items():
        o = ours_m.get(tag)
        if o is None:
            print(f"{tag:46} {r['unit']:>16} {r.get('avg', float('nan')):12.3f} {'MISSING':>12}")
            bad += 1
            continue
        ra, oa = r.get("avg", float("nan")), o.get("avg", float("nan"))
        diff = (oa - ra) / abs(ra) * 100 if ra else float("nan")
        unit = r["unit"] if o["unit"] == r["unit"] else f"{r['unit']}≠{o['unit']}"
        bad += o["unit"] != r["unit"]
        print(f"{tag:46} {unit:>16} {ra:12.3f} {oa:12.3f} {diff:7.1f}%")
    extra = sorted(set(ours_m) - set(ref_m))
    print(f"\nonly in aiperf: {', '.join(extra) or 'none'}")
    print(f"{len(ref_m)} reference metrics, {bad} missing or in another unit")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
