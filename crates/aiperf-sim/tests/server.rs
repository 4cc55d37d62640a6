//! The simulator served in-process on `127.0.0.1:0` and driven by a real HTTP client.

use std::time::Duration;

use aiperf_openai::chat::{ChatCompletion, ChatCompletionChunk};
use aiperf_openai::completions::Completion;
use aiperf_openai::sse::{SseDecoder, SseEvent};
use aiperf_openai::{ErrorBody, FinishReason, ModelList};
use aiperf_sim::presets::preset;
use aiperf_sim::{SimConfig, SimServer, Timing};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A fast configuration: fixed latency at 1000× speed (20 µs TTFT, 5 µs per token).
fn fast(name: &str) -> SimConfig {
    let mut config = preset(name).unwrap();
    config.speedup = 1000.0;
    config
}

struct Reply {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Reply {
    fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&self.body));
        })
    }
}

async fn send(client: &HttpClient, method: &str, url: String, body: Option<Value>) -> Reply {
    let req = Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(Full::new(
            body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string())),
        ))
        .unwrap();
    let res = client.request(req).await.unwrap();
    let (parts, body) = res.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

async fn post(server: &SimServer, path: &str, body: Value) -> Reply {
    send(
        &client(),
        "POST",
        format!("{}{path}", server.base_url()),
        Some(body),
    )
    .await
}

async fn get(server: &SimServer, path: &str) -> Reply {
    send(
        &client(),
        "GET",
        format!("{}{path}", server.base_url()),
        None,
    )
    .await
}

/// A streamed response: its events, and whether the stream ended cleanly.
struct Stream {
    events: Vec<SseEvent>,
    clean_end: bool,
}

async fn stream(client: &HttpClient, url: String, body: Value) -> Stream {
    let req = Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let res = client.request(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    let mut body = res.into_body();
    let mut decoder = SseDecoder::new();
    let mut events = Vec::new();
    let clean_end = loop {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    decoder.feed(&data);
                    while let Some(e) = decoder.next_event().unwrap() {
                        events.push(e);
                    }
                }
            }
            Some(Err(_)) => break false,
            None => break decoder.finish().is_ok(),
        }
    };
    Stream { events, clean_end }
}

fn chat(model: &str, prompt: &str, extra: Value) -> Value {
    let mut body = json!({
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
    });
    let Value::Object(extra) = extra else {
        panic!("extra fields must be an object")
    };
    body.as_object_mut().unwrap().extend(extra);
    body
}

fn count_tokens(text: &str) -> usize {
    tiktoken_rs::o200k_base_singleton()
        .encode_ordinary(text)
        .len()
}

const PROMPT: &str = "Tell me a story about a benchmark that never lied.";

