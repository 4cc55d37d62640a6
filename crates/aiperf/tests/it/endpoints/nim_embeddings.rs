//! `--endpoint-type nim_embeddings`: NIM's `/v1/embeddings`, with its own fields given as
//! `--extra-inputs`.

use serde_json::{Value, json};

use super::support::{good_and_bad, read_json};
use crate::common::{assert_usage_error, profile, read_lines, stderr};

/// On the simulator: batches of `-b` texts in `input` with NIM's `input_type`, one vector per
/// text read back, the server's token count equal to ours, and no output metrics.
#[test]
fn batches_with_input_type_on_the_simulator() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = profile(
        &dir,
        &[
            "--sim",
            "fixed",
            "--endpoint-type",
            "nim_embeddings",
            "--concurrency",
            "2",
            "--request-count",
            "6",
            "--isl",
            "12",
            "-b",
            "2",
            "--extra-inputs",
            "input_type:query",
            "--extra-inputs",
            "dimensions:8",
            "--export-level",
            "raw",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let config = read_json(&dir.join("run_config.json"));
    assert_eq!(
        config["aiperf_config"]["endpoint"]["path"],
        "/v1/embeddings"
    );
    let raw = read_lines(&dir.join("profile_export_raw.jsonl"));
    assert_eq!(raw.len(), 6);
    for r in &raw {
        let payload = r["payload"].as_object().unwrap();
        let keys: Vec<&str> = payload.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["model", "input", "input_type", "dimensions"],
            "{payload:?}"
        );
        assert_eq!(payload["input"].as_array().unwrap().len(), 2);
        assert_eq!(payload["input_type"], "query");
        let answer: Value =
            serde_json::from_str(r["responses"][0]["text"].as_str().unwrap()).unwrap();
        let vectors = answer["data"].as_array().unwrap();
        assert_eq!(vectors.len(), 2);
        assert!(
            vectors
                .iter()
                .all(|v| v["embedding"].as_array().unwrap().len() == 8)
        );
    }
    for r in read_lines(&dir.join("profile_export.jsonl")) {
        assert!(r.get("error").is_none(), "{r}");
        let m = &r["metrics"];
        assert_eq!(m["input_sequence_length"]["value"], 24, "{m}");
        assert_eq!(m["usage_prompt_tokens"]["value"], 24, "server count = ours");
        assert!(m.get("output_sequence_length").is_none(), "{m}");
    }
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert_eq!(summary["request_count"]["avg"], 6.0);
    assert!(summary.get("output_token_throughput").is_none());
}

/// An error object or an answer without vectors is an error record; the good answers around
/// them are measured. A server whose every answer is bad fails the run.
#[test]
fn bad_answers_are_error_records() {
    let good = json!({
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.6, 0.8]}],
        "usage": {"prompt_tokens": 16, "total_tokens": 16},
    })
    .to_string();
    for (bad, error_type, needle) in [
        (
            r#"{"error":{"message":"input_type is required for asymmetric models","code":400}}"#,
            "ServerError",
            "input_type is required",
        ),
        (
            "{\"data\": [",
            "InvalidResponse",
            "not an embeddings JSON object",
        ),
    ] {
        good_and_bad("nim_embeddings", &[], (&good, bad), (error_type, needle), 4);
    }
}

#[test]
fn streaming_and_output_lengths_are_refused() {
    for (args, needle) in [
        (
            &["--streaming"][..],
            "nim_embeddings responses are not streamed",
        ),
        (
            &["--osl", "4"][..],
            "--osl: nim_embeddings generate no output tokens",
        ),
    ] {
        let mut all = vec!["profile", "--sim", "--endpoint-type", "nim_embeddings"];
        all.extend_from_slice(args);
        assert_usage_error(&all, needle);
    }
}
