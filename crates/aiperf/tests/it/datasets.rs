//! Input files and public datasets: the trace formats (Bailian, BurstGPT), random pools, whole
//! request bodies, ShareGPT and Hugging Face rows read from local copies, trace synthesis and
//! the replay flags — each run on the simulator (or a recording server) and checked in its
//! artifacts.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::{aiperf, assert_usage_error, profile, read_lines, stderr};
use crate::prompts::{read_json, recording_server};

#[track_caller]
fn sim_run(tmp: &Path, name: &str, args: &[&str]) -> PathBuf {
    let dir = tmp.join(name);
    let mut all = vec!["--sim", "zero"];
    all.extend_from_slice(args);
    let output = profile(&dir, &all);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    dir
}

fn write(tmp: &Path, name: &str, content: &str) -> String {
    let path = tmp.join(name);
    std::fs::write(&path, content).unwrap();
    path.to_str().unwrap().to_owned()
}

fn sessions(dir: &Path) -> Vec<Value> {
    read_json(&dir.join("inputs.json"))["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn records(dir: &Path) -> Vec<Value> {
    read_lines(&dir.join("profile_export.jsonl"))
}

fn metric(r: &Value, name: &str) -> u64 {
    r["metrics"][name]["value"].as_u64().unwrap()
}

fn dataset(dir: &Path) -> Value {
    read_json(&dir.join("run_config.json"))["cfg"]["datasets"][0].clone()
}

fn phase_type(dir: &Path) -> String {
    let cfg = read_json(&dir.join("run_config.json"));
    let phases = cfg["cfg"]["phases"].as_array().unwrap();
    phases.last().unwrap()["type"].as_str().unwrap().to_owned()
}

#[test]
fn bailian_sessions_follow_parent_links_and_16_token_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = write(
        tmp.path(),
        "bailian.jsonl",
        "{\"chat_id\": 7, \"parent_chat_id\": -1, \"timestamp\": 0.5, \"input_length\": 40, \"output_length\": 3, \"type\": \"text\", \"turn\": 1, \"hash_ids\": [1, 2, 3]}\n\
         {\"chat_id\": 9, \"parent_chat_id\": -1, \"timestamp\": 0.6, \"input_length\": 20, \"output_length\": 2, \"type\": \"text\", \"turn\": 1, \"hash_ids\": [1, 5]}\n\
         {\"chat_id\": 8, \"parent_chat_id\": 7, \"timestamp\": 0.9, \"input_length\": 50, \"output_length\": 4, \"type\": \"text\", \"turn\": 2, \"hash_ids\": [1, 2, 3, 4]}\n",
    );
    let dir = sim_run(
        tmp.path(),
        "run",
        &[
            "--input-file",
            &trace,
            "--custom-dataset-type",
            "bailian_trace",
        ],
    );
    let sessions = sessions(&dir);
    assert_eq!(sessions.len(), 2, "chat 8 continues chat 7");
    assert_eq!(sessions[0]["payloads"].as_array().unwrap().len(), 2);
    assert_eq!(sessions[0]["payloads"][0]["max_completion_tokens"], 3);
    let first = sessions[0]["payloads"][0]["messages"][0]["content"]
        .as_str()
        .unwrap();
    let other = sessions[1]["payloads"][0]["messages"][0]["content"]
        .as_str()
        .unwrap();
    let shared = first
        .chars()
        .zip(other.chars())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(
        shared >= 16,
        "block 1 (16 tokens) starts both prompts: {shared} chars"
    );
    let mut first_turns: Vec<(u64, u64)> = records(&dir)
        .iter()
        .filter(|r| r["metadata"]["turn_index"] == 0)
        .map(|r| {
            let issued = r["metadata"]["credit_issued_ns"].as_u64().unwrap();
            (issued, metric(r, "input_sequence_length"))
        })
        .collect();
    first_turns.sort_unstable();
    assert_eq!(
        first_turns.iter().map(|t| t.1).collect::<Vec<_>>(),
        [40, 20]
    );
    assert_eq!(
        phase_type(&dir),
        "fixed_schedule",
        "timestamps are replayed"
    );
    let gap_ms = (first_turns[1].0 - first_turns[0].0) as f64 / 1e6;
    assert!(
        (gap_ms - 100.0).abs() < 1.0,
        "0.5 s and 0.6 s are 100 ms apart: {gap_ms}"
    );
    assert!(
        dataset(&dir).get("block_size").is_none(),
        "16 is the format's own"
    );

    // Guessed from the first row; a trace cut into other blocks says so.
    let dir = sim_run(
        tmp.path(),
        "blocks",
        &["--input-file", &trace, "--isl-block-size", "8"],
    );
    assert_eq!(dataset(&dir)["format"], "bailian_trace");
    assert_eq!(dataset(&dir)["block_size"], 8);
}

