//! docs/tutorials/warmup.md: a warmup phase before profiling, stopped by a request count,
//! a session count or a duration, with its own concurrency, rate, arrival pattern, ramp and
//! prefill limit; its requests are sent but not measured.
//!
//! Commands for `your-model` run against a stand-alone simulator that records every request
//! it serves: the requests it served that `profile_export.jsonl` does not hold are the
//! warmup's, and their timing shows the warmup's own load. The `Qwen/...` commands run on the
//! in-process simulator (a hub model name at a plain URL would need its tokenizer from the
//! hub) and are checked from the records and `run_config.json`.

use std::collections::HashSet;

use serde_json::Value;

use super::{Sim, Tutorial, max_overlap, phases, prefill_spans, records};

const QUICK_START: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --endpoint-type chat \
    --streaming \
    --request-rate 10 \
    --warmup-request-count 50 \
    --request-count 500";

const CONCURRENCY: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --endpoint-type chat \
    --streaming \
    --concurrency 100 \
    --warmup-concurrency 20 \
    --warmup-request-count 50 \
    --request-count 500";

const RATE: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --endpoint-type chat \
    --streaming \
    --request-rate 50 \
    --warmup-request-rate 10 \
    --warmup-duration 30 \
    --benchmark-duration 120";

const ARRIVAL: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --endpoint-type chat \
    --streaming \
    --request-rate 20 \
    --arrival-pattern gamma \
    --arrival-smoothness 2.0 \
    --warmup-arrival-pattern constant \
    --warmup-duration 30 \
    --benchmark-duration 120";

const RAMPING: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --endpoint-type chat \
    --streaming \
    --concurrency 100 \
    --concurrency-ramp-duration 30 \
    --warmup-concurrency 50 \
    --warmup-concurrency-ramp-duration 10 \
    --warmup-request-count 200 \
    --benchmark-duration 120";

const MULTI_TURN: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --endpoint-type chat \
    --streaming \
    --session-turns-mean 5 \
    --num-warmup-sessions 10 \
    --request-count 500";

const PREFILL: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --endpoint-type chat \
    --streaming \
    --concurrency 50 \
    --prefill-concurrency 5 \
    --warmup-concurrency 20 \
    --warmup-prefill-concurrency 2 \
    --warmup-request-count 50 \
    --benchmark-duration 120";

const MINIMAL: &str = r"aiperf profile \
    --model Qwen/Qwen2.5-7B-Instruct \
    --url localhost:8000 \
    --endpoint-type chat \
    --streaming \
    --concurrency 50 \
    --warmup-request-count 20 \
    --request-count 500";

const PRODUCTION_LIKE: &str = r"aiperf profile \
    --model Qwen/Qwen2.5-7B-Instruct \
    --url localhost:8000 \
    --endpoint-type chat \
    --streaming \
    --request-rate 100 \
    --concurrency 200 \
    --concurrency-ramp-duration 60 \
    --warmup-request-rate 20 \
    --warmup-concurrency 50 \
    --warmup-concurrency-ramp-duration 15 \
    --warmup-duration 30 \
    --benchmark-duration 300";

const LONG_CONTEXT: &str = r"aiperf profile \
    --model Qwen/Qwen2.5-7B-Instruct \
    --url localhost:8000 \
    --endpoint-type chat \
    --streaming \
    --synthetic-input-tokens-mean 32000 \
    --output-tokens-mean 500 \
    --concurrency 20 \
    --prefill-concurrency 3 \
    --warmup-concurrency 5 \
    --warmup-prefill-concurrency 1 \
    --warmup-request-count 10 \
    --benchmark-duration 120";

/// What a run against a recording simulator left: the measured records, the requests the
/// server served that were not measured (the warmup's), and the phases.
struct Split {
    measured: Vec<Value>,
    warmup: Vec<Value>,
    phases: Vec<Value>,
}

