//! Repeated runs, convergence, adaptive search and the concurrency-ramp recipe: the cooldown
//! between runs, the confidence level of the aggregate, warmups after the first run, the
//! statistic and threshold of convergence, the planner's seed, and the recipe's range and
//! metric.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{ns, read_json, records};
use crate::common::{profile, stderr, stdout};

/// `aiperf profile --sim zero` of short streaming requests, plus `extra`.
fn multi(dir: &Path, extra: &[&str]) -> std::process::Output {
    let base = [
        "--sim",
        "zero",
        "--streaming",
        "--request-count",
        "6",
        "--concurrency",
        "2",
        "--osl",
        "4",
        "--isl",
        "16",
        "--extra-inputs",
        "ignore_eos:true",
    ];
    let output = profile(dir, &[&base[..], extra].concat());
    assert!(output.status.success(), "{extra:?}: {}", stderr(&output));
    output
}

fn runs(dir: &Path, n: usize) -> Vec<PathBuf> {
    (1..=n)
        .map(|r| dir.join(format!("profile_runs/run_{r:04}")))
        .collect()
}

/// `--profile-run-cooldown-seconds`: the next run starts at least that long after the last
/// answer of the previous one.
#[test]
fn profile_run_cooldown_seconds_spaces_the_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cool");
    multi(
        &dir,
        &[
            "--num-profile-runs",
            "2",
            "--profile-run-cooldown-seconds",
            "1.5",
        ],
    );
    let [first, second] = [0, 1].map(|i| records(&runs(&dir, 2)[i]));
    let last_end = first
        .iter()
        .map(|r| ns(r, "request_end_ns"))
        .fold(0.0, f64::max);
    let next_start = second
        .iter()
        .map(|r| ns(r, "request_start_ns"))
        .fold(f64::INFINITY, f64::min);
    let pause = (next_start - last_end) / 1e9;
    assert!(pause >= 1.5, "{pause:.3} s between runs");
}

/// t quantiles for 2 degrees of freedom (from tables), two-sided at the level.
const T_2DF_95: f64 = 4.302_652_729_749_462;
const T_2DF_50: f64 = 0.816_496_580_927_726;

/// `--confidence-level`: the aggregate's intervals use the t quantile of that level.
#[test]
fn confidence_level_sets_the_interval_width() {
    let tmp = tempfile::tempdir().unwrap();
    for (level, t) in [(None, T_2DF_95), (Some("0.5"), T_2DF_50)] {
        let dir = tmp.path().join(level.unwrap_or("default"));
        let mut args = vec!["--num-profile-runs", "3"];
        if let Some(level) = level {
            args.extend(["--confidence-level", level]);
        }
        multi(&dir, &args);
        let agg = read_json(&dir.join("aggregate/profile_export_aiperf_aggregate.json"));
        let m = &agg["metrics"]["request_latency_avg"];
        let get = |k: &str| m[k].as_f64().unwrap_or_else(|| panic!("{k} in {m}"));
        let half = t * get("std") / 3f64.sqrt();
        assert!((get("t_critical") - t).abs() < 1e-6, "{level:?}: {m}");
        assert!(
            (get("ci_high") - (get("mean") + half)).abs() <= 1e-9 * get("mean"),
            "{m}"
        );
        assert!(
            (get("ci_low") - (get("mean") - half)).abs() <= 1e-9 * get("mean"),
            "{m}"
        );
    }
}

/// `--profile-run-disable-warmup-after-first false`: every run warms up, not only the first.
#[test]
fn profile_run_disable_warmup_after_first_false_warms_every_run() {
    let tmp = tempfile::tempdir().unwrap();
    let warmups = |name: &str, extra: &[&str]| -> Vec<bool> {
        let dir = tmp.path().join(name);
        let args = [
            &["--num-profile-runs", "2", "--warmup-request-count", "2"][..],
            extra,
        ]
        .concat();
        multi(&dir, &args);
        runs(&dir, 2)
            .iter()
            .map(|r| {
                let phases = read_json(&r.join("run_config.json"))["cfg"]["phases"].clone();
                (phases.as_array().unwrap().iter()).any(|p| p["kind"] == "warmup")
            })
            .collect()
    };
    assert_eq!(warmups("default", &[]), [true, false]);
    assert_eq!(
        warmups(
            "every",
            &["--profile-run-disable-warmup-after-first", "false"]
        ),
        [true, true]
    );
}

