//! docs/tutorials/ramping.md: concurrency, prefill concurrency and request rate ramped up
//! over a duration, for the warmup and the profiling phase each.
//!
//! Four of its commands stop with `--duration`, which the Python AIPerf rejects ("Unknown
//! option: --duration"); two use `--prefill-concurrency` without `--streaming`, which it also
//! rejects. Those are checked to be refused here too, then run as the reader would fix them
//! (`--benchmark-duration`, `--streaming` added) to check the ramp itself.

use serde_json::Value;

use super::{Tutorial, max_overlap, phases, prefill_spans, records, request_spans, secs};

const CONCURRENCY: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --concurrency 100 \
    --concurrency-ramp-duration 30 \
    --request-count 1000";

const RATE: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --request-rate 100 \
    --request-rate-ramp-duration 60 \
    --duration 120";

const RATE_AND_CONCURRENCY: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --request-rate 200 \
    --request-rate-ramp-duration 30 \
    --concurrency 100 \
    --concurrency-ramp-duration 30 \
    --duration 120";

const PREFILL: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --concurrency 100 \
    --prefill-concurrency 20 \
    --prefill-concurrency-ramp-duration 20 \
    --synthetic-input-tokens-mean 8000";

const WARMUP: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    # Warmup phase: ramp to 50 concurrency over 10 seconds
    --warmup-concurrency 50 \
    --warmup-concurrency-ramp-duration 10 \
    --warmup-request-count 500 \
    # Profiling phase: ramp to 200 concurrency over 30 seconds
    --concurrency 200 \
    --concurrency-ramp-duration 30 \
    --request-count 2000";

const STRESS: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --concurrency 500 \
    --concurrency-ramp-duration 60 \
    --duration 300";

const LONG_CONTEXT: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --concurrency 50 \
    --prefill-concurrency 5 \
    --prefill-concurrency-ramp-duration 30 \
    --synthetic-input-tokens-mean 32000";

const CAPACITY: &str = r"aiperf profile \
    --model your-model \
    --url localhost:8000 \
    --request-rate 500 \
    --request-rate-ramp-duration 120 \
    --concurrency 200 \
    --concurrency-ramp-duration 120 \
    --duration 180";

/// Requests in flight `at` seconds after the first send.
fn open_at(spans: &[(f64, f64)], at: f64) -> usize {
    let t0 = spans.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    spans
        .iter()
        .filter(|&&(s, e)| s <= t0 + at && t0 + at < e)
        .count()
}

/// Sends counted per `window` seconds from the first send.
fn sends_per_window(records: &[Value], window: f64) -> Vec<usize> {
    let starts: Vec<f64> = records
        .iter()
        .map(|r| secs(r, "request_start_ns"))
        .collect();
    let t0 = starts.iter().copied().fold(f64::INFINITY, f64::min);
    let mut counts = Vec::new();
    for s in starts {
        let k = ((s - t0) / window) as usize;
        if counts.len() <= k {
            counts.resize(k + 1, 0);
        }
        counts[k] += 1;
    }
    counts
}

/// The printed command is refused as the Python AIPerf refuses it, naming `--duration`.
fn refuses_duration(printed: &str) {
    let tmp = tempfile::tempdir().unwrap();
    Tutorial::parse(printed)
        .on_sim("fixed", 1.0)
        .run_in(tmp.path())
        .refused("--duration");
}

