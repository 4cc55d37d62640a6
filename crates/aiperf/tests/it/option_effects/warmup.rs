//! The warmup's own shape: its duration, rate, arrival pattern and grace period, and its
//! concurrency, prefill and rate ramps, seen from the simulator's record of the requests it
//! served (warmup requests are left out of every artifact of the run).

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;

use super::{RecordingSim, gaps_s, phases, records};
use crate::common::{profile, read_lines, stderr};

/// Runs `aiperf profile` against a recording simulator; returns the run's directory and the
/// simulator's records of the warmup requests (those not in the run's records), in arrival
/// order.
fn warmup_run(
    tmp: &Path,
    name: &str,
    speedup: &str,
    args: &[&str],
) -> (std::path::PathBuf, Vec<Value>) {
    let served = tmp.join(format!("{name}.served.jsonl"));
    let sim = RecordingSim::start(&served, speedup);
    let dir = tmp.join(name);
    let base = ["--url", &sim.url, "--model", "m", "--tokenizer", "builtin"];
    let output = profile(&dir, &[&base[..], args].concat());
    sim.stop();
    assert!(output.status.success(), "{name}: {}", stderr(&output));
    let measured: HashSet<String> = records(&dir)
        .iter()
        .map(|r| r["metadata"]["x_request_id"].as_str().unwrap().to_owned())
        .collect();
    let mut warmup: Vec<Value> = read_lines(&served)
        .into_iter()
        .filter(|r| !measured.contains(r["client_request_id"].as_str().unwrap_or("")))
        .collect();
    warmup.sort_by_key(|r| r["arrival_ns"].as_u64().unwrap());
    (dir, warmup)
}

fn at(r: &Value, field: &str) -> f64 {
    r[field].as_f64().unwrap()
}

/// The most spans open at one instant (a microsecond of slack where one ends as another
/// starts).
fn max_overlap(spans: &[(f64, f64)]) -> usize {
    let mut events: Vec<(f64, i32)> = spans
        .iter()
        .flat_map(|&(s, e)| [(s, 1), (e - 1e3, -1)])
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut open, mut most) = (0i32, 0i32);
    for (_, d) in events {
        open += d;
        most = most.max(open);
    }
    most as usize
}

/// Share of `gaps` within 20 ms of `mean`.
fn share_near(gaps: &[f64], mean: f64) -> f64 {
    gaps.iter().filter(|g| (*g - mean).abs() <= 0.02).count() as f64 / gaps.len() as f64
}

/// `--warmup-duration` with `--warmup-request-rate` and `--warmup-arrival-pattern`: a second
/// of warmup at 20 requests per second sends about 20 requests (the closed-loop profiling
/// load would send hundreds), evenly spaced when constant, at exponential gaps when poisson.
#[test]
fn warmup_duration_rate_and_arrival_pattern() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |pattern: &str| {
        let (dir, warmup) = warmup_run(
            tmp.path(),
            pattern,
            "8",
            &[
                "--concurrency",
                "1",
                "--request-count",
                "2",
                "--osl",
                "2",
                "--random-seed",
                "9",
                "--warmup-duration",
                "1",
                "--warmup-request-rate",
                "20",
                "--warmup-arrival-pattern",
                pattern,
            ],
        );
        let phase = &phases(&dir)[0];
        assert_eq!(phase["kind"], "warmup");
        assert_eq!(phase["type"], pattern);
        assert_eq!(phase["duration"], 1.0);
        assert_eq!(phase["rate"], 20.0);
        let arrivals: Vec<f64> = warmup.iter().map(|r| at(r, "arrival_ns")).collect();
        assert!(
            (8..=26).contains(&arrivals.len()),
            "{pattern}: {} warmup requests",
            arrivals.len()
        );
        let span = (arrivals[arrivals.len() - 1] - arrivals[0]) / 1e9;
        assert!(span < 2.0, "{pattern}: warmup sent for {span:.2} s");
        gaps_s(arrivals)
    };
    let even = run("constant");
    assert!(share_near(&even, 0.05) >= 0.8, "constant gaps {even:?}");
    let drawn = run("poisson");
    assert!(share_near(&drawn, 0.05) < 0.6, "poisson gaps {drawn:?}");
}

