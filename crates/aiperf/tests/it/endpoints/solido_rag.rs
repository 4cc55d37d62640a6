//! `--endpoint-type solido_rag` (Solido's RAG API, `/rag/api/prompt`).

use serde_json::json;

use super::support::{alternating, json_ok, read_json, sse};
use crate::common::{profile, read_lines, stderr};

/// Streamed and whole answers from the simulator: Solido's body on its path, the output of
/// the given cap, and per-token timing only when streamed.
#[test]
fn streams_and_whole_answers_on_the_simulator() {
    for streaming in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let mut args = vec![
            "--sim",
            "fixed",
            "--endpoint-type",
            "solido_rag",
            "--concurrency",
            "2",
            "--request-count",
            "6",
            "--isl",
            "40",
            "--extra-inputs",
            "max_tokens:6",
            // Exactly 6 tokens: without it the simulator's natural length may be shorter.
            "--extra-inputs",
            "ignore_eos:true",
            "--export-level",
            "raw",
        ];
        if streaming {
            args.push("--streaming");
        }
        let output = profile(&dir, &args);
        assert!(output.status.success(), "{}", stderr(&output));
        let config = read_json(&dir.join("run_config.json"));
        assert_eq!(
            config["aiperf_config"]["endpoint"]["path"],
            "/rag/api/prompt"
        );

        let raw = read_lines(&dir.join("profile_export_raw.jsonl"));
        assert_eq!(raw.len(), 6);
        for r in &raw {
            let body = r["payload"].as_object().unwrap();
            let keys: Vec<&str> = body.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                [
                    "query",
                    "filters",
                    "inference_model",
                    "max_tokens",
                    "ignore_eos"
                ]
            );
            assert_eq!(body["filters"], json!({"family": "Solido", "tool": "SDE"}));
            assert_eq!(body["inference_model"], "fixed-latency-sim");
            let query = body["query"].as_array().unwrap();
            assert_eq!(query.len(), 1);
            assert!(query[0].as_str().unwrap().len() > 40);
            // The simulator streams to a client that accepts events.
            let text = r["responses"][0]["text"].as_str().unwrap();
            assert_eq!(text.starts_with("event:"), streaming, "{text}");
        }
        let records = read_lines(&dir.join("profile_export.jsonl"));
        assert_eq!(records.len(), 6);
        for r in &records {
            assert!(r.get("error").is_none(), "{r}");
            let m = &r["metrics"];
            assert_eq!(m["input_sequence_length"]["value"], 40, "{m}");
            assert_eq!(m["output_sequence_length"]["value"], 6, "{m}");
            assert_eq!(m.get("time_to_first_token").is_some(), streaming, "{m}");
        }
    }
}

/// An answer without content, a malformed stream and the server's error are typed errors;
/// the good answers between them are measured.
#[test]
fn bad_answers_are_typed_errors_and_good_ones_count() {
    let cases = [
        (
            json_ok(r#"{"content":"Open the sweep editor.","sources":[{"page":4}]}"#),
            json_ok(r#"{"sources":[{"page":4}]}"#),
            false,
            "InvalidResponse",
            "no content",
        ),
        (
            sse("data: {\"content\":\"Open\"}\n\ndata: {\"content\":\" it\"}\n\n"),
            sse("data: {\"content\":\"Op\n\n"),
            true,
            "StreamError",
            "malformed JSON",
        ),
        (
            json_ok(r#"{"content":"Open it."}"#),
            json_ok(r#"{"error":{"message":"retriever unavailable","code":503}}"#),
            false,
            "ServerError",
            "retriever unavailable",
        ),
    ];
    for (good, bad, streaming, kind, needle) in cases {
        let mut args = vec![];
        if streaming {
            args.push("--streaming");
        }
        let (details, received) = alternating("solido_rag", "", (good, bad), &args);
        for seen in &received {
            assert_eq!(seen.line(), "POST /rag/api/prompt");
        }
        assert_eq!(details["type"], kind, "{details}");
        assert!(
            details["message"].as_str().unwrap().contains(needle),
            "{details}"
        );
        let body = received[0].json();
        assert_eq!(body["inference_model"], "m");
        assert!(body["query"][0].is_string(), "{body}");
    }
}
