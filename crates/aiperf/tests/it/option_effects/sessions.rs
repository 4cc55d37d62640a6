//! What is sent and when: the spread of turns per conversation, of pauses between turns and
//! of output lengths; the spread of rankings queries and passages; trace synthesis; and
//! replaying a trace without its timestamps.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{metric, ns, payloads, read_json, records};
use crate::common::{profile_ok, read_lines};

/// Conversations of a run: each one's (turn index, send time, end time), in turn order.
fn conversations(dir: &Path) -> Vec<Vec<(u64, f64, f64)>> {
    let mut by_id: BTreeMap<String, Vec<(u64, f64, f64)>> = BTreeMap::new();
    for r in records(dir) {
        by_id
            .entry(
                r["metadata"]["x_correlation_id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
            .or_default()
            .push((
                r["metadata"]["turn_index"].as_u64().unwrap(),
                ns(&r, "credit_issued_ns"),
                ns(&r, "request_end_ns"),
            ));
    }
    by_id
        .into_values()
        .map(|mut turns| {
            turns.sort_by_key(|t| t.0);
            turns
        })
        .collect()
}

/// Seconds between each answer and the next turn's send.
fn pauses(dir: &Path) -> Vec<f64> {
    conversations(dir)
        .iter()
        .flat_map(|turns| {
            turns
                .windows(2)
                .map(|w| (w[1].1 - w[0].2) / 1e9)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn session_run(tmp: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let dir = tmp.join(name);
    let base = [
        "--sim",
        "zero",
        "--concurrency",
        "4",
        "--osl",
        "2",
        "--isl",
        "4",
        "--random-seed",
        "3",
        "--session-turns-mean",
        "3",
    ];
    profile_ok(&dir, &[&base[..], extra].concat());
    dir
}

/// `--conversation-turn-stddev`: the number of turns per conversation varies around the mean
/// (constant without it).
#[test]
fn conversation_turn_stddev_varies_the_turns() {
    let tmp = tempfile::tempdir().unwrap();
    let turns = |dir: &Path| -> Vec<usize> {
        let inputs = read_json(&dir.join("inputs.json"));
        (inputs["data"].as_array().unwrap().iter())
            .map(|s| s["payloads"].as_array().unwrap().len())
            .collect()
    };
    let entries = ["--num-dataset-entries", "12", "--request-count", "12"];
    let fixed = turns(&session_run(tmp.path(), "fixed", &entries));
    assert_eq!(fixed, [3; 12]);
    let spread = turns(&session_run(
        tmp.path(),
        "spread",
        &[&entries[..], &["--conversation-turn-stddev", "1.5"]].concat(),
    ));
    assert_eq!(spread.len(), 12);
    let distinct: BTreeSet<usize> = spread.iter().copied().collect();
    assert!(distinct.len() >= 2, "{spread:?}");
    assert!(spread.iter().all(|&t| t >= 1), "{spread:?}");
}

/// `--conversation-turn-delay-stddev` and `--conversation-turn-delay-ratio`: pauses between
/// turns are the mean without a spread (never shorter), vary with one (some well under the
/// mean), and are scaled by the ratio.
#[test]
fn conversation_turn_delays_vary_and_scale() {
    let tmp = tempfile::tempdir().unwrap();
    let delays = ["--request-count", "12", "--session-turn-delay-mean", "300"];
    let fixed = pauses(&session_run(tmp.path(), "fixed", &delays));
    assert!(fixed.len() >= 6, "{fixed:?}");
    assert!(fixed.iter().all(|&p| p >= 0.29), "{fixed:?}");

    let spread = pauses(&session_run(
        tmp.path(),
        "spread",
        &[&delays[..], &["--conversation-turn-delay-stddev", "150"]].concat(),
    ));
    assert!(
        spread.iter().any(|&p| p < 0.25),
        "a pause well under 300 ms: {spread:?}"
    );

    let scaled = pauses(&session_run(
        tmp.path(),
        "scaled",
        &[&delays[..], &["--conversation-turn-delay-ratio", "0.25"]].concat(),
    ));
    assert!(scaled.iter().all(|&p| p >= 0.07), "{scaled:?}");
    assert!(
        scaled.iter().any(|&p| p < 0.2),
        "300 ms scaled to 75: {scaled:?}"
    );
}

/// `--prompt-output-tokens-stddev`: requested output lengths vary around `--osl` (one length
/// without it), and the simulator answers each with its own.
#[test]
fn prompt_output_tokens_stddev_varies_the_output_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let caps = |name: &str, extra: &[&str]| -> Vec<u64> {
        let dir = tmp.path().join(name);
        let base = [
            "--sim",
            "zero",
            "--request-count",
            "10",
            "--osl",
            "20",
            "--extra-inputs",
            "ignore_eos:true",
            "--random-seed",
            "2",
        ];
        profile_ok(&dir, &[&base[..], extra].concat());
        let sent: Vec<f64> = payloads(&dir)
            .iter()
            .map(|p| p["max_completion_tokens"].as_f64().unwrap())
            .collect();
        records(&dir)
            .iter()
            .map(|r| {
                let cap = metric(r, "requested_osl");
                assert!(sent.contains(&cap), "{cap} not in inputs.json");
                assert_eq!(metric(r, "output_sequence_length"), cap);
                cap as u64
            })
            .collect()
    };
    assert_eq!(caps("fixed", &[]), [20; 10]);
    let spread = caps("spread", &["--prompt-output-tokens-stddev", "5"]);
    let distinct: BTreeSet<u64> = spread.iter().copied().collect();
    assert!(distinct.len() >= 3, "{spread:?}");
    assert!(spread.iter().all(|&n| n >= 1), "{spread:?}");
}

/// `--rankings-query-prompt-token-stddev` and `--rankings-passages-prompt-token-stddev`: the
/// tokens of queries and of passages vary around their means.
#[test]
fn rankings_token_stddevs_vary_queries_and_passages() {
    let tok = tiktoken_rs::o200k_base_singleton();
    let count = |v: &Value| tok.encode_ordinary(v.as_str().unwrap()).len();
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| -> (BTreeSet<usize>, BTreeSet<usize>) {
        let dir = tmp.path().join(name);
        let base = [
            "--sim",
            "zero",
            "--endpoint-type",
            "nim_rankings",
            "--request-count",
            "6",
            "--rankings-passages-mean",
            "4",
            "--rankings-passages-prompt-token-mean",
            "20",
            "--rankings-query-prompt-token-mean",
            "10",
            "--random-seed",
            "5",
        ];
        profile_ok(&dir, &[&base[..], extra].concat());
        let sent = payloads(&dir);
        let queries = sent.iter().map(|p| count(&p["query"]["text"])).collect();
        let passages = (sent.iter())
            .flat_map(|p| p["passages"].as_array().unwrap().clone())
            .map(|p| count(&p["text"]))
            .collect();
        (queries, passages)
    };
    let (queries, passages) = run("fixed", &[]);
    assert_eq!(
        (queries, passages),
        (BTreeSet::from([10]), BTreeSet::from([20]))
    );
    let (queries, passages) = run(
        "spread",
        &[
            "--rankings-query-prompt-token-stddev",
            "3",
            "--rankings-passages-prompt-token-stddev",
            "6",
        ],
    );
    assert!(queries.len() >= 2, "query lengths {queries:?}");
    assert!(passages.len() >= 3, "passage lengths {passages:?}");
}

/// Two rows sharing blocks 1 and 2 (16 tokens each); the first also has 8 tokens of its own,
/// the second a block (16 tokens) of its own.
const TRACE: &str = "{\"timestamp\": 0, \"input_length\": 40, \"output_length\": 4, \"hash_ids\": [1, 2]}\n\
{\"timestamp\": 100, \"input_length\": 48, \"output_length\": 9, \"hash_ids\": [1, 2, 3]}\n";

/// `--synthesis-prompt-len-multiplier` scales each row's own (unshared) tokens and keeps the
/// shared prefix; `--synthesis-max-osl` caps output lengths.
#[test]
fn synthesis_prompt_len_multiplier_and_max_osl_reshape_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = tmp.path().join("trace.jsonl");
    std::fs::write(&trace, TRACE).unwrap();
    let dir = tmp.path().join("run");
    profile_ok(
        &dir,
        &[
            "--sim",
            "zero",
            "--input-file",
            trace.to_str().unwrap(),
            "--custom-dataset-type",
            "mooncake_trace",
            "--isl-block-size",
            "16",
            "--extra-inputs",
            "ignore_eos:true",
            "--synthesis-prompt-len-multiplier",
            "3",
            "--synthesis-max-osl",
            "5",
        ],
    );
    let mut rows: Vec<(f64, f64, f64)> = records(&dir)
        .iter()
        .map(|r| {
            (
                ns(r, "credit_issued_ns"),
                metric(r, "input_sequence_length"),
                metric(r, "output_sequence_length"),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let shapes: Vec<(f64, f64)> = rows.iter().map(|r| (r.1, r.2)).collect();
    // 32 shared + 3 × 8 own, 32 shared + 3 × 16 own; outputs 4 and 9 capped at 5.
    assert_eq!(shapes, [(56.0, 4.0), (80.0, 5.0)]);
    let synthesis = &read_json(&dir.join("run_config.json"))["cfg"]["datasets"];
    assert!(
        synthesis.to_string().contains("\"max_osl\":5"),
        "{synthesis}"
    );
}

/// `--no-fixed-schedule`: a trace's timestamps are ignored and its rows sent in closed loop,
/// back to back, instead of 800 ms apart.
#[test]
fn no_fixed_schedule_ignores_trace_timestamps() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = tmp.path().join("trace.jsonl");
    std::fs::write(
        &trace,
        "{\"timestamp\": 0, \"input_length\": 20, \"output_length\": 2}\n\
         {\"timestamp\": 800, \"input_length\": 21, \"output_length\": 2}\n\
         {\"timestamp\": 1600, \"input_length\": 22, \"output_length\": 2}\n",
    )
    .unwrap();
    let run = |name: &str, extra: &[&str]| -> (Vec<f64>, Value) {
        let dir = tmp.path().join(name);
        let base = [
            "--sim",
            "zero",
            "--input-file",
            trace.to_str().unwrap(),
            "--custom-dataset-type",
            "mooncake_trace",
            "--request-count",
            "3",
        ];
        profile_ok(&dir, &[&base[..], extra].concat());
        let mut sends: Vec<f64> = read_lines(&dir.join("profile_export.jsonl"))
            .iter()
            .map(|r| ns(r, "credit_issued_ns"))
            .collect();
        sends.sort_by(f64::total_cmp);
        let offsets = sends.iter().map(|s| (s - sends[0]) / 1e6).collect();
        (offsets, super::phases(&dir)[0].clone())
    };
    let (scheduled, phase) = run("scheduled", &[]);
    assert_eq!(phase["type"], "fixed_schedule");
    assert!(scheduled[2] >= 1590.0, "{scheduled:?}");
    let (free, phase) = run("free", &["--no-fixed-schedule"]);
    assert_eq!(phase["type"], "concurrency");
    assert!(free[2] < 800.0, "sent back to back: {free:?}");
}
