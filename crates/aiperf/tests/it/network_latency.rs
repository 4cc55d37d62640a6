//! `--network-latency-*`: the network round trip taken out of the latency metrics that start
//! at a request's send, as `network_adjusted_*` metrics beside the raw ones and `network_rtt`,
//! in every summary file, from a fixed mean or from TCP handshakes timed during the run.

use std::path::Path;

use serde_json::Value;

use crate::common::{assert_usage_error, profile_ok, read_csv};

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

const PAIRS: [(&str, &str); 3] = [
    ("network_adjusted_request_latency", "request_latency"),
    (
        "network_adjusted_time_to_first_token",
        "time_to_first_token",
    ),
    (
        "network_adjusted_time_to_first_output_token",
        "time_to_first_output_token",
    ),
];

/// Each adjusted metric is its raw metric shifted by `rtt_ms`: every statistic but the
/// standard deviation, which stays (no request is faster than the round trip here).
#[track_caller]
fn assert_shifted(summary: &Value, rtt_ms: f64) {
    for (adjusted, raw) in PAIRS {
        let (a, r) = (&summary[adjusted], &summary[raw]);
        assert_eq!(a["unit"], "ms", "{adjusted}: {a}");
        for stat in ["avg", "min", "max", "p1", "p50", "p90", "p99"] {
            let (av, rv) = (a[stat].as_f64().unwrap(), r[stat].as_f64().unwrap());
            assert!(
                close(av, rv - rtt_ms),
                "{adjusted}.{stat} = {av}, {raw} = {rv}"
            );
        }
        assert!(close(
            a["std"].as_f64().unwrap(),
            r["std"].as_f64().unwrap()
        ));
        let n = r["count"].as_f64().unwrap();
        let sum = a["sum"].as_f64().unwrap();
        assert!(
            close(sum, r["sum"].as_f64().unwrap() - n * rtt_ms),
            "{adjusted}.sum"
        );
        // A derived metric: no count, as the Python AIPerf writes it.
        assert!(a.get("count").is_none(), "{a}");
    }
    let rtt = &summary["network_rtt"];
    for stat in ["avg", "min", "max", "p50", "p99", "sum"] {
        assert!(
            close(rtt[stat].as_f64().unwrap(), rtt_ms),
            "network_rtt: {rtt}"
        );
    }
    assert_eq!(rtt["std"], 0.0);
}

#[test]
fn a_fixed_mean_is_subtracted_in_every_summary_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    profile_ok(
        &dir,
        &[
            "--sim",
            "fixed",
            "--streaming",
            "--concurrency",
            "2",
            "--request-count",
            "16",
            "--osl",
            "8",
            "--network-latency-mean",
            "5",
            "--slice-duration",
            "60",
        ],
    );
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert_shifted(&summary, 5.0);
    // The adjusted metrics come after the run-level figures, before nothing else of ours.
    let keys: Vec<&String> = summary.as_object().unwrap().keys().collect();
    let at = |k: &str| keys.iter().position(|x| *x == k).unwrap();
    assert!(at("network_rtt") + 1 == at("network_adjusted_request_latency"));
    assert!(at("effective_latency") < at("network_rtt"));
    assert_eq!(
        summary["aiperf_config"]["network_latency"],
        serde_json::json!({"mode": "fixed", "mean_ms": 5.0})
    );
    // The configuration in the Python AIPerf's shape says so too.
    assert_eq!(
        summary["input_config"]["network_latency"],
        serde_json::json!({"enabled": true, "mean_ms": 5.0})
    );

    let csv = read_csv(&dir.join("profile_export_aiperf.csv"));
    let row = |name: &str| {
        csv.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row in\n{csv}"))
            .to_owned()
    };
    assert!(row("Network RTT (ms),").starts_with("Network RTT (ms),5.00,5.00,5.00,5.00,5.00,"));
    let adjusted = row("Network-Adjusted Request Latency (ms),");
    assert_eq!(adjusted.split(',').count(), 15, "{adjusted}");
    row("Network-Adjusted Time to First Token (ms),");
    row("Network-Adjusted Time to First Output Token (ms),");

    let console = std::fs::read_to_string(dir.join("profile_export_console.txt")).unwrap();
    let lines: Vec<&str> = console.lines().collect();
    let line_of = |header: &str| {
        lines
            .iter()
            .position(|l| l.contains(header))
            .unwrap_or_else(|| panic!("no {header} in\n{console}"))
    };
    // Each adjusted row follows its raw one, the round trip after the request latency.
    assert!(line_of("Time to First Token") < line_of("Network-Adjusted Time to First Token"));
    assert!(line_of("Request Latency (ms)") < line_of("Network-Adjusted Request Latency"));
    assert!(line_of("Network-Adjusted Request Latency") < line_of("Network RTT (ms)"));

    // Every time slice has them too.
    let slices = read_json(&dir.join("profile_export_aiperf_timeslices.json"));
    let first = &slices["timeslices"][0];
    assert_eq!(first["network_rtt"]["avg"], 5.0);
    assert!(close(
        first["network_adjusted_request_latency"]["avg"]
            .as_f64()
            .unwrap(),
        first["request_latency"]["avg"].as_f64().unwrap() - 5.0
    ));

    // Nothing was probed.
    assert!(!dir.join("profile_export_network_latency.jsonl").exists());
}

