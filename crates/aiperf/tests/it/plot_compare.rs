//! `aiperf plot A B ...`: several results directories compared in one report: labels from
//! the settings that differ, deltas against the first with a confidence verdict, overlays.

use std::path::Path;

use serde_json::Value;

use crate::common::{profile_ok, run, stderr};

/// Plots `paths` into `out` and returns the report's HTML.
#[track_caller]
fn plot(paths: &[&Path], out: &Path) -> String {
    let mut args = vec!["plot".to_owned()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    args.extend(["--output".to_owned(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(&args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    std::fs::read_to_string(out.join("report.html")).unwrap()
}

/// The JSON specification of the chart `stem` in the report.
#[track_caller]
fn spec(html: &str, stem: &str) -> Value {
    let at = html
        .find(&format!("data-stem=\"{stem}\""))
        .unwrap_or_else(|| panic!("no chart {stem}"));
    let marker = "class=\"chart-spec\">";
    let start = at + html[at..].find(marker).unwrap() + marker.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

fn series_names(spec: &Value) -> Vec<String> {
    spec["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The deltas rows of `metric` (`time_to_first_token_avg`), each row's HTML.
fn rows<'a>(html: &'a str, metric: &str) -> Vec<&'a str> {
    let needle = format!("<tr data-metric=\"{metric}\"");
    html.match_indices(&needle)
        .map(|(i, _)| &html[i..i + html[i..].find("</tr>").unwrap()])
        .collect()
}

const FAST: [&str; 10] = [
    "--sim",
    "fixed",
    "--streaming",
    "--osl",
    "4",
    "--request-count",
    "24",
    "--concurrency",
    "2",
    "--sim-speedup",
];

#[test]
fn two_runs_are_labelled_by_what_differs_and_compared_with_intervals() {
    let tmp = tempfile::tempdir().unwrap();
    let (fast, slow) = (tmp.path().join("fast"), tmp.path().join("slow"));
    profile_ok(&fast, &[&FAST[..], &["2"]].concat());
    // A quarter as fast: every latency is four times as long (10 ms TTFT → 40 ms).
    profile_ok(&slow, &[&FAST[..], &["0.5"]].concat());

    let html = plot(&[&fast, &slow], &tmp.path().join("out"));
    // The only setting that differs names each run.
    for label in ["speedup=2.0", "speedup=0.5"] {
        assert!(
            html.contains(&format!("<td>{label}</td>")),
            "no label {label}"
        );
    }
    assert!(html.contains("<td>single run</td>"));
    // A large slowdown is beyond the intervals, and worse.
    for metric in [
        "time_to_first_token_avg",
        "request_latency_avg",
        "inter_token_latency_avg",
    ] {
        let row = rows(&html, metric);
        assert_eq!(row.len(), 1, "{metric}");
        assert!(row[0].contains("data-verdict=\"yes\""), "{}", row[0]);
        assert!(row[0].contains("class=\"worse\">+"), "{}", row[0]);
    }
    // The throughput of a single run has no interval; half as fast is worse.
    let throughput = rows(&html, "request_throughput_avg");
    assert!(
        throughput[0].contains("data-verdict=\"no CI\""),
        "{}",
        throughput[0]
    );
    assert!(
        throughput[0].contains("class=\"worse\">−"),
        "{}",
        throughput[0]
    );
    // 24 requests are too few for an interval of p99.
    assert!(rows(&html, "time_to_first_token_p99")[0].contains("too few requests"));
    // Overlays: a series per run, named by its label; the percentile charts are linked.
    for stem in [
        "compare_request_latency_percentiles",
        "compare_ttft_percentiles",
        "compare_throughput_over_time",
    ] {
        let s = spec(&html, stem);
        assert_eq!(series_names(&s), ["speedup=2.0", "speedup=0.5"], "{stem}");
    }
    assert_eq!(
        spec(&html, "compare_request_latency_percentiles")["sync"],
        spec(&html, "compare_ttft_percentiles")["sync"]
    );
    assert!(
        tmp.path()
            .join("out/compare_ttft_percentiles.png")
            .is_file()
    );

    // The same results twice: nothing differs, so the directory names label them, and every
    // difference is zero, within the intervals.
    let copy = tmp.path().join("fast-again");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&fast).unwrap().flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
    }
    let html = plot(&[&fast, &copy], &tmp.path().join("same"));
    assert!(html.contains("<td>fast</td>") && html.contains("<td>fast-again</td>"));
    let row = rows(&html, "time_to_first_token_avg");
    assert!(
        row[0].contains("data-verdict=\"no (within CI)\""),
        "{}",
        row[0]
    );
    assert!(!row[0].contains("<td class="), "{}", row[0]);
}

#[test]
fn sweeps_are_compared_cell_by_cell() {
    let tmp = tempfile::tempdir().unwrap();
    let (fast, slow) = (tmp.path().join("fast"), tmp.path().join("slow"));
    let sweep = |speedup: &'static str| -> Vec<&'static str> {
        let mut args = FAST.to_vec();
        args.extend([speedup, "--num-profile-runs", "3"]);
        args[6] = "8"; // requests per run
        args[8] = "1,2"; // the swept concurrency
        args
    };
    profile_ok(&fast, &sweep("2"));
    profile_ok(&slow, &sweep("0.5"));

    let html = plot(&[&fast, &slow], &tmp.path().join("out"));
    let ttft = rows(&html, "time_to_first_token_avg");
    assert_eq!(ttft.len(), 2, "one row per matching cell");
    for (row, cell) in ttft.iter().zip(["concurrency=1", "concurrency=2"]) {
        assert!(row.contains(&format!("<td>{cell}</td>")), "{row}");
        // Three trials each: the aggregates' intervals, far apart.
        assert!(row.contains("data-verdict=\"yes\""), "{row}");
        assert!(row.contains("class=\"worse\">+"), "{row}");
    }
    let s = spec(&html, "compare_sweep_request_throughput_avg");
    assert_eq!(series_names(&s), ["speedup=2.0", "speedup=0.5"]);
    assert!(s["series"][0]["band"].is_array(), "trials give bands");
    let pareto = spec(&html, "compare_pareto");
    assert_eq!(series_names(&pareto), ["speedup=2.0", "speedup=0.5"]);
    assert_eq!(
        pareto["series"][0]["labels"],
        serde_json::json!(["concurrency=1", "concurrency=2"])
    );
}

#[test]
fn sweeps_of_one_trial_take_intervals_from_their_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let (fast, slow) = (tmp.path().join("fast"), tmp.path().join("slow"));
    let sweep = |speedup: &'static str| -> Vec<&'static str> {
        let mut args = FAST.to_vec();
        args.push(speedup);
        args[6] = "12"; // requests per run
        args[8] = "1,2"; // the swept concurrency
        args
    };
    profile_ok(&fast, &sweep("2"));
    profile_ok(&slow, &sweep("0.5"));
    let html = plot(&[&fast, &slow], &tmp.path().join("out"));
    let ttft = rows(&html, "time_to_first_token_avg");
    assert_eq!(ttft.len(), 2, "one row per matching cell");
    for row in ttft {
        // Each cell's run: the interval of the mean over its requests.
        assert!(row.contains("data-verdict=\"yes\""), "{row}");
    }
    let throughput = rows(&html, "request_throughput_avg");
    assert!(
        throughput[0].contains("data-verdict=\"no CI (one trial)\""),
        "{}",
        throughput[0]
    );

    // A single run is not matched to a sweep cell, and the page says so.
    let single = fast.join("concurrency_1");
    let html = plot(&[&fast, &single, &slow], &tmp.path().join("mixed"));
    assert!(html.contains("not matched to a sweep cell"), "{html}");
    assert!(html.contains("nothing of its kind"));
    assert_eq!(rows(&html, "time_to_first_token_avg").len(), 2);
    // Nothing of one kind to compare: each directory's own sections follow the notes.
    let html = plot(&[&single, &slow], &tmp.path().join("apart"));
    assert!(html.contains("nothing of its kind"));
    assert!(html.contains(": Run</h2>"), "{html}");
    assert!(rows(&html, "time_to_first_token_avg").is_empty());
}

#[test]
fn a_path_without_results_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path().join("run");
    profile_ok(&run_dir, &[&FAST[..], &["4"]].concat());
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    for missing in [empty, tmp.path().join("no-such-dir")] {
        let output = run(&["plot", run_dir.to_str().unwrap(), missing.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(missing.to_str().unwrap()),
            "{}",
            stderr(&output)
        );
    }
}

/// Two searches: their outcomes side by side (best probe, objective, each limit's verdict,
/// why each stopped), then their cells compared.
#[test]
fn two_searches_show_their_outcomes_side_by_side() {
    let tmp = tempfile::tempdir().unwrap();
    let search = |name: &str, speedup: &str| {
        let dir = tmp.path().join(name);
        profile_ok(
            &dir,
            &[
                "--sim",
                "--sim-speedup",
                speedup,
                "--streaming",
                "--osl",
                "8",
                "--isl",
                "64",
                "--search-recipe",
                "max-concurrency-under-sla",
                "--ttft-sla-ms",
                "60",
                "--concurrency-max",
                "16",
            ],
        );
        dir
    };
    let (a, b) = (search("a", "1"), search("b", "0.5"));
    let html = plot(&[&a, &b], &tmp.path().join("out"));
    let start = html
        .find("<h2>Searches: outcomes</h2>")
        .expect("the outcomes section");
    let section = &html[start..start + html[start..].find("</table>").unwrap()];
    let rows: Vec<&str> = section.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 2, "{section}");
    for (row, label) in rows.iter().zip(["speedup=1.0", "speedup=0.5"]) {
        assert!(
            row.starts_with(&format!("<td>{label}</td><td>concurrency=")),
            "{row}"
        );
        assert!(row.contains("time_to_first_token p95 &lt; 60: "), "{row}");
        assert!(row.contains("(met)"), "{row}");
    }
    assert!(html.contains("<h2>Sweeps: differences by cell</h2>"));
}

/// Runs of the Python AIPerf (no `run_config.json`, no records): labelled from the summary's
/// `input_config`, compared without intervals.
#[test]
fn python_aiperf_runs_are_labelled_from_their_input_config() {
    let tmp = tempfile::tempdir().unwrap();
    let dirs: Vec<std::path::PathBuf> = [(4, 179.1), (8, 250.0)]
        .iter()
        .map(|(concurrency, latency)| {
            let dir = tmp.path().join(format!("c{concurrency}"));
            std::fs::create_dir_all(&dir).unwrap();
            let summary = serde_json::json!({
                "schema_version": "1.4",
                "benchmark_id": format!("run-{concurrency}"),
                "request_latency": {"unit": "ms", "avg": latency, "p50": latency, "p99": latency + 10.0},
                "input_config": {
                    "models": {"items": [{"name": "served-model"}]},
                    "endpoint": {"urls": ["http://127.0.0.1:8000"], "type": "chat", "streaming": true},
                    "phases": [{"name": "profiling", "kind": "profiling", "type": "concurrency",
                                "requests": 40, "concurrency": concurrency}],
                },
                "run_info": {"cli_command": format!("aiperf profile -m served-model --concurrency {concurrency}")},
            });
            std::fs::write(
                dir.join("profile_export_aiperf.json"),
                serde_json::to_vec(&summary).unwrap(),
            )
            .unwrap();
            dir
        })
        .collect();
    let html = plot(&[&dirs[0], &dirs[1]], &tmp.path().join("out"));
    assert!(
        html.contains("<td>baseline</td><td>concurrency=4</td>"),
        "{html}"
    );
    assert!(html.contains("<td>concurrency=8</td>"));
    let row = rows(&html, "request_latency_avg");
    assert_eq!(row.len(), 1);
    assert!(
        row[0].contains("<td class=\"worse\">+70.9 ms</td>"),
        "{}",
        row[0]
    );
    assert!(row[0].contains("no CI"), "{}", row[0]);
}
