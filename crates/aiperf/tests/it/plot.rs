//! `aiperf plot` and `--auto-plot`: charts and a self-contained report from artifact files.

use std::path::Path;

use crate::common::{run, stderr};

/// The JSON the page draws the chart `stem` from.
fn chart_spec(html: &str, stem: &str) -> serde_json::Value {
    let start = html
        .find(&format!("data-stem=\"{stem}\""))
        .unwrap_or_else(|| panic!("no chart {stem}"));
    let rest = &html[start..];
    let open = "class=\"chart-spec\">";
    let json = &rest[rest.find(open).unwrap() + open.len()..rest.find("</script>").unwrap()];
    serde_json::from_str(json).unwrap()
}

fn assert_report(plots: &Path, min_charts: usize, must_mention: &[&str]) {
    let html = std::fs::read_to_string(plots.join("report.html")).unwrap();
    // Each chart is a figure with its data as JSON (drawn by the page) or a heat map table.
    let figures = html.matches("<figure class=\"chart\"").count()
        + html.matches("<figure class=\"heatmap\"").count();
    assert!(figures >= min_charts, "{figures} charts");
    for needle in must_mention {
        assert!(html.contains(needle), "report does not mention {needle}");
    }
    // Self-contained: nothing is fetched from anywhere.
    for attr in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "@import",
        "url(http",
    ] {
        assert!(!html.contains(attr), "report references {attr}");
    }
    let pngs: Vec<_> = std::fs::read_dir(plots)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    assert!(pngs.len() >= min_charts, "{pngs:?}");
    for p in pngs {
        let bytes = std::fs::read(&p).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 2000,
            "{}",
            p.display()
        );
        let svg = p.with_extension("svg");
        assert!(
            std::fs::read_to_string(&svg).unwrap().contains("<svg"),
            "{}",
            svg.display()
        );
    }
}