#[test]
fn burst_gpt_rows_prescribe_token_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = write(
        tmp.path(),
        "burst.csv",
        "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n\
         0,ChatGPT,30,5,35,Conversation log\n\
         1.5,GPT-4,60,7,67,API log\n\
         2,GPT-4,oops,7,67,API log\n",
    );
    let dir = sim_run(
        tmp.path(),
        "run",
        &["--input-file", &csv, "--extra-inputs", "ignore_eos:true"],
    );
    let mut pairs: Vec<(u64, u64)> = records(&dir)
        .iter()
        .map(|r| {
            (
                metric(r, "input_sequence_length"),
                metric(r, "output_sequence_length"),
            )
        })
        .collect();
    pairs.sort_unstable();
    assert_eq!(pairs, [(30, 5), (60, 7)], "the unreadable row is skipped");
    assert_eq!(dataset(&dir)["format"], "burst_gpt_trace");
}

#[test]
fn random_pools_merge_one_row_of_each_pool() {
    let tmp = tempfile::tempdir().unwrap();
    let pools = tmp.path().join("pools");
    std::fs::create_dir(&pools).unwrap();
    std::fs::write(
        pools.join("queries.jsonl"),
        "{\"text\": \"what is a cat\"}\n{\"text\": \"what is a dog\"}\n",
    )
    .unwrap();
    std::fs::write(
        pools.join("passages.jsonl"),
        "{\"text\": \"a small animal\"}\n{\"text\": \"a loyal animal\"}\n{\"text\": \"a bird\"}\n",
    )
    .unwrap();
    let dir = sim_run(
        tmp.path(),
        "run",
        &[
            "--input-file",
            pools.to_str().unwrap(),
            "--custom-dataset-type",
            "random-pool",
            "--num-dataset-entries",
            "12",
            "--request-count",
            "4",
        ],
    );
    let sessions = sessions(&dir);
    assert_eq!(sessions.len(), 12);
    for s in &sessions {
        let parts = s["payloads"][0]["messages"][0]["content"]
            .as_array()
            .unwrap();
        let texts: Vec<&str> = parts.iter().map(|p| p["text"].as_str().unwrap()).collect();
        assert_eq!(texts.len(), 2, "one passage and one query: {texts:?}");
        assert!(
            texts[0].starts_with("a "),
            "passages.jsonl sorts first: {texts:?}"
        );
        assert!(texts[1].starts_with("what is"), "{texts:?}");
    }
    assert_eq!(dataset(&dir)["entries"], 12);
}

