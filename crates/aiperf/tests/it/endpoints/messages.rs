//! `--endpoint-type messages` (Anthropic Messages API, `/v1/messages`).

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::common::{read_lines, run, stderr};

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `aiperf profile --endpoint-type messages ARGS` against `url`.
fn profile(dir: &Path, url: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec![
        "profile",
        "--ui",
        "none",
        "--artifact-dir",
        dir.to_str().unwrap(),
        "--endpoint-type",
        "messages",
        "-m",
        "m",
        "-u",
        url,
    ];
    all.extend_from_slice(args);
    run(&all)
}

/// Two-turn conversations with a system prompt on a simulator that thinks for half of each
/// answer. Streamed: the Messages request shape (top-level system, user/assistant messages,
/// the thinking block resent with its signature, `stream: true`), exact output lengths from
/// the server's usage, thinking counted as reasoning, per-token timing. Whole, without
/// `--osl`: `max_tokens` is 1024 and `stream` is left out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_on_the_simulator() {
    let mut config = aiperf_sim::presets::preset("fixed").unwrap();
    config.served_models = vec!["m".into()];
    config.output.reasoning_ratio = 0.5;
    config.speedup = 4.0;
    let server = aiperf_sim::SimServer::start(config).await.unwrap();
    let url = server.base_url();
    for streaming in [true, false] {
        let url = url.clone();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let dir2 = dir.clone();
        let output = tokio::task::spawn_blocking(move || {
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
            }
            profile(&dir2, &url, &args)
        })
        .await
        .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));

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
                &["model", "messages", "max_tokens", "system"]
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

const NOT_FOUND: &str = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// A server that answers each request with the next of `answers` (round robin) and keeps
/// each request's head.
fn canned_server(answers: Vec<String>) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&heads);
    let answers = Arc::new(answers);
    let next = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (answers, next, seen) = (answers.clone(), next.clone(), seen.clone());
            std::thread::spawn(move || {
                let Some((head, _)) = crate::common::read_http_request(&mut stream) else {
                    return;
                };
                if !head.starts_with("POST ") {
                    // The run's scrapes (server metrics): not the endpoint.
                    let _ = stream.write_all(NOT_FOUND.as_bytes());
                    return;
                }
                seen.lock().unwrap().push(head);
                let n = next.fetch_add(1, Ordering::SeqCst);
                let _ = stream.write_all(answers[n % answers.len()].as_bytes());
            });
        }
    });
    (addr, heads)
}

fn sse(events: &[Value]) -> String {
    let body: String = events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
        .collect();
    format!("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n{body}")
}

fn http(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn text_delta(text: &str) -> Value {
    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}})
}

/// A good streamed answer.
fn good_stream() -> String {
    sse(&[
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
            sse(&[text_delta("Hi")]),
            true,
            "IncompleteStream",
            "without message_delta",
        ),
        (
            sse(&[
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
            http("200 OK", r#"{"choices":[{"message":{"content":"hi"}}]}"#),
            false,
            "InvalidResponse",
            "not an Anthropic message",
        ),
        (
            http(
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
            http(
                "200 OK",
                &json!({"type": "message", "role": "assistant",
                    "content": [{"type": "text", "text": "Hi there"}],
                    "stop_reason": "end_turn", "usage": {"input_tokens": 4, "output_tokens": 2}})
                .to_string(),
            )
        };
        let (addr, heads) = canned_server(vec![good, bad]);
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let url = format!("http://{addr}");
        let mut args = vec!["--request-count", "4", "--api-key", "sk-ant-test"];
        if streaming {
            args.push("--streaming");
        }
        let output = profile(&dir, &url, &args);
        // Some requests succeeded: the run did (it fails only when every request does).
        assert_eq!(output.status.code(), Some(0), "{kind}: {}", stderr(&output));
        let summary = read_json(&dir.join("profile_export_aiperf.json"));
        let errors = summary["error_summary"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0]["count"], 2);
        let details = &errors[0]["error_details"];
        assert_eq!(details["type"], kind, "{details}");
        assert!(
            details["message"].as_str().unwrap().contains(needle),
            "{kind}: {details}"
        );
        let records = read_lines(&dir.join("profile_export.jsonl"));
        let good: Vec<&Value> = records
            .iter()
            .filter(|r| r.get("error").is_none())
            .collect();
        assert_eq!(good.len(), 2, "{kind}: the good answers are kept");
        for r in good {
            assert!(
                r["metrics"]["output_sequence_length"]["value"]
                    .as_f64()
                    .unwrap()
                    > 0.0
            );
        }
        for head in heads.lock().unwrap().iter() {
            let head = head.to_ascii_lowercase();
            assert!(head.starts_with("post /v1/messages "), "{head}");
            assert!(head.contains("x-api-key: sk-ant-test"), "{head}");
            assert!(head.contains("anthropic-version: 2023-06-01"), "{head}");
            assert!(!head.contains("authorization"), "{head}");
        }
    }
}
