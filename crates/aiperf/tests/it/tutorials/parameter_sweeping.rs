//! docs/tutorials/parameter-sweeping.md: `--concurrency 10,20,30,40` runs one benchmark per
//! value and compares them in `sweep_aggregate/`; with `--num-profile-runs` each value is
//! repeated (trials in `repeated` or `independent` order) and aggregated with confidence
//! intervals; seeds, cooldowns, warmup, telemetry and goodput apply to every run.
//!
//! Commands printed with `...` get the rest of the first example (model, endpoint type, URL,
//! `--num-prompts`). `--num-prompts` is the dataset's size, not a request count: each run sends
//! the default count (this tool: 10 or twice the concurrency, whichever is more, as the Python
//! AIPerf's `--request-count` help says; its 0.13 code sends 10). The URL keeps its `/v1/chat/completions` path, pointed at a
//! simulator. For sweeps with trials in `repeated` order the tutorial shows `sweep_aggregate/`
//! at the top of the tree; the Python AIPerf 0.13 writes it under `aggregate/` then (its
//! `sweep_aggregate` directory is at the top only without trials or in `independent` order),
//! and so does this tool, as checked here.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Run, Sim, Tutorial, read_json, records, secs};

const SIMPLE: &str = r"aiperf profile \
  --model llama-3-8b \
  --endpoint-type chat \
  --url http://localhost:8000/v1/chat/completions \
  --concurrency 10,20,30,40 \
  --num-prompts 1000";

const CONFIDENCE: &str = r"aiperf profile \
  --model llama-3-8b \
  --endpoint-type chat \
  --url http://localhost:8000/v1/chat/completions \
  --concurrency 10,20,30,40 \
  --num-profile-runs 5 \
  --num-prompts 1000";

const AUTO_UI: &str = "aiperf profile --concurrency 10,20,30,40 ...";
const SIMPLE_UI: &str = "aiperf profile --concurrency 10,20,30,40 --ui simple ...";
const NO_UI: &str = r"aiperf profile \
  --concurrency 10,20,30,40 \
  --ui none \
  ...";
const DASHBOARD_UI: &str = "aiperf profile --concurrency 10,20,30,40 --ui dashboard ...";

const INDEPENDENT: &str = r"aiperf profile \
  --concurrency 10,20,30,40 \
  --num-profile-runs 5 \
  --parameter-sweep-mode independent \
  ...";

const REPEATED: &str = r"aiperf profile \
  --concurrency 10,20,30,40 \
  --num-profile-runs 5 \
  --parameter-sweep-mode repeated \
  ...";

const SAME_SEED: &str = r"aiperf profile \
  --concurrency 10,20,30,40 \
  --parameter-sweep-same-seed \
  ...";

const BASE_SEED: &str = r"aiperf profile \
  --concurrency 10,20,30,40 \
  --random-seed 123 \
  ...";

const SWEEP_COOLDOWN: &str = r"aiperf profile \
  --concurrency 10,20,30,40 \
  --parameter-sweep-cooldown-seconds 30.0 \
  ...";

const BOTH_COOLDOWNS: &str = r"aiperf profile \
  --concurrency 10,20,30,40 \
  --num-profile-runs 5 \
  --profile-run-cooldown-seconds 10.0 \
  --parameter-sweep-cooldown-seconds 30.0 \
  ...";

const WIDE_RANGE: &str = "aiperf profile --concurrency 5,10,20,40,80 ...";

const WARMUP: &str = r"aiperf profile \
  --concurrency 10,20,30,40 \
  --warmup-request-count 100 \
  ...";

const GPU_TELEMETRY: &str = r"aiperf profile \
  --concurrency 10,20,30,40 \
  --gpu-telemetry http://localhost:9400/metrics \
  ...";

const SERVER_METRICS: &str = r"aiperf profile \
  --concurrency 10,20,30,40 \
  --server-metrics http://localhost:8000/metrics \
  ...";

const GOODPUT: &str = r#"aiperf profile \
  --concurrency 10,20,30,40 \
  --goodput "time_to_first_token:100 inter_token_latency:10" \
  ..."#;

