#!/usr/bin/env python3
"""Client performance harness: aiperf (and optionally the Python reference tool) against
`aiperf sim` on loopback, client and server pinned to separate cores when possible.

    cargo build --release -p aiperf
    scripts/bench.py                          # every scenario, aiperf only
    scripts/bench.py --reference /path/to/venv/bin/aiperf   # also the reference tool
    scripts/bench.py --only closed,bias       # some scenarios

Scenarios (see BENCHMARKS.md for recorded results):
  closed   closed loop at concurrency 1, 64, 256, 1024; 16 streamed tokens per request:
           client CPU per request and per token, requests/s, tokens/s
  bias     reported TTFT/ITL minus the server's own timestamps (fixed 20 ms / 5 ms server)
  rate     open loop at 1k, 5k, 20k req/s: achieved vs requested, schedule lag
  startup  process start to first request
  memory   peak RSS for 10^4 and 10^6 requests
"""

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HAS_TASKSET = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


def pinned(core, cmd):
    return (["taskset", "-c", str(core)] + cmd) if HAS_TASKSET else cmd


class Sim:
    """`aiperf sim` in its own process on core 1."""

    def __init__(self, binary, preset, record=None):
        cmd = [binary, "sim", "--preset", preset, "--port", "0", "--log-level", "error"]
        if record:
            cmd += ["--record-requests", str(record)]
        self.proc = subprocess.Popen(pinned(1, cmd), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"on (http://\S+)", line)
        if not m:
            self.proc.kill()
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.url = m.group(1)
        self.model = {"zero": "zero-latency-sim", "fixed": "fixed-latency-sim"}.get(preset, "llama-3.1-8b-instruct-sim")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_client(cmd, out_dir):
    """Runs a client pinned to core 0; returns (cpu seconds, wall seconds, start time ns)."""
    before = children_cpu()
    t0 = time.time_ns()
    start = time.perf_counter()
    subprocess.run(pinned(0, cmd), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return children_cpu() - before, time.perf_counter() - start, t0


def aiperf_cmd(binary, sim, out, *extra):
    return [binary, "profile", "-m", sim.model, "-u", sim.url, "--streaming", "--ui", "none",
            "--isl", "32", "--osl", "16", "--extra-inputs", "ignore_eos:true", "--tokenizer", "cl100k_base",
            "--artifact-dir", str(out), *EXTRA, *extra]


EXTRA = []


def reference_cmd(binary, sim, out, *extra):
    return [binary, "profile", "--model", sim.model, "--url", sim.url, "--endpoint-type", "chat", "--streaming",
            "--ui", "none", "--synthetic-input-tokens-mean", "32", "--output-tokens-mean", "16",
            "--extra-inputs", "ignore_eos:true", "--tokenizer", "cl100k_base", "--artifact-dir", str(out), *extra]


def summary(out):
    return json.loads((out / "profile_export_aiperf.json").read_text())


def records(out):
    with (out / "profile_export.jsonl").open() as f:
        return [json.loads(line) for line in f if line.strip()]


def pct(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def closed(args, tmp):
    rows = []
    for tool, binary, make in tools(args):
        for conc, n in [(1, 2000), (64, 20000), (256, 20000), (1024, 20000)]:
            if tool == "reference" and conc == 1024:
                continue
            sim = Sim(args.binary, "zero")
            try:
                out = tmp / f"closed-{tool}-{conc}"
                cpu, wall, _ = run_client(make(binary, sim, out, "--concurrency", str(conc), "--request-count", str(n)), out)
            finally:
                sim.stop()
            s = summary(out)
            rps = s["request_throughput"]["avg"]
            tps = s["output_token_throughput"]["avg"]
            tokens = s["total_osl"]["avg"]
            audit = s.get("client_audit", {}).get("cpu_per_request_us")
            rows.append((tool, conc, n, rps, tps, cpu * 1e6 / n, cpu * 1e6 / tokens, wall, audit))
    print("\n## closed loop (zero-latency server, 16 tokens per request)")
    print("CPU per request: the whole process (start-up included) from the OS, and the profiling phase alone")
    print("(aiperf's own client_audit).")
    print("| tool | concurrency | requests | requests/s | tokens/s | CPU µs/request (process) | (profiling phase) | µs/token | wall s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        phase = f"{r[8]:.1f}" if r[8] is not None else "–"
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.0f} | {r[4]:.0f} | {r[5]:.1f} | {phase} | {r[6]:.2f} | {r[7]:.1f} |")


def bias(args, tmp):
    print("\n## measurement bias (fixed server: TTFT 20 ms, ITL 5 ms), concurrency 256, 5120 requests")
    print("TTFT − server TTFT: the client's TTFT minus the server's first-token time from its own arrival stamp")
    print("(includes the server's intake queue); receive lag: client first-token time minus the server's send time.")
    print("| tool | TTFT − server p50 / p99 | same, after the first 256 | receive lag p50 / p99 | reported TTFT p50 / p99 | ITL p50 / p99 |")
    print("|---|---|---|---|---|---|")
    for tool, binary, make in tools(args):
        record = tmp / f"server-{tool}.jsonl"
        sim = Sim(args.binary, "fixed", record)
        try:
            out = tmp / f"bias-{tool}"
            run_client(make(binary, sim, out, "--concurrency", "256", "--request-count", "5120"), out)
        finally:
            sim.stop()
        server = {}
        with record.open() as f:
            for line in f:
                r = json.loads(line)
                if r.get("client_request_id") and r.get("first_token_ns"):
                    server[r["client_request_id"]] = r
        diffs, later, lag = [], [], []
        for r in sorted(records(out), key=lambda r: r["metadata"]["request_start_ns"]):
            m = r["metadata"]
            ttft = r["metrics"].get("time_to_first_token", {}).get("value")
            srv = server.get(m.get("x_request_id"))
            if srv is None or ttft is None:
                continue
            d = ttft - (srv["first_token_ns"] - srv["arrival_ns"]) / 1e6
            diffs.append(d)
            if len(diffs) > 256:
                later.append(d)
            lag.append(m["request_start_ns"] / 1e6 + ttft - srv["first_token_ns"] / 1e6)
        s = summary(out)
        t, i = s["time_to_first_token"], s["inter_token_latency"]
        f = lambda v: f"{pct(v, 50):.3f} / {pct(v, 99):.3f} ms" if v else "n/a"
        print(f"| {tool} | {f(diffs)} | {f(later)} | {f(lag)} | {t['p50']:.2f} / {t['p99']:.2f} ms | {i['p50']:.3f} / {i['p99']:.3f} ms |")


def rate(args, tmp):
    print("\n## open loop (zero-latency server, constant arrivals)")
    print("| requested/s | requests | achieved/s | schedule lag p50 / p99 | client CPU µs/request |")
    print("|---|---|---|---|---|")
    for r in [1000, 5000, 20000]:
        n = r * 10
        sim = Sim(args.binary, "zero")
        try:
            out = tmp / f"rate-{r}"
            cpu, _, _ = run_client(aiperf_cmd(args.binary, sim, out, "--request-rate", str(r), "--arrival-pattern", "constant",
                                              "--request-count", str(n)), out)
        finally:
            sim.stop()
        starts = sorted(x["metadata"]["request_start_ns"] for x in records(out))
        achieved = (len(starts) - 1) / ((starts[-1] - starts[0]) / 1e9)
        lag = summary(out)["schedule_lag"]
        print(f"| {r} | {n} | {achieved:.1f} ({100 * (achieved - r) / r:+.2f} %) | {lag['p50']:.3f} / {lag['p99']:.3f} ms | {cpu * 1e6 / n:.1f} |")


def startup(args, tmp):
    print("\n## start to first request")
    print("| tool | median of 5 | runs |")
    print("|---|---|---|")
    for tool, binary, make in tools(args):
        times = []
        for k in range(5):
            sim = Sim(args.binary, "zero")
            try:
                out = tmp / f"start-{tool}-{k}"
                _, _, t0 = run_client(make(binary, sim, out, "--concurrency", "1", "--request-count", "10"), out)
            finally:
                sim.stop()
            first = min(r["metadata"]["request_start_ns"] for r in records(out))
            times.append((first - t0) / 1e6)
        print(f"| {tool} | {statistics.median(times):.1f} ms | {', '.join(f'{t:.0f}' for t in times)} ms |")


def memory(args, tmp):
    print("\n## peak memory (client only; concurrency 256, 16 tokens per request)")
    print("| requests | peak RSS | wall s |")
    print("|---|---|---|")
    for n in [10_000, 1_000_000]:
        if n > 10_000 and args.quick:
            continue
        sim = Sim(args.binary, "zero")
        try:
            out = tmp / f"mem-{n}"
            _, wall, _ = run_client(aiperf_cmd(args.binary, sim, out, "--concurrency", "256", "--request-count", str(n),
                                               "--export-level", "summary"), out)
        finally:
            sim.stop()
        rss = summary(out)["client_audit"]["peak_rss_mb"]
        print(f"| {n} | {rss:.0f} MB | {wall:.1f} |")


def offline_tiktoken_cache(tmp):
    """The reference tool's tiktoken downloads cl100k_base on first use; point it at the copy
    that ships with the tiktoken-rs crate (same file) so it runs offline."""
    import glob
    import hashlib
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    found = glob.glob(f"{home}/registry/src/*/tiktoken-rs-*/assets/cl100k_base.tiktoken")
    if not found:
        return
    cache = tmp / "tiktoken-cache"
    cache.mkdir(exist_ok=True)
    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    shutil.copy(found[0], cache / hashlib.sha1(url.encode()).hexdigest())
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))


def tools(args):
    out = [("aiperf", args.binary, aiperf_cmd)]
    if args.reference:
        out.append(("reference", args.reference, reference_cmd))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default=str(ROOT / "target/release/aiperf"))
    p.add_argument("--reference", help="the Python reference tool's `aiperf` executable")
    p.add_argument("--only", default="closed,bias,rate,startup,memory")
    p.add_argument("--quick", action="store_true", help="skip the 10^6-request memory run")
    p.add_argument("--aiperf-args", default="", help="extra flags for aiperf, e.g. '--connection-warmup false'")
    args = p.parse_args()
    EXTRA.extend(args.aiperf_args.split())
    print(f"# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, pinned: {HAS_TASKSET}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.reference:
            offline_tiktoken_cache(Path(tmp))
        for name in args.only.split(","):
            globals()[name](args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
