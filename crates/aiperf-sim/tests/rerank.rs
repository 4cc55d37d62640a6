//! Reranking routes (`/v1/ranking`, `/rerank`, `/v2/rerank`), served in-process and driven by a
//! real HTTP client.

use aiperf_openai::ErrorBody;
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

const QUERY: &str = "what is a graphics processor";
const PASSAGES: [&str; 3] = [
    "a chip that renders images",
    "a freshwater fish",
    "a processor for parallel work",
];

/// The indices of `list` (ranked entries) and their scores under `key`, checking that they
/// are sorted best first.
fn ranked(list: &Value, key: &str) -> (Vec<u64>, Vec<f64>) {
    let list = list.as_array().unwrap();
    let indices: Vec<u64> = list.iter().map(|e| e["index"].as_u64().unwrap()).collect();
    let scores: Vec<f64> = list.iter().map(|e| e[key].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    (indices, scores)
}

#[tokio::test]
async fn each_api_ranks_every_passage_in_its_own_shape() {
    let config = fast();
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.unwrap();

    let nim = json!({
        "model": model,
        "query": {"text": QUERY},
        "passages": PASSAGES.iter().map(|p| json!({"text": p})).collect::<Vec<_>>(),
        "truncate": "END",
    });
    let (status, answer) = post(&server, "/v1/ranking", &nim).await;
    assert_eq!(status, 200, "{answer}");
    let (mut order, logits) = ranked(&answer["rankings"], "logit");
    let best = order[0];
    order.sort_unstable();
    assert_eq!(order, [0, 1, 2]);
    // The same query and passages rank the same way again.
    assert_eq!(post(&server, "/v1/ranking", &nim).await.1, answer);

    let tei = json!({"query": QUERY, "texts": PASSAGES, "return_text": true});
    let (status, answer) = post(&server, "/rerank", &tei).await;
    assert_eq!(status, 200, "{answer}");
    let (order, scores) = ranked(&answer, "score");
    assert_eq!(order[0], best, "the same pairs, the same relevance");
    assert!(scores.iter().all(|s| (0.0..=1.0).contains(s)), "{scores:?}");
    assert_eq!(answer[0]["text"], PASSAGES[best as usize]);
    let raw = json!({"query": QUERY, "texts": PASSAGES, "raw_scores": true});
    let (_, answer) = post(&server, "/rerank", &raw).await;
    assert_eq!(
        ranked(&answer, "score").1,
        logits,
        "raw scores are the logits"
    );

    let cohere = json!({"model": model, "query": QUERY, "documents": PASSAGES, "top_n": 2});
    let (status, answer) = post(&server, "/v2/rerank", &cohere).await;
    assert_eq!(status, 200, "{answer}");
    let (order, _) = ranked(&answer["results"], "relevance_score");
    assert_eq!((order.len(), order[0]), (2, best));
    assert!(answer["id"].is_string());
    assert_eq!(answer["meta"]["api_version"]["version"], "2");

    for (path, body, status, param) in [
        (
            "/v1/ranking",
            json!({"model": model, "query": {"text": QUERY}, "passages": []}),
            400,
            "passages",
        ),
        (
            "/v1/ranking",
            json!({"model": model, "query": QUERY, "passages": []}),
            400,
            "query",
        ),
        ("/rerank", json!({"query": QUERY}), 400, "texts"),
        (
            "/v2/rerank",
            json!({"model": "nope", "query": QUERY, "documents": ["x"]}),
            404,
            "model",
        ),
        (
            "/v2/rerank",
            json!({"model": model, "query": "", "documents": ["x"]}),
            400,
            "query",
        ),
    ] {
        let (got, answer) = post(&server, path, &body).await;
        assert_eq!(got.as_u16(), status, "{path} {body}: {answer}");
        let error: ErrorBody = serde_json::from_value(answer).unwrap();
        assert_eq!(error.error.param.as_deref(), Some(param), "{path} {body}");
    }
    server.shutdown().await.unwrap();
}