/// `--convergence-stat` picks the statistic whose agreement stops the runs, and
/// `--convergence-threshold` how close they must agree: output lengths are the same in every
/// run (converged once the minimum of runs is made, whatever the threshold); latencies never
/// agree within a millionth, so every run is made.
#[test]
fn convergence_stat_and_threshold_decide_when_runs_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let converge = |name: &str, extra: &[&str]| -> (String, Value, usize) {
        let dir = tmp.path().join(name);
        let base = [
            "--num-profile-runs",
            "4",
            "--convergence-min-runs",
            "2",
            "--convergence-mode",
            "cv",
        ];
        let output = multi(&dir, &[&base[..], extra].concat());
        let agg = read_json(&dir.join("aggregate/profile_export_aiperf_aggregate.json"));
        let made = (1..=4)
            .filter(|r| dir.join(format!("profile_runs/run_{r:04}")).is_dir())
            .count();
        (
            stdout(&output),
            agg["metadata"]["convergence"].clone(),
            made,
        )
    };
    let (out, conv, made) = converge(
        "osl",
        &[
            "--convergence-metric",
            "output_sequence_length",
            "--convergence-stat",
            "p99",
            "--convergence-threshold",
            "0.001",
        ],
    );
    assert!(
        out.contains("output_sequence_length_p99 converged after 2 runs"),
        "{out}"
    );
    assert!(out.contains("< 0.001"), "{out}");
    assert_eq!((conv["converged"].clone(), made), (true.into(), 2));

    let (out, conv, made) = converge(
        "latency",
        &[
            "--convergence-metric",
            "request_latency",
            "--convergence-stat",
            "max",
            "--convergence-threshold",
            "0.000001",
        ],
    );
    assert_eq!(
        (conv["converged"].clone(), made),
        (false.into(), 4),
        "{out}"
    );
    assert!(
        out.contains("request_latency_max not converged after 4 runs"),
        "{out}"
    );
}

/// `--search-random-seed`: the planner's space-filling points come from the seed: the same
/// seed proposes the same concurrencies, another seed others; the seed is recorded.
#[test]
fn search_random_seed_fixes_the_planners_points() {
    let tmp = tempfile::tempdir().unwrap();
    let search = |name: &str, seed: &str| -> Vec<Value> {
        let dir = tmp.path().join(name);
        multi(
            &dir,
            &[
                "--search-space",
                "concurrency:1,64:int",
                "--search-metric",
                "request_throughput",
                "--search-direction",
                "maximize",
                "--search-max-iterations",
                "3",
                "--search-initial-points",
                "2",
                "--search-random-seed",
                seed,
            ],
        );
        let h = read_json(&dir.join("search_history.json"));
        assert_eq!(h["config"]["random_seed"], seed.parse::<u64>().unwrap());
        (h["iterations"].as_array().unwrap().iter())
            .take(2)
            .map(|i| i["variation_values"]["phases.profiling.concurrency"].clone())
            .collect()
    };
    let first = search("a", "7");
    assert_eq!(first.len(), 2);
    assert_eq!(search("b", "7"), first);
    assert_ne!(search("c", "8"), first);
}

/// `--concurrency-min`, `--degradation-metric-tag` and `--degradation-stat`: the
/// concurrency-ramp recipe starts at the minimum and judges degradation by that statistic of
/// that metric, read from each concurrency's summary.
#[test]
fn concurrency_ramp_range_metric_and_stat() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ramp");
    multi(
        &dir,
        &[
            "--search-recipe",
            "concurrency-ramp",
            "--concurrency-min",
            "2",
            "--concurrency-max",
            "8",
            "--concurrency-steps",
            "3",
            "--degradation-metric-tag",
            "request_latency",
            "--degradation-stat",
            "p90",
        ],
    );
    let knee = read_json(&dir.join("sweep_aggregate/degradation_knee.json"));
    assert_eq!(knee["swept_metric"], "request_latency");
    assert_eq!(knee["stat"], "p90");
    assert_eq!(knee["baseline_concurrency"], 2.0);
    let points = knee["all_points"].as_array().unwrap();
    let levels: Vec<f64> = points
        .iter()
        .map(|p| p["concurrency"].as_f64().unwrap())
        .collect();
    assert_eq!(levels, [2.0, 4.0, 8.0]);
    for p in points {
        let c = p["concurrency"].as_f64().unwrap() as u32;
        let summary = read_json(&dir.join(format!("concurrency_{c}/profile_export_aiperf.json")));
        assert_eq!(
            p["p90"], summary["request_latency"]["p90"],
            "concurrency {c}"
        );
    }
    assert_eq!(knee["baseline_p90"], points[0]["p90"]);
}
