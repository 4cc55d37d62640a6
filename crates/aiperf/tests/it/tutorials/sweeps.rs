//! docs/tutorials/sweeps.md: YAML configs (`models`, `endpoint`, `datasets`, `phases`) with
//! a `sweep:` (grid of dot-path variables, or named scenarios deep-merged onto the base) and
//! `multi_run:` repetitions.
//!
//! The tutorial prints no `aiperf profile` line. Its CI example runs `aiperf --config
//! sweep_ci.yaml`, which the Python AIPerf 0.13 refuses ("Unknown command \"--config\""), and
//! its configs are written for a later format than 0.13's: 0.13 refuses each of them
//! (`sweep.grid.variables: Extra inputs are not permitted` / `parameters: Field required`, and
//! `phases.0.poisson.dataset: Extra inputs are not permitted`). Both refusals are checked
//! here; then the grid example runs as a 0.13 user would fix it (`variables:` becomes
//! `parameters:`, the phase's `dataset:` line goes), against a simulator with a shorter phase
//! and a smaller dataset. The model (`meta-llama/Llama-3.1-8B-Instruct`) needs its tokenizer:
//! a word-level one is put in a Hugging Face cache of the test's own, as a reader's earlier
//! download would be.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::local_tokenizer::WORD_LEVEL;
use super::{Sim, read_json};
use crate::common::{aiperf, stderr};

const SATURATION: &str = r"models:
  - meta-llama/Llama-3.1-8B-Instruct

endpoint:
  urls:
    - http://localhost:8000/v1/chat/completions
  type: chat
  streaming: true

datasets:
  - name: main
    type: synthetic
    entries: 2000
    prompts:
      isl: {type: normal, mean: 512, stddev: 50}
      osl: {type: normal, mean: 128, stddev: 25}

phases:
  - name: profiling
    type: poisson
    dataset: main
    duration: 120
    rate: 10       # overridden by sweep
    concurrency: 8 # overridden by sweep
    grace_period: 30

sweep:
  type: grid
  variables:
    phases.profiling.concurrency: [8, 32, 64, 128]
    phases.profiling.rate: [10, 50, 100]

artifacts:
  dir: ./artifacts/saturation_sweep
  summary: [json]
";

const SCENARIOS: &str = r"models:
  - meta-llama/Llama-3.1-8B-Instruct

endpoint:
  urls:
    - http://localhost:8000/v1/chat/completions
  type: chat
  streaming: true

datasets:
  - name: main
    type: synthetic
    entries: 2000
    prompts:
      isl: {type: normal, mean: 512, stddev: 50}
      osl: {type: normal, mean: 128, stddev: 25}

phases:
  - name: profiling
    type: poisson
    dataset: main
    duration: 120
    rate: 20
    concurrency: 32
    grace_period: 30

sweep:
  type: scenarios
  runs:
    - name: short_chatbot
      datasets:
        - name: main
          prompts:
            isl: {type: normal, mean: 64, stddev: 10}
            osl: {type: normal, mean: 32, stddev: 8}
      phases:
        - name: profiling
          rate: 100

    - name: summarization
      datasets:
        - name: main
          prompts:
            isl: {type: normal, mean: 2048, stddev: 200}
            osl: {type: normal, mean: 256, stddev: 50}
      phases:
        - name: profiling
          concurrency: 16
          rate: 10

    - name: long_context_qa
      datasets:
        - name: main
          prompts:
            isl: {type: normal, mean: 8192, stddev: 500}
            osl: {type: normal, mean: 512, stddev: 100}
      phases:
        - name: profiling
          concurrency: 8
          rate: 5

artifacts:
  dir: ./artifacts/workload_comparison
  summary: [json]
";

const ISL_GRID: &str = r"models:
  - meta-llama/Llama-3.1-8B-Instruct

endpoint:
  urls:
    - http://localhost:8000/v1/chat/completions
  type: chat
  streaming: true

