//! Multi-run, search and other options of the Python AIPerf: seeds per trial, the per-run
//! sweep lines, the Gaussian-process planner's acquisition, and the options whose work is done
//! elsewhere (noted on stderr) or refused.

use std::path::Path;

use serde_json::Value;

use crate::common::{assert_usage_error, run, stderr, stdout};

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn sim(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "profile",
        "--ui",
        "none",
        "--sim",
        "zero",
        "--request-count",
        "4",
        "--isl",
        "16",
        "--osl",
        "4",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn each_trial_gets_the_python_aiperfs_seed_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let seed_and_prompts = |dir: &Path, trial: &str| {
        let run_dir = dir.join("profile_runs").join(trial);
        let seed = read_json(&run_dir.join("run_config.json"))["random_seed"]
            .as_u64()
            .unwrap();
        (
            seed,
            std::fs::read_to_string(run_dir.join("inputs.json")).unwrap(),
        )
    };
    let same = tmp.path().join("same");
    let out = sim(&same, &["--num-profile-runs", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (a, b) = (
        seed_and_prompts(&same, "run_0001"),
        seed_and_prompts(&same, "run_0002"),
    );
    assert_eq!((a.0, b.0), (42, 42));
    assert_eq!(a.1, b.1, "the same inputs in every trial");

    let varied = tmp.path().join("varied");
    let out = sim(
        &varied,
        &["--num-profile-runs", "2", "--vary-seed-per-trial"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (a, b) = (
        seed_and_prompts(&varied, "run_0001"),
        seed_and_prompts(&varied, "run_0002"),
    );
    // derive_variation_seed(42, "base:trial:0") and (42, "base:trial:1") of the Python AIPerf.
    assert_eq!(
        (a.0, b.0),
        (6_858_774_025_263_032_934, 4_337_237_111_802_998_792)
    );
    assert_ne!(a.1, b.1, "each trial draws its own prompts");
}

#[test]
fn no_sweep_table_leaves_out_the_line_per_run() {
    let tmp = tempfile::tempdir().unwrap();
    let with = sim(&tmp.path().join("a"), &["--concurrency", "1,2"]);
    assert!(with.status.success(), "{}", stderr(&with));
    assert!(stdout(&with).contains("[1/2]"), "{}", stdout(&with));
    let without = sim(
        &tmp.path().join("b"),
        &["--concurrency", "1,2", "--no-sweep-table"],
    );
    assert!(without.status.success(), "{}", stderr(&without));
    assert!(!stdout(&without).contains("[1/2]"), "{}", stdout(&without));
    // The aggregate is written all the same.
    assert!(
        tmp.path()
            .join("b/sweep_aggregate/profile_export_aiperf_sweep.json")
            .is_file()
    );
}

#[test]
fn a_noisy_acquisition_runs_the_gaussian_process_search() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("search");
    let out = sim(
        &dir,
        &[
            "--search-space",
            "concurrency:1,8:int",
            "--search-metric",
            "request_throughput",
            "--search-direction",
            "maximize",
            "--search-max-iterations",
            "3",
            "--search-initial-points",
            "2",
            "--search-planner",
            "optuna",
            "--optuna-acquisition",
            "qlognei",
            "--optuna-terminator",
            "regret",
            "--bo-constraint-mode",
            "eic",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("--optuna-terminator"), "{err}");
    assert!(err.contains("--bo-constraint-mode is ignored"), "{err}");
    let history = read_json(&dir.join("search_history.json"));
    assert_eq!(
        history["iterations"].as_array().unwrap().len(),
        3,
        "{history:#}"
    );
}

#[test]
fn acquisitions_that_do_not_apply_are_refused() {
    let search = [
        "profile",
        "--sim",
        "--search-space",
        "concurrency:1,8:int",
        "--search-metric",
        "request_throughput",
        "--search-direction",
        "maximize",
        "--search-max-iterations",
        "8",
    ];
    let with = |extra: &[&'static str]| {
        let mut v = search.to_vec();
        v.extend_from_slice(extra);
        v
    };
    assert_usage_error(
        &with(&[
            "--search-planner",
            "optuna",
            "--optuna-acquisition",
            "qehvi",
        ]),
        "is multi-objective; got 1 objective",
    );
    assert_usage_error(
        &with(&[
            "--search-planner",
            "optuna",
            "--optuna-sampler",
            "tpe",
            "--optuna-acquisition",
            "qnei",
        ]),
        "requires --optuna-sampler botorch",
    );
    assert_usage_error(
        &with(&["--search-sla-tier", "fast:time_to_first_token:p95:lt:100"]),
        "--search-sla-tier",
    );
    assert_usage_error(
        &[
            "profile",
            "--sim",
            "--search-recipe",
            "concurrency-ramp",
            "--optuna-acquisition",
            "logei",
        ],
        "mutually exclusive with --optuna-acquisition",
    );
}

#[test]
fn publishing_and_accuracy_flags_are_noted_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let out = sim(
        &dir,
        &[
            "--otel-url",
            "http://localhost:4318/v1/metrics",
            "--stream",
            "metrics",
            "timing",
            "--otel-resource-attributes",
            "team=perf",
            "--mlflow-tracking-uri",
            "http://localhost:5000",
            "--mlflow-tag",
            "team:perf",
            "--wandb-project",
            "bench",
            "--wandb-tag",
            "a,b",
            "--accuracy-benchmark",
            "gsm8-k",
            "--accuracy-n-shots",
            "5",
            "--accuracy-no-enable-cot",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    for needle in [
        "not streamed to OpenTelemetry",
        "not uploaded to MLflow",
        "not uploaded to Weights & Biases",
        "--accuracy-benchmark gsm8-k: accuracy is not graded here",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(dir.join("profile_export_aiperf.json").is_file());
}

#[test]
fn scenarios_variants_and_malformed_values_are_refused() {
    for (args, needle) in [
        (
            &["profile", "--sim", "--scenario", "inferencex-agentx-mvp"][..],
            "agentic replay",
        ),
        (
            &["profile", "--sim", "--scenario", "other"][..],
            "unknown scenario",
        ),
        (
            &["profile", "--sim", "--variant", "concurrency=4"][..],
            "single occurrence is rejected",
        ),
        (
            &[
                "profile",
                "--sim",
                "--variant",
                "a: concurrency=4",
                "--sweep-variant",
                "b: concurrency=8",
            ][..],
            "--sweep-type zip",
        ),
        (
            &["profile", "--sim", "--otel-resource-attributes", "novalue"][..],
            "is not key=value",
        ),
        (
            &["profile", "--sim", "--mlflow-tag", "x"][..],
            "neither key:value nor a JSON object",
        ),
        (
            &["profile", "--sim", "--accuracy-n-shots", "33"][..],
            "--accuracy-n-shots",
        ),
    ] {
        assert_usage_error(args, needle);
    }
}