/// `--warmup-grace-period`: when the timed warmup ends, requests still in flight get that
/// long to finish; with 0 they are cancelled at once (the server sees the client go), with 5
/// they all complete.
#[test]
fn warmup_grace_period_bounds_the_wait_for_requests_in_flight() {
    let tmp = tempfile::tempdir().unwrap();
    for (grace, cancelled) in [("0", true), ("5", false)] {
        // 64 tokens take the simulator about 0.4 s: two are in flight when 0.5 s end.
        let (dir, warmup) = warmup_run(
            tmp.path(),
            &format!("grace{grace}"),
            "1",
            &[
                "--concurrency",
                "2",
                "--request-count",
                "2",
                "--osl",
                "64",
                "--extra-inputs",
                "ignore_eos:true",
                "--warmup-duration",
                "0.5",
                "--warmup-concurrency",
                "2",
                "--warmup-grace-period",
                grace,
            ],
        );
        let endings: Vec<&str> = warmup
            .iter()
            .map(|r| r["ending"].as_str().unwrap())
            .collect();
        assert!(endings.len() >= 2, "{endings:?}");
        assert_eq!(
            endings.contains(&"client_gone"),
            cancelled,
            "grace {grace}: {endings:?}"
        );
        assert_eq!(
            phases(&dir)[0]["grace_period"],
            grace.parse::<f64>().unwrap()
        );
        assert_eq!(records(&dir).len(), 2, "the profiling phase is whole");
    }
}

/// `--warmup-concurrency-ramp-duration`: the warmup opens its sessions one at a time, so its
/// first requests are alone; later they overlap up to the warmup concurrency.
#[test]
fn warmup_concurrency_ramp_starts_with_one_session() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, warmup) = warmup_run(
        tmp.path(),
        "ramp",
        "1",
        &[
            "--concurrency",
            "1",
            "--request-count",
            "2",
            "--osl",
            "16",
            "--warmup-duration",
            "2.5",
            "--warmup-concurrency",
            "5",
            "--warmup-concurrency-ramp-duration",
            "2",
        ],
    );
    let spans: Vec<(f64, f64)> = warmup
        .iter()
        .map(|r| (at(r, "arrival_ns"), at(r, "end_ns")))
        .collect();
    let t0 = spans[0].0;
    // The second session starts half a second in: before, one request at a time.
    let early: Vec<(f64, f64)> = spans.iter().copied().filter(|s| s.0 - t0 < 0.4e9).collect();
    assert!(early.len() >= 2, "{} early requests", early.len());
    assert_eq!(max_overlap(&early), 1, "{early:?}");
    assert!(max_overlap(&spans) >= 3, "the ramp reached more sessions");
    assert!(max_overlap(&spans) <= 5);
    assert_eq!(phases(&dir)[0]["concurrency_ramp"]["duration"], 2.0);
}

/// `--warmup-prefill-concurrency-ramp-duration`: the warmup's prefill gate opens one slot at a
/// time, so its first requests reach their first token one at a time.
#[test]
fn warmup_prefill_ramp_starts_with_one_slot() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, warmup) = warmup_run(
        tmp.path(),
        "prefill",
        "1",
        &[
            "--streaming",
            "--concurrency",
            "1",
            "--request-count",
            "2",
            "--osl",
            "4",
            "--warmup-duration",
            "2",
            "--warmup-concurrency",
            "4",
            "--warmup-prefill-concurrency",
            "3",
            "--warmup-prefill-concurrency-ramp-duration",
            "2",
        ],
    );
    let spans: Vec<(f64, f64)> = warmup
        .iter()
        .map(|r| (at(r, "arrival_ns"), at(r, "first_token_ns")))
        .collect();
    let t0 = spans[0].0;
    let early: Vec<(f64, f64)> = spans.iter().copied().filter(|s| s.0 - t0 < 0.8e9).collect();
    assert!(early.len() >= 2, "{} early requests", early.len());
    assert_eq!(max_overlap(&early), 1, "{early:?}");
    assert!(max_overlap(&spans) <= 3);
    let phase = &phases(&dir)[0];
    assert_eq!(phase["prefill_concurrency"], 3);
    assert_eq!(phase["prefill_ramp"]["duration"], 2.0);
}

