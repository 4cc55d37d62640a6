//! docs/tutorials/fixed-schedule.md: a mooncake trace replayed at its timestamps, whole or a
//! window of it (`--fixed-schedule-start-offset` / `--fixed-schedule-end-offset`).
//!
//! The window example says "Filtered to 2 entries within time window" and, in a comment,
//! "from 2s to 6s window"; its offsets 2000 and 4000 keep the entries at 2000, 2500, 3000 and
//! 4000 ms, both ends included, as the Python AIPerf's trace loader does (`start <= timestamp
//! <= end`): four requests, checked here.

use super::{Tutorial, metric, records, secs};

/// The trace file the tutorial writes with `cat > precise_schedule.jsonl`.
const SCHEDULE: &str = r#"{"timestamp": 0, "input_length": 100, "hash_ids": [3001]}
{"timestamp": 500, "input_length": 200, "hash_ids": [3002]}
{"timestamp": 750, "input_length": 150, "hash_ids": [3003]}
{"timestamp": 1000, "input_length": 300, "hash_ids": [3004]}
{"timestamp": 1250, "input_length": 180, "hash_ids": [3005]}
{"timestamp": 2000, "input_length": 400, "hash_ids": [3006]}
{"timestamp": 2500, "input_length": 250, "hash_ids": [3007]}
{"timestamp": 3000, "input_length": 350, "hash_ids": [3008]}
{"timestamp": 4000, "input_length": 500, "hash_ids": [3009]}
{"timestamp": 5000, "input_length": 600, "hash_ids": [3010, 3050]}
"#;

const BASIC: &str = r"aiperf profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --endpoint /v1/chat/completions \
    --streaming \
    --url localhost:8000 \
    --input-file precise_schedule.jsonl \
    --custom-dataset-type mooncake_trace \
    --fixed-schedule \
    --fixed-schedule-auto-offset";

const WINDOW: &str = r"aiperf profile \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --endpoint /v1/chat/completions \
    --streaming \
    --url localhost:8000 \
    --input-file precise_schedule.jsonl \
    --custom-dataset-type mooncake_trace \
    --fixed-schedule \
    --fixed-schedule-start-offset 2000 \
    --fixed-schedule-end-offset 4000";

/// Runs a printed command beside the trace file; each request's (send offset from the first
/// send in ms, input length), in send order.
fn replay(printed: &str) -> Vec<(f64, f64)> {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("precise_schedule.jsonl"), SCHEDULE).unwrap();
    let run = Tutorial::parse(printed)
        .on_sim("fixed", 10.0)
        .run_in(tmp.path())
        .ok();
    let mut sent: Vec<(f64, f64)> = records(&run.dir())
        .iter()
        .map(|r| {
            (
                secs(r, "request_start_ns"),
                metric(r, "input_sequence_length"),
            )
        })
        .collect();
    sent.sort_by(|a, b| a.0.total_cmp(&b.0));
    let t0 = sent[0].0;
    sent.iter().map(|&(t, isl)| ((t - t0) * 1e3, isl)).collect()
}

#[track_caller]
fn on_schedule(sent: &[(f64, f64)], want: &[(f64, f64)]) {
    assert_eq!(sent.len(), want.len(), "{sent:?}");
    for (&(at, isl), &(want_at, want_isl)) in sent.iter().zip(want) {
        assert!(
            (at - want_at).abs() < 60.0,
            "sent at {at:.0} ms, not {want_at} ms: {sent:?}"
        );
        assert_eq!(isl, want_isl, "{sent:?}");
    }
}

#[test]
fn the_whole_schedule_is_replayed_on_time() {
    let sent = replay(BASIC);
    let want = [
        (0.0, 100.0),
        (500.0, 200.0),
        (750.0, 150.0),
        (1000.0, 300.0),
        (1250.0, 180.0),
        (2000.0, 400.0),
        (2500.0, 250.0),
        (3000.0, 350.0),
        (4000.0, 500.0),
        (5000.0, 600.0),
    ];
    on_schedule(&sent, &want);
}

#[test]
fn a_window_replays_its_part_of_the_schedule() {
    let sent = replay(WINDOW);
    on_schedule(
        &sent,
        &[
            (0.0, 400.0),
            (500.0, 250.0),
            (1000.0, 350.0),
            (2000.0, 500.0),
        ],
    );
}
