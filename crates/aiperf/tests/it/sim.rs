//! `aiperf sim` as a stand-alone server.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use aiperf_openai::chat::ChatCompletionChunk;
use aiperf_openai::sse;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::common::{aiperf, assert_usage_error, interrupt, read_lines, run, stdout};

#[test]
fn help_documents_every_knob() {
    let output = run(&["sim", "--help"]);
    assert!(output.status.success());
    let help = stdout(&output);
    for flag in [
        "--host",
        "--port",
        "--preset",
        "--model",
        "--served-model-name",
        "--speedup",
        "--max-model-len",
        "--seed",
        "--tokenizer",
        "--record-requests",
        "--shutdown-grace-seconds",
        "--print-config",
        "--output-tokens-mean",
        "--output-tokens-stddev",
        "--reasoning-ratio",
        "--max-num-seqs",
        "--max-num-batched-tokens",
        "--block-size",
        "--num-kv-blocks",
        "--step-base-ms",
        "--prefill-ms-per-token",
        "--prefill-ms-per-token-sq",
        "--decode-ms-per-seq",
        "--kv-ms-per-token",
        "--step-jitter-cv",
        "--ttft-ms",
        "--itl-ms",
        "--error-rate",
        "--error-status",
        "--retry-after-secs",
        "--disconnect-rate",
        "--malformed-rate",
        "--stall-rate",
        "--stall-ms",
        "--dcgm-num-gpus",
        "--dcgm-gpu-name",
        "--gpu-idle-watts",
        "--gpu-max-watts",
    ] {
        assert!(help.contains(flag), "--help does not document {flag}");
    }
    for preset in ["llama-8b-h100", "llama-70b-h100x4", "fixed", "zero"] {
        assert!(
            help.contains(preset),
            "--help does not list preset {preset}"
        );
    }
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["sim", "--preset", "huge"], "--preset"),
        (&["sim", "--speedup", "0"], "--speedup"),
        (&["sim", "--speedup", "-3"], "--speedup"),
        (&["sim", "--speedup", "fast"], "--speedup"),
        (&["sim", "--port", "70000"], "--port"),
        (
            &["sim", "--preset", "fixed", "--max-num-seqs", "8"],
            "--max-num-seqs",
        ),
        (&["sim", "--preset", "zero", "--ttft-ms", "8"], "--ttft-ms"),
        (&["sim", "--preset", "small", "--itl-ms", "8"], "--itl-ms"),
        (
            &["sim", "--preset", "fixed", "--ttft-ms", "-1"],
            "--ttft-ms",
        ),
        (&["sim", "--max-num-seqs", "0"], "--max-num-seqs"),
        (&["sim", "--num-kv-blocks", "10"], "--num-kv-blocks"),
        (&["sim", "--step-base-ms", "NaN"], "--step-base-ms"),
        (&["sim", "--error-rate", "1.5"], "--error-rate"),
        (
            &["sim", "--error-rate", "0.6", "--stall-rate", "0.6"],
            "add up to",
        ),
        (&["sim", "--error-status", "200"], "--error-status"),
        (&["sim", "--reasoning-ratio", "2"], "--reasoning-ratio"),
        (
            &["sim", "--output-tokens-mean", "0"],
            "--output-tokens-mean",
        ),
        (&["sim", "--tokenizer", "gpt2"], "--tokenizer"),
        (&["sim", "--model", ""], "--model"),
        (
            &[
                "sim",
                "--record-requests",
                "/nonexistent-dir/requests.jsonl",
            ],
            "--record-requests",
        ),
        (&["sim", "--dcgm-num-gpus", "0"], "--dcgm-num-gpus"),
        (
            &["sim", "--gpu-idle-watts", "300", "--gpu-max-watts", "200"],
            "--gpu-max-watts",
        ),
        (&["sim", "--no-such-flag"], "--no-such-flag"),
    ];
    for (args, needle) in cases {
        assert_usage_error(args, needle);
    }
}

#[test]
fn busy_port_is_a_usage_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    assert_usage_error(&["sim", "--preset", "zero", "--port", &port], "--port");
}

#[test]
fn print_config_applies_overrides() {
    let output = run(&[
        "sim",
        "--preset",
        "large",
        "--model",
        "a,b",
        "--speedup",
        "4",
        "--max-num-seqs",
        "64",
        "--error-rate",
        "0.1",
        "--error-status",
        "429,503",
        "--dcgm-gpu-name",
        "NVIDIA H200",
        "--print-config",
    ]);
    assert!(output.status.success());
    let config: aiperf_sim::SimConfig = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(config.served_models, ["a", "b"]);
    assert_eq!(config.speedup, 4.0);
    assert_eq!(config.faults.error_statuses, [429, 503]);
    // The 70B preset runs on four GPUs.
    assert_eq!(
        (config.gpus.count, config.gpus.name.as_str()),
        (4, "NVIDIA H200")
    );
    match config.timing {
        aiperf_sim::Timing::Engine(p) => {
            assert_eq!(p.max_num_seqs, 64);
            // Untouched coefficients keep the preset's values.
            assert_eq!(p.cost.base_ms, 13.0);
        }
        other => panic!("large is an engine preset, got {other:?}"),
    }
}

#[test]
fn serves_a_stream_then_stops_cleanly_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("requests.jsonl");
    let mut child = aiperf()
        .args([
            "sim",
            "--port",
            "0",
            "--preset",
            "fixed",
            "--speedup",
            "100",
            "--model",
            "m",
        ])
        .arg("--record-requests")
        .arg(&records)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = lines.next().unwrap().unwrap();
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {banner:?}"))
        .to_owned();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bytes = runtime.block_on(async {
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,
                       "max_tokens":6,"ignore_eos":true,"stream_options":{"include_usage":true}}"#;
        let req = Request::post(format!("{url}/v1/chat/completions"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let res = client.request(req).await.unwrap();
        assert_eq!(res.status(), 200);
        res.into_body().collect().await.unwrap().to_bytes()
    });
    let events = sse::decode_all(&bytes).unwrap();
    assert!(events.last().unwrap().is_done());
    let usage_chunk: ChatCompletionChunk =
        serde_json::from_str(&events[events.len() - 2].data).unwrap();
    assert_eq!(usage_chunk.usage.unwrap().completion_tokens, 6);

    interrupt(child.id());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "Ctrl-C is a clean stop");
    let recorded = read_lines(&records);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["tokens_sent"], 6);
}