/// `--warmup-request-rate-ramp-duration`: the warmup's rate climbs to its target, so it sends
/// sparser at first.
#[test]
fn warmup_rate_ramp_sends_sparser_first() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, warmup) = warmup_run(
        tmp.path(),
        "rate",
        "8",
        &[
            "--concurrency",
            "1",
            "--request-count",
            "2",
            "--osl",
            "2",
            "--warmup-duration",
            "2",
            "--warmup-request-rate",
            "40",
            "--warmup-arrival-pattern",
            "constant",
            "--warmup-request-rate-ramp-duration",
            "1.5",
        ],
    );
    let t0 = at(&warmup[0], "arrival_ns");
    let mut per_half = [0usize; 4];
    for r in &warmup {
        let k = ((at(r, "arrival_ns") - t0) / 0.5e9) as usize;
        if k < 4 {
            per_half[k] += 1;
        }
    }
    // Ramping: a few in the first half second, about 20 once at 40 per second.
    assert!(per_half[0] * 3 <= per_half[3], "{per_half:?}");
    assert!(per_half[3] >= 12, "{per_half:?}");
    assert_eq!(phases(&dir)[0]["rate_ramp"]["duration"], 1.5);
}

/// `--warmup-arrival-pattern concurrency_burst`: the warmup runs in closed loop at the warmup
/// concurrency (each request as soon as a slot frees) although profiling has a rate; and
/// `--arrival-pattern concurrency-burst` is the closed loop of profiling, refused with a rate.
#[test]
fn concurrency_burst_arrivals_are_the_closed_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, warmup) = warmup_run(
        tmp.path(),
        "burst",
        "8",
        &[
            "--request-rate",
            "2",
            "--request-count",
            "2",
            "--osl",
            "8",
            "--warmup-request-count",
            "12",
            "--warmup-concurrency",
            "3",
            "--warmup-arrival-pattern",
            "concurrency_burst",
        ],
    );
    let spans: Vec<(f64, f64)> = warmup
        .iter()
        .map(|r| (at(r, "arrival_ns"), at(r, "end_ns")))
        .collect();
    assert_eq!(spans.len(), 12);
    assert_eq!(max_overlap(&spans), 3, "{spans:?}");
    // At 2 requests per second, 12 warmup requests would take over 5 s; in closed loop they
    // follow each other.
    let span = (spans[11].0 - spans[0].0) / 1e9;
    assert!(span < 5.0, "the warmup took {span:.2} s");
    let phases_written = phases(&dir);
    let kinds: Vec<(&str, &str)> = phases_written
        .iter()
        .map(|p| (p["kind"].as_str().unwrap(), p["type"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("warmup", "concurrency"), ("profiling", "poisson")]);

    let closed = tmp.path().join("closed");
    let output = profile(
        &closed,
        &[
            "--sim",
            "--concurrency",
            "2",
            "--request-count",
            "4",
            "--arrival-pattern",
            "concurrency-burst",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(phases(&closed)[0]["type"], "concurrency");
    crate::common::assert_usage_error(
        &[
            "profile",
            "--sim",
            "--request-rate",
            "5",
            "--arrival-pattern",
            "concurrency-burst",
        ],
        "drop --request-rate",
    );
}