#[test]
fn raw_payloads_and_inputs_json_are_sent_verbatim() {
    let tmp = tempfile::tempdir().unwrap();
    let payloads = write(
        tmp.path(),
        "payloads.jsonl",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"one two three\"}], \"model\": \"m\", \"max_tokens\": 5, \"temperature\": 0.3}\n\
         {\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": \"user\", \"content\": \"four\"}], \"model\": \"m\"}\n",
    );
    let (url, bodies) = recording_server();
    let endpoint = format!("{url}/v1/chat/completions");
    let run = |name: &str, file: &str, kind: &str| -> Output {
        profile(
            &tmp.path().join(name),
            &[
                "-m",
                "m",
                "--endpoint-type",
                "raw",
                "-u",
                &endpoint,
                "--tokenizer",
                "builtin",
                "--input-file",
                file,
                "--custom-dataset-type",
                kind,
                "--request-count",
                "2",
            ],
        )
    };
    let output = run("raw", &payloads, "raw_payload");
    assert!(output.status.success(), "{}", stderr(&output));
    let sent: Vec<Value> = bodies.lock().unwrap().drain(..).collect();
    assert_eq!(sent[0]["temperature"], 0.3);
    assert_eq!(sent[0]["messages"][0]["content"], "one two three");
    assert_eq!(sent[1]["messages"][0]["role"], "system");
    let isl: Vec<u64> = records(&tmp.path().join("raw"))
        .iter()
        .map(|r| metric(r, "input_sequence_length"))
        .collect();
    assert_eq!(isl[0], 3, "the messages' text is counted");

    // The run's inputs.json, replayed.
    let inputs = tmp.path().join("raw/inputs.json");
    let output = run("replay", inputs.to_str().unwrap(), "inputs_json");
    assert!(output.status.success(), "{}", stderr(&output));
    let replayed: Vec<Value> = bodies.lock().unwrap().drain(..).collect();
    assert_eq!(replayed, sent);

    assert_usage_error(
        &[
            "profile",
            "--sim",
            "--input-file",
            &payloads,
            "--custom-dataset-type",
            "raw_payload",
        ],
        "sent as they are by --endpoint-type raw",
    );
    for (kind, needle) in [
        ("weka_trace", "agentic replay"),
        ("baseten_trace", "Parquet"),
        ("speed-bench-coding", "SPEED-Bench"),
        ("nope", "is not a known type"),
    ] {
        assert_usage_error(
            &[
                "profile",
                "--sim",
                "--input-file",
                &payloads,
                "--custom-dataset-type",
                kind,
            ],
            needle,
        );
    }
}

