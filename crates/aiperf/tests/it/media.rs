//! Images, audio and video in requests: synthetic (`--image-*`, `--audio-*`, `--video-*`) and
//! from input files, as chat content parts, with their metrics.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use base64::Engine;
use serde_json::Value;

use crate::common::{assert_usage_error, profile, read_lines, stderr};

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The content parts of the first message of every request in `inputs.json`.
fn parts(dir: &Path) -> Vec<Vec<Value>> {
    let inputs = read_json(&dir.join("inputs.json"));
    (inputs["data"].as_array().unwrap().iter())
        .flat_map(|s| s["payloads"].as_array().unwrap().clone())
        .map(|p| p["messages"][0]["content"].as_array().unwrap().clone())
        .collect()
}

fn b64(data: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap()
}

fn ffmpeg_available() -> bool {
    let found = std::process::Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("AIPERF_REQUIRE_FFMPEG").is_err(),
            "AIPERF_REQUIRE_FFMPEG is set but ffmpeg is not on the PATH"
        );
        let _ = writeln!(
            std::io::stderr().lock(),
            "skipped: ffmpeg is not installed (synthetic videos need it)"
        );
    }
    found
}

/// Synthetic images and audio on the simulator: the parts chat servers take, the drawn sizes
/// and formats, the same media for the same seed, the simulator's token cost of each image and
/// second of audio, and the image and audio metrics.
#[test]
fn synthetic_images_and_audio_reach_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let dir = tmp.path().join(name);
        let output = profile(
            &dir,
            &[
                "--sim",
                "fixed",
                "--streaming",
                "--request-count",
                "6",
                "--concurrency",
                "2",
                "--isl",
                "16",
                "--osl",
                "4",
                "--extra-inputs",
                "ignore_eos:true",
                "--random-seed",
                "5",
                "--num-dataset-entries",
                "3",
                "--image-width-mean",
                "280",
                "--image-height-mean",
                "56",
                "--image-batch-size",
                "2",
                "--image-format",
                "jpeg",
                "--audio-length-mean",
                "2",
                "--audio-sample-rates",
                "8",
                "--audio-depths",
                "24",
                "--use-server-token-count",
            ],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        dir
    };
    let dir = run("a");
    let requests = parts(&dir);
    assert_eq!(requests.len(), 3);
    for p in &requests {
        let kinds: Vec<&str> = p.iter().map(|x| x["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["text", "image_url", "image_url", "input_audio"]);
        let url = p[1]["image_url"]["url"].as_str().unwrap();
        let jpeg = b64(url.strip_prefix("data:image/jpeg;base64,").unwrap());
        let img = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((img.width(), img.height()), (280, 56));
        let audio = &p[3]["input_audio"];
        assert_eq!(audio["format"], "wav");
        let wav = b64(audio["data"].as_str().unwrap());
        let spec = hound::WavReader::new(&wav[..]).unwrap().spec();
        assert_eq!((spec.sample_rate, spec.bits_per_sample), (8000, 24));
    }
    // The same seed draws the same media.
    assert_eq!(parts(&run("b")), requests);

    let records = read_lines(&dir.join("profile_export.jsonl"));
    assert_eq!(records.len(), 6);
    for r in &records {
        let m = &r["metrics"];
        // 16 text tokens, 10×2 patches per image, 25 tokens per second of audio.
        assert_eq!(m["input_sequence_length"]["value"], 16 + 2 * 20 + 50, "{m}");
        assert_eq!(m["num_images"]["value"], 2, "{m}");
        assert_eq!(m["audio_duration"]["value"], 2.0, "{m}");
        let latency = m["request_latency"]["value"].as_f64().unwrap();
        let per_image = m["image_latency"]["value"].as_f64().unwrap();
        assert!((per_image - latency / 2.0).abs() < 1e-9, "{m}");
        let rtfx = m["rtfx"]["value"].as_f64().unwrap();
        assert!((rtfx - 2.0 / (latency / 1e3)).abs() < 1e-6 * rtfx, "{m}");
    }
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert_eq!(summary["num_images"]["unit"], "images");
    assert_eq!(summary["image_throughput"]["unit"], "images/sec");
    assert_eq!(summary["rtfx"]["unit"], "ratio");
    let console = std::fs::read_to_string(dir.join("profile_export_console.txt")).unwrap();
    assert!(console.contains("Image Latency (ms/image)"), "{console}");
}

/// Synthetic videos, encoded by FFmpeg, as `video_url` parts.
#[test]
fn synthetic_videos_are_real_webm_and_mp4() {
    if !ffmpeg_available() {
        return;
    }
    for (format, magic) in [("webm", &[0x1A, 0x45, 0xDF, 0xA3][..]), ("mp4", b"ftyp")] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let output = profile(
            &dir,
            &[
                "--sim",
                "fixed",
                "--request-count",
                "2",
                "--isl",
                "8",
                "--osl",
                "2",
                "--num-dataset-entries",
                "2",
                "--video-width",
                "64",
                "--video-height",
                "48",
                "--video-duration",
                "1",
                "--video-fps",
                "4",
                "--video-format",
                format,
                "--video-synth-type",
                "grid-clock",
                "--video-audio-num-channels",
                "1",
            ],
        );
        assert!(output.status.success(), "{format}: {}", stderr(&output));
        for p in parts(&dir) {
            assert_eq!(p[1]["type"], "video_url");
            let url = p[1]["video_url"]["url"].as_str().unwrap();
            let prefix = format!("data:video/{format};base64,");
            let bytes = b64(url.strip_prefix(&prefix).unwrap());
            let found = if format == "mp4" {
                &bytes[4..8]
            } else {
                &bytes[..4]
            };
            assert_eq!(found, magic, "{format}");
        }
    }
}

