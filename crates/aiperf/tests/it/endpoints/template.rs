//! `--endpoint-type template` (a request body rendered from `--extra-inputs payload_template`).

use serde_json::json;

use super::support::{alternating, json_ok, read_json, sse};
use crate::common::{assert_usage_error, profile, read_lines, stderr};

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
        sse(&(chunk("Hi", "null") + &chunk(" there", "\"stop\"") + "data: [DONE]\n\n"));
    // (good, bad, streaming, response_field, error type, message excerpt)
    let cases = [
        (
            good_stream.clone(),
            sse("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\n\n"),
            true,
            None,
            "StreamError",
            "malformed JSON",
        ),
        (
            good_stream,
            sse(&chunk("Hi", "null")),
            true,
            None,
            "IncompleteStream",
            "without a finish_reason",
        ),
        (
            json_ok(r#"{"output":{"text":"Hello!"}}"#),
            json_ok(r#"{"output":{"txt":"Hello!"}}"#),
            false,
            Some("response_field:output.text"),
            "InvalidResponse",
            "response_field \"output.text\" found no text",
        ),
        (
            json_ok(r#"{"generated_text":"x","text":"Hello!"}"#),
            json_ok(r#"{"error":{"message":"model is loading","code":503}}"#),
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
        let (details, received) = alternating("template", "/custom/generate", (good, bad), &args);
        // The URL is used as given: no path is appended.
        for seen in &received {
            assert_eq!(seen.line(), "POST /custom/generate");
        }
        assert_eq!(details["type"], kind, "{details}");
        assert!(
            details["message"].as_str().unwrap().contains(needle),
            "{details}"
        );
        // The server got the rendered chat bodies.
        let first = received[0].json();
        assert_eq!(
            (&first["model"], &first["stream"]),
            (&json!("m"), &json!(streaming))
        );
        assert_eq!(first["max_tokens"], 4);
    }
}
