#!/usr/bin/env python3
"""aiperf and the Python AIPerf side by side against a real engine (llama.cpp's llama-server
from the shared realserver kit), plus a minimal client that opens a new connection for every
request, as the yardstick for time to first token.

For each concurrency: streamed chat, ISL 256, OSL 64 with ignore_eos, counts from the server's
usage (--use-server-token-count) for both tools. Reported per tool: requests lost (asked minus
answered), TTFT p50, ITL (avg) next to the engine's own decode time per generated token (its
/metrics counters over the same run), output token throughput.

    python3 scripts/realserver_bench.py --aiperf target/release/aiperf \\
        [--reference /tmp/refvenv/bin/aiperf] [--concurrency 1,4,8,16]

The engine runs pinned to core 1 with one thread (CPUS=1 THREADS=1), each client under
`taskset -c 0`, as in BENCHMARKS.md. The Python AIPerf counts nothing itself here, but its
`builtin` tokenizer still loads tiktoken's o200k_base: with no network, point
TIKTOKEN_CACHE_DIR at a cache holding it (--tiktoken-cache builds one from tiktoken-rs's copy).
"""

import argparse
import hashlib
import json
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

KIT = pathlib.Path(__file__).resolve().parents[1] / ".." / "shared" / "realserver"
REQUESTS = {1: 16, 4: 32, 8: 32, 16: 64}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_engine(port):
    env = dict(os.environ, CPUS="1", THREADS="1", PARALLEL="16", CTX="16384")
    out = subprocess.run(["bash", str(KIT / "start.sh"), str(port)], env=env,
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def counters(port):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    out = {}
    for line in data.decode().split("\r\n\r\n", 1)[1].splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def engine_itl_ms(before, after, requests):
    seconds = after["llamacpp:tokens_predicted_seconds_total"] - before["llamacpp:tokens_predicted_seconds_total"]
    tokens = after["llamacpp:tokens_predicted_total"] - before["llamacpp:tokens_predicted_total"]
    # The first token of each answer comes from the prompt pass; the rest are decode steps.
    return seconds * 1e3 / max(tokens - requests, 1)


def run_tool(binary, port, concurrency, requests, art, reference, seed):
    args = ["taskset", "-c", "0", binary, "profile", "-m", "tiny", "-u", f"http://127.0.0.1:{port}",
            "--endpoint-type", "chat", "--streaming", "--concurrency", str(concurrency),
            "--request-count", str(requests), "--extra-inputs", "ignore_eos:true",
            "--use-server-token-count", "--tokenizer", "builtin", "--artifact-dir", str(art),
            "--random-seed", str(seed), "--num-dataset-entries", str(max(100, 2 * requests))]
    if reference:
        args += ["--synthetic-input-tokens-mean", "256", "--output-tokens-mean", "64",
                 "--ui-type", "none", "--no-gpu-telemetry"]
    else:
        args += ["--isl", "256", "--osl", "64", "--ui", "none"]
    t0 = time.time()
    proc = subprocess.run(args, capture_output=True, text=True)
    wall = time.time() - t0
    summary = art / "profile_export_aiperf.json"
    if not summary.exists():
        found = list(art.rglob("profile_export_aiperf.json"))
        summary = found[0] if found else None
    if summary is None:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"{binary}: no summary")
    doc = json.loads(summary.read_text())
    stat = lambda tag, s="avg": (doc.get(tag) or {}).get(s)
    ok = stat("request_count") or 0
    return {
        "ok": int(ok),
        "lost": requests - int(ok),
        "ttft_p50": stat("time_to_first_token", "p50"),
        "itl": stat("inter_token_latency"),
        "tput": stat("output_token_throughput"),
        "wall": wall,
        "dir": summary.parent,
    }


