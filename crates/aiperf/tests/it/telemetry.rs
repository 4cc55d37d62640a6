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

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Server metrics are scraped during the run by default; an endpoint that cannot be scraped is
/// counted, not fatal; `--no-server-metrics` turns scraping off.
#[test]
fn server_metrics_are_scraped_during_runs() {
    use crate::common::{run, stderr};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let output = run(&[
        "profile",
        "--sim",
        "fixed",
        "--streaming",
        "--ui",
        "none",
        "--concurrency",
        "4",
        "--request-count",
        "24",
        "--osl",
        "40",
        "--server-metrics",
        &dead,
        "--server-metrics-interval-ms",
        "20",
        "--artifact-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let doc = read_json(&dir.join("server_metrics_export.json"));
    let configured = doc["summary"]["endpoints_configured"].as_array().unwrap();
    assert_eq!(configured.len(), 2);
    assert_eq!(
        doc["summary"]["endpoints_successful"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let dead_info = &doc["summary"]["endpoint_info"][format!("{dead}/metrics")];
    assert!(
        dead_info["failed_fetches"].as_u64().unwrap() >= 1,
        "{dead_info}"
    );
    let running = &doc["metrics"]["vllm:num_requests_running"];
    assert_eq!(running["type"], "gauge");
    let stats = &running["series"][0]["stats"];
    assert!(
        stats["max"].as_f64().unwrap() >= 1.0 && stats["max"].as_f64().unwrap() <= 4.0,
        "{stats}"
    );
    let tokens = &doc["metrics"]["vllm:generation_tokens_total"]["series"][0]["stats"];
    assert!(tokens["total"].as_f64().unwrap() > 0.0, "{tokens}");
    let csv = std::fs::read_to_string(dir.join("server_metrics_export.csv")).unwrap();
    assert!(csv.starts_with("Metric,Type,Endpoint,Labels,Stat,Value\n"));

    let off = tmp.path().join("off");
    let output = run(&[
        "profile",
        "--sim",
        "fixed",
        "--ui",
        "none",
        "--request-count",
        "4",
        "--osl",
        "4",
        "--no-server-metrics",
        "--artifact-dir",
        off.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    assert!(!off.join("server_metrics_export.json").exists());
    crate::common::assert_usage_error(
        &["profile", "--sim", "--server-metrics-interval-ms", "0"],
        "--server-metrics-interval-ms",
    );
}
