//! `--endpoint-type template` (a request body rendered from `--extra-inputs payload_template`),
//! and the hand-written server the `raw` and `solido_rag` tests share.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::common::{assert_usage_error, profile, read_lines, stderr};

pub(super) fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A chat request body, as a template.
const CHAT: &str = r#"{"model": {{ model|tojson }}, "messages": [{"role": {{ role|tojson }}, "content": {{ text|tojson }}}], "max_tokens": {{ max_tokens }}, "stream": {{ stream|tojson }}}"#;

/// Streamed chat bodies and whole completions bodies (from a template file, read through
/// `response_field`), sent to the simulator's OpenAI paths: the bodies are the templates'
/// with the other extra inputs merged, and the answers are measured like chat's.
#[test]
fn template_bodies_on_the_simulator() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("completions.j2");
    let completions = r#"{"model": {{ model|tojson }}, "prompt": {{ texts|tojson }}, "max_tokens": {{ max_tokens }}}"#;
    std::fs::write(&file, completions).unwrap();
    let template_arg = format!("payload_template:{CHAT}");
    let file_arg = format!("payload_template:{}", file.display());
    for streaming in [true, false] {
        let dir = tmp.path().join(format!("run-{streaming}"));
        let mut args = vec![
            "--sim",
            "fixed",
            "--endpoint-type",
            "template",
            "--concurrency",
            "2",
            "--request-count",
            "6",
            "--isl",
            "32",
            "--osl",
            "8",
            "--extra-inputs",
            "ignore_eos:true",
            "--export-level",
            "raw",
        ];
        if streaming {
            args.extend(["--streaming", "--endpoint", "/v1/chat/completions"]);
            args.extend(["--extra-inputs", &template_arg]);
        } else {
            args.extend(["--endpoint", "/v1/completions"]);
            args.extend(["--extra-inputs", &file_arg]);
            args.extend(["--extra-inputs", "response_field:choices[0].text"]);
        }
        let output = profile(&dir, &args);
        assert!(output.status.success(), "{}", stderr(&output));

        let raw = read_lines(&dir.join("profile_export_raw.jsonl"));
        assert_eq!(raw.len(), 6);
        for r in &raw {
            let body = r["payload"].as_object().unwrap();
            let keys: Vec<&str> = body.keys().map(String::as_str).collect();
            if streaming {
                assert_eq!(
                    keys,
                    ["model", "messages", "max_tokens", "stream", "ignore_eos"]
                );
                assert_eq!(body["messages"][0]["role"], "user");
                assert!(body["messages"][0]["content"].as_str().unwrap().len() > 32);
                assert_eq!(body["stream"], true);
            } else {
                // The template's keys, then the extra inputs but not the template's own.
                assert_eq!(keys, ["model", "prompt", "max_tokens", "ignore_eos"]);
                assert_eq!(body["prompt"].as_array().unwrap().len(), 1);
            }
            assert_eq!(body["model"], "fixed-latency-sim");
            assert_eq!(
                (&body["max_tokens"], &body["ignore_eos"]),
                (&json!(8), &json!(true))
            );
        }
        let records = read_lines(&dir.join("profile_export.jsonl"));
        assert_eq!(records.len(), 6);
        for r in &records {
            assert!(r.get("error").is_none(), "{r}");
            let m = &r["metrics"];
            assert_eq!(m["input_sequence_length"]["value"], 32, "{m}");
            assert_eq!(m["output_sequence_length"]["value"], 8, "{m}");
            assert_eq!(m.get("time_to_first_token").is_some(), streaming, "{m}");
        }
        let config = read_json(&dir.join("run_config.json"));
        let endpoint = &config["aiperf_config"]["endpoint"];
        // A template file is read before the run; its text is the run's template.
        let template = if streaming { CHAT } else { completions };
        assert_eq!(endpoint["extra_inputs"]["payload_template"], template);
        assert_eq!(endpoint["type"], "template");
    }
}

/// A template that is missing, does not compile, or does not render a JSON object stops
/// the run before it starts, naming the flag.
#[test]
fn bad_templates_are_usage_errors() {
    let base = [
        "profile",
        "--sim",
        "fixed",
        "--ui",
        "none",
        "--endpoint-type",
        "template",
    ];
    let with = |extra: &'static str| -> Vec<&'static str> {
        let mut args = base.to_vec();
        args.extend(["--extra-inputs", extra]);
        args
    };
    assert_usage_error(&base, "--extra-inputs payload_template:<template>");
    for (extra, needle) in [
        (r#"payload_template:{"p": {{ text }"#, "does not compile"),
        (r#"payload_template:{"p": {{ text }}}"#, "is not JSON"),
        ("payload_template:[{{ text|tojson }}]", "not an object"),
        ("payload_template:/no/such/template.j2", "is not JSON"),
    ] {
        assert_usage_error(
            &with(extra),
            "--extra-inputs payload_template: the template must",
        );
        assert_usage_error(&with(extra), needle);
    }
    let mut args = with("payload_template:nv-embedqa");
    args.extend(["--extra-inputs", "response_field:choices[0"]);
    assert_usage_error(&args, "--extra-inputs response_field");
}

/// What a hand-written server received: request lines and bodies, in order.
pub(super) type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A server that answers POST requests with `good` and `bad` in turn (`good` first), each a
/// whole HTTP response, and keeps what it received.
pub(super) fn alternating_server(good: String, bad: String) -> (SocketAddr, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let received: Received = Arc::default();
    let seen = Arc::clone(&received);
    let count = Arc::new(AtomicUsize::new(0));
    let answers = Arc::new([good, bad]);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (seen, count, answers) =
                (Arc::clone(&seen), Arc::clone(&count), Arc::clone(&answers));
            std::thread::spawn(move || {
                let Some((head, body)) = crate::common::read_http_request(&mut stream) else {
                    return;
                };
                let line = head.lines().next().unwrap_or_default().to_owned();
                if !line.starts_with("POST ") {
                    let _ = stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    return;
                }
                seen.lock().unwrap().push((line, body));
                let n = count.fetch_add(1, Ordering::SeqCst);
                let _ = stream.write_all(answers[n % 2].as_bytes());
            });
        }
    });
    (addr, received)
}