/// `aiperf profile --sim zero ARGS` in `cwd` with `HF_HOME` at `hf_home`.
fn run_in(cwd: &Path, hf_home: &Path, dir: &Path, args: &[&str]) -> Output {
    aiperf()
        .current_dir(cwd)
        .env("HF_HOME", hf_home)
        .env_remove("HF_HUB_CACHE")
        .args(["profile", "--ui", "none", "--sim", "zero", "--artifact-dir"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn public_datasets_are_read_from_local_copies() {
    let tmp = tempfile::tempdir().unwrap();
    let hf_home = tmp.path().join("hf");
    let words = |n: usize| vec!["word"; n].join(" ");
    let sharegpt = serde_json::json!([
        {"id": "a", "conversations": [
            {"from": "human", "value": words(12)}, {"from": "gpt", "value": words(6)},
            {"from": "human", "value": words(20)}, {"from": "gpt", "value": words(9)},
        ]},
        {"id": "b", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": words(6)}]},
        {"id": "c", "conversations": [{"from": "human", "value": words(30)}, {"from": "gpt", "value": words(5)}]},
    ]);
    // Missing: an exit-2 error naming what to download and where.
    let out = run_in(
        tmp.path(),
        &hf_home,
        &tmp.path().join("none"),
        &["--public-dataset", "sharegpt"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(".cache/aiperf/datasets/ShareGPT_V3_unfiltered_cleaned_split.json"),
        "{err}"
    );
    assert!(
        err.contains(
            "huggingface-cli download --repo-type dataset anon8231489123/ShareGPT_Vicuna_unfiltered"
        ),
        "{err}"
    );

    // In the Python AIPerf's cache under the working directory.
    let cache = tmp.path().join(".cache/aiperf/datasets");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(
        cache.join("ShareGPT_V3_unfiltered_cleaned_split.json"),
        sharegpt.to_string(),
    )
    .unwrap();
    let dir = tmp.path().join("sharegpt");
    let out = run_in(
        tmp.path(),
        &hf_home,
        &dir,
        &[
            "--public-dataset",
            "sharegpt",
            "--extra-inputs",
            "ignore_eos:true",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let convs = sessions(&dir);
    assert_eq!(convs.len(), 2, "b's prompt is too short");
    assert_eq!(
        convs[0]["payloads"].as_array().unwrap().len(),
        2,
        "two pairs, two turns"
    );
    assert_eq!(
        convs[0]["payloads"][0]["max_completion_tokens"], 6,
        "the answer's length"
    );
    let mut first: Vec<(u64, u64)> = records(&dir)
        .iter()
        .filter(|r| r["metadata"]["turn_index"] == 0)
        .map(|r| {
            (
                metric(r, "input_sequence_length"),
                metric(r, "output_sequence_length"),
            )
        })
        .collect();
    first.sort_unstable();
    first.dedup();
    assert_eq!(first, [(12, 6), (30, 5)]);
    let ds = dataset(&dir);
    assert_eq!(
        (ds["type"].as_str(), ds["dataset"].as_str()),
        (Some("public"), Some("sharegpt"))
    );
    std::fs::remove_dir_all(tmp.path().join(".cache")).unwrap();

    // In the Hugging Face cache.
    let snapshot =
        hf_home.join("hub/datasets--anon8231489123--ShareGPT_Vicuna_unfiltered/snapshots/0123");
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::write(
        snapshot.join("ShareGPT_V3_unfiltered_cleaned_split.json"),
        sharegpt.to_string(),
    )
    .unwrap();
    let out = run_in(
        tmp.path(),
        &hf_home,
        &tmp.path().join("hub"),
        &["--public-dataset", "sharegpt"],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // A Hugging Face dataset exported as JSON lines, named with --input-file.
    let rows = write(
        tmp.path(),
        "gsm8k.jsonl",
        "{\"question\": \"What is 2 + 2?\", \"answer\": \"4\"}\n",
    );
    let dir = tmp.path().join("gsm8k");
    let out = run_in(
        tmp.path(),
        &hf_home,
        &dir,
        &[
            "--public-dataset",
            "spec-al-gsm8-k",
            "--input-file",
            &rows,
            "--request-count",
            "2",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        sessions(&dir)[0]["payloads"][0]["messages"][0]["content"],
        "What is 2 + 2?"
    );
    let out = run_in(
        tmp.path(),
        &hf_home,
        &tmp.path().join("x"),
        &["--public-dataset", "spec_al_gsm8k"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("load_dataset('openai/gsm8k', 'main', split='test')"),
        "{}",
        stderr(&out)
    );
    for (args, needle) in [
        (
            &["--public-dataset", "mmstar"][..],
            "images are stored inside Parquet",
        ),
        (
            &["--hf-subset", "x"][..],
            "--hf-subset requires --public-dataset",
        ),
        (
            &["--dataset-filter", "a=b"][..],
            "--dataset-filter requires --public-dataset",
        ),
        (
            &["--public-dataset", "sharegpt", "--dataset-filter", "a=b"][..],
            "does not support filters",
        ),
        (
            &[
                "--public-dataset",
                "sharegpt",
                "--custom-dataset-type",
                "single_turn",
            ][..],
            "mutually exclusive",
        ),
    ] {
        let mut all = vec!["profile", "--sim"];
        all.extend_from_slice(args);
        assert_usage_error(&all, needle);
    }
}

const TRACE: &str = "{\"timestamp\": 0, \"input_length\": 40, \"output_length\": 4, \"hash_ids\": [1, 2]}\n\
{\"timestamp\": 1000, \"input_length\": 48, \"output_length\": 6, \"hash_ids\": [1, 2, 3]}\n\
{\"timestamp\": 2000, \"input_length\": 900, \"output_length\": 6, \"hash_ids\": [9]}\n";

#[test]
fn synthesis_reshapes_trace_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = write(tmp.path(), "trace.jsonl", TRACE);
    let dir = sim_run(
        tmp.path(),
        "run",
        &[
            "--input-file",
            &trace,
            "--isl-block-size",
            "16",
            "--synthesis-speedup-ratio",
            "4",
            "--synthesis-prefix-len-multiplier",
            "2",
            "--synthesis-output-len-multiplier",
            "2",
            "--synthesis-max-isl",
            "100",
            "--extra-inputs",
            "ignore_eos:true",
        ],
    );
    let mut rows: Vec<(u64, u64, u64)> = records(&dir)
        .iter()
        .map(|r| {
            (
                r["metadata"]["credit_issued_ns"].as_u64().unwrap(),
                metric(r, "input_sequence_length"),
                metric(r, "output_sequence_length"),
            )
        })
        .collect();
    rows.sort_unstable();
    // Blocks 1 and 2 are shared: their 32 tokens become 64; the 900-token row is dropped.
    let pairs: Vec<(u64, u64)> = rows.iter().map(|r| (r.1, r.2)).collect();
    assert_eq!(pairs, [(72, 8), (80, 12)]);
    let gap_ms = (rows[1].0 - rows[0].0) as f64 / 1e6;
    assert!(
        (gap_ms - 250.0).abs() < 1.0,
        "1 s four times faster: {gap_ms}"
    );
    let synthesis = &dataset(&dir)["synthesis"];
    assert_eq!(synthesis["speedup_ratio"], 4.0);
    assert_eq!(synthesis["max_isl"], 100);
    assert!(
        synthesis.get("prefix_root_multiplier").is_none(),
        "defaults are not written"
    );

    // Synthetic prompts have no rows to reshape: a note, no effect.
    let out = profile(
        &tmp.path().join("synthetic"),
        &[
            "--sim",
            "zero",
            "--synthesis-speedup-ratio",
            "2",
            "--request-count",
            "1",
        ],
    );
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("--synthesis-* flags reshape trace files"),
        "{}",
        stderr(&out)
    );
    assert_usage_error(
        &[
            "profile",
            "--sim",
            "--synthesis-prefix-root-multiplier",
            "0",
        ],
        "at least 1",
    );
}

#[test]
fn replay_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = write(tmp.path(), "trace.jsonl", TRACE);
    let dir = sim_run(
        tmp.path(),
        "replay",
        &["--input-file", &trace, "--isl-block-size", "16"],
    );
    assert_eq!(phase_type(&dir), "fixed_schedule");
    let dir = sim_run(
        tmp.path(),
        "ignored",
        &[
            "--input-file",
            &trace,
            "--isl-block-size",
            "16",
            "--ignore-trace-delays",
            "--concurrency",
            "2",
        ],
    );
    assert_eq!(phase_type(&dir), "concurrency", "rows go out back to back");
    assert_eq!(dataset(&dir)["ignore_trace_delays"], true);
    let out = profile(
        &tmp.path().join("notes"),
        &[
            "--sim",
            "zero",
            "--use-think-time-only",
            "--allow-dataset-wrap",
            "--request-count",
            "1",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--use-think-time-only applies to weka_trace inputs only"),
        "{err}"
    );
    assert!(
        err.contains("--allow-dataset-wrap/--no-allow-dataset-wrap apply to Weka"),
        "{err}"
    );
    for (args, needle) in [
        (
            &["--max-context-length", "1000"][..],
            "only applies to Weka trace replay",
        ),
        (
            &["--trace-session-sample-ratio", "0.5"][..],
            "only supported by the baseten_trace loader",
        ),
        (
            &["--ignore-trace-delays", "--use-think-time-only"][..],
            "mutually exclusive",
        ),
    ] {
        let mut all = vec!["profile", "--sim"];
        all.extend_from_slice(args);
        assert_usage_error(&all, needle);
    }
}
