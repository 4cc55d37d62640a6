//! Against a real inference engine: llama.cpp's own `llama-server` serving a tiny random-weight
//! model, built by the kit in `../shared/realserver` (`.ci/run` builds it; `setup.sh` is
//! instant once built). A checkout elsewhere points these tests at an engine of its own with
//! `AIPERF_REALSERVER_URL` (model name in `AIPERF_REALSERVER_MODEL`, default `tiny`).
//!
//! Without an engine the tests say so and pass; with `AIPERF_REQUIRE_REALSERVER=1` (as in CI)
//! a missing engine fails them instead. They run one at a time, since each measures the server.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use crate::common::{read_lines, run, stderr, stdout};

/// One engine test at a time.
static ENGINE: Mutex<()> = Mutex::new(());

/// A running engine, stopped when dropped (if this test started it).
struct Engine {
    url: String,
    model: String,
    pid: Option<u32>,
    _turn: MutexGuard<'static, ()>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

/// The kit's folder: `AIPERF_REALSERVER_KIT`, or `shared/realserver` beside the checkout.
fn kit() -> PathBuf {
    std::env::var_os("AIPERF_REALSERVER_KIT").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/realserver"),
        PathBuf::from,
    )
}

/// Starts an engine (or takes the one named by `AIPERF_REALSERVER_URL`); `None`, after saying
/// why, when there is none to be had.
fn engine() -> Option<Engine> {
    let turn = ENGINE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let model = std::env::var("AIPERF_REALSERVER_MODEL").unwrap_or_else(|_| "tiny".into());
    if let Ok(url) = std::env::var("AIPERF_REALSERVER_URL") {
        return Some(Engine {
            url,
            model,
            pid: None,
            _turn: turn,
        });
    }
    let root = std::env::var_os("REALSERVER_ROOT")
        .map_or_else(|| PathBuf::from("/tmp/realserver"), PathBuf::from);
    let built = root.join("build/bin/llama-server").is_file() && root.join("tiny.gguf").is_file();
    let start = kit().join("start.sh");
    if !built || !start.is_file() {
        let why = format!(
            "no real engine: {} is not built (run {}/setup.sh) and AIPERF_REALSERVER_URL is not set",
            root.join("build/bin/llama-server").display(),
            kit().display()
        );
        assert!(
            std::env::var_os("AIPERF_REQUIRE_REALSERVER").is_none(),
            "{why}"
        );
        let _ = writeln!(std::io::stderr().lock(), "skipped: {why}");
        return None;
    }
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let out = Command::new("bash")
        .arg(&start)
        .arg(port.to_string())
        .env("REALSERVER_ROOT", &root)
        .env("PARALLEL", "8")
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "the engine did not start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    // Should this process die without unwinding, the engine goes with it.
    let _ = Command::new("sh")
        .arg("-c")
        .arg("while kill -0 $0 2>/dev/null; do sleep 2; done; kill $1 2>/dev/null")
        .arg(std::process::id().to_string())
        .arg(pid.to_string())
        .spawn();
    Some(Engine {
        url: format!("http://127.0.0.1:{port}"),
        model,
        pid: Some(pid),
        _turn: turn,
    })
}