#[test]
fn sweeps_runs_searches_and_recipes_are_plotted() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("sweep");
    let output = run(&[
        "profile",
        "--sim",
        "fixed",
        "--streaming",
        "--ui",
        "none",
        "--concurrency",
        "1,2,4",
        "--num-profile-runs",
        "2",
        "--request-count",
        "8",
        "--osl",
        "4",
        "--auto-plot",
        "--artifact-dir",
        sweep.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_report(
        &sweep.join("plots"),
        4,
        &[
            "Pareto",
            "Request throughput vs concurrency",
            "aiperf profile",
            "How these results were produced",
        ],
    );

    let single = tmp.path().join("single");
    let output = run(&[
        "profile",
        "--sim",
        "fixed",
        "--streaming",
        "--ui",
        "none",
        "--request-count",
        "20",
        "--osl",
        "4",
        "--artifact-dir",
        single.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    assert!(!single.join("plots").exists(), "no report unless asked");
    let output = run(&[
        "plot",
        single.to_str().unwrap(),
        "--output",
        tmp.path().join("out").to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_report(
        &tmp.path().join("out"),
        5,
        &["Time to first token over time", "Latency by percentile"],
    );

    // The curve recipes write their report by default.
    let curve = tmp.path().join("curve");
    let output = run(&[
        "profile",
        "--sim",
        "--sim-speedup",
        "4",
        "--streaming",
        "--ui",
        "none",
        "--request-count",
        "4",
        "--osl",
        "4",
        "--search-recipe",
        "prefill-ttft-curve",
        "--isl-min",
        "256",
        "--isl-max",
        "2048",
        "--isl-steps",
        "3",
        "--artifact-dir",
        curve.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_report(&curve.join("plots"), 4, &["TTFT = ", "r² = "]);

    let search = tmp.path().join("search");
    let output = run(&[
        "profile",
        "--sim",
        "--streaming",
        "--ui",
        "none",
        "--osl",
        "8",
        "--isl",
        "64",
        "--search-recipe",
        "max-concurrency-under-sla",
        "--ttft-sla-ms",
        "60",
        "--concurrency-max",
        "32",
        "--auto-plot",
        "--artifact-dir",
        search.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_report(
        &search.join("plots"),
        2,
        &[
            "Search probes",
            "highest passing",
            // The SLA verdict of the best probe, up front.
            "<h3>Search result</h3>",
            "<td>time_to_first_token p95 &lt; 60</td>",
            "<td>met</td>",
        ],
    );
}

#[test]
fn plotting_nothing_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let output = run(&["plot", tmp.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("holds no aiperf results"));
    let output = run(&["plot", "/no/such/dir"]);
    assert_eq!(output.status.code(), Some(2));
}

/// A single run of the Python AIPerf (no `run_config.json`; the configuration in its
/// `BenchmarkConfig` shape in the summary): the report says what was benchmarked and how.
#[test]
fn a_reference_run_is_described_from_its_input_config() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("reference");
    std::fs::create_dir_all(&dir).unwrap();
    let summary = serde_json::json!({
        "schema_version": "1.4",
        "benchmark_id": "61d71ca56da4",
        "request_latency": {"unit": "ms", "avg": 179.1, "p50": 178.5, "p90": 182.4, "p99": 190.0},
        "input_config": {
            "models": {"items": [{"name": "served-model"}]},
            "endpoint": {"urls": ["http://127.0.0.1:8000"], "type": "chat", "streaming": true},
            "datasets": [{"name": "main", "type": "synthetic", "entries": 40,
                          "prompts": {"isl": {"mean": 64.0}, "osl": {"mean": 32.0}}}],
            "phases": [{"name": "profiling", "kind": "profiling", "type": "poisson",
                        "requests": 40, "concurrency": 4, "rate": 12.5}],
            "artifacts": {"dir": dir},
        },
        "run_info": {
            "benchmark_id": "61d71ca56da4",
            "trial": 0,
            "cli_command": "aiperf profile -m 'served-model' --request-rate 12.5",
        },
    });
    std::fs::write(
        dir.join("profile_export_aiperf.json"),
        serde_json::to_vec(&summary).unwrap(),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let output = run(&[
        "plot",
        dir.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for row in [
        "<td>model</td><td>served-model</td>",
        "<td>endpoint</td><td>chat, streaming</td>",
        "<td>load</td><td>poisson</td>",
        "<td>concurrency</td><td>4</td>",
        "<td>request rate</td><td>12.5</td>",
        "<td>input tokens (mean)</td><td>64.0</td>",
        "<td>output tokens (mean)</td><td>32.0</td>",
        "aiperf profile -m 'served-model' --request-rate 12.5",
    ] {
        assert!(html.contains(row), "report lacks {row}: {html}");
    }
}

/// The report's header says what ran and leads with the figures; every point of the Pareto
/// chart carries its configuration; a figure the server never reported (all zero on the
/// zero-latency simulator) is left out rather than drawn as a flat line; `--theme dark`
/// colours the page and the exported charts.
#[test]
fn the_report_leads_with_what_ran_and_leaves_out_empty_charts() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("sweep");
    let output = run(&[
        "profile",
        "--sim",
        "zero",
        "--streaming",
        "--ui",
        "none",
        "--concurrency",
        "1,4",
        "--request-count",
        "12",
        "--osl",
        "4",
        "--artifact-dir",
        sweep.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = tmp.path().join("light");
    let output = run(&[
        "plot",
        sweep.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // The simulator reports no running requests at zero latency: no chart, no files.
    assert!(!html.contains("data-stem=\"sweep_server_running_requests_avg\""));
    assert!(!out.join("sweep_server_running_requests_avg.png").exists());
    assert!(html.contains("data-stem=\"sweep_request_throughput_avg\""));
    // What ran, against what, when; the headline figures and the Pareto table.
    for needle in [
        "<span class=\"muted\">model</span>",
        "<span class=\"muted\">server</span> http://127.0.0.1:",
        "<span class=\"muted\">started</span> 20",
        "<div class=\"label\">Best throughput</div>",
        "<h3>Pareto frontier (throughput vs latency)</h3>",
        "<td>concurrency=1</td>",
        "<td>concurrency=4</td>",
        "data-theme=\"light\"",
        "Content-Security-Policy",
        "default-src 'none'",
    ] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
    // The Pareto chart's points are labelled with their configuration.
    let chart = chart_spec(&html, "sweep_pareto");
    let labels: Vec<&str> = chart["series"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["labels"].as_array().into_iter().flatten())
        .filter_map(|l| l.as_str())
        .collect();
    assert!(
        labels.contains(&"concurrency=1") && labels.contains(&"concurrency=4"),
        "{labels:?}"
    );

    let dark = tmp.path().join("dark");
    let output = run(&[
        "plot",
        sweep.to_str().unwrap(),
        "--output",
        dark.to_str().unwrap(),
        "--theme",
        "dark",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        std::fs::read_to_string(dark.join("report.html"))
            .unwrap()
            .contains("data-theme=\"dark\"")
    );
    let corner = |dir: &Path| {
        let img = image::open(dir.join("sweep_pareto.png")).unwrap().to_rgb8();
        let p = img.get_pixel(2, 2).0;
        p.iter().map(|c| u32::from(*c)).sum::<u32>()
    };
    assert!(corner(&out) > 600, "light charts on white");
    assert!(corner(&dark) < 150, "dark charts on a dark background");
}

/// The Python AIPerf's `plot` options: `./artifacts` without a path, `--paths`, `--config` and
/// the MLflow upload accepted with a note, `--mlflow-upload` with `--dashboard` refused.
#[test]
fn plot_takes_the_python_aiperfs_options() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path().join("artifacts");
    let output = run(&[
        "profile",
        "--sim",
        "zero",
        "--streaming",
        "--ui",
        "none",
        "--request-count",
        "6",
        "--osl",
        "4",
        "--artifact-dir",
        run_dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));

    // No path: ./artifacts.
    let output = crate::common::aiperf()
        .current_dir(tmp.path())
        .args(["plot"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(run_dir.join("plots/report.html").is_file());

    let out = tmp.path().join("out");
    let output = run(&[
        "plot",
        "--paths",
        run_dir.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--config",
        "plot_config.yaml",
        "--mlflow-upload",
        "--mlflow-run-id",
        "abc",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("--config plot_config.yaml: plot configuration files"),
        "{err}"
    );
    assert!(
        err.contains("--mlflow-upload, --mlflow-tracking-uri and --mlflow-run-id have no effect"),
        "{err}"
    );
    assert!(out.join("report.html").is_file());

    let output = run(&[
        "plot",
        run_dir.to_str().unwrap(),
        "--dashboard",
        "--mlflow-upload",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--mlflow-upload and --dashboard cannot be combined"));
    let output = run(&["plot", run_dir.to_str().unwrap(), "--theme", "sepia"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--theme"), "{}", stderr(&output));
}

/// Repeated runs of one configuration: each run's latency distribution on one chart, a line
/// per run, beside the confidence table.
#[test]
fn repeated_runs_are_drawn_run_by_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("trials");
    let output = run(&[
        "profile",
        "--sim",
        "fixed",
        "--streaming",
        "--ui",
        "none",
        "--num-profile-runs",
        "2",
        "--request-count",
        "6",
        "--osl",
        "4",
        "--auto-plot",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let html = std::fs::read_to_string(dir.join("plots/report.html")).unwrap();
    assert!(html.contains("Across runs (2 runs, 95 % confidence)"));
    let chart = chart_spec(&html, "runs_request_latency_percentiles");
    let names: Vec<&str> = chart["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["run 0001", "run 0002"]);
    for s in chart["series"].as_array().unwrap() {
        assert_eq!(
            s["points"].as_array().unwrap().len(),
            6,
            "a point per request"
        );
    }
}
