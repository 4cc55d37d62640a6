//! The configuration as the reference tool writes it: `input_config` of
//! `profile_export_aiperf.json` and `cfg` of `run_config.json` carry what a run was told, in
//! the reference tool's `BenchmarkConfig` shape, and leave out what is at its defaults;
//! `run_info` and the identity fields of `run_config.json` place a run in its plan.

use std::path::Path;

use serde_json::{Value, json};

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Runs `aiperf profile --sim fixed ARGS --ui none --artifact-dir DIR` (the command line the
/// tests read back starts with `aiperf profile --sim fixed`), which must succeed.
#[track_caller]
fn profile(dir: &Path, args: &[&str]) {
    let mut all = vec!["profile", "--sim", "fixed"];
    all.extend_from_slice(args);
    all.extend(["--ui", "none", "--artifact-dir", dir.to_str().unwrap()]);
    let output = crate::common::run(&all);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        crate::common::stderr(&output)
    );
}

/// `input_config` of the summary, which `cfg` of `run_config.json` repeats.
fn input_config(dir: &Path) -> Value {
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    let run_config = read_json(&dir.join("run_config.json"));
    assert_eq!(summary["input_config"], run_config["cfg"]);
    summary["input_config"].clone()
}

/// Streaming at a concurrency: the values given are carried, the defaults are not written.
#[test]
fn a_closed_loop_run_writes_what_was_set_and_no_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    profile(
        &dir,
        &[
            "--streaming",
            "--concurrency",
            "3",
            "--request-count",
            "9",
            "--isl",
            "40",
            "--osl",
            "12",
            "--random-seed",
            "11",
            "--num-dataset-entries",
            "5",
            "--no-gpu-telemetry",
        ],
    );
    let c = input_config(&dir);
    let url = c["endpoint"]["urls"][0].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{c:#}");
    assert_eq!(
        c["endpoint"],
        json!({"urls": [url], "type": "chat", "streaming": true})
    );
    assert_eq!(
        c["models"],
        json!({"items": [{"name": "fixed-latency-sim"}]})
    );
    assert_eq!(
        c["datasets"],
        json!([{
            "type": "synthetic",
            "name": "main",
            "entries": 5,
            "random_seed": 11,
            "sampling": "shuffle",
            "prompts": {"isl": {"mean": 40.0}, "osl": {"mean": 12.0}},
        }])
    );
    assert_eq!(
        c["phases"],
        json!([{
            "name": "profiling",
            "kind": "profiling",
            "type": "concurrency",
            "requests": 9,
            "concurrency": 3,
        }])
    );
    assert_eq!(c["artifacts"], json!({"dir": dir}));
    assert_eq!(c["gpu_telemetry"], json!({"enabled": false}));
    assert!(c.get("server_metrics").is_none(), "on by default: {c:#}");
    assert!(c.get("slos").is_none(), "{c:#}");
    assert_eq!(c["tokenizer"], json!({"name": "builtin"}));
    assert_eq!(c["runtime"], json!({"ui": "none"}));
    // Nothing is written as null, at any depth.
    assert!(!c.to_string().contains("null"), "{c:#}");

    // A single run: its identity, no plan around it.
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert_eq!(summary["schema_version"], "1.4");
    let info = &summary["run_info"];
    assert_eq!(info["benchmark_id"], summary["benchmark_id"]);
    assert_eq!(info["random_seed"], 11);
    assert_eq!(info["trial"], 0);
    assert!(info.get("sweep_id").is_none() && info.get("variation_label").is_none());
    let command = info["cli_command"].as_str().unwrap();
    assert!(
        command.starts_with("aiperf profile --sim fixed") && command.contains("--concurrency 3"),
        "{command}"
    );
    // This tool's own settings are kept beside it.
    assert_eq!(summary["aiperf_config"]["load"]["concurrency"], 3);
    let run_config = read_json(&dir.join("run_config.json"));
    assert_eq!(run_config["aiperf_config"]["random_seed"], 11);
    assert_eq!(run_config["trial"], 0);
    assert_eq!(run_config["artifact_dir"], json!(dir));
    assert_eq!(run_config["cli_command"], info["cli_command"]);
    assert!(run_config.get("sweep_id").is_none() && run_config.get("variation").is_none());
}