datasets:
  - name: main
    type: synthetic
    entries: 2000
    prompts:
      isl: 128  # overridden by sweep
      osl: {type: normal, mean: 128, stddev: 25}

phases:
  - name: profiling
    type: poisson
    dataset: main
    duration: 120
    rate: 30
    concurrency: 32
    grace_period: 30

sweep:
  type: grid
  variables:
    datasets.main.prompts.isl: [128, 512, 2048]

artifacts:
  dir: ./artifacts/isl_sweep
  summary: [json]
";

const CONFIDENCE: &str = r"models:
  - meta-llama/Llama-3.1-8B-Instruct

endpoint:
  urls:
    - http://localhost:8000/v1/chat/completions
  type: chat
  streaming: true

datasets:
  - name: main
    type: synthetic
    entries: 2000
    prompts:
      isl: {type: normal, mean: 512, stddev: 50}
      osl: {type: normal, mean: 128, stddev: 25}

phases:
  - name: warmup
    type: concurrency
    exclude_from_results: true
    requests: 100
    concurrency: 8

  - name: profiling
    type: poisson
    dataset: main
    duration: 120
    rate: 30
    concurrency: 16  # overridden by sweep
    seamless: true
    grace_period: 30

sweep:
  type: grid
  variables:
    phases.profiling.concurrency: [16, 64, 128]

multi_run:
  num_runs: 3
  cooldown_seconds: 5.0
  confidence_level: 0.95
  disable_warmup_after_first: true

random_seed: 42

artifacts:
  dir: ./artifacts/concurrency_confidence
  summary: [json]
";

const SWEEP_CI: &str = r"endpoint:
  urls:
    - http://localhost:8000/v1/chat/completions
  type: chat
  streaming: true

models:
  - meta-llama/Llama-3.1-8B-Instruct

datasets:
  - name: main
    type: synthetic
    entries: 2000
    prompts:
      isl: {type: normal, mean: 512, stddev: 50}
      osl: {type: normal, mean: 128, stddev: 25}

phases:
  - name: profiling
    type: poisson
    dataset: main
    duration: 120
    rate: 30
    concurrency: 32
    grace_period: 30

sweep:
  type: grid
  variables:
    phases.profiling.concurrency: [16, 32, 64, 128]

multi_run:
  num_runs: 3
  cooldown_seconds: 5.0
";

const CI_COMMAND: &str = r"INFERENCE_URL=http://gpu-server:8000/v1/chat/completions \
MODEL_NAME=nvidia/Llama-3.1-Nemotron-70B-Instruct \
NUM_RUNS=5 \
DURATION=300 \
aiperf --config sweep_ci.yaml";

/// `text` with each `(from, to)` replaced once; every `from` must be there.
#[track_caller]
fn edit(text: &str, changes: &[(&str, &str)]) -> String {
    let mut out = text.to_owned();
    for (from, to) in changes {
        assert!(out.contains(from), "{from:?} is not in the config");
        out = out.replacen(from, to, 1);
    }
    out
}

/// Less work for every config: shorter phases and datasets, a simulator's URL.
fn smaller(text: &str, url: &str, more: &[(&str, &str)]) -> String {
    let local = format!("    - {url}/v1/chat/completions");
    let mut changes = vec![
        (
            "    - http://localhost:8000/v1/chat/completions",
            local.as_str(),
        ),
        ("entries: 2000", "entries: 20"),
    ];
    changes.extend_from_slice(more);
    let mut out = edit(text, &changes);
    for (from, to) in [
        ("duration: 120", "duration: 0.4"),
        ("grace_period: 30", "grace_period: 5"),
    ] {
        out = out.replace(from, to);
    }
    out
}

