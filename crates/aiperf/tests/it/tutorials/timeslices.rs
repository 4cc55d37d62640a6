//! docs/tutorials/timeslices.md: `--slice-duration` splits a `--benchmark-duration` run into
//! windows, each summarized in `profile_export_aiperf_timeslices.json` and `.csv`.
//!
//! The tutorial's command has no `--url` (the default, localhost:8000): the simulator is added.
//! Its CSV sample has columns `Timeslice,Metric,Unit,Stat,Value` and its JSON sample a
//! `timeslice_index` per slice; the Python AIPerf 0.13 writes
//! `Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value` and `start_ns`/`end_ns` per slice, as
//! checked here.

use serde_json::Value;

use super::{Tutorial, read_json};
use crate::common::read_csv;

const SIMPLE: &str = r"aiperf profile \
  --model Qwen/Qwen3-0.6B \
  --benchmark-duration 60 \
  --slice-duration 10";

#[test]
fn a_run_is_summarized_slice_by_slice() {
    let tmp = tempfile::tempdir().unwrap();
    let run = Tutorial::parse(SIMPLE)
        .on_sim("fixed", 20.0)
        .with("--benchmark-duration", "3")
        .with("--slice-duration", "0.5")
        .run_in(tmp.path())
        .ok();
    let dir = run.dir();
    let doc = read_json(&dir.join("profile_export_aiperf_timeslices.json"));
    let slices = doc["timeslices"].as_array().unwrap();
    // Six half-second windows of the 3 s run (a seventh when the last answers come after).
    assert!((6..=7).contains(&slices.len()), "{} slices", slices.len());
    let start = |s: &Value| s["start_ns"].as_u64().unwrap();
    for pair in slices.windows(2) {
        assert_eq!(start(&pair[1]) - start(&pair[0]), 500_000_000);
    }
    for s in slices {
        let latency = &s["request_latency"];
        assert_eq!(latency["unit"], "ms", "{s:#}");
        for stat in ["avg", "min", "max", "p50", "p90", "p95", "p99"] {
            assert!(latency[stat].is_number(), "{stat} in {s:#}");
        }
    }
    assert_eq!(
        doc["input_config"]["models"]["items"][0]["name"],
        "Qwen/Qwen3-0.6B"
    );

    let csv = read_csv(&dir.join("profile_export_aiperf_timeslices.csv"));
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value")
    );
    let indices: std::collections::BTreeSet<usize> = lines
        .filter(|l| l.contains(",Request Latency,ms,avg,"))
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(indices, (0..slices.len()).collect());
}
