//! `aiperf plot` and `--auto-plot`: charts and a self-contained report from artifact files.

use std::path::Path;

use crate::common::{run, stderr};

fn assert_report(plots: &Path, min_charts: usize, must_mention: &[&str]) {
    let html = std::fs::read_to_string(plots.join("report.html")).unwrap();
    assert!(
        html.matches("<svg").count() >= min_charts,
        "{} charts",
        html.matches("<svg").count()
    );
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
        &[
            "Time to first token over time",
            "Request latency by percentile",
        ],
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
        &["Search probes", "highest passing"],
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
