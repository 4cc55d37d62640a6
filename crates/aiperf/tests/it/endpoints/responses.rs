//! `--endpoint-type responses` (OpenAI Responses API, `/v1/responses`).

use serde_json::json;

use super::support::{alternating, json, profile_off_runtime, read_json, reasoning_sim, typed_sse};
use crate::common::read_lines;

/// Two-turn conversations with a system prompt, streamed and whole, on a simulator that
/// reasons for half of each answer: the Responses request shape (instructions, input items,
/// the server's message item resent without its reasoning item), exact output lengths from
/// the server's usage, reasoning counted apart, per-token timing only when streamed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_on_the_simulator() {
    let server = reasoning_sim().await;
    let url = server.base_url();
    for streaming in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let mut args = vec![
            "--concurrency",
            "2",
            "--request-count",
            "8",
            "--isl",
            "24",
            "--osl",
            "8",
            "--shared-system-prompt-length",
            "6",
            "--session-turns-mean",
            "2",
            "--extra-inputs",
            "ignore_eos:true",
            "--use-server-token-count",
            "--export-level",
            "raw",
        ];
        if streaming {
            args.push("--streaming");
        }
        profile_off_runtime(&dir, "responses", &url, args).await;

        let raw = read_lines(&dir.join("profile_export_raw.jsonl"));
        assert_eq!(raw.len(), 8);
        let mut later_turns = 0;
        for r in &raw {
            let payload = r["payload"].as_object().unwrap();
            let keys: Vec<&str> = payload.keys().map(String::as_str).collect();
            let mut expected = vec![
                "input",
                "model",
                "stream",
                "instructions",
                "max_output_tokens",
                "ignore_eos",
            ];
            if streaming {
                expected.push("stream_options");
            }
            assert_eq!(keys, expected, "{payload:?}");
            assert_eq!(payload["stream"], streaming);
            assert_eq!(payload["max_output_tokens"], 8);
            assert!(!payload["instructions"].as_str().unwrap().is_empty());
            let input = payload["input"].as_array().unwrap();
            let last = &input[input.len() - 1];
            assert_eq!(
                (&last["role"], &last["type"]),
                (&json!("user"), &json!("message"))
            );
            assert!(last["content"].as_str().unwrap().len() > 24, "{last}");
            match input.len() {
                1 => {}
                3 => {
                    later_turns += 1;
                    let reply = &input[1];
                    assert_eq!(reply["type"], "message", "{reply}");
                    assert_eq!(reply["role"], "assistant");
                    assert!(reply["id"].as_str().unwrap().starts_with("msg_"));
                    assert_eq!(reply["content"][0]["type"], "output_text");
                }
                n => panic!("{n} input items: {input:?}"),
            }
        }
        assert!(later_turns > 0, "no second turn was sent");

        let records = read_lines(&dir.join("profile_export.jsonl"));
        assert_eq!(records.len(), 8);
        for r in &records {
            assert!(r.get("error").is_none(), "{r}");
            let m = &r["metrics"];
            assert_eq!(m["output_sequence_length"]["value"], 8, "{m}");
            assert_eq!(m["reasoning_token_count"]["value"], 4, "{m}");
            assert_eq!(m["usage_completion_tokens"]["value"], 8, "{m}");
            assert_eq!(m.get("time_to_first_token").is_some(), streaming, "{m}");
        }
        let summary = read_json(&dir.join("profile_export_aiperf.json"));
        assert_eq!(summary["output_sequence_length"]["avg"], 8.0);
        assert_eq!(summary["request_count"]["avg"], 8.0);
    }
    server.shutdown().await.unwrap();
}

/// A good streamed answer: two deltas and `response.completed` with usage.
fn good_stream() -> String {
    typed_sse(&[
        json!({"type": "response.created", "sequence_number": 0, "response": {"status": "in_progress"}}),
        json!({"type": "response.output_text.delta", "sequence_number": 1, "output_index": 0, "content_index": 0, "delta": "Hi"}),
        json!({"type": "response.output_text.delta", "sequence_number": 2, "output_index": 0, "content_index": 0, "delta": " there"}),
        json!({"type": "response.completed", "sequence_number": 3, "response": {"object": "response", "status": "completed",
            "output": [], "usage": {"input_tokens": 4, "output_tokens": 2, "total_tokens": 6}}}),
    ])
}

/// Every other answer is bad: those requests are typed errors counted in the summary, the
/// good ones are measured, and the run succeeds. The API key goes in
/// `Authorization: Bearer`.
#[test]
fn bad_answers_are_typed_errors_among_good_ones() {
    let delta = json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": "Hi"});
    // (answer, streaming, error type, message excerpt)
    let cases = [
        (
            typed_sse(std::slice::from_ref(&delta)),
            true,
            "IncompleteStream",
            "without response.completed",
        ),
        (
            typed_sse(&[
                delta,
                json!({"type": "response.failed", "response": {"status": "failed",
                    "error": {"code": "server_error", "message": "The engine crashed"}}}),
            ]),
            true,
            "ServerError",
            "The engine crashed",
        ),
        (
            typed_sse(&[json!({"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": null})]),
            true,
            "ServerError",
            "Slow down",
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\ndata: {\"type\":\"response.output_te\n\n".to_owned(),
            true,
            "StreamError",
            "malformed JSON",
        ),
        (
            json("200 OK", r#"{"choices":[{"message":{"content":"hi"}}]}"#),
            false,
            "InvalidResponse",
            "no output",
        ),
        (
            json(
                "400 Bad Request",
                r#"{"error":{"message":"Unsupported parameter: 'max_output_tokens'","type":"invalid_request_error"}}"#,
            ),
            false,
            "Bad Request",
            "Unsupported parameter",
        ),
    ];
    for (bad, streaming, kind, needle) in cases {
        let good = if streaming {
            good_stream()
        } else {
            json(
                "200 OK",
                &json!({"object": "response", "status": "completed", "output": [
                    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi there"}]}],
                    "usage": {"input_tokens": 4, "output_tokens": 2, "total_tokens": 6}})
                .to_string(),
            )
        };
        let mut args = vec!["--api-key", "sk-test"];
        if streaming {
            args.push("--streaming");
        }
        // The good answers are measured, the bad ones are errors, and the run succeeds.
        let (details, seen) = alternating("responses", "", (good, bad), &args);
        assert_eq!(details["type"], kind, "{details}");
        assert!(
            details["message"].as_str().unwrap().contains(needle),
            "{kind}: {details}"
        );
        for seen in &seen {
            assert_eq!(seen.line(), "POST /v1/responses");
            let auth = seen.header("authorization");
            assert_eq!(auth.as_deref(), Some("Bearer sk-test"), "{}", seen.head);
        }
    }
}