/// Rate mode with a warmup, goodput, credentials, headers and extra inputs: each lands where
/// the reference tool keeps it, secrets redacted.
#[test]
fn an_open_loop_run_with_warmup_goodput_and_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    profile(
        &dir,
        &[
            "--request-rate",
            "50",
            "--arrival-pattern",
            "gamma",
            "--arrival-smoothness",
            "2",
            "--concurrency",
            "4",
            "--request-count",
            "10",
            "--warmup-request-count",
            "2",
            "--goodput",
            "request_latency:500",
            "--api-key",
            "sk-top-secret",
            "--header",
            "X-Team:bench",
            "--header",
            "Authorization:Bearer hidden",
            "--extra-inputs",
            "temperature:0.5",
            "--isl",
            "20",
            "--isl-stddev",
            "3",
            "--export-level",
            "summary",
            "--request-timeout-seconds",
            "60",
        ],
    );
    let c = input_config(&dir);
    let text = c.to_string();
    assert!(
        !text.contains("sk-top-secret") && !text.contains("hidden"),
        "{c:#}"
    );
    assert_eq!(c["endpoint"]["api_key"], "<redacted>");
    assert_eq!(
        c["endpoint"]["headers"],
        json!({"X-Team": "bench", "Authorization": "<redacted>"})
    );
    assert_eq!(c["endpoint"]["extra"], json!({"temperature": 0.5}));
    assert_eq!(c["endpoint"]["timeout"], 60.0);
    assert!(c["endpoint"].get("streaming").is_none(), "{c:#}");
    assert_eq!(
        c["datasets"][0]["prompts"]["isl"],
        json!({"mean": 20.0, "stddev": 3.0})
    );
    assert_eq!(
        c["phases"],
        json!([
            {
                "name": "warmup",
                "kind": "warmup",
                "type": "gamma",
                "exclude_from_results": true,
                "requests": 2,
                "concurrency": 4,
                "rate": 50.0,
                "smoothness": 2.0,
            },
            {
                "name": "profiling",
                "kind": "profiling",
                "type": "gamma",
                "requests": 10,
                "concurrency": 4,
                "rate": 50.0,
                "smoothness": 2.0,
            },
        ])
    );
    assert_eq!(c["slos"], json!({"request_latency": 500.0}));
    assert_eq!(c["artifacts"], json!({"dir": dir, "records": false}));
}

/// A trace replayed at its timestamps: a file dataset and a fixed-schedule phase of every row.
#[test]
fn a_trace_replay_writes_a_file_dataset_and_a_fixed_schedule() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = tmp.path().join("trace.jsonl");
    std::fs::write(
        &trace,
        "{\"timestamp\": 0, \"input_length\": 30, \"output_length\": 4, \"hash_ids\": [1]}\n\
         {\"timestamp\": 20, \"input_length\": 30, \"output_length\": 4, \"hash_ids\": [2]}\n",
    )
    .unwrap();
    let dir = tmp.path().join("run");
    profile(
        &dir,
        &[
            "--endpoint-type",
            "completions",
            "--input-file",
            trace.to_str().unwrap(),
            "--custom-dataset-type",
            "mooncake_trace",
            "--fixed-schedule",
            "--random-seed",
            "3",
        ],
    );
    let c = input_config(&dir);
    assert_eq!(
        c["datasets"],
        json!([{
            "type": "file",
            "name": "main",
            "path": trace,
            "format": "mooncake_trace",
            "random_seed": 3,
        }])
    );
    assert_eq!(
        c["phases"],
        json!([{"name": "profiling", "kind": "profiling", "type": "fixed_schedule", "requests": 2}])
    );
    assert_eq!(c["endpoint"]["type"], "completions");
}

/// Every run of a sweep with trials shares the sweep's id and records its variation (the
/// swept value by its configuration path), its zero-based trial and its seed.
#[test]
fn sweep_runs_record_their_variation_trial_and_sweep_id() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    profile(
        &dir,
        &[
            "--concurrency",
            "1,2",
            "--num-profile-runs",
            "2",
            "--request-count",
            "4",
        ],
    );
    let mut sweep_ids = std::collections::BTreeSet::new();
    for (trial, variation, concurrency) in [(0, 0, 1), (0, 1, 2), (1, 0, 1), (1, 1, 2)] {
        let run_dir = dir.join(format!(
            "profile_runs/trial_{:04}/concurrency_{concurrency}",
            trial + 1
        ));
        let rc = read_json(&run_dir.join("run_config.json"));
        assert_eq!(
            rc["variation"],
            json!({
                "index": variation,
                "label": format!("phases.profiling.concurrency={concurrency}"),
                "values": {"phases.profiling.concurrency": concurrency},
            })
        );
        assert_eq!(rc["trial"], trial);
        assert_eq!(rc["label"], format!("run_{:04}", trial + 1));
        assert_eq!(rc["random_seed"], 42 + variation);
        assert_eq!(rc["cfg"]["phases"][0]["concurrency"], concurrency);
        assert_eq!(rc["artifact_dir"], json!(run_dir));
        assert_eq!(rc["variables"], json!({}));
        let info = &read_json(&run_dir.join("profile_export_aiperf.json"))["run_info"];
        assert_eq!(info["sweep_id"], rc["sweep_id"]);
        assert_eq!(info["trial"], trial);
        assert_eq!(info["run_label"], rc["label"]);
        assert_eq!(info["variation_index"], variation);
        assert_eq!(info["variation_values"], rc["variation"]["values"]);
        assert!(
            info["cli_command"]
                .as_str()
                .unwrap()
                .contains("--concurrency 1,2")
        );
        sweep_ids.insert(rc["sweep_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(sweep_ids.len(), 1, "{sweep_ids:?}");
    let id = sweep_ids.into_iter().next().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
}