/// The engine's Prometheus counters, read with a bare GET.
fn counters(url: &str) -> HashMap<String, f64> {
    let authority = url.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(authority).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn stat(summary: &Value, tag: &str, stat: &str) -> f64 {
    summary[tag][stat].as_f64().unwrap_or(f64::NAN)
}

fn profile(e: &Engine, dir: &Path, args: &[&str]) -> Value {
    let mut all = vec![
        "profile",
        "-m",
        &e.model,
        "-u",
        &e.url,
        "--ui",
        "none",
        "--extra-inputs",
        "ignore_eos:true",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let output = run(&all);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{all:?}\n{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    read_json(&dir.join("profile_export_aiperf.json"))
}

/// Streamed and non-streamed chat and completions at concurrency 1 and 8: every request is
/// answered (none lost to connections the engine closes after a stream), and with the
/// server's counts every answer has exactly the requested length.
#[test]
fn no_request_is_lost_and_lengths_are_exact() {
    let Some(e) = engine() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for endpoint in ["chat", "completions"] {
        for streaming in [true, false] {
            for (concurrency, requests) in [(1, 6), (8, 16)] {
                let label = format!("{endpoint}-{streaming}-{concurrency}");
                let dir = tmp.path().join(&label);
                let (c, n) = (concurrency.to_string(), requests.to_string());
                let mut args = vec![
                    "--endpoint-type",
                    endpoint,
                    "--concurrency",
                    &c,
                    "--request-count",
                    &n,
                    "--isl",
                    "64",
                    "--osl",
                    "16",
                    "--use-server-token-count",
                ];
                if streaming {
                    args.push("--streaming");
                }
                let s = profile(&e, &dir, &args);
                assert_eq!(stat(&s, "request_count", "avg"), requests as f64, "{label}");
                assert_eq!(
                    stat(&s, "error_request_count", "avg").max(0.0),
                    0.0,
                    "{label}"
                );
                assert!(s["error_summary"].as_array().unwrap().is_empty(), "{label}");
                for r in read_lines(&dir.join("profile_export.jsonl")) {
                    assert_eq!(
                        r["metrics"]["output_sequence_length"]["value"], 16,
                        "{label}: {r}"
                    );
                }
                // The engine closes a connection after each streamed answer: a few requests
                // find that out and go again; then the client stops reusing connections.
                let resent = s["client_audit"]["requests_resent"].as_u64().unwrap();
                assert!(resent <= 3 + concurrency, "{label}: {resent} re-sent");
            }
        }
    }
}

/// Inter-token latency, measured by the client from the stream, agrees with the engine's own
/// decode time per generated token (from its `/metrics` counters) within 5 %, at concurrency
/// 1 and 8. The engine's first token of each answer comes from the prompt pass ("the first
/// token is free" in llama.cpp's accounting), so its decode steps are tokens − requests.
/// The run's own scrape of the engine's `llamacpp:*` series is in its server-metrics export.
#[test]
fn inter_token_latency_matches_the_engines_decode_time() {
    let Some(e) = engine() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for (concurrency, requests) in [(1, 6), (8, 16)] {
        let before = counters(&e.url);
        let dir = tmp.path().join(format!("c{concurrency}"));
        let s = profile(
            &e,
            &dir,
            &[
                "--streaming",
                "--concurrency",
                &concurrency.to_string(),
                "--request-count",
                &requests.to_string(),
                "--isl",
                "128",
                "--osl",
                "64",
                "--use-server-token-count",
            ],
        );
        let after = counters(&e.url);
        let delta = |name: &str| after[name] - before.get(name).copied().unwrap_or(0.0);
        let seconds = delta("llamacpp:tokens_predicted_seconds_total");
        let tokens = delta("llamacpp:tokens_predicted_total");
        assert_eq!(
            tokens,
            (requests * 64) as f64,
            "the engine generated what was asked"
        );
        let engine_ms = seconds * 1e3 / (tokens - requests as f64);
        let client_ms = stat(&s, "inter_token_latency", "avg");
        let off = (client_ms - engine_ms).abs() / engine_ms;
        assert!(
            off <= 0.05,
            "concurrency {concurrency}: client ITL {client_ms:.3} ms vs engine {engine_ms:.3} ms ({:.1} %)",
            off * 100.0
        );
        let scraped = read_json(&dir.join("server_metrics_export.json")).to_string();
        for series in ["llamacpp:tokens_predicted", "llamacpp:requests_processing"] {
            assert!(
                scraped.contains(series),
                "{series} not in the server-metrics export"
            );
        }
    }
}

/// `--tokenizer server` builds prompts with the engine's own tokenizer (Llama 3's, not the
/// built-in o200k): the prompt text is exactly `--isl` tokens as the engine counts it.
#[test]
fn the_engines_tokenizer_gives_exact_input_lengths() {
    let Some(e) = engine() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let s = profile(
        &e,
        &dir,
        &[
            "--endpoint-type",
            "completions",
            "--tokenizer",
            "server",
            "--concurrency",
            "2",
            "--request-count",
            "4",
            "--isl",
            "50",
            "--osl",
            "8",
        ],
    );
    assert_eq!(stat(&s, "input_sequence_length", "avg"), 50.0);
    assert_eq!(stat(&s, "input_sequence_length", "std"), 0.0);
    // (Answers are counted by re-tokenizing their text, which for a random-weight model's
    // token soup need not give back the generated count; --use-server-token-count does.)
    // The engine adds its beginning-of-text token to a completions prompt.
    let usage = stat(&s, "usage_prompt_tokens", "avg");
    assert!(
        (50.0..=51.0).contains(&usage),
        "usage prompt tokens {usage}"
    );
    assert_eq!(s["aiperf_config"]["tokenizer"]["kind"], "server");
}

/// A sweep and the `max-concurrency-under-sla` recipe run to the end on the engine with
/// answers that make sense: every cell measured, and the SLA boundary is a concurrency that
/// was measured and passed.
#[test]
fn sweeps_and_recipes_finish_with_sane_answers() {
    let Some(e) = engine() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("sweep");
    let output = run(&[
        "profile",
        "-m",
        &e.model,
        "-u",
        &e.url,
        "--ui",
        "none",
        "--streaming",
        "--extra-inputs",
        "ignore_eos:true",
        "--isl",
        "64",
        "--osl",
        "16",
        "--concurrency",
        "1,4",
        "--request-count",
        "8",
        "--artifact-dir",
        sweep.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let agg = read_json(&sweep.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    let cells = agg["per_combination_metrics"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    let throughput = |i: usize| {
        cells[i]["metrics"]["output_token_throughput_avg"]["mean"]
            .as_f64()
            .unwrap()
    };
    // Both cells measured throughput; which one is higher is a benchmark's question (on a
    // busy 2-core machine the engine may get less CPU during one of them), not a test's.
    assert!(throughput(0) > 0.0 && throughput(1) > 0.0, "{cells:#?}");
    assert_eq!(agg["num_successful_runs"], 2, "{agg:#}");

    let recipe = tmp.path().join("recipe");
    let output = run(&[
        "profile",
        "-m",
        &e.model,
        "-u",
        &e.url,
        "--ui",
        "none",
        "--streaming",
        "--extra-inputs",
        "ignore_eos:true",
        "--isl",
        "64",
        "--osl",
        "16",
        "--search-recipe",
        "max-concurrency-under-sla",
        "--ttft-sla-ms",
        "1000",
        "--concurrency-max",
        "16",
        "--search-max-iterations",
        "5",
        "--artifact-dir",
        recipe.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let h = read_json(&recipe.join("search_history.json"));
    let iterations = h["iterations"].as_array().unwrap();
    assert!(!iterations.is_empty() && iterations.len() <= 5);
    let found = h["boundary_summary"]["feasible_max"]["value"]
        .as_f64()
        .expect("a feasible concurrency");
    assert!((1.0..=16.0).contains(&found), "{found}");
    let at_found = iterations
        .iter()
        .find(|it| it["variation_values"]["phases.profiling.concurrency"].as_f64() == Some(found))
        .expect("the boundary was measured");
    assert_eq!(at_found["feasible"], true, "{at_found}");
}
