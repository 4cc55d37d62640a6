//! Adaptive search and search recipes end to end against the built-in simulator.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use crate::common::{aiperf, assert_usage_error, interrupt, run, stderr, stdout};

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// `aiperf profile --sim --streaming --ui none --artifact-dir DIR` plus `args`.
fn profile(dir: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec![
        "profile",
        "--sim",
        "--streaming",
        "--ui",
        "none",
        "--extra-inputs",
        "ignore_eos:true",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    run(&all)
}

/// The simulator's TTFT p95 at ISL 128 / OSL 64 grows about 3.3 ms per unit of concurrency;
/// a dense grid (BENCHMARKS.md) puts the highest concurrency under 300 ms at 87 (86: 293 ms,
/// 88: 302 ms). The default style must land within 5 % of it in at most 12 benchmarks.
#[test]
fn max_concurrency_under_sla_finds_the_boundary() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sla");
    let output = profile(
        &dir,
        &[
            "--isl",
            "128",
            "--osl",
            "64",
            "--search-recipe",
            "max-concurrency-under-sla",
            "--ttft-sla-ms",
            "300",
            "--concurrency-max",
            "256",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let h = read_json(&dir.join("search_history.json"));
    assert_eq!(h["recipe"], "max-concurrency-under-sla");
    assert_eq!(h["config"]["planner"], "smooth_isotonic");
    assert_eq!(
        h["config"]["sla_filters"][0]["metric_tag"],
        "time_to_first_token"
    );
    let iterations = h["iterations"].as_array().unwrap();
    assert!(iterations.len() <= 12, "{} iterations", iterations.len());
    let b = &h["boundary_summary"];
    assert_eq!(b["swept_dim_path"], "phases.profiling.concurrency");
    let found = b["feasible_max"]["value"].as_f64().unwrap();
    assert!(
        (found - 87.0).abs() / 87.0 <= 0.05,
        "found {found}, truth 87"
    );
    assert_eq!(b["binding_constraint"], "time_to_first_token:p95");
    assert!(
        h["convergence_reason"]
            .as_str()
            .unwrap()
            .starts_with("smooth_isotonic_")
    );
    let best = &h["best_trials"][0];
    assert_eq!(best["feasible"], true);
    // Every iteration's runs are on disk, and the sweep aggregate covers them.
    for it in iterations {
        let i = it["iteration_idx"].as_u64().unwrap();
        assert!(
            dir.join(format!(
                "search_iter_{i:04}/profile_runs/run_0001/profile_export_aiperf.json"
            ))
            .is_file()
        );
        assert!(
            it["variation_values"]["phases.profiling.concurrency"]
                .as_f64()
                .is_some()
        );
    }
    let agg = read_json(&dir.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    assert_eq!(
        agg["metadata"]["sla_constraints"]["active_filters"][0]["threshold"],
        300.0
    );
    assert!(stdout(&output).contains("SLA boundary: highest passing concurrency"));
}

#[test]
fn throughput_recipes_return_feasible_best_trials() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str], &str); 4] = [
        (
            "max-throughput-ttft-sla",
            &["--ttft-sla-ms", "200"],
            "bayesian",
        ),
        (
            "max-throughput-itl-sla",
            &["--itl-sla-ms", "50"],
            "bayesian",
        ),
        (
            "max-concurrency-under-sla",
            &[
                "--ttft-sla-ms",
                "200",
                "--search-style",
                "optuna",
                "--optuna-sampler",
                "tpe",
            ],
            "tpe",
        ),
        (
            "max-goodput-under-slo",
            &[
                "--ttft-sla-ms",
                "500",
                "--tpot-sla-ms",
                "15",
                "--e2e-sla-ms",
                "2000",
                "--slo-attainment-fraction",
                "0.95",
            ],
            "bayesian",
        ),
    ];
    for (recipe, flags, planner) in cases {
        let dir = tmp.path().join(recipe);
        let mut args = vec![
            "--isl",
            "128",
            "--osl",
            "16",
            "--search-recipe",
            recipe,
            "--concurrency-max",
            "64",
            "--search-max-iterations",
            "6",
            "--search-initial-points",
            "3",
        ];
        args.extend_from_slice(flags);
        let output = profile(&dir, &args);
        assert!(output.status.success(), "{recipe}: {}", stderr(&output));
        let h = read_json(&dir.join("search_history.json"));
        assert_eq!(h["config"]["planner"], planner, "{recipe}");
        assert!(h["iterations"].as_array().unwrap().len() <= 6);
        let best = &h["best_trials"][0];
        assert_eq!(best["feasible"], true, "{recipe}: {best}");
        assert!(best["objective_values"][0].as_f64().unwrap() > 0.0);
        assert_eq!(best["pareto_rank"], 0);
        let c = best["variation_values"]["phases.profiling.concurrency"]
            .as_f64()
            .unwrap();
        assert!((1.0..=64.0).contains(&c));
    }
}

