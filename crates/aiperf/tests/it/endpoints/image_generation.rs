//! `--endpoint-type image_generation`: OpenAI's `/v1/images/generations`, whole or streamed.

use serde_json::{Value, json};

use super::support::{http, json_ok, only_error, read_json, server};
use crate::common::{profile, read_lines, stderr};

/// On the simulator: the body asks for one base64 image of the prompt, `--extra-inputs` add
/// fields; whole answers and streamed partial images are read; request latency and input
/// length are measured, no output lengths and (as in the Python AIPerf) no image figures.
#[test]
fn whole_and_streamed_images_on_the_simulator() {
    for streaming in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let mut args = vec![
            "--sim",
            "fixed",
            "--endpoint-type",
            "image_generation",
            "--request-count",
            "4",
            "--concurrency",
            "2",
            "--isl",
            "16",
            "--extra-inputs",
            "size:256x256",
            "--export-level",
            "raw",
        ];
        if streaming {
            args.extend(["--streaming", "--extra-inputs", "partial_images:2"]);
        }
        let output = profile(&dir, &args);
        assert!(output.status.success(), "{}", stderr(&output));
        let config = read_json(&dir.join("run_config.json"));
        assert_eq!(
            config["aiperf_config"]["endpoint"]["path"],
            "/v1/images/generations"
        );
        let raw = read_lines(&dir.join("profile_export_raw.jsonl"));
        assert_eq!(raw.len(), 4);
        for r in &raw {
            let payload = r["payload"].as_object().unwrap();
            let keys: Vec<&str> = payload.keys().map(String::as_str).collect();
            let expected: &[&str] = if streaming {
                &[
                    "prompt",
                    "model",
                    "response_format",
                    "n",
                    "stream",
                    "size",
                    "partial_images",
                ]
            } else {
                &["prompt", "model", "response_format", "n", "size"]
            };
            assert_eq!(keys, expected, "{payload:?}");
            assert_eq!(
                (&payload["response_format"], &payload["n"]),
                (&json!("b64_json"), &json!(1))
            );
            assert!(!payload["prompt"].as_str().unwrap().trim().is_empty());
            let text = r["responses"][0]["text"].as_str().unwrap();
            if streaming {
                assert_eq!(
                    text.matches("event: image_generation.partial_image")
                        .count(),
                    2
                );
                assert_eq!(text.matches("event: image_generation.completed").count(), 1);
            } else {
                let answer: Value = serde_json::from_str(text).unwrap();
                assert!(
                    answer["data"][0]["b64_json"]
                        .as_str()
                        .unwrap()
                        .starts_with("iVBOR")
                );
            }
        }
        for r in read_lines(&dir.join("profile_export.jsonl")) {
            assert!(r.get("error").is_none(), "{r}");
            let m = &r["metrics"];
            assert!(m["request_latency"]["value"].as_f64().unwrap() > 0.0, "{m}");
            assert_eq!(m["input_sequence_length"]["value"], 16, "{m}");
            // The simulator counts the prompt as OpenAI does, in `usage.input_tokens`.
            assert!(m.get("usage_prompt_tokens").is_some(), "{m}");
            for absent in [
                "output_sequence_length",
                "time_to_first_token",
                "num_images",
            ] {
                assert!(m.get(absent).is_none(), "{absent}: {m}");
            }
        }
        let summary = read_json(&dir.join("profile_export_aiperf.json"));
        assert_eq!(summary["request_count"]["avg"], 4.0);
        assert!(summary.get("image_throughput").is_none());
        assert!(summary.get("output_token_throughput").is_none());
    }
}

/// Answers without an image, not JSON, or refused by the server are error records with the
/// server's words; the good answers around them are measured. A server whose every answer is
/// bad fails the run.
#[test]
fn bad_answers_are_error_records() {
    let good = json_ok(r#"{"created":1,"data":[{"b64_json":"iVBORw0KGgo="}]}"#);
    for (bad, kind, needle) in [
        (
            json_ok(r#"{"created":1,"data":[]}"#),
            "InvalidResponse",
            "no image",
        ),
        (
            json_ok("<html>bad gateway</html>"),
            "InvalidResponse",
            "not an images JSON",
        ),
        (
            http(
                "400 Bad Request",
                "application/json",
                r#"{"error":{"message":"Your request was rejected by the safety system.","type":"image_generation_user_error","code":"moderation_blocked"}}"#,
            ),
            "Bad Request",
            "safety system",
        ),
    ] {
        let answers = [good.clone(), bad.clone()];
        let (addr, _) = server(move |_, n| answers[n % 2].clone());
        let tmp = tempfile::tempdir().unwrap();
        let url = format!("http://{addr}");
        let args = [
            "-m",
            "gpt-image-1",
            "-u",
            &url,
            "--endpoint-type",
            "image_generation",
            "--request-count",
            "4",
        ];
        let output = profile(&tmp.path().join("run"), &args);
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        let summary = read_json(&tmp.path().join("run/profile_export_aiperf.json"));
        assert_eq!(summary["request_count"]["avg"], 2.0, "{kind}");
        let (error_type, message, count) = only_error(&summary);
        assert_eq!((error_type.as_str(), count), (kind, 2), "{message}");
        assert!(message.contains(needle), "{message}");

        let (all_bad, _) = server(move |_, _| bad.clone());
        let url = format!("http://{all_bad}");
        let mut args = args;
        args[3] = &url;
        let output = profile(&tmp.path().join("bad"), &args);
        assert_eq!(output.status.code(), Some(1), "{kind}: {}", stderr(&output));
    }
}