/// The first example's flags, for the `...` of the others.
const REST: [&str; 8] = [
    "--model",
    "llama-3-8b",
    "--endpoint-type",
    "chat",
    "--url",
    "http://localhost:8000/v1/chat/completions",
    "--num-prompts",
    "1000",
];

/// A sweep run against a simulator: the run and its sweep directory.
struct Sweep {
    run: Run,
    base: PathBuf,
    _tmp: tempfile::TempDir,
}

/// Runs `cmd` (its dataset made small) against a zero-latency simulator.
fn sweep(cmd: Tutorial, edit: impl FnOnce(Tutorial, &str) -> Tutorial) -> Sweep {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::start(tmp.path(), "server", "llama-3-8b", "zero", 1.0);
    let cmd = edit(cmd.with("--num-prompts", "20"), sim.url()).on_urls(&[sim.url()]);
    let run = cmd.run_in(tmp.path());
    let served = sim.served();
    assert!(
        served
            .iter()
            .all(|r| r["endpoint"] == "/v1/chat/completions"),
        "the URL's path is the request path"
    );
    let base = tmp
        .path()
        .join("artifacts/llama-3-8b-openai-chat-concurrency_sweep");
    Sweep {
        run,
        base,
        _tmp: tmp,
    }
}

fn printed(text: &str) -> Tutorial {
    let cmd = Tutorial::parse(text);
    if cmd.args().iter().any(|a| a == "...") {
        cmd.filling(&REST)
    } else {
        cmd
    }
}

fn plain(text: &str) -> Sweep {
    sweep(printed(text), |c, _| c)
}

/// Every run directory under `base` (those holding `run_config.json`), with its concurrency
/// and the time of its first and last request, in the order they ran.
fn runs(base: &Path) -> Vec<(PathBuf, u64, f64, f64)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.join("run_config.json").is_file() {
                out.push(path);
            } else if path.is_dir() {
                walk(&path, out);
            }
        }
    }
    let mut dirs = Vec::new();
    walk(base, &mut dirs);
    let mut out: Vec<(PathBuf, u64, f64, f64)> = dirs
        .into_iter()
        .map(|d| {
            let recs = records(&d);
            let first = recs
                .iter()
                .map(|r| secs(r, "request_start_ns"))
                .fold(f64::INFINITY, f64::min);
            let last = recs
                .iter()
                .map(|r| secs(r, "request_end_ns"))
                .fold(0.0, f64::max);
            let c = read_json(&d.join("run_config.json"))["cfg"]["phases"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()["concurrency"]
                .as_u64()
                .unwrap();
            (d, c, first, last)
        })
        .collect();
    out.sort_by(|a, b| a.2.total_cmp(&b.2));
    out
}

fn order(base: &Path) -> Vec<u64> {
    runs(base).iter().map(|r| r.1).collect()
}