#[test]
fn concurrency_ramps_one_session_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let run = Tutorial::parse(CONCURRENCY)
        .on_sim("fixed", 1.0)
        .with("--concurrency-ramp-duration", "3")
        .with("--request-count", "300")
        .run_in(tmp.path())
        .ok();
    let recs = records(&run.dir());
    assert_eq!(recs.len(), 300);
    let spans = request_spans(&recs);
    // One more slot every 30 ms: about 10 open after 0.3 s, 50 after 1.5 s, then 100.
    assert!(open_at(&spans, 0.3) <= 12, "{}", open_at(&spans, 0.3));
    let mid = open_at(&spans, 1.5);
    assert!((25..=55).contains(&mid), "{mid} open after 1.5 s");
    assert!(max_overlap(&spans) >= 90, "{}", max_overlap(&spans));
    assert!(max_overlap(&spans) <= 100);
    let phase = &phases(&run.dir())[0];
    assert_eq!(phase["concurrency"], 100);
    assert_eq!(phase["concurrency_ramp"]["duration"], 3.0);
}

#[test]
fn request_rate_ramps_up_smoothly() {
    refuses_duration(RATE);
    let tmp = tempfile::tempdir().unwrap();
    let run = Tutorial::parse(RATE)
        .on_sim("fixed", 5.0)
        .renaming("--duration", "--benchmark-duration")
        .with("--request-rate-ramp-duration", "2")
        .with("--benchmark-duration", "3")
        .run_in(tmp.path())
        .ok();
    let w = sends_per_window(&records(&run.dir()), 0.5);
    // Expected about 6, 19, 31 and 44 sends in the ramp's half seconds, then 50 each.
    assert!(w.len() >= 6, "{w:?}");
    assert!(w[0] < 20, "{w:?}");
    assert!(w[0] < w[3] && w[1] < w[4], "{w:?}");
    assert!((30..=75).contains(&w[4]), "{w:?}");
    assert_eq!(phases(&run.dir())[0]["rate_ramp"]["duration"], 2.0);
}

#[test]
fn rate_and_concurrency_ramp_together() {
    refuses_duration(RATE_AND_CONCURRENCY);
    let tmp = tempfile::tempdir().unwrap();
    let run = Tutorial::parse(RATE_AND_CONCURRENCY)
        .on_sim("fixed", 1.0)
        .renaming("--duration", "--benchmark-duration")
        .with("--request-rate-ramp-duration", "2")
        .with("--concurrency-ramp-duration", "2")
        .with("--benchmark-duration", "3")
        .run_in(tmp.path())
        .ok();
    let recs = records(&run.dir());
    let w = sends_per_window(&recs, 0.5);
    assert!(w[0] < w[3], "{w:?}");
    let spans = request_spans(&recs);
    // A slot every 20 ms: at most 11 in flight after 0.2 s.
    assert!(open_at(&spans, 0.2) <= 11, "{}", open_at(&spans, 0.2));
    assert!(max_overlap(&spans) <= 100);
    let phase = &phases(&run.dir())[0];
    assert_eq!(phase["rate_ramp"]["duration"], 2.0);
    assert_eq!(phase["concurrency_ramp"]["duration"], 2.0);
}

/// `--prefill-concurrency` needs `--streaming` (the Python AIPerf: "prefill_concurrency
/// requires endpoint.streaming=true"); with it, one prefill at a time at first.
fn prefill_ramp(printed: &str, ramp: &str, isl: &str, limit: usize) {
    let tmp = tempfile::tempdir().unwrap();
    Tutorial::parse(printed)
        .on_sim("fixed", 1.0)
        .run_in(tmp.path())
        .refused("--streaming");
    let run = Tutorial::parse(printed)
        .on_sim("fixed", 1.0)
        .plus(&["--streaming"])
        .with("--prefill-concurrency-ramp-duration", ramp)
        .with("--synthetic-input-tokens-mean", isl)
        .run_in(tmp.path())
        .ok();
    let recs = records(&run.dir());
    let spans = prefill_spans(&recs);
    let t0 = spans.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    // 20 ms prefills while the first slot is the only one: one at a time.
    let early: Vec<(f64, f64)> = spans.iter().copied().filter(|s| s.0 - t0 < 0.07).collect();
    assert!(early.len() >= 2, "{} early requests", early.len());
    assert_eq!(max_overlap(&early), 1, "{early:?}");
    assert!(max_overlap(&spans) <= limit);
    let phase = &phases(&run.dir())[0];
    assert_eq!(phase["prefill_concurrency"], limit);
    assert_eq!(
        phase["prefill_ramp"]["duration"],
        ramp.parse::<f64>().unwrap()
    );
}

