//! Turns an endpoint type cannot send (a template that does not render them, media the API
//! does not take, texts and images that do not pair up): each fails as a request of its own,
//! with the reason, without reaching the server, and the run goes on.

use std::path::Path;

use serde_json::{Value, json};

use super::support::{json_ok, only_error, read_json, server};
use crate::common::{profile, read_lines, stderr};

/// Writes `rows` as a single-turn input file in `dir`.
fn input_file(dir: &Path, rows: &[Value]) -> String {
    let path = dir.join("input.jsonl");
    let lines: Vec<String> = rows.iter().map(Value::to_string).collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.to_str().unwrap().to_owned()
}

/// The errors of a run's records, and how many records there were.
fn errors(dir: &Path) -> (Vec<Value>, usize) {
    let records = read_lines(&dir.join("profile_export.jsonl"));
    let errors = records.iter().filter_map(|r| r.get("error")).cloned();
    (errors.collect(), records.len())
}

/// A turn whose text breaks the template's JSON fails with a `ValueError`; the others are sent
/// and measured, and `inputs.json` holds only the bodies that could be built.
#[test]
fn a_turn_the_template_cannot_render_fails_unsent() {
    let tmp = tempfile::tempdir().unwrap();
    let rows = ["first turn", "two\nlines", "third turn"].map(|t| json!({"text": t}));
    let input = input_file(tmp.path(), &rows);
    let dir = tmp.path().join("run");
    let output = profile(
        &dir,
        &[
            "--sim",
            "fixed",
            "--endpoint-type",
            "template",
            "--endpoint",
            "/v1/completions",
            "--extra-inputs",
            r#"payload_template:{"model": {{ model|tojson }}, "prompt": "{{ text }}", "max_tokens": 4}"#,
            "--input-file",
            &input,
            "--custom-dataset-type",
            "single_turn",
            "--dataset-sampling-strategy",
            "sequential",
            "--request-count",
            "3",
            "--concurrency",
            "1",
            "--export-level",
            "raw",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let (errors, records) = errors(&dir);
    assert_eq!((records, errors.len()), (3, 1), "{errors:?}");
    assert_eq!(
        (&errors[0]["type"], &errors[0]["code"]),
        (&json!("ValueError"), &Value::Null)
    );
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "--extra-inputs payload_template: the template cannot render this turn as a request \
             body: what it rendered is not JSON"
        ),
        "{message}"
    );
    // Never sent: no answer, no payload.
    let unsent: Vec<Value> = read_lines(&dir.join("profile_export_raw.jsonl"))
        .into_iter()
        .filter(|r| r["payload"].is_null())
        .collect();
    assert_eq!(unsent.len(), 1, "{unsent:?}");
    assert_eq!(unsent[0]["responses"], json!([]), "{unsent:?}");
    let inputs = read_json(&dir.join("inputs.json"));
    let prompts: Vec<&Value> = (inputs["data"].as_array().unwrap().iter())
        .flat_map(|s| s["payloads"].as_array().unwrap())
        .map(|p| &p["prompt"])
        .collect();
    assert_eq!(prompts, [&json!("first turn"), &json!("third turn")]);
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert_eq!(only_error(&summary).2, 1);
}

/// Audio for `messages`, video for `responses` and texts without an image each for
/// `nim_embeddings` fail as the Python AIPerf fails them; nothing reaches the server, and a run
/// whose requests all failed says so.
#[test]
fn inputs_the_api_cannot_take_fail_unsent() {
    let cases = [
        (
            "messages",
            json!({"text": "describe", "audio": "wav,UklGRiQAAABXQVZF"}),
            "NotImplementedError",
            "the Anthropic Messages API takes no audio input",
        ),
        (
            "responses",
            json!({"text": "describe", "video": "https://example.com/v.mp4"}),
            "NotImplementedError",
            "the Responses API takes no video input",
        ),
        (
            "nim_embeddings",
            json!({"texts": ["a", "b"], "image": "https://example.com/cat.png"}),
            "ValueError",
            "the turn has 2 texts and 1 images",
        ),
    ];
    for (kind, row, error_type, needle) in cases {
        let (addr, seen) = server(|_, _| json_ok("{}"));
        let tmp = tempfile::tempdir().unwrap();
        let input = input_file(tmp.path(), &[row]);
        let dir = tmp.path().join("run");
        let url = format!("http://{addr}");
        let args = [
            "--endpoint-type",
            kind,
            "-m",
            "m",
            "-u",
            &url,
            "--input-file",
            &input,
            "--custom-dataset-type",
            "single_turn",
            "--request-count",
            "2",
        ];
        let output = profile(&dir, &args);
        let said = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{kind}: {said}");
        assert!(said.contains("all 2 requests failed"), "{kind}: {said}");
        assert!(seen.lock().unwrap().is_empty(), "{kind}: sent");
        let summary = read_json(&dir.join("profile_export_aiperf.json"));
        let (kind_seen, message, count) = only_error(&summary);
        assert_eq!((kind_seen.as_str(), count), (error_type, 2), "{kind}");
        assert!(message.contains(needle), "{kind}: {message}");
        let (errors, records) = errors(&dir);
        assert_eq!((records, errors.len()), (2, 2), "{kind}");
    }
}
