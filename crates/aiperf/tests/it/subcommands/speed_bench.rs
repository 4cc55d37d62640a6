//! Speculative decoding end to end: the simulator's `spec-decode` preset, each request's
//! acceptance in the run's artifacts, and `aiperf speed-bench-report` over such runs.

use std::path::Path;

use super::read_json;
use crate::common::{assert_usage_error, profile_ok, read_csv, run, stdout};

/// The run's spec-decode totals from its summary, checked against the server's counters.
fn totals_match_the_server(dir: &Path, requests: u64) -> (f64, f64) {
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    let steps = summary["total_spec_decode_steps"]["avg"].as_f64().unwrap();
    let accepted = summary["total_accepted_draft_tokens"]["avg"]
        .as_f64()
        .unwrap();
    let drafted = summary["total_draft_tokens"]["avg"].as_f64().unwrap();
    assert_eq!(summary["spec_decode_steps"]["count"], requests);
    assert_eq!(summary["spec_decode_acceptance_length"]["unit"], "ratio");
    // Three draft tokens per step.
    assert_eq!(drafted, 3.0 * steps);
    let server = read_json(&dir.join("server_metrics_export.json"));
    let total = |name: &str| {
        server["metrics"][name]["series"][0]["stats"]["total"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(total("vllm:spec_decode_num_drafts"), steps);
    assert_eq!(total("vllm:spec_decode_num_accepted_tokens"), accepted);
    assert_eq!(total("vllm:spec_decode_num_draft_tokens"), drafted);
    let length = summary["spec_decode_token_weighted_acceptance_length"]["avg"]
        .as_f64()
        .unwrap();
    assert_eq!(length, accepted / steps + 1.0);
    let rate = summary["spec_decode_overall_draft_acceptance_rate"]["avg"]
        .as_f64()
        .unwrap();
    assert_eq!(rate, accepted / drafted * 100.0);
    (length, rate)
}

#[test]
fn each_request_reports_its_acceptance_and_the_server_counts_it_all() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, stream) in [("streamed", true), ("whole", false)] {
        let dir = tmp.path().join(name);
        let mut args = vec![
            "--sim",
            "spec-decode",
            "--sim-speedup",
            "20",
            "--model",
            "m",
            "--request-count",
            "12",
            "--concurrency",
            "3",
            "--osl",
            "40",
        ];
        if stream {
            args.push("--streaming");
        }
        profile_ok(&dir, &args);
        let (length, rate) = totals_match_the_server(&dir, 12);
        // 3 drafts, each accepted 70 % of the time: about 2.5 tokens per step, ~50 % accepted.
        assert!((1.8..3.2).contains(&length), "{length}");
        assert!((30.0..70.0).contains(&rate), "{rate}");
        let console = std::fs::read_to_string(dir.join("profile_export_console.txt")).unwrap();
        assert!(
            console.contains("aiperf | LLM Metrics: Spec Decode"),
            "{console}"
        );
        assert!(
            console.contains("Token-Weighted Acceptance Length (ratio)"),
            "{console}"
        );
        let records = crate::common::read_lines(&dir.join("profile_export.jsonl"));
        let steps = &records[0]["metrics"]["spec_decode_steps"];
        assert!(steps["value"].as_f64().unwrap() >= 1.0, "{steps}");
    }
    // Without speculation there is nothing to report.
    let plain = tmp.path().join("plain");
    profile_ok(
        &plain,
        &["--sim", "zero", "--model", "m", "--request-count", "4"],
    );
    let summary = read_json(&plain.join("profile_export_aiperf.json"));
    assert!(summary.get("spec_decode_acceptance_length").is_none());
    assert!(summary.get("total_spec_decode_steps").is_none());
}

/// One run of a SPEED-Bench acceptance-length benchmark (`spec_al_<benchmark>`) from a local
/// copy of its questions.
fn benchmark_run(root: &Path, benchmark: &str, column: &str) {
    let questions = root.join(format!("{benchmark}.jsonl"));
    let rows: Vec<String> = (0..8)
        .map(|i| format!("{{\"{column}\": \"Question {i} of {benchmark}: how many apples?\"}}"))
        .collect();
    std::fs::write(&questions, rows.join("\n")).unwrap();
    profile_ok(
        &root.join("runs").join(benchmark),
        &[
            "--sim",
            "spec-decode",
            "--sim-speedup",
            "20",
            "--model",
            "draft-target",
            "--public-dataset",
            &format!("spec_al_{benchmark}"),
            "--input-file",
            questions.to_str().unwrap(),
            "--request-count",
            "16",
            "--concurrency",
            "4",
            "--streaming",
            "--output-tokens-mean",
            "48",
        ],
    );
}

