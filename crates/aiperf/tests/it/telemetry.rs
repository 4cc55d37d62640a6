//! The Prometheus parser against the simulator's own `/metrics` (vLLM's metric names).

use aiperf::telemetry::prometheus::{Kind, parse};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

#[tokio::test]
async fn the_simulators_metrics_parse() {
    let server = aiperf_sim::SimServer::start(aiperf_sim::presets::preset("fixed").unwrap())
        .await
        .unwrap();
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri: hyper::Uri = format!("{}/metrics", server.base_url()).parse().unwrap();
    let response = client.get(uri).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    let families = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let kind = |name: &str| families.iter().find(|f| f.name == name).map(|f| f.kind);
    assert_eq!(
        kind("vllm:num_requests_running"),
        Some(Kind::Gauge),
        "{families:#?}"
    );
    assert!(
        families.iter().any(|f| f.kind == Kind::Histogram
            && f.samples.iter().any(|s| s.label("le") == Some("+Inf")))
    );
    assert!(families.iter().any(|f| f.kind == Kind::Counter));
    server.shutdown().await.unwrap();
}
