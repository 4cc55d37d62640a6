//! docs/tutorials/prefill-concurrency.md: at most N requests between their send and their
//! first token, whatever the session concurrency or request rate lets through.

use super::{Tutorial, max_overlap, phases, prefill_spans, records};

const QUEUE_DEPTH: &str = r"aiperf profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --streaming \
    --url localhost:8000 \
    --concurrency 30 \
    --prefill-concurrency 3 \
    --synthetic-input-tokens-mean 16000 \
    --output-tokens-mean 500 \
    --request-count 100";

const RAMP: &str = r"aiperf profile \
    --model Qwen/Qwen2.5-7B-Instruct \
    --endpoint-type chat \
    --streaming \
    --url localhost:8000 \
    --concurrency 50 \
    --prefill-concurrency 5 \
    --prefill-concurrency-ramp-duration 30 \
    --synthetic-input-tokens-mean 32000 \
    --output-tokens-mean 200 \
    --benchmark-duration 120";

const WITH_RATE: &str = r"aiperf profile \
    --model Qwen/Qwen2.5-7B-Instruct \
    --endpoint-type chat \
    --streaming \
    --url localhost:8000 \
    --request-rate 10 \
    --concurrency 100 \
    --prefill-concurrency 10 \
    --synthetic-input-tokens-mean 8000 \
    --output-tokens-mean 300 \
    --benchmark-duration 60";

#[test]
fn only_three_requests_prefill_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let run = Tutorial::parse(QUEUE_DEPTH)
        .on_sim("fixed", 1.0)
        .with("--synthetic-input-tokens-mean", "1600")
        .with("--output-tokens-mean", "20")
        .with("--request-count", "60")
        .run_in(tmp.path())
        .ok();
    let recs = records(&run.dir());
    assert_eq!(recs.len(), 60);
    // 30 sessions start together; only 3 of them wait for a first token at any moment.
    let most = max_overlap(&prefill_spans(&recs));
    assert!(
        (2..=3).contains(&most),
        "{most} requests in prefill at once"
    );
    let phase = &phases(&run.dir())[0];
    assert_eq!(phase["concurrency"], 30);
    assert_eq!(phase["prefill_concurrency"], 3);
}

#[test]
fn the_prefill_limit_ramps_from_one() {
    let tmp = tempfile::tempdir().unwrap();
    let run = Tutorial::parse(RAMP)
        .on_sim("fixed", 1.0)
        .with("--prefill-concurrency-ramp-duration", "1.5")
        .with("--synthetic-input-tokens-mean", "320")
        .with("--output-tokens-mean", "20")
        .with("--benchmark-duration", "2.5")
        .run_in(tmp.path())
        .ok();
    let spans = prefill_spans(&records(&run.dir()));
    let t0 = spans.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    // The second slot opens 0.375 s in: until then one 20 ms prefill at a time.
    let early: Vec<(f64, f64)> = spans.iter().copied().filter(|s| s.0 - t0 < 0.3).collect();
    assert!(early.len() >= 5, "{} early requests", early.len());
    assert_eq!(max_overlap(&early), 1, "{early:?}");
    assert!(max_overlap(&spans) <= 5);
    let phase = &phases(&run.dir())[0];
    assert_eq!(phase["prefill_concurrency"], 5);
    assert_eq!(phase["prefill_ramp"]["duration"], 1.5);
}

#[test]
fn prefill_limit_with_a_request_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let run = Tutorial::parse(WITH_RATE)
        .on_sim("fixed", 1.0)
        .with("--synthetic-input-tokens-mean", "800")
        .with("--output-tokens-mean", "20")
        .with("--benchmark-duration", "3")
        .run_in(tmp.path())
        .ok();
    let recs = records(&run.dir());
    // About 10 a second for 3 seconds, never more than 10 before their first token.
    assert!((12..=60).contains(&recs.len()), "{} requests", recs.len());
    assert!(max_overlap(&prefill_spans(&recs)) <= 10);
    let phase = &phases(&run.dir())[0];
    assert_eq!(phase["rate"], 10.0);
    assert_eq!(phase["concurrency"], 100);
    assert_eq!(phase["prefill_concurrency"], 10);
}
