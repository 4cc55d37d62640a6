//! Measures the simulated server over HTTP and prints two tables: time to first token of a
//! lone request at rising prompt lengths, then throughput, time to first token and inter-token
//! latency at rising concurrency (the knee of the curve).
//!
//! A deliberately simple closed-loop client: `concurrency` tasks, each sending a streaming
//! request as soon as its previous one finished, timing chunks as they arrive.
//!
//! `cargo run --release -p aiperf-sim --example knee -- [preset] [speedup]`

// The table on stdout is this program's output.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use aiperf_openai::sse::SseDecoder;
use aiperf_sim::SimServer;
use aiperf_sim::presets::preset;
use aiperf_stats::Summary;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

const ISL_WORDS: usize = 512;
const OSL: u32 = 128;

struct Sample {
    ttft_s: f64,
    itl_s: f64,
    tokens: u32,
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "small".into());
    let speedup: f64 = args
        .next()
        .map_or(10.0, |s| s.parse().expect("speedup is a number"));
    let _ = rlimit::increase_nofile_limit(8192);
    let mut config = preset(&name).expect("known preset");
    config.speedup = speedup;
    let model = config.served_models[0].clone();
    let server = SimServer::start(config).await.expect("simulator starts");
    let url = format!("{}/v1/chat/completions", server.base_url());
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    // Single-token words (see the simulator's vocabulary), so the prompt is ISL_WORDS tokens.
    const WORDS: [&str; 8] = ["the", "and", "for", "this", "that", "with", "from", "have"];

    let prompt_of = move |len: usize, offset: usize| -> String {
        (0..len)
            .map(|w| format!(" {}", WORDS[(w + offset) % WORDS.len()]))
            .collect()
    };

    println!("preset {name}, one request at a time, OSL 16, times in simulated seconds\n");
    println!("| ISL | TTFT p50 ms | ITL p50 ms |");
    println!("|---:|---:|---:|");
    for isl in [128usize, 512, 2048, 8192, 32768] {
        let mut ttft = Vec::new();
        let mut itl = Vec::new();
        for i in 0..5 {
            let body = serde_json::json!({
                "model": model, "stream": true, "max_tokens": 16, "ignore_eos": true,
                "messages": [{"role": "user", "content": prompt_of(isl, i)}],
            });
            let sample = one_request(&client, &url, body).await;
            ttft.push(sample.ttft_s * speedup * 1e3);
            itl.push(sample.itl_s * speedup * 1e3);
        }
        println!(
            "| {isl} | {:.1} | {:.2} |",
            Summary::of(&ttft).unwrap().percentile(50.0).unwrap(),
            Summary::of(&itl).unwrap().percentile(50.0).unwrap(),
        );
    }

    println!(
        "\npreset {name}, ISL {ISL_WORDS}, OSL {OSL}, times in simulated seconds (speedup {speedup})\n"
    );
    println!(
        "| concurrency | output tok/s | req/s | TTFT p50 ms | TTFT p99 ms | ITL p50 ms | ITL p99 ms |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for concurrency in [1usize, 4, 16, 32, 64, 128, 256, 512] {
        let per_client = 4.max(32 / concurrency);
        let started = Instant::now();
        let tasks: Vec<_> = (0..concurrency)
            .map(|c| {
                let (client, url, model) = (client.clone(), url.clone(), model.clone());
                tokio::spawn(async move {
                    let mut samples = Vec::new();
                    for i in 0..per_client {
                        let prompt = prompt_of(ISL_WORDS, c + i);
                        let body = serde_json::json!({
                            "model": model, "stream": true, "max_tokens": OSL, "ignore_eos": true,
                            "messages": [{"role": "user", "content": prompt}],
                        });
                        samples.push(one_request(&client, &url, body).await);
                    }
                    samples
                })
            })
            .collect();
        let mut samples = Vec::new();
        for task in tasks {
            samples.extend(task.await.expect("client task"));
        }
        let elapsed = started.elapsed().as_secs_f64() * speedup;
        let tokens: u32 = samples.iter().map(|s| s.tokens).sum();
        let ttft = Summary::of(
            &samples
                .iter()
                .map(|s| s.ttft_s * speedup * 1e3)
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let itl = Summary::of(
            &samples
                .iter()
                .map(|s| s.itl_s * speedup * 1e3)
                .collect::<Vec<_>>(),
        )
        .unwrap();
        println!(
            "| {concurrency} | {:.0} | {:.2} | {:.1} | {:.1} | {:.2} | {:.2} |",
            f64::from(tokens) / elapsed,
            samples.len() as f64 / elapsed,
            ttft.percentile(50.0).unwrap(),
            ttft.percentile(99.0).unwrap(),
            itl.percentile(50.0).unwrap(),
            itl.percentile(99.0).unwrap(),
        );
    }
    server.shutdown().await.expect("clean shutdown");
}

async fn one_request(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
    url: &str,
    body: serde_json::Value,
) -> Sample {
    let sent = Instant::now();
    let req = Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("valid request");
    let mut res = client
        .request(req)
        .await
        .expect("request succeeds")
        .into_body();
    let mut decoder = SseDecoder::new();
    let (mut first, mut last, mut tokens) = (None, sent, 0u32);
    while let Some(frame) = res.frame().await {
        let Ok(data) = frame.expect("stream intact").into_data() else {
            continue;
        };
        decoder.feed(&data);
        while let Some(event) = decoder.next_event().expect("valid SSE") {
            if event.data.contains("\"content\":\" ") {
                let now = Instant::now();
                first.get_or_insert(now);
                last = now;
                tokens += 1;
            }
        }
    }
    let first = first.expect("at least one token");
    Sample {
        ttft_s: (first - sent).as_secs_f64(),
        itl_s: (last - first).as_secs_f64() / f64::from(tokens.max(2) - 1),
        tokens,
    }
}