/// The sweep aggregate compares the values given.
fn compares(aggregate: &Path, values: &[u64]) -> Value {
    let doc = read_json(aggregate);
    assert_eq!(doc["metadata"]["aggregation_type"], "sweep");
    let params: Vec<u64> = doc["per_combination_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["parameters"]["concurrency"].as_u64().unwrap())
        .collect();
    assert_eq!(params, values);
    assert!(doc["best_configurations"]["best_throughput"].is_object());
    assert!(doc["best_configurations"]["best_latency_p99"].is_object());
    assert!(!doc["pareto_optimal"].as_array().unwrap().is_empty());
    doc
}

#[test]
fn one_run_per_concurrency_and_a_sweep_aggregate() {
    let s = plain(SIMPLE);
    s.run.ok();
    for c in [10, 20, 30, 40] {
        let dir = s.base.join(format!("concurrency_{c}"));
        for file in [
            "profile_export_aiperf.json",
            "profile_export_aiperf.csv",
            "profile_export.jsonl",
            "inputs.json",
        ] {
            assert!(dir.join(file).is_file(), "{}/{file}", dir.display());
        }
        let requests = read_json(&dir.join("run_config.json"))["cfg"]["phases"][0]["requests"]
            .as_u64()
            .unwrap();
        assert_eq!(records(&dir).len() as u64, requests);
        assert!(requests >= 10);
    }
    assert!(
        s.base
            .join("sweep_aggregate/profile_export_aiperf_sweep.csv")
            .is_file()
    );
    compares(
        &s.base
            .join("sweep_aggregate/profile_export_aiperf_sweep.json"),
        &[10, 20, 30, 40],
    );
    assert_eq!(order(&s.base), [10, 20, 30, 40]);
}

#[test]
fn a_sweep_with_confidence_runs() {
    let s = sweep(printed(CONFIDENCE), |c, _| {
        c.with("--num-profile-runs", "2")
    });
    s.run.ok();
    for t in 1..=2 {
        for c in [10, 20, 30, 40] {
            let dir = s
                .base
                .join(format!("profile_runs/trial_000{t}/concurrency_{c}"));
            assert!(dir.join("profile_export_aiperf.json").is_file(), "{dir:?}");
        }
    }
    for c in [10, 20, 30, 40] {
        let agg = read_json(&s.base.join(format!(
            "aggregate/concurrency_{c}/profile_export_aiperf_aggregate.json"
        )));
        assert_eq!(agg["metadata"]["aggregation_type"], "confidence");
        assert_eq!(agg["metadata"]["num_successful_runs"], 2);
        assert!(
            s.base
                .join(format!(
                    "aggregate/concurrency_{c}/profile_export_aiperf_aggregate.csv"
                ))
                .is_file()
        );
    }
    let doc = compares(
        &s.base
            .join("aggregate/sweep_aggregate/profile_export_aiperf_sweep.json"),
        &[10, 20, 30, 40],
    );
    assert_eq!(doc["metadata"]["num_trials_per_value"], 2);
    assert_eq!(doc["metadata"]["sweep_mode"], "repeated");
    // Repeated: the whole sweep, then the whole sweep again.
    assert_eq!(order(&s.base), [10, 20, 30, 40, 10, 20, 30, 40]);
}

#[test]
fn sweeps_pick_the_simple_ui() {
    let s = sweep(printed(AUTO_UI).default_ui(), |c, _| c);
    let err = s.run.ok().stderr();
    assert!(
        err.contains("Parameter sweep mode: UI automatically set to 'simple'"),
        "{err}"
    );
    for text in [SIMPLE_UI, NO_UI] {
        let s = plain(text);
        let err = s.run.ok().stderr();
        assert!(!err.contains("automatically set"), "{err}");
        assert_eq!(order(&s.base), [10, 20, 30, 40]);
    }
}

#[test]
fn the_dashboard_is_refused_for_sweeps() {
    plain(DASHBOARD_UI)
        .run
        .refused("Dashboard UI is not supported with parameter sweeps");
}

#[test]
fn independent_and_repeated_orders() {
    let s = sweep(printed(INDEPENDENT), |c, _| {
        c.with("--num-profile-runs", "2")
    });
    s.run.ok();
    assert_eq!(order(&s.base), [10, 10, 20, 20, 30, 30, 40, 40]);
    compares(
        &s.base
            .join("sweep_aggregate/profile_export_aiperf_sweep.json"),
        &[10, 20, 30, 40],
    );
    let s = sweep(printed(REPEATED), |c, _| c.with("--num-profile-runs", "2"));
    s.run.ok();
    assert_eq!(order(&s.base), [10, 20, 30, 40, 10, 20, 30, 40]);
}

fn seeds_and_inputs(base: &Path) -> Vec<(u64, String)> {
    runs(base)
        .iter()
        .map(|(d, ..)| {
            let seed = read_json(&d.join("run_config.json"))["random_seed"]
                .as_u64()
                .unwrap();
            (
                seed,
                std::fs::read_to_string(d.join("inputs.json")).unwrap(),
            )
        })
        .collect()
}

#[test]
fn seeds_per_value_or_the_same_for_all() {
    let s = plain(BASE_SEED);
    s.run.ok();
    let seeds: Vec<u64> = seeds_and_inputs(&s.base).iter().map(|s| s.0).collect();
    assert_eq!(seeds, [123, 124, 125, 126]);

    let s = plain(SAME_SEED);
    s.run.ok();
    let all = seeds_and_inputs(&s.base);
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|s| *s == all[0]), "one seed, one workload");
}