#[test]
fn prefill_concurrency_ramps_from_one_slot() {
    prefill_ramp(PREFILL, "2", "800", 20);
}

#[test]
fn long_context_prefill_is_limited() {
    prefill_ramp(LONG_CONTEXT, "1.5", "320", 5);
}

#[test]
fn the_warmup_ramps_on_its_own() {
    // The printed text has comment lines inside the continued command: bash would end the
    // command at the first one. Read as meant, the warmup and profiling flags both count.
    assert!(WARMUP.contains("\\\n    # Warmup phase"));
    let tmp = tempfile::tempdir().unwrap();
    let run = Tutorial::parse(WARMUP)
        .on_sim("fixed", 2.0)
        .with("--warmup-concurrency-ramp-duration", "1")
        .with("--warmup-request-count", "60")
        .with("--concurrency-ramp-duration", "2")
        .with("--request-count", "200")
        .run_in(tmp.path())
        .ok();
    let recs = records(&run.dir());
    assert_eq!(recs.len(), 200, "the warmup's requests are not measured");
    assert!(
        recs.iter()
            .all(|r| r["metadata"]["benchmark_phase"] == "profiling")
    );
    let spans = request_spans(&recs);
    // The profiling phase ramps from one slot again: a slot every 10 ms.
    assert!(open_at(&spans, 0.1) <= 12, "{}", open_at(&spans, 0.1));
    let phases = phases(&run.dir());
    assert_eq!(phases[0]["kind"], "warmup");
    assert_eq!(phases[0]["concurrency"], 50);
    assert_eq!(phases[0]["concurrency_ramp"]["duration"], 1.0);
    assert_eq!(phases[0]["requests"], 60);
    assert_eq!(phases[1]["kind"], "profiling");
    assert_eq!(phases[1]["concurrency"], 200);
    assert_eq!(phases[1]["concurrency_ramp"]["duration"], 2.0);
}

#[test]
fn a_stress_test_ramps_to_high_concurrency() {
    refuses_duration(STRESS);
    let tmp = tempfile::tempdir().unwrap();
    let run = Tutorial::parse(STRESS)
        .on_sim("fixed", 1.0)
        .renaming("--duration", "--benchmark-duration")
        .with("--concurrency-ramp-duration", "2")
        .with("--benchmark-duration", "2.5")
        .run_in(tmp.path())
        .ok();
    let spans = request_spans(&records(&run.dir()));
    // A slot every 4 ms: about 25 open after 0.1 s, all 500 by the end of the ramp.
    assert!(open_at(&spans, 0.1) <= 30, "{}", open_at(&spans, 0.1));
    let most = max_overlap(&spans);
    assert!((400..=500).contains(&most), "{most} in flight at most");
}

#[test]
fn capacity_discovery_ramps_rate_and_concurrency() {
    refuses_duration(CAPACITY);
    let tmp = tempfile::tempdir().unwrap();
    let run = Tutorial::parse(CAPACITY)
        .on_sim("fixed", 1.0)
        .renaming("--duration", "--benchmark-duration")
        .with("--request-rate-ramp-duration", "2")
        .with("--concurrency-ramp-duration", "2")
        .with("--benchmark-duration", "2.5")
        .run_in(tmp.path())
        .ok();
    let recs = records(&run.dir());
    let w = sends_per_window(&recs, 0.5);
    assert!(w[0] < w[3], "{w:?}");
    let spans = request_spans(&recs);
    assert!(open_at(&spans, 0.2) <= 21, "{}", open_at(&spans, 0.2));
    assert!(max_overlap(&spans) <= 200);
}