#[test]
fn the_automatic_mode_times_tcp_handshakes_and_subtracts_their_mean() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    profile_ok(
        &dir,
        &[
            "--sim",
            "fixed",
            "--streaming",
            "--concurrency",
            "2",
            "--request-count",
            "8",
            "--osl",
            "4",
            "--network-latency-automatic",
            "--network-latency-ping-interval",
            "0.02",
        ],
    );
    let probes: Vec<Value> =
        std::fs::read_to_string(dir.join("profile_export_network_latency.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    // A short run is topped up to five successful probes at least.
    let rtts: Vec<f64> = probes
        .iter()
        .filter(|p| p["success"] == true)
        .map(|p| p["rtt_ns"].as_f64().unwrap())
        .collect();
    assert!(rtts.len() >= 5, "{probes:?}");
    for p in &probes {
        assert_eq!(p["probe_type"], "tcp_connect");
        assert_eq!(p["target_host"], "127.0.0.1");
        assert!(p["target_port"].as_u64().unwrap() > 0);
        assert!(
            p["target_url"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:")
        );
        assert!(p["timestamp_ns"].as_u64().unwrap() > 1_600_000_000_000_000_000);
    }
    let mean_ms = rtts.iter().sum::<f64>() / rtts.len() as f64 / 1e6;
    // A loopback handshake: more than nothing, far less than a second.
    assert!(mean_ms > 0.0 && mean_ms < 1000.0, "{mean_ms}");

    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert!(close(
        summary["network_rtt"]["avg"].as_f64().unwrap(),
        mean_ms
    ));
    assert_shifted(&summary, mean_ms);
    let adjusted = summary["network_adjusted_time_to_first_token"]["min"]
        .as_f64()
        .unwrap();
    assert!(adjusted >= 0.0);
    assert_eq!(
        summary["aiperf_config"]["network_latency"]["interval_secs"],
        0.02
    );
    assert_eq!(
        summary["input_config"]["network_latency"],
        serde_json::json!({"enabled": true, "ping_interval": 0.02})
    );
}

/// `aiperf profile --sim --request-count 1` and `extra`.
fn run<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["profile", "--sim", "--request-count", "1"];
    args.extend_from_slice(extra);
    args
}

#[test]
fn network_latency_flags_are_checked() {
    assert_usage_error(
        &run(&["--network-latency-automatic", "--network-latency-mean", "2"]),
        "--network-latency-automatic and --network-latency-mean cannot be used together",
    );
    assert_usage_error(
        &run(&["--network-latency-ping-interval", "0.5"]),
        "--network-latency-ping-interval only applies with --network-latency-automatic",
    );
    assert_usage_error(
        &run(&[
            "--network-latency-mean",
            "2",
            "--network-latency-ping-interval",
            "0.5",
        ]),
        "not with --network-latency-mean",
    );
    assert_usage_error(
        &run(&["--network-latency-mean=-1"]),
        "--network-latency-mean must be a number of milliseconds, 0 or more",
    );
    assert_usage_error(
        &run(&[
            "--network-latency-automatic",
            "--network-latency-ping-interval",
            "0",
        ]),
        "--network-latency-ping-interval must be a number of seconds above 0",
    );
}
