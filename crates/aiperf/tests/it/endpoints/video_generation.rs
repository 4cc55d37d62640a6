//! `--endpoint-type video_generation`: video jobs at `/v1/videos`, submitted as forms and
//! polled until they end, their videos optionally downloaded.

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::support::{Seen, http, json_ok, only_error, read_json, server};
use crate::common::{read_lines, stderr};

const FAST_POLLS: (&str, &str) = ("AIPERF_HTTP_VIDEO_POLL_INTERVAL", "0.01");

/// `aiperf profile ARGS --ui none --artifact-dir DIR` with `env` set.
fn profile_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = crate::common::aiperf();
    cmd.args([
        "profile",
        "--ui",
        "none",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ])
    .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("aiperf runs")
}

/// On the simulator: jobs are submitted, polled to completion and (with
/// `--download-video-content`) downloaded, each as one request whose answer is the completed
/// job; the server's inference time and peak memory are reported.
#[test]
fn jobs_run_to_completion_on_the_simulator() {
    for download in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let mut args = vec![
            "--sim",
            "fixed",
            "--endpoint-type",
            "video_generation",
            "--request-count",
            "3",
            "--concurrency",
            "3",
            "--isl",
            "10",
            "--extra-inputs",
            "size:128x128",
            "--extra-inputs",
            "seconds:1",
            "--export-level",
            "raw",
        ];
        if download {
            args.push("--download-video-content");
        }
        let output = profile_env(&dir, &args, &[FAST_POLLS]);
        assert!(output.status.success(), "{}", stderr(&output));
        let config = read_json(&dir.join("run_config.json"));
        assert_eq!(config["aiperf_config"]["endpoint"]["path"], "/v1/videos");
        assert_eq!(
            config["aiperf_config"]["polling"],
            json!({"interval_secs": 0.01, "download_content": download})
        );
        for r in read_lines(&dir.join("profile_export_raw.jsonl")) {
            let payload = r["payload"].as_object().unwrap();
            let keys: Vec<&str> = payload.keys().map(String::as_str).collect();
            assert_eq!(keys, ["prompt", "model", "size", "seconds"], "{payload:?}");
            let job: Value =
                serde_json::from_str(r["responses"][0]["text"].as_str().unwrap()).unwrap();
            assert_eq!(job["status"], "completed", "{job}");
            assert_eq!(
                (&job["size"], &job["seconds"]),
                (&json!("128x128"), &json!("1"))
            );
        }
        for r in read_lines(&dir.join("profile_export.jsonl")) {
            assert!(r.get("error").is_none(), "{r}");
            let m = &r["metrics"];
            assert!(
                m["video_inference_time"]["value"].as_f64().unwrap() >= 0.0,
                "{m}"
            );
            assert!(
                m["video_peak_memory"]["value"].as_f64().unwrap() > 0.0,
                "{m}"
            );
            assert_eq!(m["input_sequence_length"]["value"], 10, "{m}");
            assert!(m.get("num_images").is_none(), "{m}");
        }
        let summary = read_json(&dir.join("profile_export_aiperf.json"));
        assert_eq!(summary["request_count"]["avg"], 3.0);
        assert_eq!(summary["video_peak_memory"]["unit"], "MB");
        assert_eq!(summary["video_inference_time"]["unit"], "ms");
    }
}

/// A hand-written job server: `job{n}` for the n-th submission; its first status request
/// answers `in_progress`, the second `completed`, or `failed` for odd `n`; content is there
/// for jobs whose `n` is not 2 modulo 4.
fn job_server() -> (std::net::SocketAddr, super::support::Requests) {
    let submitted = Arc::new(Mutex::new(0usize));
    let polls: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    server(move |r: &Seen, _| {
        if r.method == "POST" {
            let mut n = submitted.lock().unwrap();
            let id = format!("job{n}");
            *n += 1;
            return json_ok(&json!({"id": id, "object": "video", "status": "queued"}).to_string());
        }
        let rest = r.path.strip_prefix("/v1/videos/").unwrap_or_default();
        if let Some(id) = rest.strip_suffix("/content") {
            let n: usize = id.trim_start_matches("job").parse().unwrap();
            return if n % 4 == 2 {
                http(
                    "404 Not Found",
                    "application/json",
                    r#"{"detail":"Video not found"}"#,
                )
            } else {
                http("200 OK", "video/mp4", "\0\0\0\x18ftypisom")
            };
        }
        let mut polls = polls.lock().unwrap();
        let seen = polls.entry(rest.to_owned()).or_insert(0);
        *seen += 1;
        let n: usize = rest.trim_start_matches("job").parse().unwrap();
        let body = match (*seen, n % 2) {
            (1, _) => json!({"id": rest, "status": "in_progress", "progress": 50}),
            (_, 0) => json!({"id": rest, "status": "completed", "progress": 100,
                             "inference_time_s": 1.5, "peak_memory_mb": 30000.0}),
            _ => json!({"id": rest, "status": "failed",
                        "error": {"message": "CUDA out of memory"}}),
        };
        json_ok(&body.to_string())
    })
}

