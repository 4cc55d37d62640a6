//! What a run writes and under which names: `--profile-export-prefix` (every export named
//! after one base, as the Python AIPerf names them, and every reader of ours finding them),
//! `--export-outputs-json`, `--plot-required`.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::common::{assert_usage_error, read_lines, run, stderr, stdout};

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The plain files directly in `dir`.
fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn sim_run(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "profile",
        "--ui",
        "none",
        "--sim",
        "zero",
        "--streaming",
        "--request-count",
        "6",
        "--isl",
        "16",
        "--osl",
        "4",
        "--extra-inputs",
        "ignore_eos:true",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    if !extra.contains(&"--concurrency") {
        args.extend_from_slice(&["--concurrency", "2"]);
    }
    run(&args)
}

#[test]
fn a_prefix_names_every_export_and_plot_finds_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    // A known ending is dropped from the value: `foo_raw.jsonl` names the files `foo*`.
    let out = sim_run(
        &dir,
        &[
            "--profile-export-prefix",
            "foo_raw.jsonl",
            "--export-level",
            "raw",
            "--slice-duration",
            "1",
            "--server-metrics-formats",
            "json,csv,jsonl",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let files = names(&dir);
    for f in [
        "foo.json",
        "foo.csv",
        "foo.jsonl",
        "foo_raw.jsonl",
        "foo_timeslices.json",
        "foo_timeslices.csv",
        "foo_console.txt",
        "foo_gpu_telemetry.jsonl",
        "foo_server_metrics.json",
        "foo_server_metrics.csv",
        "foo_server_metrics.jsonl",
        "inputs.json",
        "run_config.json",
    ] {
        assert!(files.contains(f), "{f} missing: {files:?}");
    }
    assert!(
        !files
            .iter()
            .any(|f| f.starts_with("profile_export") || f.contains("_export.")),
        "standard names written too: {files:?}"
    );
    let summary = read_json(&dir.join("foo.json"));
    assert_eq!(summary["request_count"]["avg"], 6.0, "{summary:#}");
    assert_eq!(read_lines(&dir.join("foo.jsonl")).len(), 6);
    assert_eq!(read_lines(&dir.join("foo_raw.jsonl")).len(), 6);
    // The run's description records the prefix as given (in the Python AIPerf's shape too),
    // and the console lists the files under their names.
    let config = read_json(&dir.join("run_config.json"));
    assert_eq!(config["cfg"]["artifacts"]["prefix"], "foo_raw.jsonl");
    let listed = stdout(&out);
    assert!(listed.contains("foo.jsonl"), "{listed}");
    assert!(!listed.contains("profile_export"), "{listed}");

    let plot = run(&["plot", dir.to_str().unwrap()]);
    assert!(plot.status.success(), "{}", stderr(&plot));
    let html = std::fs::read_to_string(dir.join("plots/report.html")).unwrap();
    // The run's own charts, drawn from foo.jsonl and foo_gpu_telemetry.jsonl.
    assert!(
        html.matches("<figure class=\"chart\"").count() >= 3,
        "{html}"
    );
}

#[test]
fn a_sweep_names_each_runs_exports_and_aggregates_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sweep");
    let absolute = tmp.path().join("elsewhere/bench.json");
    let out = sim_run(
        &dir,
        &[
            "--concurrency",
            "1,2",
            "--num-profile-runs",
            "2",
            "--convergence-metric",
            "request_latency",
            "--parameter-sweep-mode",
            "independent",
            "--profile-export-file",
            absolute.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // An absolute path keeps only its file name: each run still writes into its own directory.
    assert!(!tmp.path().join("elsewhere").exists());
    for cell in ["concurrency_1", "concurrency_2"] {
        for trial in ["trial_0001", "trial_0002"] {
            let run_dir = dir.join(cell).join("profile_runs").join(trial);
            if !run_dir.exists() {
                continue; // converged early
            }
            let files = names(&run_dir);
            assert!(files.contains("bench.json"), "{files:?}");
            assert!(files.contains("bench.jsonl"), "{files:?}");
            assert!(!files.contains("profile_export_aiperf.json"), "{files:?}");
        }
    }
    // The aggregates (standard names, as the Python AIPerf keeps them) read every run.
    let sweep = read_json(&dir.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    let cells = sweep["per_combination_metrics"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "{sweep:#}");
    for c in cells {
        assert!(
            c["metrics"]["request_throughput_avg"]["mean"]
                .as_f64()
                .unwrap()
                > 0.0,
            "{c:#}"
        );
    }
    let plot = run(&["plot", dir.to_str().unwrap()]);
    assert!(plot.status.success(), "{}", stderr(&plot));
    assert!(dir.join("plots/report.html").is_file());
}

#[test]
fn prefixes_that_name_nothing_or_collide_are_refused() {
    for (prefix, needle) in [
        ("", "give a base file name"),
        ("./", "give a base file name"),
        ("inputs", "colliding with inputs.json"),
        ("run_config.json", "colliding with run_config.json"),
    ] {
        assert_usage_error(
            &["profile", "--sim", "--profile-export-prefix", prefix],
            needle,
        );
    }
    assert_usage_error(
        &[
            "profile",
            "--sim",
            "--profile-export-prefix",
            "outputs",
            "--export-outputs-json",
        ],
        "colliding with outputs.json (--export-outputs-json)",
    );
}

#[test]
fn outputs_json_holds_every_answer_in_session_order() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    // Summary level: outputs.json does not depend on the per-request records.
    let out = sim_run(
        &dir,
        &["--export-outputs-json", "--export-level", "summary"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let doc = read_json(&dir.join("outputs.json"));
    assert_eq!(doc["schema_version"], "1.0");
    let data = doc["data"].as_array().unwrap();
    assert_eq!(data.len(), 6, "{doc:#}");
    let keys: Vec<&str> = data[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "session_num",
            "conversation_id",
            "turn_index",
            "x_request_id",
            "request_start_ns",
            "request_end_ns",
            "metrics",
            "response_text"
        ]
    );
    let sessions: Vec<u64> = data
        .iter()
        .map(|d| d["session_num"].as_u64().unwrap())
        .collect();
    assert!(sessions.windows(2).all(|w| w[0] <= w[1]), "{sessions:?}");
    for d in data {
        assert!(!d["response_text"].as_str().unwrap().is_empty(), "{d:#}");
        let m = &d["metrics"];
        assert_eq!(m["output_sequence_length"], 4, "{d:#}");
        assert!(m["time_to_first_token"].as_f64().unwrap() >= 0.0, "{d:#}");
        assert!(m["request_latency"].as_f64().unwrap() >= 0.0, "{d:#}");
        assert!(d["request_end_ns"].as_u64().unwrap() >= d["request_start_ns"].as_u64().unwrap());
    }
    // The fragments it was gathered from are gone; no records file at this level.
    assert!(!dir.join("output_fragments").exists());
    assert!(!dir.join("profile_export.jsonl").exists());
    assert_eq!(
        read_json(&dir.join("run_config.json"))["cfg"]["artifacts"]["export_outputs_json"],
        true
    );
}

#[test]
fn plot_required_turns_a_failed_report_into_a_failed_command() {
    let tmp = tempfile::tempdir().unwrap();
    for (required, code) in [(false, 0), (true, 1)] {
        let dir = tmp.path().join(format!("run_{required}"));
        std::fs::create_dir_all(&dir).unwrap();
        // A file where the report's folder should go: the report cannot be written.
        std::fs::write(dir.join("plots"), b"").unwrap();
        let mut extra = vec!["--auto-plot"];
        if required {
            extra.push("--plot-required");
        }
        let out = sim_run(&dir, &extra);
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
        assert!(stderr(&out).contains("--auto-plot"), "{}", stderr(&out));
        // The run itself was written either way.
        assert!(dir.join("profile_export_aiperf.json").is_file());
    }
}