#[test]
fn grid_recipes_write_their_answer_files() {
    let tmp = tempfile::tempdir().unwrap();
    let run_recipe = |name: &str, args: &[&str]| -> std::path::PathBuf {
        let dir = tmp.path().join(name);
        let mut all = vec!["--search-recipe", name, "--sim-speedup", "4", "--osl", "16"];
        if !args.contains(&"--request-count") {
            all.extend(["--request-count", "12"]);
        }
        all.extend_from_slice(args);
        let output = profile(&dir, &all);
        assert!(output.status.success(), "{name}: {}", stderr(&output));
        dir.join("sweep_aggregate")
    };
    let d = run_recipe(
        "concurrency-ramp",
        &[
            "--concurrency-max",
            "16",
            "--concurrency-steps",
            "3",
            "--degradation-threshold",
            "0.2",
        ],
    );
    let k = read_json(&d.join("degradation_knee.json"));
    assert_eq!(k["baseline_concurrency"], 1.0);
    assert_eq!(k["all_points"].as_array().unwrap().len(), 3);
    let d = run_recipe(
        "prefill-ttft-curve",
        &[
            "--isl-min",
            "256",
            "--isl-max",
            "8192",
            "--isl-steps",
            "4",
            "--request-count",
            "4",
        ],
    );
    let c = read_json(&d.join("prefill_curve.json"));
    assert_eq!(c["raw_points"].as_array().unwrap().len(), 4);
    assert!(
        c["coefficients"][0].as_f64().unwrap() > 0.0,
        "TTFT grows with ISL: {c}"
    );
    assert!(c["r_squared"].as_f64().unwrap() > 0.85, "{c}");
    let d = run_recipe(
        "decode-itl-curve",
        &[
            "--concurrency-max",
            "4",
            "--concurrency-steps",
            "2",
            "--osl-min",
            "8",
            "--osl-max",
            "32",
            "--osl-steps",
            "2",
        ],
    );
    let s = read_json(&d.join("decode_itl_surface.json"));
    assert_eq!(
        s["surface"]["concurrency_axis"],
        serde_json::json!([1.0, 4.0])
    );
    assert_eq!(s["surface"]["osl_axis"], serde_json::json!([8.0, 32.0]));
    assert!(
        s["surface"]["itl_grid"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap())
            .all(Value::is_number)
    );
    let d = run_recipe(
        "pareto-sweep",
        &["--isl-osl-pairs", "128/128,512/64", "--concurrency", "1,4"],
    );
    let p = read_json(&d.join("pareto_sweep.json"));
    let cells = p["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4);
    assert!(cells.iter().any(|c| c["pareto_optimal"] == true));
    assert!(
        d.parent()
            .unwrap()
            .join("isl_512__osl_64__concurrency_4/profile_export_aiperf.json")
            .is_file()
    );
    let d = run_recipe(
        "max-concurrency-under-sla",
        &[
            "--search-style",
            "grid",
            "--ttft-sla-ms",
            "20",
            "--concurrency-max",
            "32",
            "--concurrency-steps",
            "4",
        ],
    );
    let b = read_json(&d.join("sla_breach.json"));
    assert_eq!(b["all_points"].as_array().unwrap().len(), 4);
    assert!(b.get("max_passing_concurrency").is_some());
}

/// A handler that cannot produce its file records why; the sweep still succeeds.
#[test]
fn failing_post_processing_is_recorded_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let recipe = tmp.path().join("mine.toml");
    std::fs::write(
        &recipe,
        "name = \"mine\"\ndescription = \"knee of a metric that does not exist\"\n[grid]\nconcurrency = { values = [1, 2] }\n\
         [post_process]\nhandler = \"degradation_knee\"\noutput = \"knee.json\"\n\
         params = { param = \"concurrency\", metric = \"no_such_metric\", stat = \"p99\", threshold_pct = 0.1 }\n",
    )
    .unwrap();
    let dir = tmp.path().join("run");
    // An earlier run's output here must not survive to contradict this run's failure.
    std::fs::create_dir_all(dir.join("sweep_aggregate")).unwrap();
    std::fs::write(dir.join("sweep_aggregate/knee.json"), "{}").unwrap();
    let output = profile(
        &dir,
        &[
            "--sim-speedup",
            "4",
            "--osl",
            "8",
            "--request-count",
            "4",
            "--search-recipe",
            recipe.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("post-processing \"degradation_knee\" failed"),
        "{}",
        stderr(&output)
    );
    let e = read_json(&dir.join("sweep_aggregate/post_process_errors.json"));
    assert_eq!(e[0]["handler"], "degradation_knee");
    assert!(
        e[0]["error"]
            .as_str()
            .unwrap()
            .contains("no_such_metric_p99"),
        "{e}"
    );
    assert!(!dir.join("sweep_aggregate/knee.json").exists());
    assert!(
        dir.join("sweep_aggregate/profile_export_aiperf_sweep.json")
            .is_file()
    );
}

/// `--search-percentile-pooling pooled`: an iteration's objective is the percentile over
/// every request of its runs (recomputed here from the records), not the mean of the runs'.
#[test]
fn pooled_objective_is_the_percentile_of_every_request() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pooled");
    let output = profile(
        &dir,
        &[
            "--osl",
            "8",
            "--request-count",
            "30",
            "--num-profile-runs",
            "2",
            "--search-space",
            "concurrency:1,8:int",
            "--search-metric",
            "time_to_first_token",
            "--search-stat",
            "p90",
            "--search-direction",
            "minimize",
            "--search-max-iterations",
            "3",
            "--search-initial-points",
            "2",
            "--search-percentile-pooling",
            "pooled",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let h = read_json(&dir.join("search_history.json"));
    assert_eq!(h["config"]["objective_pooling"], "pooled");
    let iterations = h["iterations"].as_array().unwrap();
    assert_eq!(iterations.len(), 3);
    for (i, it) in iterations.iter().enumerate() {
        let runs = dir.join(format!("search_iter_{i:04}/profile_runs"));
        let mut values = Vec::new();
        let mut per_run = Vec::new();
        for run in ["run_0001", "run_0002"] {
            let records =
                std::fs::read_to_string(runs.join(run).join("profile_export.jsonl")).unwrap();
            for line in records.lines() {
                let r: Value = serde_json::from_str(line).unwrap();
                values.push(
                    r["metrics"]["time_to_first_token"]["value"]
                        .as_f64()
                        .unwrap(),
                );
            }
            per_run.push(
                read_json(&runs.join(run).join("profile_export_aiperf.json"))["time_to_first_token"]
                    ["p90"]
                    .as_f64()
                    .unwrap(),
            );
        }
        assert_eq!(values.len(), 60);
        values.sort_by(f64::total_cmp);
        let rank: f64 = 0.9 * 59.0;
        let (lo, frac) = (rank.floor() as usize, rank.fract());
        let pooled = values[lo] + (values[lo + 1] - values[lo]) * frac;
        let got = it["objective_values"][0].as_f64().unwrap();
        assert!(
            (got - pooled).abs() < 1e-9,
            "iteration {i}: {got} vs pooled {pooled}"
        );
        let mean_of_runs = (per_run[0] + per_run[1]) / 2.0;
        assert!(
            per_run[0] == per_run[1] || got != mean_of_runs,
            "iteration {i}"
        );
    }
}

/// Ctrl-C in the middle of a search keeps a valid history; the same command resumes it,
/// replaying the recorded iterations instead of re-running them, however the directory is
/// spelled. A changed search is refused rather than allowed to overwrite the history.
#[test]
fn interrupted_searches_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("search");
    let args = [
        "profile",
        "--sim",
        "--streaming",
        "--ui",
        "none",
        "--osl",
        "32",
        "--isl",
        "64",
        "--artifact-dir",
        dir.to_str().unwrap(),
        "--search-space",
        "concurrency:1,64:int",
        "--search-metric",
        "output_token_throughput",
        "--search-direction",
        "maximize",
        "--search-max-iterations",
        "7",
        "--search-initial-points",
        "3",
        "--search-sla",
        "time_to_first_token:p95:lt:150",
    ];
    let mut child = aiperf()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let mut seen = 0;
    while out.read_line(&mut line).unwrap() > 0 {
        if line.starts_with("[iter ") {
            seen += 1;
            if seen == 2 {
                interrupt(child.id());
                break;
            }
        }
        line.clear();
    }
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    child.wait().unwrap();
    let h = read_json(&dir.join("search_history.json"));
    let first = h["iterations"].as_array().unwrap().clone();
    assert!(
        (2..7).contains(&first.len()),
        "{} iterations before the interrupt",
        first.len()
    );
    assert_eq!(h["convergence_reason"], Value::Null, "not finished");

    // The same directory, spelled another way.
    let respelled = tmp.path().join(".").join("search");
    let respelled = respelled.to_str().unwrap();
    let resume: Vec<&str> = args
        .iter()
        .map(|a| {
            if *a == dir.to_str().unwrap() {
                respelled
            } else {
                a
            }
        })
        .collect();
    let output = run(&resume);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains(&format!(
        "resuming the search after {} recorded iterations",
        first.len()
    )));
    let h = read_json(&dir.join("search_history.json"));
    let all = h["iterations"].as_array().unwrap();
    assert!(all.len() > first.len() && all.len() <= 7);
    for (a, b) in first.iter().zip(all) {
        assert_eq!(
            a["variation_values"], b["variation_values"],
            "replayed, not re-chosen"
        );
    }
    let printed = stdout(&output).matches("[iter ").count();
    assert_eq!(printed, all.len() - first.len(), "only new iterations ran");
    assert!(h["convergence_reason"].is_string());

    // Other settings in the same directory: refused, the history kept as it was.
    let before = std::fs::read(dir.join("search_history.json")).unwrap();
    let changed: Vec<&str> = args
        .iter()
        .map(|a| if *a == "7" { "9" } else { a })
        .collect();
    let output = run(&changed);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("holds a search with other settings"), "{err}");
    assert_eq!(
        std::fs::read(dir.join("search_history.json")).unwrap(),
        before
    );
}