/// A Hugging Face cache holding the config's model's tokenizer (word level).
fn hub_cache(root: &Path) -> PathBuf {
    let home = root.join("hf");
    let repo = home.join("hub/models--meta-llama--Llama-3.1-8B-Instruct");
    let snapshot = repo.join("snapshots/0123abcd");
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "0123abcd").unwrap();
    std::fs::write(snapshot.join("tokenizer.json"), WORD_LEVEL).unwrap();
    home
}

/// Runs `aiperf profile --config FILE` in `cwd` against a zero-latency simulator.
fn run_config(cwd: &Path, name: &str, config: impl FnOnce(&str) -> String) {
    let sim = Sim::start(
        cwd,
        "server",
        "meta-llama/Llama-3.1-8B-Instruct",
        "zero",
        1.0,
    );
    std::fs::write(cwd.join(name), config(sim.url())).unwrap();
    let output = aiperf()
        .current_dir(cwd)
        .env("HF_HOME", hub_cache(cwd))
        .env("HF_HUB_OFFLINE", "1")
        .args(["profile", "--config", name, "--ui", "none"])
        .output()
        .unwrap();
    sim.served();
    assert!(
        output.status.success(),
        "aiperf profile --config {name}: {}",
        stderr(&output)
    );
}

/// Every run directory under `base` (holding `run_config.json`), relative, with its
/// `run_config.json`.
fn runs(base: &Path) -> Vec<(String, Value)> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Value)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.join("run_config.json").is_file() {
                let rel = path.strip_prefix(base).unwrap().display().to_string();
                out.push((rel, read_json(&path.join("run_config.json"))));
            } else if path.is_dir() {
                walk(base, &path, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(base, base, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn profiling(config: &Value) -> Value {
    config["cfg"]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "profiling")
        .unwrap()
        .clone()
}

#[test]
fn aiperf_config_without_profile_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("sweep_ci.yaml"), SWEEP_CI).unwrap();
    let args = CI_COMMAND.lines().last().unwrap();
    assert_eq!(args, "aiperf --config sweep_ci.yaml");
    let output = aiperf()
        .current_dir(tmp.path())
        .args(["--config", "sweep_ci.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("--config"), "{}", stderr(&output));
}

/// Every printed config is refused, naming what 0.13 does not accept.
#[test]
fn the_printed_configs_are_refused() {
    for (name, text, key) in [
        ("saturation.yaml", SATURATION, "sweep.variables"),
        ("isl.yaml", ISL_GRID, "sweep.variables"),
        ("confidence.yaml", CONFIDENCE, "sweep.variables"),
        ("sweep_ci.yaml", SWEEP_CI, "sweep.variables"),
        ("scenarios.yaml", SCENARIOS, "scenarios.yaml"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(name), text).unwrap();
        let output = aiperf()
            .current_dir(tmp.path())
            .args(["profile", "--config", name, "--ui", "none"])
            .output()
            .unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(key), "{name}: {err}");
    }
}

#[test]
fn a_grid_runs_every_combination() {
    let tmp = tempfile::tempdir().unwrap();
    run_config(tmp.path(), "saturation.yaml", |url| {
        smaller(
            SATURATION,
            url,
            &[
                ("duration: 120", "duration: 0.3"),
                ("  variables:", "  parameters:"),
                ("    dataset: main\n", ""),
            ],
        )
    });
    let all = runs(&tmp.path().join("artifacts/saturation_sweep"));
    let mut want = BTreeSet::new();
    for c in [8, 32, 64, 128] {
        for r in [10, 50, 100] {
            want.insert((c, r));
        }
    }
    let got: BTreeSet<(u64, u64)> = all
        .iter()
        .map(|(_, config)| {
            let phase = profiling(config);
            (
                phase["concurrency"].as_u64().unwrap(),
                phase["rate"].as_f64().unwrap() as u64,
            )
        })
        .collect();
    assert_eq!(got, want);
    for (dir, _) in &all {
        assert!(dir.starts_with("concurrency_"), "{dir}");
    }
}
