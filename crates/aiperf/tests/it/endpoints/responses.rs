//! `--endpoint-type responses` (OpenAI Responses API, `/v1/responses`).

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

/// `aiperf profile --endpoint-type responses ARGS` against `url`.
fn profile(dir: &Path, url: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec![
        "profile",
        "--ui",
        "none",
        "--artifact-dir",
        dir.to_str().unwrap(),
        "--endpoint-type",
        "responses",
        "-m",
        "m",
        "-u",
        url,
    ];
    all.extend_from_slice(args);
    run(&all)
}

/// Two-turn conversations with a system prompt, streamed and whole, on a simulator that
/// reasons for half of each answer: the Responses request shape (instructions, input items,
/// the server's message item resent without its reasoning item), exact output lengths from
/// the server's usage, reasoning counted apart, per-token timing only when streamed.
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

/// A good streamed answer: two deltas and `response.completed` with usage.
fn good_stream() -> String {
    sse(&[
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
            sse(std::slice::from_ref(&delta)),
            true,
            "IncompleteStream",
            "without response.completed",
        ),
        (
            sse(&[
                delta,
                json!({"type": "response.failed", "response": {"status": "failed",
                    "error": {"code": "server_error", "message": "The engine crashed"}}}),
            ]),
            true,
            "ServerError",
            "The engine crashed",
        ),
        (
            sse(&[json!({"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": null})]),
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
            http("200 OK", r#"{"choices":[{"message":{"content":"hi"}}]}"#),
            false,
            "InvalidResponse",
            "no output",
        ),
        (
            http(
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
            http(
                "200 OK",
                &json!({"object": "response", "status": "completed", "output": [
                    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi there"}]}],
                    "usage": {"input_tokens": 4, "output_tokens": 2, "total_tokens": 6}})
                .to_string(),
            )
        };
        let (addr, heads) = canned_server(vec![good, bad]);
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let url = format!("http://{addr}");
        let mut args = vec!["--request-count", "4", "--api-key", "sk-test"];
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
            assert!(head.starts_with("post /v1/responses "), "{head}");
            assert!(head.contains("authorization: bearer sk-test"), "{head}");
        }
    }
}