#[tokio::test]
async fn streamed_chat_looks_like_vllm() {
    let config = fast("fixed");
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let url = format!("{}/v1/chat/completions", server.base_url());
    let body = chat(
        &model,
        PROMPT,
        json!({"stream": true, "stream_options": {"include_usage": true},
               "max_tokens": 12, "ignore_eos": true}),
    );
    let s = stream(&client(), url, body).await;
    assert!(s.clean_end);
    let n = s.events.len();
    assert!(s.events[n - 1].is_done());
    let chunks: Vec<ChatCompletionChunk> = s.events[..n - 1]
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect();
    // role chunk, 12 content chunks, finish chunk, usage chunk
    assert_eq!(chunks.len(), 15);
    let role = &chunks[0].choices[0];
    assert_eq!(role.delta.role.as_deref(), Some("assistant"));
    assert_eq!(role.delta.content.as_deref(), Some(""));
    assert!(chunks.iter().all(|c| c.object == "chat.completion.chunk"));
    assert!(
        chunks
            .iter()
            .all(|c| c.id == chunks[0].id && c.model == model)
    );
    let text: String = chunks[1..13]
        .iter()
        .map(|c| c.choices[0].delta.content.clone().unwrap())
        .collect();
    assert!(
        chunks[1..13]
            .iter()
            .all(|c| c.choices[0].finish_reason.is_none())
    );
    let finish = &chunks[13].choices[0];
    assert_eq!(finish.finish_reason, Some(FinishReason::Length));
    let usage = chunks[14].usage.unwrap();
    assert!(chunks[14].choices.is_empty());
    assert_eq!(usage.completion_tokens, 12);
    assert_eq!(usage.prompt_tokens as usize, count_tokens(PROMPT));
    assert_eq!(usage.total_tokens, usage.prompt_tokens + 12);
    // The text re-tokenizes to exactly the reported count.
    assert_eq!(count_tokens(&text), 12);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn stream_without_include_usage_has_no_usage_chunk() {
    let config = fast("fixed");
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let body = chat(
        &model,
        PROMPT,
        json!({"stream": true, "max_tokens": 3, "ignore_eos": true}),
    );
    let s = stream(
        &client(),
        format!("{}/v1/chat/completions", server.base_url()),
        body,
    )
    .await;
    assert_eq!(s.events.len(), 1 + 3 + 1 + 1);
    assert!(s.events.iter().all(|e| !e.data.contains("\"usage\"")));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn non_streaming_chat_and_completions() {
    let config = fast("fixed");
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();

    let reply = post(
        &server,
        "/v1/chat/completions",
        chat(
            &model,
            PROMPT,
            json!({"max_completion_tokens": 40, "ignore_eos": true}),
        ),
    )
    .await;
    assert_eq!(reply.status, 200);
    let c: ChatCompletion = reply.json();
    assert_eq!(c.object, "chat.completion");
    let usage = c.usage.unwrap();
    assert_eq!(usage.completion_tokens, 40);
    let content = c.choices[0].message.content.clone().unwrap();
    assert_eq!(count_tokens(&content), 40);
    assert_eq!(c.choices[0].finish_reason, Some(FinishReason::Length));

    let reply = post(
        &server,
        "/v1/completions",
        json!({"model": model, "prompt": PROMPT, "max_tokens": 9, "ignore_eos": true}),
    )
    .await;
    let c: Completion = reply.json();
    assert_eq!(c.object, "text_completion");
    assert_eq!(count_tokens(&c.choices[0].text), 9);
    assert_eq!(
        c.usage.unwrap().prompt_tokens as usize,
        count_tokens(PROMPT)
    );

    // Token-id prompts count one token per id.
    let reply = post(
        &server,
        "/v1/completions",
        json!({"model": model, "prompt": [1, 2, 3, 4, 5], "max_tokens": 2}),
    )
    .await;
    assert_eq!(reply.json::<Completion>().usage.unwrap().prompt_tokens, 5);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn streamed_completions() {
    let config = fast("fixed");
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let body = json!({"model": model, "prompt": PROMPT, "max_tokens": 5, "ignore_eos": true,
                      "stream": true, "stream_options": {"include_usage": true}});
    let s = stream(
        &client(),
        format!("{}/v1/completions", server.base_url()),
        body,
    )
    .await;
    let chunks: Vec<Completion> = s.events[..s.events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect();
    // 5 text chunks, finish chunk, usage chunk: no role chunk on this API.
    assert_eq!(chunks.len(), 7);
    let text: String = chunks[..5]
        .iter()
        .map(|c| c.choices[0].text.clone())
        .collect();
    assert_eq!(count_tokens(&text), 5);
    assert_eq!(
        chunks[5].choices[0].finish_reason,
        Some(FinishReason::Length)
    );
    assert_eq!(chunks[6].usage.unwrap().completion_tokens, 5);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn output_without_ignore_eos_is_seeded_and_capped() {
    let mut config = fast("fixed");
    config.output.mean_tokens = 30;
    config.output.stddev_tokens = 10;
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let ask = |prompt: &str, cap: u64| chat(&model, prompt, json!({"max_tokens": cap}));
    let a: ChatCompletion = post(&server, "/v1/chat/completions", ask("same prompt", 1000))
        .await
        .json();
    let b: ChatCompletion = post(&server, "/v1/chat/completions", ask("same prompt", 1000))
        .await
        .json();
    assert_eq!(a.choices[0].message.content, b.choices[0].message.content);
    assert_eq!(a.choices[0].finish_reason, Some(FinishReason::Stop));
    let capped: ChatCompletion = post(&server, "/v1/chat/completions", ask("same prompt", 3))
        .await
        .json();
    assert_eq!(capped.usage.unwrap().completion_tokens, 3);
    assert_eq!(capped.choices[0].finish_reason, Some(FinishReason::Length));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn reasoning_tokens_come_first() {
    let mut config = fast("fixed");
    config.output.reasoning_ratio = 0.5;
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let body = chat(
        &model,
        PROMPT,
        json!({"stream": true, "max_tokens": 8, "ignore_eos": true,
                                           "stream_options": {"include_usage": true}}),
    );
    let s = stream(
        &client(),
        format!("{}/v1/chat/completions", server.base_url()),
        body,
    )
    .await;
    let chunks: Vec<ChatCompletionChunk> = s.events[..s.events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect();
    let kinds: Vec<&str> = chunks[1..9]
        .iter()
        .map(|c| {
            let d = &c.choices[0].delta;
            match (&d.reasoning_content, &d.content) {
                (Some(_), None) => "r",
                (None, Some(_)) => "c",
                _ => "?",
            }
        })
        .collect();
    assert_eq!(kinds.concat(), "rrrrcccc");
    let usage = chunks.last().unwrap().usage.unwrap();
    assert_eq!((usage.completion_tokens, usage.reasoning_tokens()), (8, 4));

    let reply: ChatCompletion = post(
        &server,
        "/v1/chat/completions",
        chat(&model, PROMPT, json!({"max_tokens": 8, "ignore_eos": true})),
    )
    .await
    .json();
    let message = &reply.choices[0].message;
    assert_eq!(
        count_tokens(message.reasoning_content.as_deref().unwrap()),
        4
    );
    assert_eq!(count_tokens(message.content.as_deref().unwrap()), 4);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn models_health_version_and_metrics() {
    let mut config = fast("fixed");
    config.served_models = vec!["a".into(), "b".into()];
    let server = SimServer::start(config).await.unwrap();
    let health = get(&server, "/health").await;
    assert_eq!(health.status, 200);
    let models: ModelList = get(&server, "/v1/models").await.json();
    let ids: Vec<_> = models.data.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
    assert_eq!(models.data[0].max_model_len, Some(131_072));
    assert_eq!(get(&server, "/version").await.status, 200);

    for _ in 0..3 {
        let r = post(
            &server,
            "/v1/chat/completions",
            chat("b", PROMPT, json!({"max_tokens": 4, "ignore_eos": true})),
        )
        .await;
        assert_eq!(r.status, 200);
    }
    let metrics = get(&server, "/metrics").await;
    assert!(
        metrics.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = String::from_utf8(metrics.body.to_vec()).unwrap();
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value("vllm:generation_tokens_total{"), 12.0);
    assert_eq!(
        value("vllm:prompt_tokens_total{"),
        3.0 * count_tokens(PROMPT) as f64
    );
    assert_eq!(
        value(
            "vllm:request_success_total{engine=\"0\",model_name=\"a\",finished_reason=\"length\"}"
        ),
        3.0
    );
    assert_eq!(value("vllm:num_requests_running{"), 0.0);
    assert_eq!(value("vllm:time_to_first_token_seconds_count{"), 3.0);
    assert_eq!(value("vllm:inter_token_latency_seconds_count{"), 9.0);
    for name in [
        "vllm:num_requests_waiting",
        "vllm:gpu_cache_usage_perc",
        "vllm:kv_cache_usage_perc",
        "vllm:e2e_request_latency_seconds_bucket",
        "vllm:request_queue_time_seconds_count",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn bad_requests_get_openai_errors() {
    let config = fast("fixed");
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let cases: Vec<(&str, Value, u16, &str, Option<&str>)> = vec![
        (
            "/v1/chat/completions",
            chat("no-such-model", "hi", json!({})),
            404,
            "does not exist",
            Some("model"),
        ),
        (
            "/v1/chat/completions",
            json!({"model": model}),
            400,
            "missing field `messages`",
            Some("messages"),
        ),
        (
            "/v1/chat/completions",
            json!({"model": model, "messages": []}),
            400,
            "must not be empty",
            Some("messages"),
        ),
        (
            "/v1/chat/completions",
            chat(&model, "hi", json!({"n": 2})),
            400,
            "n=2",
            Some("n"),
        ),
        (
            "/v1/chat/completions",
            chat(&model, "hi", json!({"logprobs": true})),
            400,
            "logprobs",
            Some("logprobs"),
        ),
        (
            "/v1/chat/completions",
            chat(&model, "hi", json!({"max_tokens": 0})),
            400,
            "at least 1",
            Some("max_tokens"),
        ),
        (
            "/v1/chat/completions",
            chat(&model, "hi", json!({"max_tokens": -5})),
            400,
            "max_tokens: invalid value",
            Some("max_tokens"),
        ),
        (
            "/v1/chat/completions",
            json!({"model": model, "messages": [{"content": "x"}]}),
            400,
            "missing field `role`",
            Some("messages[0].role"),
        ),
        (
            "/v1/chat/completions",
            chat(&model, "hi", json!({"max_tokens": 200_000})),
            400,
            "maximum context length",
            Some("max_tokens"),
        ),
        (
            "/v1/chat/completions",
            chat(&model, "hi", json!({"max_tokens": 5, "min_tokens": 6})),
            400,
            "min_tokens",
            Some("min_tokens"),
        ),
        (
            "/v1/completions",
            json!({"model": model, "prompt": ["a", "b"]}),
            400,
            "batched prompts",
            Some("prompt"),
        ),
        (
            "/v1/completions",
            json!({"model": model, "prompt": "x", "echo": true}),
            400,
            "echo",
            Some("echo"),
        ),
        (
            "/v1/completions",
            json!({"model": model, "prompt": "x", "best_of": 3}),
            400,
            "best_of",
            Some("best_of"),
        ),
        (
            "/v1/chat/completions",
            chat(
                &model,
                "hi",
                json!({"tools": [], "tool_choice": "required"}),
            ),
            400,
            "tool_choice",
            Some("tool_choice"),
        ),
        (
            "/v1/chat/completions",
            chat(
                &model,
                "hi",
                json!({"response_format": {"type": "json_schema", "json_schema": {}}}),
            ),
            400,
            "response_format",
            Some("response_format"),
        ),
        (
            "/v1/completions",
            json!({"model": model, "prompt": "x", "guided_json": {"type": "object"}}),
            400,
            "structured output",
            Some("guided_json"),
        ),
    ];
    for (path, body, status, needle, param) in cases {
        let reply = post(&server, path, body.clone()).await;
        assert_eq!(reply.status.as_u16(), status, "{body}");
        let err: ErrorBody = reply.json();
        assert!(
            err.error.message.contains(needle),
            "{body}: {}",
            err.error.message
        );
        assert_eq!(err.error.param.as_deref(), param, "{body}");
        assert_eq!(err.error.code, Some(json!(status)));
    }

    let client = client();
    let raw = |body: &'static str| {
        let req = Request::post(format!("{}/v1/chat/completions", server.base_url()))
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .unwrap();
        client.request(req)
    };
    for (body, param) in [
        ("{not json", None),
        ("", None),
        ("[1,2]", None),
        ("{\"model\": 5}", Some("model")),
    ] {
        let res = raw(body).await.unwrap();
        assert_eq!(res.status(), 400, "{body:?}");
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let err: ErrorBody = serde_json::from_slice(&bytes).unwrap();
        assert!(
            err.error.message.starts_with("invalid request body"),
            "{}",
            err.error.message
        );
        assert_eq!(err.error.param.as_deref(), param, "{body:?}");
    }
    // Offering tools is fine (the answer is text, as a real model may choose).
    let offered = chat(
        &model,
        "hi",
        json!({"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "auto",
               "response_format": {"type": "text"}}),
    );
    assert_eq!(
        post(&server, "/v1/chat/completions", offered).await.status,
        200
    );
    assert_eq!(get(&server, "/v1/chat/completions").await.status, 405);
    let missing = get(&server, "/v2/nothing").await;
    assert_eq!(missing.status, 404);
    let _: ErrorBody = missing.json();
    // The server is still fine after all that.
    assert_eq!(get(&server, "/health").await.status, 200);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn injected_http_errors_carry_retry_after() {
    let mut config = fast("fixed");
    config.faults.error_rate = 1.0;
    config.faults.error_statuses = vec![429];
    config.faults.retry_after_secs = 7;
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let reply = post(
        &server,
        "/v1/chat/completions",
        chat(&model, "hi", json!({"stream": true})),
    )
    .await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.headers["retry-after"], "7");
    assert_eq!(reply.json::<ErrorBody>().error.kind, "RateLimitError");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn injected_disconnects_cut_the_stream() {
    let mut config = fast("fixed");
    config.faults.disconnect_rate = 1.0;
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let url = format!("{}/v1/chat/completions", server.base_url());
    for _ in 0..5 {
        let body = chat(
            &model,
            "hi",
            json!({"stream": true, "max_tokens": 20, "ignore_eos": true}),
        );
        let s = stream(&client(), url.clone(), body).await;
        assert!(!s.clean_end, "the connection must drop");
        assert!(s.events.iter().all(|e| !e.is_done()));
        // Cut before the 20th token at the latest.
        assert!(s.events.len() <= 20);
    }
    // Non-streaming: the connection drops before the response is complete.
    let req = Request::post(url)
        .body(Full::new(Bytes::from(
            chat(&model, "hi", json!({"max_tokens": 3})).to_string(),
        )))
        .unwrap();
    match client().request(req).await {
        Err(e) => assert!(
            e.is_connect() || format!("{e:?}").contains("IncompleteMessage"),
            "{e:?}"
        ),
        Ok(res) => assert!(res.into_body().collect().await.is_err()),
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn injected_malformed_chunk_is_invalid_json_in_valid_sse() {
    let mut config = fast("fixed");
    config.faults.malformed_rate = 1.0;
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let body = chat(
        &model,
        "hi",
        json!({"stream": true, "max_tokens": 10, "ignore_eos": true}),
    );
    let s = stream(
        &client(),
        format!("{}/v1/chat/completions", server.base_url()),
        body,
    )
    .await;
    assert!(s.clean_end);
    assert!(s.events.last().unwrap().is_done());
    let bad = s
        .events
        .iter()
        .filter(|e| !e.is_done() && serde_json::from_str::<Value>(&e.data).is_err())
        .count();
    assert_eq!(bad, 1);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn request_records_hold_the_servers_own_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("requests.jsonl");
    let mut config = fast("fixed");
    config.record_requests = Some(path.clone());
    config.faults.stall_rate = 0.5;
    config.faults.stall = Duration::from_millis(1);
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let url = format!("{}/v1/chat/completions", server.base_url());
    for i in 0..6 {
        let body = chat(
            &model,
            "hi",
            json!({"stream": i % 2 == 0, "max_tokens": 5, "ignore_eos": true}),
        );
        if i % 2 == 0 {
            assert!(stream(&client(), url.clone(), body).await.clean_end);
        } else {
            assert_eq!(
                post(&server, "/v1/chat/completions", body).await.status,
                200
            );
        }
    }
    // A client that leaves early.
    let req = Request::post(url)
        .body(Full::new(Bytes::from(
            chat(
                &model,
                "hi",
                json!({"stream": true, "max_tokens": 100_000, "ignore_eos": true}),
            )
            .to_string(),
        )))
        .unwrap();
    let res = client().request(req).await.unwrap();
    let mut body = res.into_body();
    body.frame().await.unwrap().unwrap();
    drop(body);
    server.shutdown().await.unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 7);
    let completed: Vec<&Value> = records
        .iter()
        .filter(|r| r["ending"] == "completed")
        .collect();
    assert_eq!(completed.len(), 6);
    for r in &completed {
        let ns = |k: &str| r[k].as_u64().unwrap();
        assert!(ns("arrival_ns") <= ns("first_token_ns"));
        assert!(ns("first_token_ns") <= ns("last_token_ns"));
        assert!(ns("last_token_ns") <= ns("end_ns"));
        assert_eq!(r["tokens_sent"], 5);
        assert_eq!(r["completion_tokens"], 5);
        assert_eq!(r["status"], 200);
    }
    assert!(completed.iter().any(|r| r["fault"] == "stall"));
    let gone: Vec<&Value> = records
        .iter()
        .filter(|r| r["ending"] == "client_gone")
        .collect();
    assert_eq!(gone.len(), 1);
    assert!(gone[0]["tokens_sent"].as_u64().unwrap() < 100_000);
}

#[tokio::test]
async fn engine_preset_serves_concurrent_requests_exactly() {
    let mut config = preset("small").unwrap();
    config.speedup = 20.0;
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let client = client();
    let url = format!("{}/v1/chat/completions", server.base_url());
    let tasks: Vec<_> = (0..32u64)
        .map(|i| {
            let body = chat(
                &model,
                &format!("request {i} {PROMPT}"),
                json!({"stream": true, "max_tokens": 10 + i, "ignore_eos": true}),
            );
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move { (i, stream(&client, url, body).await) })
        })
        .collect();
    for task in tasks {
        let (i, s) = task.await.unwrap();
        assert!(s.clean_end);
        // role + tokens + finish + [DONE]
        assert_eq!(s.events.len() as u64, 1 + (10 + i) + 1 + 1);
    }
    let text = String::from_utf8(get(&server, "/metrics").await.body.to_vec()).unwrap();
    let expected: u64 = (0..32).map(|i| 10 + i).sum();
    assert!(text.contains(&format!(
        "vllm:generation_tokens_total{{engine=\"0\",model_name=\"{model}\"}} {expected}"
    )));
    assert!(text.contains(&format!(
        "vllm:request_queue_time_seconds_count{{engine=\"0\",model_name=\"{model}\"}} 32"
    )));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn http2_prior_knowledge_works() {
    let config = fast("zero");
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http();
    let body = chat(
        &model,
        PROMPT,
        json!({"stream": true, "max_tokens": 4, "ignore_eos": true}),
    );
    let s = stream(
        &client,
        format!("{}/v1/chat/completions", server.base_url()),
        body,
    )
    .await;
    assert!(s.clean_end);
    assert!(s.events.last().unwrap().is_done());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_lets_in_flight_streams_finish() {
    let mut config = preset("fixed").unwrap();
    config.timing = Timing::Fixed {
        ttft: Duration::from_millis(5),
        itl: Duration::from_millis(2),
    };
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let url = format!("{}/v1/chat/completions", server.base_url());
    let client = client();
    let req = Request::post(url)
        .body(Full::new(Bytes::from(
            chat(
                &model,
                "hi",
                json!({"stream": true, "max_tokens": 50, "ignore_eos": true}),
            )
            .to_string(),
        )))
        .unwrap();
    let res = client.request(req).await.unwrap();
    let (shutdown, body) = tokio::join!(server.shutdown(), res.into_body().collect());
    shutdown.unwrap();
    let bytes = body.unwrap().to_bytes();
    let events = aiperf_openai::sse::decode_all(&bytes).unwrap();
    assert!(
        events.last().unwrap().is_done(),
        "the stream was completed, not cut"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_streams() {
    // Client and server share this process: 2 descriptors per connection.
    let _ = rlimit::increase_nofile_limit(8192);
    let mut config = preset("small").unwrap();
    config.speedup = 10.0;
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let client = client();
    let url = format!("{}/v1/chat/completions", server.base_url());
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let body = chat(
                &model,
                &format!("{i}: {PROMPT}"),
                json!({"stream": true, "max_tokens": 32, "ignore_eos": true}),
            );
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move { stream(&client, url, body).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        let s = task.await.unwrap();
        assert!(s.clean_end);
        assert_eq!(s.events.len(), 1 + 32 + 1 + 1);
        ok += 1;
    }
    assert_eq!(ok, 1000);
    let text = String::from_utf8(get(&server, "/metrics").await.body.to_vec()).unwrap();
    assert!(text.contains(&format!(
        "vllm:generation_tokens_total{{engine=\"0\",model_name=\"{model}\"}} 32000"
    )));
    server.shutdown().await.unwrap();
}

/// A small seeded generator (xorshift64*), so the mutated bodies are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

#[tokio::test]
async fn mutated_requests_get_an_answer_or_an_openai_error_never_a_crash() {
    let config = fast("fixed");
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let client = client();
    let fields = [
        "model",
        "messages",
        "prompt",
        "max_tokens",
        "max_completion_tokens",
        "min_tokens",
        "ignore_eos",
        "stream",
        "stream_options",
        "n",
        "seed",
        "temperature",
        "logprobs",
        "tool_choice",
        "response_format",
    ];
    let values = [
        json!(null),
        json!(true),
        json!(-1),
        json!(0),
        json!(1),
        json!(7),
        json!(1e12),
        json!(2.5),
        json!(""),
        json!("7"),
        json!(model),
        json!([]),
        json!({}),
        json!([{"role": "user"}]),
        json!([{"role": "user", "content": [{"type": "text", "text": "hi"}]}]),
        json!([{"role": "system", "content": "x"}, {"role": "user", "content": null}]),
        json!({"include_usage": "yes"}),
        json!({"type": "text"}),
        json!([1, 2, 3]),
        json!("\u{0}\u{fffd}é"),
    ];
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut answered, mut refused) = (0, 0);
    for i in 0..600 {
        let path = *rng.pick(&["/v1/chat/completions", "/v1/completions"]);
        let mut body = if path == "/v1/completions" {
            json!({"model": model, "prompt": "Say something.", "max_tokens": 4})
        } else {
            chat(&model, PROMPT, json!({"max_tokens": 4}))
        };
        for _ in 0..=rng.next() % 3 {
            let field = *rng.pick(&fields);
            let value = rng.pick(&values).clone();
            if rng.next().is_multiple_of(5) {
                body.as_object_mut().unwrap().remove(field);
            } else {
                body[field] = value;
            }
        }
        let mut bytes = body.to_string().into_bytes();
        // One in five bodies is also damaged as bytes: cut short or with one byte changed.
        match rng.next() % 10 {
            0 => bytes.truncate((rng.next() % bytes.len() as u64) as usize),
            1 => {
                let at = (rng.next() % bytes.len() as u64) as usize;
                bytes[at] = (rng.next() % 256) as u8;
            }
            _ => {}
        }
        let req = Request::post(format!("{}{path}", server.base_url()))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(bytes.clone())))
            .unwrap();
        let res = client.request(req).await.unwrap();
        let status = res.status();
        let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
        let reply = res.into_body().collect().await.unwrap().to_bytes();
        let sent = String::from_utf8_lossy(&bytes);
        let got = String::from_utf8_lossy(&reply);
        match status.as_u16() {
            200 if content_type.starts_with("text/event-stream") => {
                let mut decoder = SseDecoder::new();
                decoder.feed(&reply);
                let mut last = None;
                while let Some(e) = decoder.next_event().unwrap() {
                    last = Some(e.data);
                }
                decoder.finish().unwrap();
                assert_eq!(last.as_deref(), Some("[DONE]"), "#{i} {sent} -> {got}");
                answered += 1;
            }
            200 => {
                let value: Value = serde_json::from_slice(&reply).unwrap();
                assert!(value["usage"]["completion_tokens"].is_u64(), "#{i} {got}");
                answered += 1;
            }
            400 | 404 | 422 => {
                let err: ErrorBody = serde_json::from_slice(&reply)
                    .unwrap_or_else(|e| panic!("#{i} {sent} -> {got}: {e}"));
                assert_eq!(err.error.code, Some(json!(status.as_u16())), "#{i} {got}");
                assert!(!err.error.message.is_empty());
                assert_ne!(err.error.param.as_deref(), Some("?"), "#{i} {got}");
                refused += 1;
            }
            other => panic!("#{i} {sent} -> {other} {got}"),
        }
    }
    // Both kinds happened, so the mutations neither always break nor never touch the request.
    assert!(
        answered > 50 && refused > 50,
        "{answered} answered, {refused} refused"
    );
    assert_eq!(get(&server, "/health").await.status, 200);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn embeddings_return_a_seeded_unit_vector_per_input() {
    use base64::Engine as _;
    let config = fast("fixed");
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();
    let texts = [
        "the first text",
        "a second, longer text to embed",
        "the first text",
    ];
    let reply = post(
        &server,
        "/v1/embeddings",
        json!({"model": model, "input": texts, "dimensions": 16}),
    )
    .await;
    assert_eq!(reply.status, 200);
    let r: aiperf_openai::embeddings::EmbeddingResponse = reply.json();
    assert_eq!(r.object, "list");
    assert_eq!(r.data.len(), 3);
    let vectors: Vec<Vec<f32>> = r
        .data
        .iter()
        .enumerate()
        .map(|(i, e)| {
            assert_eq!((e.index as usize, e.object.as_str()), (i, "embedding"));
            serde_json::from_value(e.embedding.clone()).unwrap()
        })
        .collect();
    for v in &vectors {
        assert_eq!(v.len(), 16);
        let norm: f64 = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    }
    assert_eq!(vectors[0], vectors[2], "same text, same vector");
    assert_ne!(vectors[0], vectors[1]);
    let tokens: usize = texts.iter().map(|t| count_tokens(t)).sum();
    assert_eq!(r.usage.prompt_tokens, tokens as u64);
    assert_eq!(r.usage.total_tokens, tokens as u64);

    // base64: the same floats as little-endian f32s; one text alone: the same vector again.
    let reply = post(
        &server,
        "/v1/embeddings",
        json!({"model": model, "input": texts[0], "dimensions": 16, "encoding_format": "base64"}),
    )
    .await;
    let r: aiperf_openai::embeddings::EmbeddingResponse = reply.json();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(r.data[0].embedding.as_str().unwrap())
        .unwrap();
    let decoded: Vec<f32> = bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(decoded, vectors[0]);

    for (body, status, param) in [
        (json!({"model": model, "input": []}), 400, "input"),
        (json!({"model": model, "input": [""]}), 400, "input"),
        (
            json!({"model": model, "input": "x", "dimensions": 0}),
            400,
            "dimensions",
        ),
        (
            json!({"model": model, "input": "x", "encoding_format": "int8"}),
            400,
            "encoding_format",
        ),
        (json!({"model": "nope", "input": "x"}), 404, "model"),
        (json!({"model": model}), 400, "input"),
    ] {
        let reply = post(&server, "/v1/embeddings", body.clone()).await;
        assert_eq!(reply.status.as_u16(), status, "{body}");
        let err: ErrorBody = reply.json();
        assert_eq!(err.error.param.as_deref(), Some(param), "{body}");
    }
    let long = "the ".repeat(200_000);
    let reply = post(
        &server,
        "/v1/embeddings",
        json!({"model": model, "input": long}),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert!(String::from_utf8_lossy(&reply.body).contains("maximum context length"));
    assert_eq!(get(&server, "/v1/embeddings").await.status, 405);
    server.shutdown().await.unwrap();
}

/// TGI's API: `/generate_stream` sends one event per token and a last event with the whole
/// text and the end-of-sequence token (no `[DONE]`); `/generate` answers the text; requests
/// name no model; `details` adds the count; a malformed event is invalid JSON in valid SSE.
#[tokio::test]
async fn tgi_generate_and_generate_stream() {
    let server = SimServer::start(fast("fixed")).await.unwrap();
    let body = json!({"inputs": PROMPT, "parameters": {"max_new_tokens": 6, "details": true}});
    let s = stream(
        &client(),
        format!("{}/generate_stream", server.base_url()),
        body.clone(),
    )
    .await;
    assert!(s.clean_end);
    assert!(!s.events.iter().any(|e| e.is_done()));
    let events: Vec<Value> = s
        .events
        .iter()
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect();
    let (last, tokens) = events.split_last().unwrap();
    assert!(!tokens.is_empty() && tokens.len() <= 6, "{events:?}");
    let text: String = tokens
        .iter()
        .map(|e| {
            assert_eq!(e["token"]["special"], false);
            assert!(e["generated_text"].is_null());
            e["token"]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(count_tokens(&text), tokens.len());
    assert_eq!(last["token"]["special"], true);
    assert_eq!(last["generated_text"], text.as_str());
    assert_eq!(last["details"]["generated_tokens"], tokens.len());

    let whole = post(&server, "/generate", body).await;
    assert_eq!(whole.status, 200);
    let answer: Value = whole.json();
    assert_eq!(
        answer["generated_text"],
        text.as_str(),
        "same prompt, same text"
    );
    assert_eq!(answer["details"]["generated_tokens"], tokens.len());
    let plain = post(&server, "/generate", json!({"inputs": PROMPT})).await;
    let answer: Value = plain.json();
    assert!(answer["generated_text"].is_string() && answer.get("details").is_none());
    let bad = post(&server, "/generate", json!({"prompt": PROMPT})).await;
    assert_eq!(bad.status, 400, "{}", String::from_utf8_lossy(&bad.body));
    server.shutdown().await.unwrap();

    let mut config = fast("fixed");
    config.faults.malformed_rate = 1.0;
    let server = SimServer::start(config).await.unwrap();
    let s = stream(
        &client(),
        format!("{}/generate_stream", server.base_url()),
        json!({"inputs": PROMPT, "parameters": {"max_new_tokens": 8}}),
    )
    .await;
    let bad = s
        .events
        .iter()
        .filter(|e| serde_json::from_str::<Value>(&e.data).is_err())
        .count();
    assert_eq!(bad, 1);
    server.shutdown().await.unwrap();
}
