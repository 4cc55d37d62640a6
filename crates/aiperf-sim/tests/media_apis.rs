//! Image generation and edit, NIM object detection, speech to text and video jobs, served
//! in-process and driven by a real HTTP client: the APIs' request and answer shapes, forms
//! parsed, bad requests refused, jobs that complete or fail.

use aiperf_sim::presets::preset;
use aiperf_sim::{SimConfig, SimServer};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

const BOUNDARY: &str = "test-boundary-42";

/// Fixed latency at 1000× speed.
fn fast() -> SimConfig {
    let mut config = preset("fixed").unwrap();
    config.speedup = 1000.0;
    config
}

/// What a request got back: its status, content type and body.
struct Answer {
    status: StatusCode,
    content_type: String,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(
    server: &SimServer,
    method: Method,
    path: &str,
    content_type: &str,
    body: Bytes,
) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http();
    let req = Request::builder()
        .method(method)
        .uri(format!("{}{path}", server.base_url()))
        .header("content-type", content_type)
        .body(Full::new(body))
        .unwrap();
    let res = client.request(req).await.unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        content_type,
        body,
    }
}

async fn post_json(server: &SimServer, path: &str, body: &Value) -> Answer {
    let body = Bytes::from(body.to_string());
    send(server, Method::POST, path, "application/json", body).await
}

