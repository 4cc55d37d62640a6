//! `--endpoint-type messages` (Anthropic Messages API, `/v1/messages`).

use serde_json::{Value, json};

use super::support::{alternating, json, profile_off_runtime, reasoning_sim, typed_sse};
use crate::common::read_lines;

/// Two-turn conversations with a system prompt on a simulator that thinks for half of each
/// answer. Streamed: the Messages request shape (top-level system, user/assistant messages,
/// the thinking block resent with its signature, `stream: true`), exact output lengths from
/// the server's usage, thinking counted as reasoning, per-token timing. Whole, without
/// `--osl`: `max_tokens` is 1024 and `stream` is left out.
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
            "--shared-system-prompt-length",
            "6",
            "--session-turns-mean",
            "2",
            "--export-level",
            "raw",
        ];
        if streaming {
            args.extend([
                "--streaming",
                "--osl",
                "8",
                "--extra-inputs",
                "ignore_eos:true",
                "--use-server-token-count",
            ]);
        } else {
            // Long enough to think and answer, whatever length the simulator draws.
            args.extend(["--extra-inputs", "min_tokens:4"]);
        }
        profile_off_runtime(&dir, "messages", &url, args).await;

        let raw = read_lines(&dir.join("profile_export_raw.jsonl"));
        assert_eq!(raw.len(), 8);
        let mut later_turns = 0;
        for r in &raw {
            let payload = r["payload"].as_object().unwrap();
            let keys: Vec<&str> = payload.keys().map(String::as_str).collect();
            let expected: &[&str] = if streaming {
                &[
                    "model",
                    "messages",
                    "max_tokens",
                    "stream",
                    "system",
                    "ignore_eos",
                ]
            } else {
                &["model", "messages", "max_tokens", "system", "min_tokens"]
            };
            assert_eq!(keys, expected, "{payload:?}");
            assert_eq!(payload["max_tokens"], if streaming { 8 } else { 1024 });
            assert!(!payload["system"].as_str().unwrap().is_empty());
            let messages = payload["messages"].as_array().unwrap();
            let last = &messages[messages.len() - 1];
            assert_eq!(last["role"], "user");
            assert!(last["content"].as_str().unwrap().len() > 24, "{last}");
            match messages.len() {
                1 => {}
                3 => {
                    later_turns += 1;
                    let reply = &messages[1];
                    assert_eq!(reply["role"], "assistant", "{reply}");
                    // The answer had a thinking block: resent with its signature, then the text.
                    let blocks = reply["content"].as_array().unwrap();
                    assert_eq!(blocks[0]["type"], "thinking", "{reply}");
                    assert!(!blocks[0]["signature"].as_str().unwrap().is_empty());
                    assert_eq!(blocks[1]["type"], "text", "{reply}");
                }
                n => panic!("{n} messages: {messages:?}"),
            }
        }
        assert!(later_turns > 0, "no second turn was sent");

        let records = read_lines(&dir.join("profile_export.jsonl"));
        assert_eq!(records.len(), 8);
        for r in &records {
            assert!(r.get("error").is_none(), "{r}");
            let m = &r["metrics"];
            assert!(
                m["usage_prompt_tokens"]["value"].as_f64().unwrap() > 24.0,
                "{m}"
            );
            if streaming {
                // The server's counts: 8 output tokens, thinking included (Anthropic's usage
                // does not count thinking apart).
                assert_eq!(m["output_sequence_length"]["value"], 8, "{m}");
                assert_eq!(m["usage_completion_tokens"]["value"], 8, "{m}");
                assert!(m.get("time_to_first_token").is_some(), "{m}");
            } else {
                // Counted here: the thinking as reasoning, the text as output.
                assert!(
                    m["reasoning_token_count"]["value"].as_f64() > Some(0.0),
                    "{m}"
                );
                assert!(m["output_token_count"]["value"].as_f64() > Some(0.0), "{m}");
                assert!(m.get("time_to_first_token").is_none(), "{m}");
            }
        }
    }
    server.shutdown().await.unwrap();
}

fn text_delta(text: &str) -> Value {
    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}})
}

/// A good streamed answer.
fn good_stream() -> String {
    typed_sse(&[
        json!({"type": "message_start", "message": {"type": "message", "content": [], "usage": {"input_tokens": 4, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        text_delta("Hi"),
        text_delta(" there"),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}),
        json!({"type": "message_stop"}),
    ])
}

/// Every other answer is bad: those requests are typed errors counted in the summary, the
/// good ones are measured, and the run succeeds. The API key goes in
/// `x-api-key` with `anthropic-version`, never in `Authorization`.
#[test]
fn bad_answers_are_typed_errors_among_good_ones() {
    // (answer, streaming, error type, message excerpt)
    let cases = [
        (
            typed_sse(&[text_delta("Hi")]),
            true,
            "IncompleteStream",
            "without message_delta",
        ),
        (
            typed_sse(&[
                text_delta("Hi"),
                json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            ]),
            true,
            "ServerError",
            "overloaded_error: Overloaded",
        ),
        (
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\nevent: message_start\ndata: {\"type\":\"mess\n\n".to_owned(),
            true,
            "StreamError",
            "malformed JSON",
        ),
        (
            json("200 OK", r#"{"choices":[{"message":{"content":"hi"}}]}"#),
            false,
            "InvalidResponse",
            "not an Anthropic message",
        ),
        (
            json(
                "529 Site Overloaded",
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            ),
            false,
            "HTTP Error",
            "Overloaded",
        ),
    ];
    for (bad, streaming, kind, needle) in cases {
        let good = if streaming {
            good_stream()
        } else {
            json(
                "200 OK",
                &json!({"type": "message", "role": "assistant",
                    "content": [{"type": "text", "text": "Hi there"}],
                    "stop_reason": "end_turn", "usage": {"input_tokens": 4, "output_tokens": 2}})
                .to_string(),
            )
        };
        let mut args = vec!["--api-key", "sk-ant-test"];
        if streaming {
            args.push("--streaming");
        }
        // The good answers are measured, the bad ones are errors, and the run succeeds.
        let (details, seen) = alternating("messages", "", (good, bad), &args);
        assert_eq!(details["type"], kind, "{details}");
        assert!(
            details["message"].as_str().unwrap().contains(needle),
            "{kind}: {details}"
        );
        for seen in &seen {
            assert_eq!(seen.line(), "POST /v1/messages");
            let header = |name| seen.header(name);
            assert_eq!(header("x-api-key").as_deref(), Some("sk-ant-test"));
            assert_eq!(header("anthropic-version").as_deref(), Some("2023-06-01"));
            assert!(header("authorization").is_none(), "{}", seen.head);
        }
    }
}
