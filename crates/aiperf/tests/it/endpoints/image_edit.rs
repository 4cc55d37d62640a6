//! `--endpoint-type image_edit`: OpenAI's `/v1/images/edits`, a form with the image uploaded.

use serde_json::json;

use super::support::{json_ok, only_error, read_json, server};
use crate::common::{assert_usage_error, profile, read_lines, stderr};

/// On the simulator (which reads the form and the uploaded image's size): synthetic images are
/// uploaded with the prompt; request latency and input length are measured, and as in the
/// Python AIPerf no image figures.
#[test]
fn images_are_uploaded_to_the_simulator() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = profile(
        &dir,
        &[
            "--sim",
            "fixed",
            "--endpoint-type",
            "image_edit",
            "--request-count",
            "3",
            "--isl",
            "12",
            "--image-width-mean",
            "64",
            "--image-height-mean",
            "48",
            "--extra-inputs",
            "size:256x256",
            "--export-level",
            "raw",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let config = read_json(&dir.join("run_config.json"));
    assert_eq!(
        config["aiperf_config"]["endpoint"]["path"],
        "/v1/images/edits"
    );
    for r in read_lines(&dir.join("profile_export_raw.jsonl")) {
        let payload = r["payload"].as_object().unwrap();
        let keys: Vec<&str> = payload.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["prompt", "model", "response_format", "n", "image", "size"],
            "{payload:?}"
        );
        let image = &payload["image"];
        assert_eq!(
            (&image["filename"], &image["content_type"]),
            (&json!("image.png"), &json!("image/png"))
        );
        assert!(
            image["b64_data"]
                .as_str()
                .unwrap()
                .starts_with("iVBORw0KGgo")
        );
        assert_eq!(r["status"], 200);
    }
    for r in read_lines(&dir.join("profile_export.jsonl")) {
        assert!(r.get("error").is_none(), "{r}");
        let m = &r["metrics"];
        assert_eq!(m["input_sequence_length"]["value"], 12, "{m}");
        assert!(m.get("num_images").is_none(), "{m}");
        assert!(m.get("output_sequence_length").is_none(), "{m}");
    }
}

/// On the wire: a `multipart/form-data` body whose `image` part is the image's bytes, with the
/// prompt and the other fields as text parts. Answers without images are error records, the
/// good ones around them measured.
#[test]
fn the_form_on_the_wire_and_bad_answers() {
    let good = json_ok(r#"{"created":1,"data":[{"b64_json":"iVBORw0KGgo="}]}"#);
    let bad = json_ok(r#"{"created":1,"data":[]}"#);
    let (addr, seen) = server(move |_, n| {
        if n % 2 == 0 {
            good.clone()
        } else {
            bad.clone()
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let url = format!("http://{addr}");
    let output = profile(
        &dir,
        &[
            "-m",
            "flux",
            "-u",
            &url,
            "--endpoint-type",
            "image_edit",
            "--request-count",
            "4",
            "--image-width-mean",
            "32",
            "--image-height-mean",
            "32",
            "--image-format",
            "jpeg",
            "--extra-inputs",
            "quality:high",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 4);
    for r in &requests {
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("POST", "/v1/images/edits")
        );
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("multipart/form-data; boundary="),
            "{}",
            r.head
        );
        let names: Vec<String> = r.form().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "prompt",
                "model",
                "response_format",
                "n",
                "image",
                "quality"
            ]
        );
        let (_, image) = r.form().into_iter().find(|(n, _)| n == "image").unwrap();
        assert_eq!(image.filename.as_deref(), Some("image.jpg"));
        assert_eq!(image.content_type.as_deref(), Some("image/jpeg"));
        assert!(
            image.data.starts_with(&[0xFF, 0xD8]),
            "JPEG bytes, not base64"
        );
        assert_eq!(r.field("model").as_deref(), Some("flux"));
        assert_eq!(r.field("n").as_deref(), Some("1"));
    }
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert_eq!(summary["request_count"]["avg"], 2.0);
    let (kind, message, count) = only_error(&summary);
    assert_eq!((kind.as_str(), count), ("InvalidResponse", 2), "{message}");
}

/// Without images to upload, the run does not start.
#[test]
fn an_image_is_required() {
    assert_usage_error(
        &["profile", "--sim", "fixed", "--endpoint-type", "image_edit"],
        "--image-width-mean",
    );
    assert_usage_error(
        &[
            "profile",
            "--sim",
            "fixed",
            "--endpoint-type",
            "image_edit",
            "--image-width-mean",
            "8",
            "--image-height-mean",
            "8",
            "--request-content-type",
            "application-json",
        ],
        "multipart-form-data",
    );
}
