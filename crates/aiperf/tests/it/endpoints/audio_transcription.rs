//! `--endpoint-type audio_transcription`: OpenAI's `/v1/audio/transcriptions`, a form with the
//! clip uploaded.

use serde_json::json;

use super::support::{http, json_ok, only_error, read_json, server};
use crate::common::{assert_usage_error, profile, read_lines, stderr};

/// On the simulator (which reads the WAV header for the clip's length): clips are uploaded as
/// `file` with the model; JSON and plain-text transcripts are read; the audio duration and
/// RTFx are measured, no input or output lengths.
#[test]
fn clips_are_transcribed_by_the_simulator() {
    for format in ["json", "text"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let extra = format!("response_format:{format}");
        let output = profile(
            &dir,
            &[
                "--sim",
                "fixed",
                "--endpoint-type",
                "audio_transcription",
                "--request-count",
                "4",
                "--concurrency",
                "2",
                "--audio-length-mean",
                "2",
                "--extra-inputs",
                &extra,
                "--export-level",
                "raw",
            ],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        let config = read_json(&dir.join("run_config.json"));
        assert_eq!(
            config["aiperf_config"]["endpoint"]["path"],
            "/v1/audio/transcriptions"
        );
        for r in read_lines(&dir.join("profile_export_raw.jsonl")) {
            let payload = r["payload"].as_object().unwrap();
            let keys: Vec<&str> = payload.keys().map(String::as_str).collect();
            assert_eq!(keys, ["file", "model", "response_format"], "{payload:?}");
            let file = &payload["file"];
            assert_eq!(
                (&file["filename"], &file["content_type"]),
                (&json!("audio.wav"), &json!("audio/wav"))
            );
            assert!(file["b64_data"].as_str().unwrap().starts_with("UklGR"));
            let text = r["responses"][0]["text"].as_str().unwrap();
            assert_eq!(
                text.trim_start().starts_with('{'),
                format == "json",
                "{text}"
            );
        }
        for r in read_lines(&dir.join("profile_export.jsonl")) {
            assert!(r.get("error").is_none(), "{r}");
            let m = &r["metrics"];
            assert_eq!(m["audio_duration"]["value"], 2.0, "{m}");
            let latency_s = m["request_latency"]["value"].as_f64().unwrap() / 1e3;
            let rtfx = m["rtfx"]["value"].as_f64().unwrap();
            assert!((rtfx - 2.0 / latency_s).abs() < 1e-6 * rtfx, "{m}");
            for absent in [
                "input_sequence_length",
                "output_sequence_length",
                "num_images",
            ] {
                assert!(m.get(absent).is_none(), "{absent}: {m}");
            }
        }
        let summary = read_json(&dir.join("profile_export_aiperf.json"));
        assert_eq!(summary["audio_duration"]["avg"], 2.0);
        assert!(summary.get("rtfx").is_some());
        assert!(summary.get("input_token_throughput").is_none());
    }
}

/// On the wire: a form whose `file` part is the clip's bytes. A server error or an answer
/// without a transcript is an error record; the good answers around them are measured.
#[test]
fn the_form_on_the_wire_and_bad_answers() {
    let good = json_ok(r#"{"text":"hello there"}"#);
    for (bad, kind, needle) in [
        (
            json_ok(r#"{"transcript":"hi"}"#),
            "InvalidResponse",
            "no text",
        ),
        (
            http(
                "400 Bad Request",
                "application/json",
                r#"{"error":{"message":"Invalid file format. Supported formats: ['flac', 'mp3', 'wav']","type":"invalid_request_error","param":"file"}}"#,
            ),
            "Bad Request",
            "Invalid file format",
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
                "whisper-1",
                "-u",
                &url,
                "--endpoint-type",
                "audio_transcription",
                "--request-count",
                "4",
                "--audio-length-mean",
                "0.5",
                "--extra-inputs",
                "language:en",
            ],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        for r in seen.lock().unwrap().iter() {
            assert_eq!(r.path, "/v1/audio/transcriptions");
            let form = r.form();
            let names: Vec<&str> = form.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["file", "model", "language"]);
            let file = &form[0].1;
            assert_eq!(file.filename.as_deref(), Some("audio.wav"));
            assert_eq!(file.content_type.as_deref(), Some("audio/wav"));
            assert!(
                file.data.starts_with(b"RIFF"),
                "the clip's bytes, not base64"
            );
            assert_eq!(r.field("model").as_deref(), Some("whisper-1"));
        }
        let summary = read_json(&dir.join("profile_export_aiperf.json"));
        assert_eq!(summary["request_count"]["avg"], 2.0);
        let (error_type, message, count) = only_error(&summary);
        assert_eq!((error_type.as_str(), count), (kind, 2), "{message}");
        assert!(message.contains(needle), "{message}");
    }
}

#[test]
fn audio_is_required() {
    assert_usage_error(
        &[
            "profile",
            "--sim",
            "fixed",
            "--endpoint-type",
            "audio_transcription",
        ],
        "--audio-length-mean",
    );
}