def minimal_client(port, prompts):
    """TTFT of streamed chat requests, each on a new connection, one at a time."""
    ttfts = []
    for prompt in prompts:
        body = json.dumps({"model": "tiny", "messages": [{"role": "user", "content": prompt}],
                           "max_completion_tokens": 64, "ignore_eos": True, "stream": True,
                           "stream_options": {"include_usage": True}}).encode()
        head = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n").encode()
        # Timed from before connecting, as aiperf times a request that needs a new connection.
        start = time.perf_counter_ns()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(head + body)
            buf, first = b"", None
            while chunk := s.recv(65536):
                buf += chunk
                if first is None and b'"content":"' in buf.split(b"\r\n\r\n", 1)[-1].replace(b'"content":""', b""):
                    first = time.perf_counter_ns()
        ttfts.append((first - start) / 1e6)
    return ttfts


def unsent_prompts(run_dir, n):
    """Prompts of the run's dataset that it did not send: the same kind of prompt, none of
    which the engine has seen (so no prompt cache helps)."""
    sent = {json.loads(l)["metadata"]["conversation_id"]
            for l in (run_dir / "profile_export.jsonl").read_text().splitlines()}
    doc = json.loads((run_dir / "inputs.json").read_text())
    texts = [s["payloads"][0]["messages"][-1]["content"] for s in doc["data"]
             if s["session_id"] not in sent]
    return texts[:n]


def tiktoken_cache():
    """A TIKTOKEN_CACHE_DIR holding o200k_base, from tiktoken-rs's copy (no network)."""
    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    found = list(pathlib.Path.home().glob(".cargo/registry/src/*/tiktoken-rs-*/assets/o200k_base.tiktoken"))
    if not found:
        return None
    cache = pathlib.Path(tempfile.gettempdir()) / "aiperf-tiktoken-cache"
    cache.mkdir(exist_ok=True)
    shutil.copy(found[0], cache / hashlib.sha1(url.encode()).hexdigest())
    return cache


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--aiperf", default="target/release/aiperf")
    ap.add_argument("--reference")
    ap.add_argument("--concurrency", default="1,4,8,16")
    args = ap.parse_args()
    if args.reference and "TIKTOKEN_CACHE_DIR" not in os.environ:
        cache = tiktoken_cache()
        if cache:
            os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="realserver-bench-"))
    port = free_port()
    pid = start_engine(port)
    rows = []
    try:
        # Warm the engine (first requests pay for allocations).
        minimal_client(port, ["warm up " * 50] * 2)
        seed = 100
        for c in [int(x) for x in args.concurrency.split(",")]:
            n = REQUESTS.get(c, 4 * c)
            for name, binary, ref in [("aiperf", args.aiperf, False), ("Python AIPerf", args.reference, True)]:
                if not binary:
                    continue
                # A seed per run: no run sends a prompt the engine has cached from another.
                seed += 1
                before = counters(port)
                r = run_tool(binary, port, c, n, tmp / f"{name.replace(' ', '_')}-c{c}", ref, seed)
                r["engine_itl"] = engine_itl_ms(before, counters(port), r["ok"])
                r.update(tool=name, c=c, n=n)
                rows.append(r)
                if c == 1 and not ref:
                    # The yardstick: the same kind of requests (prompts aiperf did not send, so no
                    # prompt cache helps), each on its own new connection.
                    t = minimal_client(port, unsent_prompts(r["dir"], n))
                    rows.append(dict(tool="minimal client (new connection each)", c=1, n=n, ok=len(t),
                                     lost=n - len(t), ttft_p50=statistics.median(t), itl=None,
                                     engine_itl=None, tput=None, wall=None))
    finally:
        subprocess.run(["kill", str(pid)])
    fmt = lambda x, d=2: "–" if x is None else f"{x:.{d}f}"
    print("| concurrency | client | lost / sent | TTFT p50 (ms) | ITL avg (ms) | engine decode per token (ms) | ITL vs engine | output tok/s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        vs = "–" if r["itl"] is None or not r["engine_itl"] else f"{(r['itl'] / r['engine_itl'] - 1) * 100:+.1f} %"
        print(f"| {r['c']} | {r['tool']} | {r['lost']} / {r['n']} | {fmt(r['ttft_p50'])} | {fmt(r['itl'])} | "
              f"{fmt(r['engine_itl'])} | {vs} | {fmt(r['tput'], 1)} |")


if __name__ == "__main__":
    main()