fn against_recording_sim(cmd: Tutorial, speedup: f64) -> Split {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::start(tmp.path(), "server", "your-model", "fixed", speedup);
    let run = cmd.on_urls(&[sim.url()]).run_in(tmp.path());
    let served = sim.served();
    let dir = run.ok().dir();
    let measured = records(&dir);
    assert!(
        measured
            .iter()
            .all(|r| r["metadata"]["benchmark_phase"] == "profiling")
    );
    let ids: HashSet<&str> = measured
        .iter()
        .map(|r| r["metadata"]["x_request_id"].as_str().unwrap())
        .collect();
    let (profiling, warmup): (Vec<Value>, Vec<Value>) = served
        .into_iter()
        .partition(|r| ids.contains(r["client_request_id"].as_str().unwrap_or("")));
    assert_eq!(
        profiling.len(),
        measured.len(),
        "every measured request served"
    );
    Split {
        measured,
        warmup,
        phases: phases(&dir),
    }
}

/// The server's spans of `served` requests between two of its timestamps, in seconds.
fn served_spans(served: &[Value], from: &str, to: &str) -> Vec<(f64, f64)> {
    served
        .iter()
        .map(|r| {
            (
                r[from].as_f64().unwrap() / 1e9,
                r[to].as_f64().unwrap() / 1e9,
            )
        })
        .collect()
}

#[test]
fn warmup_requests_are_sent_but_not_measured() {
    let cmd = Tutorial::parse(QUICK_START)
        .with("--warmup-request-count", "10")
        .with("--request-count", "20");
    let split = against_recording_sim(cmd, 10.0);
    assert_eq!(split.measured.len(), 20);
    assert_eq!(split.warmup.len(), 10);
    assert_eq!(split.phases[0]["kind"], "warmup");
    assert_eq!(
        split.phases[0]["rate"], 10.0,
        "the warmup inherits the rate"
    );
}

#[test]
fn warmup_runs_at_its_own_concurrency() {
    let cmd = Tutorial::parse(CONCURRENCY)
        .with("--warmup-request-count", "40")
        .with("--request-count", "100");
    let split = against_recording_sim(cmd, 5.0);
    assert_eq!(split.warmup.len(), 40);
    let warm = max_overlap(&served_spans(&split.warmup, "arrival_ns", "end_ns"));
    assert!((15..=20).contains(&warm), "{warm} warmup requests at once");
    let spans: Vec<(f64, f64)> = split
        .measured
        .iter()
        .map(|r| super::secs(r, "request_start_ns"))
        .zip(
            split
                .measured
                .iter()
                .map(|r| super::secs(r, "request_end_ns")),
        )
        .collect();
    assert!(max_overlap(&spans) > 20, "profiling runs at 100");
}

#[test]
fn warmup_runs_at_its_own_rate() {
    let cmd = Tutorial::parse(RATE)
        .with("--warmup-duration", "1")
        .with("--benchmark-duration", "1.5");
    let split = against_recording_sim(cmd, 10.0);
    // 10 a second for a second, then 50 a second for a second and a half.
    assert!(
        (3..=22).contains(&split.warmup.len()),
        "{}",
        split.warmup.len()
    );
    assert!(
        (45..=110).contains(&split.measured.len()),
        "{}",
        split.measured.len()
    );
    assert_eq!(split.phases[0]["rate"], 10.0);
    assert_eq!(split.phases[0]["duration"], 1.0);
    assert_eq!(split.phases[1]["rate"], 50.0);
}

#[test]
fn warmup_arrivals_are_constant() {
    let cmd = Tutorial::parse(ARRIVAL)
        .with("--warmup-duration", "1")
        .with("--benchmark-duration", "1.5");
    let split = against_recording_sim(cmd, 10.0);
    // Constant arrivals at 20 a second: the server sees them 50 ms apart.
    let mut arrivals: Vec<f64> = split
        .warmup
        .iter()
        .map(|r| r["arrival_ns"].as_f64().unwrap() / 1e9)
        .collect();
    arrivals.sort_by(f64::total_cmp);
    assert!(arrivals.len() >= 15, "{}", arrivals.len());
    for w in arrivals.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            (0.035..0.065).contains(&gap),
            "warmup arrivals {gap:.3} s apart"
        );
    }
    let (warmup, profiling) = (&split.phases[0], &split.phases[1]);
    assert_eq!(warmup["type"], "constant");
    assert_eq!(profiling["type"], "gamma");
    assert_eq!(profiling["smoothness"], 2.0);
}