async fn post_form(
    server: &SimServer,
    path: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> Answer {
    let mut body = Vec::new();
    for (name, filename, data) in parts {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(f) = filename {
            body.extend_from_slice(
                format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream").as_bytes(),
            );
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
    send(server, Method::POST, path, &content_type, Bytes::from(body)).await
}

async fn get(server: &SimServer, path: &str) -> Answer {
    send(server, Method::GET, path, "application/json", Bytes::new()).await
}

/// A PNG's first bytes, of `w` × `h` pixels.
fn png(w: u32, h: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&[8, 2, 0, 0, 0]);
    b
}

/// `secs` seconds of 16 kHz mono 16-bit silence as WAV.
fn wav(secs: u32) -> Vec<u8> {
    let data = secs * 32_000;
    let mut b = b"RIFF".to_vec();
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt \x10\0\0\0\x01\0\x01\0");
    b.extend_from_slice(&16_000u32.to_le_bytes());
    b.extend_from_slice(&32_000u32.to_le_bytes());
    b.extend_from_slice(b"\x02\0\x10\0data");
    b.extend_from_slice(&data.to_le_bytes());
    b.resize(b.len() + data as usize, 0);
    b
}

#[tokio::test]
async fn images_are_generated_whole_or_streamed() {
    let config = fast();
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let path = "/v1/images/generations";
    let a = post_json(
        &server,
        path,
        &json!({"prompt": "a red fox", "model": model, "response_format": "b64_json", "n": 2,
                "size": "512x512"}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text());
    let v = a.json();
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    let png = base64::engine::general_purpose::STANDARD
        .decode(data[0]["b64_json"].as_str().unwrap())
        .unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    assert_eq!(v["size"], "512x512");
    assert!(v["usage"]["input_tokens"].as_u64().unwrap() > 0);

    let a = post_json(
        &server,
        path,
        &json!({"prompt": "p", "model": model, "response_format": "url"}),
    )
    .await;
    assert!(
        a.json()["data"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with(".png")
    );

    let a = post_json(
        &server,
        path,
        &json!({"prompt": "p", "model": model, "stream": true, "partial_images": 2}),
    )
    .await;
    assert_eq!(a.content_type, "text/event-stream");
    let text = a.text();
    let kinds: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        kinds,
        [
            "image_generation.partial_image",
            "image_generation.partial_image",
            "image_generation.completed"
        ]
    );

    for (body, param) in [
        (json!({"model": model}), "prompt"),
        (
            json!({"prompt": "p", "model": model, "size": "huge"}),
            "size",
        ),
        (json!({"prompt": "p", "model": model, "n": 11}), "n"),
        (
            json!({"prompt": "p", "model": model, "response_format": "png"}),
            "response_format",
        ),
        (json!({"prompt": "p", "model": "nope"}), "model"),
    ] {
        let a = post_json(&server, path, &body).await;
        assert!(a.status.is_client_error(), "{body}: {}", a.text());
        assert_eq!(a.json()["error"]["param"], param, "{body}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn edits_take_the_image_as_a_form_file() {
    let config = fast();
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let path = "/v1/images/edits";
    let image = png(256, 256);
    let a = post_form(
        &server,
        path,
        &[
            ("prompt", None, b"make it blue"),
            ("model", None, model.as_bytes()),
            ("response_format", None, b"b64_json"),
            ("n", None, b"1"),
            ("image", Some("image.png"), &image),
        ],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["data"].as_array().unwrap().len(), 1);

    let missing = post_form(
        &server,
        path,
        &[("prompt", None, b"p"), ("model", None, model.as_bytes())],
    )
    .await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.json()["error"]["param"], "image");
    let not_image = post_form(
        &server,
        path,
        &[
            ("prompt", None, b"p"),
            ("model", None, model.as_bytes()),
            ("image", Some("a.png"), b"text"),
        ],
    )
    .await;
    assert_eq!(not_image.status, 400, "{}", not_image.text());
    let json_body = post_json(&server, path, &json!({"prompt": "p", "model": model})).await;
    assert_eq!(json_body.status, 400);
    assert!(json_body.text().contains("multipart/form-data"));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn object_detection_boxes_each_inline_image() {
    let server = SimServer::start(fast()).await.unwrap();
    let uri = |w, h| {
        format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(png(w, h))
        )
    };
    let a = post_json(
        &server,
        "/v1/infer",
        &json!({"input": [{"type": "image_url", "url": uri(64, 64)},
                          {"type": "image_url", "url": uri(640, 480)}]}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text());
    let data = a.json()["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 2);
    assert_eq!(data[1]["index"], 1);
    assert!(data[0]["bounding_boxes"]["table"].is_array());
    for body in [
        json!({"input": []}),
        json!({"input": [{"type": "image_url", "url": "https://x/cat.png"}]}),
        json!({"input": [{"type": "text", "text": "hi"}]}),
    ] {
        let a = post_json(&server, "/v1/infer", &body).await;
        assert_eq!(a.status, 400, "{body}: {}", a.text());
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn transcripts_of_uploaded_clips() {
    let config = fast();
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let path = "/v1/audio/transcriptions";
    let clip = wav(4);
    let form = |format: &'static [u8]| {
        vec![
            ("file", Some("audio.wav"), clip.as_slice()),
            ("model", None, model.as_bytes()),
            ("response_format", None, format),
        ]
    };
    let a = post_form(&server, path, &form(b"json")).await;
    assert_eq!(a.status, 200, "{}", a.text());
    let v = a.json();
    // About two and a half words a second, the same for the same clip.
    let words = v["text"].as_str().unwrap().split_whitespace().count();
    assert!((5..=10).contains(&words), "{v}");
    assert_eq!(v["usage"], json!({"type": "duration", "seconds": 4}));
    assert_eq!(
        post_form(&server, path, &form(b"json")).await.json()["text"],
        v["text"]
    );
    let a = post_form(&server, path, &form(b"verbose_json")).await;
    assert_eq!(a.json()["duration"], 4.0);
    let a = post_form(&server, path, &form(b"text")).await;
    assert!(a.content_type.starts_with("text/plain"));
    assert_eq!(a.text().trim(), v["text"].as_str().unwrap());
    let a = post_form(&server, path, &form(b"srt")).await;
    assert!(
        a.text().starts_with("1\n00:00:00,000 --> 00:00:04,000\n"),
        "{}",
        a.text()
    );

    let a = post_form(&server, path, &[("model", None, model.as_bytes())]).await;
    assert_eq!(
        (a.status.as_u16(), a.json()["error"]["param"].clone()),
        (400, json!("file"))
    );
    let a = post_form(&server, path, &form(b"mp3")).await;
    assert_eq!(a.status, 400);
    server.shutdown().await.unwrap();
}

/// Polls a job until it is no longer queued or in progress.
async fn settle(server: &SimServer, id: &str) -> Value {
    for _ in 0..500 {
        let v = get(server, &format!("/v1/videos/{id}")).await.json();
        if v["status"] != "queued" && v["status"] != "in_progress" {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("job {id} never ended");
}

#[tokio::test]
async fn video_jobs_run_to_completion_and_download() {
    let mut config = preset("fixed").unwrap();
    config.speedup = 20.0;
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let a = post_form(
        &server,
        "/v1/videos",
        &[
            ("prompt", None, b"a cat surfing"),
            ("model", None, model.as_bytes()),
            ("size", None, b"1024x1024"),
            ("seconds", None, b"2"),
            ("fps", None, b"24"),
        ],
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text());
    let job = a.json();
    assert_eq!(
        (job["status"].clone(), job["object"].clone()),
        (json!("queued"), json!("video"))
    );
    assert_eq!(
        (job["size"].clone(), job["seconds"].clone()),
        (json!("1024x1024"), json!("2"))
    );
    let id = job["id"].as_str().unwrap().to_owned();
    let done = settle(&server, &id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["progress"], 100);
    // 48 frames of a megapixel: 20 ms + 48 × 5 ms, at 20× speed.
    assert_eq!(done["inference_time_s"], 0.013);
    assert!(done["peak_memory_mb"].as_f64().unwrap() > 24_576.0);
    let content = get(&server, &format!("/v1/videos/{id}/content")).await;
    assert_eq!(content.status, 200);
    assert_eq!(content.content_type, "video/mp4");
    assert_eq!(&content.body[4..8], b"ftyp");

    // JSON submissions too, as SGLang takes them.
    let a = post_json(
        &server,
        "/v1/videos",
        &json!({"prompt": "p", "num_frames": 8, "size": "64x64"}),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["model"], json!(model));

    let unknown = get(&server, "/v1/videos/video_nope").await;
    assert_eq!(unknown.status, 404);
    let a = post_json(&server, "/v1/videos", &json!({"model": model})).await;
    assert_eq!(
        (a.status.as_u16(), a.json()["error"]["param"].clone()),
        (400, json!("prompt"))
    );
    let a = post_json(&server, "/v1/videos", &json!({"prompt": "p", "seconds": 0})).await;
    assert_eq!(a.json()["error"]["param"], "seconds");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn injected_faults_fail_video_jobs() {
    let mut config = fast();
    config.faults.malformed_rate = 1.0;
    let server = SimServer::start(config).await.unwrap();
    let a = post_json(
        &server,
        "/v1/videos",
        &json!({"prompt": "p", "num_frames": 4, "size": "64x64"}),
    )
    .await;
    assert_eq!(a.status, 200);
    let id = a.json()["id"].as_str().unwrap().to_owned();
    let ended = settle(&server, &id).await;
    assert_eq!(ended["status"], "failed");
    assert!(
        ended["error"]["message"]
            .as_str()
            .unwrap()
            .contains("failed")
    );
    let content = get(&server, &format!("/v1/videos/{id}/content")).await;
    assert_eq!(content.status, 404);
    server.shutdown().await.unwrap();
}
