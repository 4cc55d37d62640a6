//! `--slice-duration`: the run summarized window by window, in the reference tool's files.

use serde_json::Value;

use crate::common::{read_csv, run};

#[test]
fn slices_partition_the_requests_and_tile_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = run(&[
        "profile",
        "--ui",
        "none",
        "--sim",
        "fixed",
        "--streaming",
        "--request-rate",
        "40",
        "--request-count",
        "60",
        "--isl",
        "32",
        "--osl",
        "8",
        "--extra-inputs",
        "ignore_eos:true",
        "--slice-duration",
        "0.5",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let doc: Value = serde_json::from_slice(
        &std::fs::read(dir.join("profile_export_aiperf_timeslices.json")).unwrap(),
    )
    .unwrap();
    let slices = doc["timeslices"].as_array().unwrap();
    // 60 requests at 40/s take about 1.5 s: several slices.
    assert!(slices.len() >= 2, "{doc:#}");
    let count = |s: &Value| s["request_count"]["avg"].as_f64().unwrap();
    assert_eq!(slices.iter().map(count).sum::<f64>(), 60.0);
    for pair in slices.windows(2) {
        // Consecutive, 0.5 s apart (a window without requests would be skipped).
        let (a, b) = (&pair[0], &pair[1]);
        let len = b["start_ns"].as_u64().unwrap() - a["start_ns"].as_u64().unwrap();
        assert_eq!(len % 500_000_000, 0, "{a:#} {b:#}");
        assert_eq!(
            a["end_ns"].as_u64().unwrap() - a["start_ns"].as_u64().unwrap(),
            500_000_000
        );
        assert!(a.get("is_complete").is_none());
    }
    for s in slices {
        let secs = (s["end_ns"].as_u64().unwrap() - s["start_ns"].as_u64().unwrap()) as f64 / 1e9;
        let rate = s["request_throughput"]["avg"].as_f64().unwrap();
        assert!((rate - count(s) / secs).abs() < 1e-6 * rate, "{s:#}");
        assert!(s["effective_concurrency"]["max"].as_f64().unwrap() >= 1.0);
    }
    // The last slice ends with the run: cut short (and flagged) when the run ended inside it,
    // whole when its requests were still running at its end (the timing decides which).
    let last = slices.last().unwrap();
    let len = last["end_ns"].as_u64().unwrap() - last["start_ns"].as_u64().unwrap();
    if len < 500_000_000 {
        assert_eq!(last["is_complete"], false, "{last:#}");
    } else {
        assert_eq!(len, 500_000_000, "{last:#}");
        assert!(last.get("is_complete").is_none(), "{last:#}");
    }
    assert!(doc["input_config"].is_object());

    // The CSV says the same in long form.
    let csv = read_csv(&dir.join("profile_export_aiperf_timeslices.csv"));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value")
    );
    let counts: f64 = lines
        .filter(|l| l.contains(",Request Count,requests,avg,"))
        .map(|l| l.rsplit(',').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(counts, 60.0);
}
