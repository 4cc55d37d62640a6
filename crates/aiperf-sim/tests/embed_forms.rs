//! The chat form (vLLM's, for multimodal embedding models) and NVIDIA NIM's form of
//! `/v1/embeddings`, served in-process and driven by a real HTTP client.

use aiperf_sim::presets::preset;
use aiperf_sim::{SimConfig, SimServer};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

/// Fixed latency at 1000× speed.
fn fast() -> SimConfig {
    let mut config = preset("fixed").unwrap();
    config.speedup = 1000.0;
    config
}

async fn post(server: &SimServer, path: &str, body: &Value) -> (StatusCode, Value) {
    let client = Client::builder(TokioExecutor::new()).build_http();
    let req = Request::builder()
        .method("POST")
        .uri(format!("{}{path}", server.base_url()))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let res = client.request(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
    (status, value)
}

fn tokens(text: &str) -> u64 {
    tiktoken_rs::o200k_base_singleton()
        .encode_ordinary(text)
        .len() as u64
}

const IMAGE: &str = "data:image/png;base64,iVBORw0KGgo=";

/// vLLM's chat form: one vector for all the messages, each image part 576 tokens.
#[tokio::test]
async fn chat_messages_are_one_input() {
    let config = fast();
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let chat = json!({
        "model": model,
        "messages": [
            {"role": "system", "content": "Represent the image."},
            {"role": "user", "content": [
                {"type": "text", "text": "a red car"},
                {"type": "image_url", "image_url": {"url": IMAGE}},
            ]},
        ],
        "stream": false,
    });
    let (status, answer) = post(&server, "/v1/embeddings", &chat).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"].as_array().unwrap().len(), 1);
    let text_tokens = tokens("Represent the image.\na red car");
    assert_eq!(answer["usage"]["prompt_tokens"], text_tokens + 576);

    let (status, answer) = post(
        &server,
        "/v1/embeddings",
        &json!({"model": model, "messages": []}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["param"], "messages");
    server.shutdown().await.unwrap();
}

/// NIM's form: an image alone or after its caption counts 576 tokens; NIM's own fields are
/// accepted.
#[tokio::test]
async fn nim_inputs_with_images() {
    let config = fast();
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let nim = json!({
        "model": model,
        "input": ["a red car", format!("a red car {IMAGE}"), IMAGE],
        "input_type": "query",
        "truncate": "END",
    });
    let (status, answer) = post(&server, "/v1/embeddings", &nim).await;
    assert_eq!(status, 200, "{answer}");
    let data = answer["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    assert_ne!(
        data[1]["embedding"], data[2]["embedding"],
        "the caption counts"
    );
    let car = tokens("a red car");
    assert_eq!(answer["usage"]["prompt_tokens"], car + (car + 576) + 576);
    server.shutdown().await.unwrap();
}
