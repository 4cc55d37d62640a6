//! `--endpoint-type raw` (bodies as the dataset holds them, or from a template; answers
//! auto-detected or found with `response_field`).

use serde_json::{Value, json};

use super::support::{alternating, http, json_ok, read_json, sse};
use crate::common::{assert_usage_error, profile, read_lines, stderr};

/// An input file whose texts are whole request bodies is replayed verbatim, streamed and
/// whole, to the path given; with a template instead, the bodies are rendered.
#[test]
fn bodies_from_the_input_file_verbatim_or_from_a_template() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("bodies.jsonl");
    let bodies: Vec<Value> = (0..3)
        .map(|i| {
            json!({
                "model": "fixed-latency-sim",
                "prompt": format!("The tide comes in, wave {i}"),
                "max_tokens": 4 + i,
                "ignore_eos": true,
                "stream": i % 2 == 0,
                "stream_options": {"include_usage": true},
            })
        })
        .collect();
    let lines: Vec<String> = bodies
        .iter()
        .map(|b| json!({"text": b.to_string()}).to_string())
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();

    let dir = tmp.path().join("verbatim");
    let output = profile(
        &dir,
        &[
            "--sim",
            "fixed",
            "--endpoint-type",
            "raw",
            "--endpoint",
            "/v1/completions",
            "--input-file",
            input.to_str().unwrap(),
            "--custom-dataset-type",
            "single_turn",
            "--dataset-sampling-strategy",
            "sequential",
            "--request-count",
            "3",
            "--export-level",
            "raw",
            "--use-server-token-count",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let raw = read_lines(&dir.join("profile_export_raw.jsonl"));
    let mut sent: Vec<Value> = raw.iter().map(|r| r["payload"].clone()).collect();
    sent.sort_by_key(|b| b["max_tokens"].as_u64());
    assert_eq!(sent, bodies, "sent verbatim, key order and all");
    let records = read_lines(&dir.join("profile_export.jsonl"));
    let mut lengths: Vec<u64> = records
        .iter()
        .map(|r| {
            assert!(r.get("error").is_none(), "{r}");
            r["metrics"]["output_sequence_length"]["value"]
                .as_u64()
                .unwrap()
        })
        .collect();
    lengths.sort_unstable();
    // Streamed or whole as each body asked, read from the usage the server reported.
    assert_eq!(lengths, [4, 5, 6]);

    let dir = tmp.path().join("template");
    let output = profile(
        &dir,
        &[
            "--sim",
            "fixed",
            "--endpoint-type",
            "raw",
            "--endpoint",
            "/v1/chat/completions",
            "--extra-inputs",
            r#"payload_template:{"model": {{ model|tojson }}, "messages": [{"role": "user", "content": {{ text|tojson }}}], "max_tokens": {{ max_tokens }}}"#,
            "--extra-inputs",
            "ignore_eos:true",
            "--isl",
            "24",
            "--osl",
            "5",
            "--request-count",
            "2",
            "--export-level",
            "raw",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    for r in read_lines(&dir.join("profile_export_raw.jsonl")) {
        let keys: Vec<&str> = r["payload"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["model", "messages", "max_tokens", "ignore_eos"]);
    }
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert_eq!(summary["output_sequence_length"]["avg"], 5.0);
    assert_eq!(summary["input_sequence_length"]["avg"], 24.0);
}

/// Without an input file of bodies or a template there is nothing to send.
#[test]
fn raw_needs_bodies() {
    assert_usage_error(
        &[
            "profile",
            "--sim",
            "fixed",
            "--ui",
            "none",
            "--endpoint-type",
            "raw",
        ],
        "--input-file",
    );
}

/// Plain-text answers are the output; malformed JSON and cut-short streams are typed errors;
/// `response_field` is tried first, then the usual shapes.
#[test]
fn answers_of_any_shape_and_bad_ones() {
    let template = r#"payload_template:{"inputs": {{ text|tojson }}}"#;
    // (good, bad, streaming, response_field, error type, message excerpt)
    let cases = [
        (
            http("200 OK", "text/plain", "Hello there!"),
            json_ok(r#"{"choices":[{"text":"Hel"#),
            false,
            None,
            "InvalidResponse",
            "malformed JSON",
        ),
        (
            sse("data: Hello\n\ndata:  there\n\n"),
            sse("data: {\"result\": [\"a\"\n\n"),
            true,
            None,
            "StreamError",
            "malformed JSON",
        ),
        (
            // The field finds nothing here: the usual shapes are read instead.
            json_ok(r#"{"answer":{"parts":[]},"response":"Hello!"}"#),
            json_ok(r#"{"error":"CUDA out of memory"}"#),
            false,
            Some("response_field:answer.parts[0]"),
            "ServerError",
            "CUDA out of memory",
        ),
    ];
    for (good, bad, streaming, field, kind, needle) in cases {
        let mut args = vec!["--extra-inputs", template];
        if streaming {
            args.push("--streaming");
        }
        if let Some(field) = field {
            args.extend(["--extra-inputs", field]);
        }
        let (details, received) = alternating("raw", "/api/v2/infer", (good, bad), &args);
        for seen in &received {
            assert_eq!(seen.line(), "POST /api/v2/infer");
        }
        assert_eq!(details["type"], kind, "{details}");
        assert!(
            details["message"].as_str().unwrap().contains(needle),
            "{details}"
        );
        let body = received[1].json();
        assert!(body["inputs"].is_string(), "{body}");
        assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    }
}