#[test]
fn bad_searches_and_recipes_are_usage_errors() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--search-recipe", "max-throughput-ttft-sla"],
            "recipe 'max-throughput-ttft-sla' requires --ttft-sla-ms",
        ),
        (
            &[
                "--search-recipe",
                "max-throughput-ttft-sla",
                "--ttft-sla-ms",
                "0",
            ],
            "--ttft-sla-ms must be a positive number, got 0",
        ),
        (
            &[
                "--search-recipe",
                "max-concurrency-under-sla",
                "--e2e-sla-ms=-5",
            ],
            "--e2e-sla-ms must be a positive number, got -5",
        ),
        (
            &[
                "--search-recipe",
                "concurrency-ramp",
                "--degradation-threshold=-1",
            ],
            "--degradation-threshold must be a positive number",
        ),
        (
            &[
                "--search-space",
                "concurrency:1,8:int",
                "--search-metric",
                "request_latency",
                "--search-direction",
                "minimize",
                "--search-max-iterations",
                "8",
                "--search-percentile-pooling",
                "pooled",
            ],
            "--search-stat avg is not one",
        ),
        (
            &[
                "--search-recipe",
                "max-throughput-ttft-sla",
                "--ttft-sla-ms",
                "100",
                "--search-percentile-pooling",
                "pooled",
            ],
            "search_percentile_pooling",
        ),
        (
            &["--search-percentile-pooling", "pooled"],
            "--search-percentile-pooling needs --search-space",
        ),
        (
            &[
                "--search-recipe",
                "concurrency-ramp",
                "--degradation-stat",
                "p42",
            ],
            "statistic \"p42\" is unknown",
        ),
        (
            &[
                "--search-recipe",
                "max-concurrency-under-sla",
                "--ttft-sla-ms",
                "100",
                "--search-replicates",
                "21",
            ],
            "--search-replicates is at most 20, got 21",
        ),
        (
            &[
                "--search-recipe",
                "max-concurrency-under-sla",
                "--ttft-sla-ms",
                "100",
                "--search-precision",
                "0",
            ],
            "--search-precision must be between 0 and 1",
        ),
        (
            &[
                "--search-recipe",
                "max-throughput-ttft-sla",
                "--ttft-sla-ms",
                "200",
                "--search-space",
                "concurrency:1,500:int",
            ],
            "mutually exclusive with explicit --search-* flags",
        ),
        (
            &["--no-streaming", "--search-recipe", "prefill-ttft-curve"],
            "requires --streaming",
        ),
        (
            &["--search-recipe", "pareto-sweep", "--isl-osl-pairs", "128"],
            "expected '<isl>/<osl>' (one slash)",
        ),
        (
            &[
                "--search-recipe",
                "pareto-sweep",
                "--isl-osl-pairs",
                "128/128",
                "--concurrency",
                "64",
            ],
            "single point is meaningless",
        ),
        (
            &[
                "--search-recipe",
                "concurrency-ramp",
                "--concurrency",
                "10,20,30",
            ],
            "owns the swept values",
        ),
        (&["--search-recipe", "nope"], "unknown recipe"),
        (
            &["--search-space", "concurrency:1,10:int"],
            "needs --search-metric",
        ),
        (
            &["--search-metric", "output_token_throughput"],
            "needs --search-space",
        ),
        (
            &[
                "--search-space",
                "concurrency:1,10:int",
                "--search-metric",
                "x",
                "--search-direction",
                "maximize",
                "--search-max-iterations",
                "1",
            ],
            "--search-max-iterations must be between 2 and 200",
        ),
        (
            &[
                "--search-space",
                "concurrency:1,10:int",
                "--search-metric",
                "x",
                "--search-direction",
                "maximize",
                "--search-max-iterations",
                "5",
                "--search-planner",
                "monotonic_sla",
            ],
            "needs at least one --search-sla",
        ),
        (
            &["--search-space", "temperature:0,1"],
            "--search-space \"temperature:0,1\": unknown path",
        ),
        (
            &[
                "--search-sla",
                "ttft:p95:eq:5",
                "--search-space",
                "concurrency:1,10:int",
                "--search-metric",
                "x",
                "--search-direction",
                "maximize",
                "--search-max-iterations",
                "8",
            ],
            "--search-sla",
        ),
    ];
    for (args, needle) in cases {
        let mut all = vec!["profile", "--sim", "--streaming"];
        all.extend_from_slice(args);
        assert_usage_error(&all, needle);
    }
}

#[test]
fn recipes_command_lists_and_prints_recipes() {
    let output = run(&["recipes"]);
    assert!(output.status.success());
    let text = stdout(&output);
    for name in [
        "max-throughput-ttft-sla",
        "max-throughput-itl-sla",
        "max-concurrency-under-sla",
        "max-goodput-under-slo",
        "concurrency-ramp",
        "prefill-ttft-curve",
        "decode-itl-curve",
        "pareto-sweep",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
    let output = run(&["recipes", "concurrency-ramp"]);
    assert!(stdout(&output).contains("handler = \"degradation_knee\""));
    assert_eq!(run(&["recipes", "nope"]).status.code(), Some(2));
}