/// Against a hand-written server: the submission is a form, every job is polled at its own
/// path until it ends, a failed job is an error with the server's message, a download that
/// fails is an error too; the other requests are measured with the server's figures.
#[test]
fn failed_jobs_and_downloads_are_errors() {
    for download in [false, true] {
        let (addr, seen) = job_server();
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let url = format!("http://{addr}");
        let mut args = vec![
            "-m",
            "wan",
            "-u",
            &url,
            "--endpoint-type",
            "video_generation",
            "--request-count",
            "8",
            "--concurrency",
            "1",
            "--extra-inputs",
            "seconds:4",
        ];
        if download {
            args.push("--download-video-content");
        }
        let output = profile_env(&dir, &args, &[FAST_POLLS]);
        assert!(output.status.success(), "{}", stderr(&output));
        let requests = seen.lock().unwrap().clone();
        // Submit, two polls, and the download of completed jobs when asked.
        assert_eq!(requests.len(), 8 * 3 + if download { 4 } else { 0 });
        for r in requests.iter().filter(|r| r.method == "POST") {
            assert_eq!(r.path, "/v1/videos");
            let names: Vec<String> = r.form().into_iter().map(|(n, _)| n).collect();
            assert_eq!(names, ["prompt", "model", "seconds"]);
            assert_eq!(r.field("seconds").as_deref(), Some("4"));
        }
        for r in requests.iter().filter(|r| r.method == "GET") {
            assert!(
                r.body.is_empty() && r.header("content-type").is_none(),
                "{}",
                r.head
            );
        }
        let summary = read_json(&dir.join("profile_export_aiperf.json"));
        let errors = summary["error_summary"].as_array().unwrap();
        let mut found: Vec<(String, String, u64)> = errors
            .iter()
            .map(|e| {
                (
                    e["error_details"]["type"].as_str().unwrap().to_owned(),
                    e["error_details"]["message"].as_str().unwrap().to_owned(),
                    e["count"].as_u64().unwrap(),
                )
            })
            .collect();
        found.sort();
        let failed = (
            "VideoGenerationError".to_owned(),
            "Video generation failed: CUDA out of memory".to_owned(),
            4,
        );
        if download {
            // Of the completed jobs 0, 2, 4 and 6, the videos of 2 and 6 are missing.
            let missing = ("Not Found".to_owned(), "Video not found".to_owned(), 2);
            assert_eq!(found, [missing, failed], "{errors:?}");
            assert_eq!(summary["request_count"]["avg"], 2.0);
        } else {
            assert_eq!(found, [failed], "{errors:?}");
            assert_eq!(summary["request_count"]["avg"], 4.0);
        }
        assert_eq!(summary["video_inference_time"]["avg"], 1500.0);
        assert_eq!(summary["video_peak_memory"]["avg"], 30000.0);
    }
}

/// A download the server refuses is the request's error, with the server's message.
#[test]
fn a_refused_download_is_an_error() {
    let (addr, _) = server(|r: &Seen, _| {
        if r.method == "POST" {
            json_ok(r#"{"id":"v1","status":"completed"}"#)
        } else {
            http(
                "404 Not Found",
                "application/json",
                r#"{"detail":"Generation is still in-progress"}"#,
            )
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let url = format!("http://{addr}");
    let output = profile_env(
        &dir,
        &[
            "-m",
            "wan",
            "-u",
            &url,
            "--endpoint-type",
            "video_generation",
            "--request-count",
            "2",
            "--download-video-content",
        ],
        &[FAST_POLLS],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    let (kind, message, count) = only_error(&summary);
    assert_eq!((kind.as_str(), count), ("Not Found", 2));
    assert_eq!(message, "Generation is still in-progress");
}

/// A job that never ends is cut off at `--request-timeout-seconds`, submission included.
#[test]
fn a_job_that_never_ends_times_out() {
    let (addr, _) = server(|_, _| json_ok(r#"{"id":"v1","status":"queued"}"#));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let url = format!("http://{addr}");
    let output = profile_env(
        &dir,
        &[
            "-m",
            "wan",
            "-u",
            &url,
            "--endpoint-type",
            "video_generation",
            "--request-count",
            "2",
            "--request-timeout-seconds",
            "0.3",
        ],
        &[FAST_POLLS],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    let (kind, message, count) = only_error(&summary);
    assert_eq!((kind.as_str(), count), ("RequestTimeout", 2), "{message}");
}