#[test]
fn warmup_ramps_on_its_own() {
    let cmd = Tutorial::parse(RAMPING)
        .with("--concurrency-ramp-duration", "2")
        .with("--warmup-concurrency-ramp-duration", "1")
        .with("--warmup-request-count", "60")
        .with("--benchmark-duration", "2.5");
    let split = against_recording_sim(cmd, 5.0);
    assert_eq!(split.warmup.len(), 60);
    let spans = served_spans(&split.warmup, "arrival_ns", "end_ns");
    let t0 = spans.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    // A warmup slot every 20 ms: at most a few requests in the first 50 ms.
    let early: Vec<(f64, f64)> = spans.iter().copied().filter(|s| s.0 - t0 < 0.05).collect();
    assert!(early.len() <= 4, "{} early warmup requests", early.len());
    assert!(max_overlap(&spans) <= 50);
    assert_eq!(split.phases[0]["concurrency_ramp"]["duration"], 1.0);
    assert_eq!(split.phases[1]["concurrency_ramp"]["duration"], 2.0);
}

#[test]
fn warmup_completes_whole_sessions() {
    let cmd = Tutorial::parse(MULTI_TURN)
        .with("--num-warmup-sessions", "3")
        .with("--request-count", "20");
    let split = against_recording_sim(cmd, 10.0);
    assert_eq!(split.measured.len(), 20);
    assert_eq!(split.warmup.len(), 15, "three sessions of five turns");
    assert_eq!(split.phases[0]["sessions"], 3);
}

#[test]
fn warmup_has_its_own_prefill_limit() {
    let cmd = Tutorial::parse(PREFILL)
        .with("--warmup-request-count", "20")
        .with("--benchmark-duration", "2");
    let split = against_recording_sim(cmd, 1.0);
    assert_eq!(split.warmup.len(), 20);
    let warm = max_overlap(&served_spans(&split.warmup, "arrival_ns", "first_token_ns"));
    assert!(warm <= 2, "{warm} warmup requests in prefill at once");
    assert!(max_overlap(&prefill_spans(&split.measured)) <= 5);
    assert_eq!(split.phases[0]["prefill_concurrency"], 2);
    assert_eq!(split.phases[1]["prefill_concurrency"], 5);
}

/// Runs a `Qwen/...` command on the in-process simulator; its records and phases.
fn on_sim(cmd: Tutorial) -> (Vec<Value>, Vec<Value>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = cmd.on_sim("fixed", 5.0).run_in(tmp.path()).ok().dir();
    let recs = records(&dir);
    assert!(
        recs.iter()
            .all(|r| r["metadata"]["benchmark_phase"] == "profiling")
    );
    (recs, phases(&dir))
}

#[test]
fn a_minimal_warmup() {
    let (recs, phases) = on_sim(
        Tutorial::parse(MINIMAL)
            .with("--warmup-request-count", "10")
            .with("--request-count", "60"),
    );
    assert_eq!(recs.len(), 60);
    assert_eq!(phases[0]["kind"], "warmup");
    assert_eq!(phases[0]["requests"], 10);
    assert_eq!(phases[0]["concurrency"], 50);
}

#[test]
fn a_production_like_warmup() {
    let (recs, phases) = on_sim(
        Tutorial::parse(PRODUCTION_LIKE)
            .with("--concurrency-ramp-duration", "1")
            .with("--warmup-concurrency-ramp-duration", "0.5")
            .with("--warmup-duration", "1")
            .with("--benchmark-duration", "2"),
    );
    assert!(!recs.is_empty());
    let (warmup, profiling) = (&phases[0], &phases[1]);
    assert_eq!(warmup["rate"], 20.0);
    assert_eq!(warmup["concurrency"], 50);
    assert_eq!(warmup["concurrency_ramp"]["duration"], 0.5);
    assert_eq!(profiling["rate"], 100.0);
    assert_eq!(profiling["concurrency"], 200);
    assert_eq!(profiling["concurrency_ramp"]["duration"], 1.0);
}

#[test]
fn a_long_context_warmup() {
    let (recs, phases) = on_sim(
        Tutorial::parse(LONG_CONTEXT)
            .with("--synthetic-input-tokens-mean", "320")
            .with("--output-tokens-mean", "20")
            .with("--warmup-request-count", "6")
            .with("--benchmark-duration", "2"),
    );
    assert!(max_overlap(&prefill_spans(&recs)) <= 3);
    assert_eq!(phases[0]["concurrency"], 5);
    assert_eq!(phases[0]["prefill_concurrency"], 1);
    assert_eq!(phases[1]["prefill_concurrency"], 3);
}