/// A 200 answer with a JSON body.
pub(super) fn json_answer(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A 200 answer streaming `events`.
pub(super) fn stream_answer(events: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n{events}"
    )
}

/// Runs `args` against a server at `http://ADDR{url_path}` answering `good` and `bad` in turn,
/// 4 requests one at a time: two succeed, two fail with one error. Returns the error's details
/// and what the server got.
pub(super) fn run_alternating(
    kind: &str,
    url_path: &str,
    (good, bad): (String, String),
    args: &[&str],
) -> (Value, Vec<(String, String)>) {
    let (addr, received) = alternating_server(good, bad);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let url = format!("http://{addr}{url_path}");
    let mut all = vec![
        "--endpoint-type",
        kind,
        "-m",
        "m",
        "-u",
        &url,
        "--request-count",
        "4",
        "--concurrency",
        "1",
    ];
    all.extend_from_slice(args);
    let output = profile(&dir, &all);
    assert!(output.status.success(), "{}", stderr(&output));
    let records = read_lines(&dir.join("profile_export.jsonl"));
    let failed: Vec<&Value> = records
        .iter()
        .filter(|r| r.get("error").is_some())
        .collect();
    assert_eq!((records.len(), failed.len()), (4, 2), "{records:?}");
    for r in records.iter().filter(|r| r.get("error").is_none()) {
        assert!(
            r["metrics"]["output_sequence_length"]["value"]
                .as_u64()
                .unwrap()
                > 0,
            "{r}"
        );
    }
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    let errors = summary["error_summary"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["count"], 2);
    let received = received.lock().unwrap().clone();
    (errors[0]["error_details"].clone(), received)
}

/// Malformed answers (and answers where `response_field` finds nothing) are typed errors;
/// the good answers between them are measured.
#[test]
fn bad_answers_are_typed_errors_and_good_ones_count() {
    let body = format!("payload_template:{CHAT}");
    let chunk = |text: &str, reason: &str| {
        format!(
            "data: {{\"choices\":[{{\"delta\":{{\"content\":\"{text}\"}},\"finish_reason\":{reason}}}]}}\n\n"
        )
    };
    let good_stream =
        stream_answer(&(chunk("Hi", "null") + &chunk(" there", "\"stop\"") + "data: [DONE]\n\n"));
    // (good, bad, streaming, response_field, error type, message excerpt)
    let cases = [
        (
            good_stream.clone(),
            stream_answer("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\n\n"),
            true,
            None,
            "StreamError",
            "malformed JSON",
        ),
        (
            good_stream,
            stream_answer(&chunk("Hi", "null")),
            true,
            None,
            "IncompleteStream",
            "without a finish_reason",
        ),
        (
            json_answer(r#"{"output":{"text":"Hello!"}}"#),
            json_answer(r#"{"output":{"txt":"Hello!"}}"#),
            false,
            Some("response_field:output.text"),
            "InvalidResponse",
            "response_field \"output.text\" found no text",
        ),
        (
            json_answer(r#"{"generated_text":"x","text":"Hello!"}"#),
            json_answer(r#"{"error":{"message":"model is loading","code":503}}"#),
            false,
            None,
            "ServerError",
            "model is loading",
        ),
    ];
    for (good, bad, streaming, field, kind, needle) in cases {
        let mut args = vec!["--extra-inputs", body.as_str(), "--osl", "4"];
        if streaming {
            args.push("--streaming");
        }
        if let Some(field) = field {
            args.extend(["--extra-inputs", field]);
        }
        let (details, received) =
            run_alternating("template", "/custom/generate", (good, bad), &args);
        // The URL is used as given: no path is appended.
        for (line, _) in &received {
            assert!(line.starts_with("POST /custom/generate "), "{line}");
        }
        assert_eq!(details["type"], kind, "{details}");
        assert!(
            details["message"].as_str().unwrap().contains(needle),
            "{details}"
        );
        // The server got the rendered chat bodies.
        let (_, first) = &received[0];
        let first: Value = serde_json::from_str(first).unwrap();
        assert_eq!(
            (&first["model"], &first["stream"]),
            (&json!("m"), &json!(streaming))
        );
        assert_eq!(first["max_tokens"], 4);
    }
}