/// Input files name images, audio and video as URLs, encoded data or local files; files are
/// sent as data URIs, and a row may carry media without text.
#[test]
fn input_file_media_are_sent_as_data_uris() {
    let tmp = tempfile::tempdir().unwrap();
    let png = tmp.path().join("dot.png");
    image::RgbImage::from_pixel(56, 28, image::Rgb([9, 9, 9]))
        .save(&png)
        .unwrap();
    let file = tmp.path().join("rows.jsonl");
    let rows = [
        serde_json::json!({"text": "what is this?", "image": png}),
        serde_json::json!({"images": ["https://example.com/cat.jpg"], "audio": "wav,UklGRg=="}),
    ];
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let dir = tmp.path().join("run");
    let output = profile(
        &dir,
        &[
            "--sim",
            "fixed",
            "--request-count",
            "2",
            "--osl",
            "2",
            "--input-file",
            file.to_str().unwrap(),
            "--custom-dataset-type",
            "single_turn",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let requests = parts(&dir);
    let url = requests[0][1]["image_url"]["url"].as_str().unwrap();
    let img =
        image::load_from_memory(&b64(url.strip_prefix("data:image/png;base64,").unwrap())).unwrap();
    assert_eq!((img.width(), img.height()), (56, 28));
    assert_eq!(
        requests[1][0]["image_url"]["url"],
        "https://example.com/cat.jpg"
    );
    assert_eq!(
        requests[1][1]["input_audio"],
        serde_json::json!({"data": "UklGRg==", "format": "wav"})
    );
    let records = read_lines(&dir.join("profile_export.jsonl"));
    assert!(
        records
            .iter()
            .all(|r| r["metrics"]["num_images"]["value"] == 1)
    );
}

/// A server that refuses every request with a 400 naming the image.
fn refusing_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                if crate::common::read_http_request(&mut stream).is_none() {
                    return;
                }
                let body = r#"{"error":{"message":"image exceeds the model's 1024 tokens per image","type":"BadRequestError","code":400}}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    addr
}

/// A server refusing the images: every request is an error with the server's message, and
/// the run still writes its artifacts.
#[test]
fn refused_images_are_errors_with_the_servers_message() {
    let addr = refusing_server();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let url = format!("http://{addr}");
    let output = profile(
        &dir,
        &[
            "-m",
            "vlm",
            "-u",
            &url,
            "--request-count",
            "3",
            "--isl",
            "8",
            "--image-width-mean",
            "32",
            "--image-height-mean",
            "32",
            "--tokenizer",
            "builtin",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let records = read_lines(&dir.join("profile_export.jsonl"));
    assert_eq!(records.len(), 3);
    for r in &records {
        let e = &r["error"];
        assert_eq!(e["code"], 400, "{r}");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("1024 tokens per image"),
            "{r}"
        );
    }
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert_eq!(summary["error_request_count"]["avg"], 3.0);
}

#[test]
fn bad_media_flags_are_usage_errors() {
    let base = ["profile", "--sim", "--request-count", "1"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        base.iter().chain(extra).copied().collect()
    };
    assert_usage_error(&with(&["--image-width-mean", "64"]), "--image-height-mean");
    assert_usage_error(
        &with(&[
            "--audio-length-mean",
            "1",
            "--audio-format",
            "mp3",
            "--audio-sample-rates",
            "7",
        ]),
        "MP3 takes",
    );
    assert_usage_error(
        &with(&["--audio-length-mean", "1", "--audio-depths", "12"]),
        "--audio-depths 12",
    );
    assert_usage_error(&with(&["--video-width", "64"]), "--video-height");
    assert_usage_error(
        &with(&[
            "--image-width-mean",
            "8",
            "--image-height-mean",
            "8",
            "--image-source",
            "/no/dir",
        ]),
        "--image-source /no/dir",
    );
    assert_usage_error(&with(&["--image-format", "gif"]), "--image-format");
}

/// Without FFmpeg on the PATH, asking for videos says what to install.
#[test]
fn videos_without_ffmpeg_say_what_to_install() {
    let empty = tempfile::tempdir().unwrap();
    let output = crate::common::aiperf()
        .env("PATH", empty.path())
        .args([
            "profile",
            "--sim",
            "--request-count",
            "1",
            "--video-width",
            "64",
            "--video-height",
            "48",
        ])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("FFmpeg") && err.contains("apt install ffmpeg"),
        "{err}"
    );
}