#[test]
fn acceptance_of_each_benchmark_in_one_matrix() {
    let tmp = tempfile::tempdir().unwrap();
    benchmark_run(tmp.path(), "gsm8k", "question");
    benchmark_run(tmp.path(), "mbpp", "text");
    let runs = tmp.path().join("runs");

    let expected: Vec<f64> = ["gsm8k", "mbpp"]
        .iter()
        .map(|b| totals_match_the_server(&runs.join(b), 16).0)
        .collect();

    let csv = tmp.path().join("report/matrix.csv");
    let out = run(&[
        "speed-bench-report",
        runs.to_str().unwrap(),
        "--output",
        csv.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("Found 2 run directories."), "{text}");
    assert!(text.contains("Acceptance Length Report"), "{text}");
    let overall = (expected[0] + expected[1]) / 2.0;
    assert_eq!(
        read_csv(&csv),
        format!(
            "Model,gsm8k,mbpp,Overall\ndraft-target,{:.2},{:.2},{overall:.2}\n",
            expected[0], expected[1]
        )
    );

    // Throughput: the runs' output token throughput; table only, no CSV.
    let out = run(&[
        "speed-bench-report",
        runs.join("gsm8k").to_str().unwrap(),
        "--metric",
        "throughput",
        "--format",
        "table",
        "--output",
        tmp.path().join("none.csv").to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let summary = read_json(&runs.join("gsm8k/profile_export_aiperf.json"));
    let throughput = summary["output_token_throughput"]["avg"].as_f64().unwrap();
    assert!(stdout(&out).contains(&format!("{throughput:.2}")));
    assert!(!tmp.path().join("none.csv").exists());

    // The Python AIPerf's report of our runs is the same.
    if let Some(python) = crate::reference::reference_python() {
        let theirs = tmp.path().join("theirs.csv");
        let out = crate::reference::reference(
            &python,
            tmp.path(),
            &[
                "speed-bench-report",
                runs.to_str().unwrap(),
                "--output",
                theirs.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read(&theirs).unwrap(),
            std::fs::read(&csv).unwrap()
        );
    }
}

#[test]
fn bad_arguments_name_themselves() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().to_str().unwrap();
    assert_usage_error(&["speed-bench-report"], "PATHS");
    assert_usage_error(&["speed-bench-report", empty], "PATHS");
    assert_usage_error(&["speed-bench-report", "--empty-paths"], "PATHS");
    assert_usage_error(
        &["speed-bench-report", empty, "--format", "xml"],
        "--format",
    );
    assert_usage_error(
        &["speed-bench-report", empty, "--metric", "speed"],
        "--metric",
    );
    // A run without a SPEED-Bench dataset has no category: nothing to report (exit 1).
    let run_dir = tmp.path().join("plain");
    std::fs::create_dir_all(&run_dir).unwrap();
    std::fs::write(
        run_dir.join("profile_export_aiperf.json"),
        r#"{"input_config": {"datasets": [{"type": "synthetic"}]}}"#,
    )
    .unwrap();
    let out = run(&["speed-bench-report", run_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no SPEED-Bench results"));
}

#[test]
fn the_simulator_speculates_only_when_asked() {
    assert_usage_error(
        &["sim", "--spec-decode-acceptance", "0.5", "--print-config"],
        "--spec-decode-tokens",
    );
    assert_usage_error(
        &["sim", "--spec-decode-tokens", "100", "--print-config"],
        "--spec-decode-tokens",
    );
    assert_usage_error(
        &[
            "sim",
            "--preset",
            "spec-decode",
            "--spec-decode-acceptance",
            "2",
            "--print-config",
        ],
        "--spec-decode-acceptance",
    );
    let out = run(&[
        "sim",
        "--spec-decode-tokens",
        "4",
        "--spec-decode-acceptance",
        "0.6",
        "--print-config",
    ]);
    assert!(out.status.success());
    let config: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(config["spec_decode"]["num_spec_tokens"], 4);
    assert_eq!(config["spec_decode"]["acceptance_rate"], 0.6);
    let out = run(&[
        "sim",
        "--preset",
        "spec-decode",
        "--spec-decode-tokens",
        "0",
        "--print-config",
    ]);
    let config: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(config["spec_decode"].is_null());
}
