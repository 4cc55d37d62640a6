//! `--endpoint-type image_retrieval`: NVIDIA NIM's object detection, `/v1/infer`.

use serde_json::Value;

use super::support::{json_ok, only_error, read_json, server};
use crate::common::{assert_usage_error, profile, read_lines, stderr};

/// On the simulator: every image of a turn inline as an `image_url` part, one answer entry
/// per image; images per request, per second and per image latency are measured, and no
/// input length (no text is sent).
#[test]
fn images_inline_on_the_simulator() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = profile(
        &dir,
        &[
            "--sim",
            "fixed",
            "--endpoint-type",
            "image_retrieval",
            "--request-count",
            "4",
            "--concurrency",
            "2",
            "--image-width-mean",
            "64",
            "--image-height-mean",
            "64",
            "--image-batch-size",
            "2",
            "--export-level",
            "raw",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let config = read_json(&dir.join("run_config.json"));
    assert_eq!(config["aiperf_config"]["endpoint"]["path"], "/v1/infer");
    for r in read_lines(&dir.join("profile_export_raw.jsonl")) {
        let payload = r["payload"].as_object().unwrap();
        let keys: Vec<&str> = payload.keys().map(String::as_str).collect();
        assert_eq!(keys, ["input"], "{payload:?}");
        let input = payload["input"].as_array().unwrap();
        assert_eq!(input.len(), 2);
        for part in input {
            assert_eq!(part["type"], "image_url");
            assert!(
                part["url"]
                    .as_str()
                    .unwrap()
                    .starts_with("data:image/png;base64,")
            );
        }
        let answer: Value =
            serde_json::from_str(r["responses"][0]["text"].as_str().unwrap()).unwrap();
        assert_eq!(answer["data"].as_array().unwrap().len(), 2);
    }
    for r in read_lines(&dir.join("profile_export.jsonl")) {
        assert!(r.get("error").is_none(), "{r}");
        let m = &r["metrics"];
        assert_eq!(m["num_images"]["value"], 2, "{m}");
        let latency = m["request_latency"]["value"].as_f64().unwrap();
        let per_image = m["image_latency"]["value"].as_f64().unwrap();
        assert!((per_image * 2.0 - latency).abs() < 1e-6, "{m}");
        assert!(
            m["image_throughput"]["value"].as_f64().unwrap() > 0.0,
            "{m}"
        );
        assert!(m.get("input_sequence_length").is_none(), "{m}");
    }
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert_eq!(summary["num_images"]["avg"], 2.0);
    for absent in [
        "input_sequence_length",
        "total_isl",
        "input_token_throughput",
    ] {
        assert!(summary.get(absent).is_none(), "{absent}");
    }
}

/// Answers without detections or not JSON are error records; the good answers around them
/// are measured.
#[test]
fn bad_answers_are_error_records() {
    let good = json_ok(r#"{"data":[{"index":0,"bounding_boxes":{"table":[]}}]}"#);
    for (bad, needle) in [
        (json_ok(r#"{"data":[]}"#), "no data"),
        (
            json_ok("{\"data\": ["),
            "not an image retrieval JSON object",
        ),
    ] {
        let answers = [good.clone(), bad];
        let (addr, seen) = server(move |_, n| answers[n % 2].clone());
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let url = format!("http://{addr}");
        let output = profile(
            &dir,
            &[
                "-m",
                "nemoretriever-page-elements",
                "-u",
                &url,
                "--endpoint-type",
                "image_retrieval",
                "--request-count",
                "4",
                "--image-width-mean",
                "16",
                "--image-height-mean",
                "16",
            ],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        let requests = seen.lock().unwrap().clone();
        assert!(requests.iter().all(|r| r.path == "/v1/infer"
            && r.header("content-type").as_deref() == Some("application/json")));
        let summary = read_json(&dir.join("profile_export_aiperf.json"));
        assert_eq!(summary["request_count"]["avg"], 2.0);
        let (kind, message, count) = only_error(&summary);
        assert_eq!((kind.as_str(), count), ("InvalidResponse", 2), "{message}");
        assert!(message.contains(needle), "{message}");
    }
}

#[test]
fn images_are_required() {
    assert_usage_error(
        &[
            "profile",
            "--sim",
            "fixed",
            "--endpoint-type",
            "image_retrieval",
        ],
        "--endpoint-type image_retrieval sends an image",
    );
}