/// The pauses between consecutive runs, in seconds.
fn pauses(base: &Path) -> Vec<f64> {
    runs(base).windows(2).map(|w| w[1].2 - w[0].3).collect()
}

#[test]
fn cooldowns_between_values_and_trials() {
    let s = sweep(printed(SWEEP_COOLDOWN), |c, _| {
        c.with("--parameter-sweep-cooldown-seconds", "0.5")
    });
    s.run.ok();
    let p = pauses(&s.base);
    assert!(p.iter().all(|&p| p >= 0.5), "{p:?}");

    let s = sweep(printed(BOTH_COOLDOWNS), |c, _| {
        c.with("--num-profile-runs", "2")
            .with("--profile-run-cooldown-seconds", "0.8")
            .with("--parameter-sweep-cooldown-seconds", "0.3")
    });
    s.run.ok();
    let p = pauses(&s.base);
    // Repeated order: values within a trial 0.3 s apart, the trials 0.8 s apart.
    assert_eq!(p.len(), 7);
    for (i, &pause) in p.iter().enumerate() {
        let least = if i == 3 { 0.8 } else { 0.3 };
        assert!(pause >= least, "pause {i}: {pause:.3} s ({p:?})");
    }
}

#[test]
fn a_wider_range() {
    let s = plain(WIDE_RANGE);
    s.run.ok();
    assert_eq!(order(&s.base), [5, 10, 20, 40, 80]);
    compares(
        &s.base
            .join("sweep_aggregate/profile_export_aiperf_sweep.json"),
        &[5, 10, 20, 40, 80],
    );
}

#[test]
fn every_value_warms_up() {
    let s = sweep(printed(WARMUP), |c, _| {
        c.with("--warmup-request-count", "5")
    });
    s.run.ok();
    for (dir, ..) in runs(&s.base) {
        let phases = read_json(&dir.join("run_config.json"))["cfg"]["phases"].clone();
        assert_eq!(phases[0]["kind"], "warmup");
        assert_eq!(phases[0]["requests"], 5);
        assert_eq!(
            records(&dir).len() as u64,
            phases[1]["requests"].as_u64().unwrap(),
            "the warmup's requests are not measured"
        );
    }
}

#[test]
fn telemetry_and_server_metrics_for_every_value() {
    let s = sweep(printed(GPU_TELEMETRY), |c, url| {
        c.replacing(
            "http://localhost:9400/metrics",
            &format!("{url}/dcgm/metrics"),
        )
    });
    s.run.ok();
    for (dir, ..) in runs(&s.base) {
        let text = std::fs::read_to_string(dir.join("gpu_telemetry_export.jsonl")).unwrap();
        assert!(text.lines().count() > 0, "{}", dir.display());
    }
    let s = sweep(printed(SERVER_METRICS), |c, url| {
        c.replacing("http://localhost:8000/metrics", &format!("{url}/metrics"))
    });
    s.run.ok();
    for (dir, ..) in runs(&s.base) {
        let doc = read_json(&dir.join("server_metrics_export.json"));
        assert!(doc.to_string().contains("vllm:"), "{}", dir.display());
    }
}

/// The printed command (with the first example's flags) does not stream, so neither target
/// is measured: each run says so and reports no goodput. With `--streaming` every run does.
#[test]
fn goodput_for_every_value() {
    let s = plain(GOODPUT);
    let err = s.run.ok().stderr();
    assert!(
        err.contains(
            "--goodput time_to_first_token: not measured in this run (it needs --streaming)"
        ),
        "{err}"
    );
    for (dir, ..) in runs(&s.base) {
        let summary = read_json(&dir.join("profile_export_aiperf.json"));
        assert!(summary.get("goodput").is_none(), "{}", dir.display());
    }
    let s = sweep(printed(GOODPUT).plus(&["--streaming"]), |c, _| c);
    s.run.ok();
    let all = runs(&s.base);
    assert_eq!(all.len(), 4);
    for (dir, ..) in all {
        let summary = read_json(&dir.join("profile_export_aiperf.json"));
        assert!(summary["goodput"]["avg"].is_number(), "{}", dir.display());
        assert!(summary["good_request_count"]["avg"].is_number());
    }
}
