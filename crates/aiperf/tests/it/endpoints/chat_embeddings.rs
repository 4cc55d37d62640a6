//! `--endpoint-type chat_embeddings`: chat messages to `/v1/embeddings`, the form vLLM needs for
//! multimodal embedding models.

use serde_json::{Value, json};

use super::support::{good_and_bad, read_json};
use crate::common::{assert_usage_error, profile, read_lines, stderr};

/// On the simulator: a chat body without streaming or output cap, one vector read back, the
/// server's token count equal to ours, and no output metrics.
#[test]
fn chat_messages_on_the_simulator() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = profile(
        &dir,
        &[
            "--sim",
            "fixed",
            "--endpoint-type",
            "chat_embeddings",
            "--concurrency",
            "2",
            "--request-count",
            "6",
            "--isl",
            "24",
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
            ["messages", "model", "stream", "dimensions"],
            "{payload:?}"
        );
        assert_eq!(payload["stream"], false);
        let messages = payload["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["role"], "user");
        assert!(messages[0]["content"].is_string(), "{payload:?}");
        let answer: Value =
            serde_json::from_str(r["responses"][0]["text"].as_str().unwrap()).unwrap();
        let vectors = answer["data"].as_array().unwrap();
        assert_eq!(vectors.len(), 1);
        assert_eq!(vectors[0]["embedding"].as_array().unwrap().len(), 8);
    }
    for r in read_lines(&dir.join("profile_export.jsonl")) {
        assert!(r.get("error").is_none(), "{r}");
        let m = &r["metrics"];
        assert_eq!(m["input_sequence_length"]["value"], 24, "{m}");
        assert_eq!(m["usage_prompt_tokens"]["value"], 24, "server count = ours");
        assert!(m.get("output_sequence_length").is_none(), "{m}");
        assert!(m.get("time_to_first_token").is_none(), "{m}");
    }
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert_eq!(summary["request_count"]["avg"], 6.0);
    assert!(summary.get("output_token_throughput").is_none());
}

/// A system prompt is the first message, and counts in the input length.
#[test]
fn a_system_prompt_is_a_system_message() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = profile(
        &dir,
        &[
            "--sim",
            "fixed",
            "--endpoint-type",
            "chat_embeddings",
            "--request-count",
            "2",
            "--isl",
            "8",
            "--shared-system-prompt-length",
            "5",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let inputs = read_json(&dir.join("inputs.json"));
    let messages = &inputs["data"][0]["payloads"][0]["messages"];
    let roles: Vec<&str> = messages
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user"]);
    for r in read_lines(&dir.join("profile_export.jsonl")) {
        assert_eq!(r["metrics"]["input_sequence_length"]["value"], 13);
    }
}

/// Bad answers are error records and the good ones around them are measured; a server whose
/// every answer is bad fails the run.
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
            r#"{"choices":[{"message":{"role":"assistant","content":"hi"}}]}"#,
            "InvalidResponse",
            "not an embeddings JSON object",
        ),
        (
            r#"{"object":"list","data":[]}"#,
            "EmptyResponse",
            "no embeddings",
        ),
    ] {
        good_and_bad(
            "chat_embeddings",
            &[],
            (&good, bad),
            (error_type, needle),
            4,
        );
    }
}

#[test]
fn streaming_and_batches_are_refused() {
    for (args, needle) in [
        (
            &["--streaming"][..],
            "chat_embeddings responses are not streamed",
        ),
        (
            &["-b", "2"][..],
            "--prompt-batch-size 2: batches of texts are sent to --endpoint-type embeddings",
        ),
    ] {
        let mut all = vec!["profile", "--sim", "--endpoint-type", "chat_embeddings"];
        all.extend_from_slice(args);
        assert_usage_error(&all, needle);
    }
}
