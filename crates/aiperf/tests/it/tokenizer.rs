//! Token counting: with the server's own tokenizer (`--tokenizer server`), and hub tokenizers
//! under `HF_HUB_OFFLINE`.

use std::io::{Read, Write};
use std::net::TcpListener;

use crate::common::{aiperf, read_lines, stderr};

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Prompts are built and answers counted with the server's /tokenize: the input lengths are
/// exactly what was asked, as the server itself counts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_tokenizer_counts_exactly() {
    let mut config = aiperf_sim::presets::preset("fixed").unwrap();
    config.served_models = vec!["m".into()];
    let server = aiperf_sim::SimServer::start(config).await.unwrap();
    let url = server.base_url();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let dir2 = dir.clone();
    let output = tokio::task::spawn_blocking(move || {
        aiperf()
            .args([
                "profile",
                "-m",
                "m",
                "-u",
                &url,
                "--tokenizer",
                "server",
                "--endpoint-type",
                "completions",
                "--isl",
                "37",
                "--osl",
                "12",
                "--extra-inputs",
                "ignore_eos:true",
                "--request-count",
                "6",
                "--concurrency",
                "2",
                "--ui",
                "none",
                "--artifact-dir",
                dir2.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert_eq!(summary["input_sequence_length"]["avg"], 37.0);
    assert_eq!(summary["input_sequence_length"]["std"], 0.0);
    assert_eq!(summary["output_sequence_length"]["avg"], 12.0);
    // The server agrees: its usage counts what the client counted.
    for r in read_lines(&dir.join("profile_export.jsonl")) {
        assert_eq!(r["metrics"]["usage_prompt_tokens"]["value"], 37, "{r}");
        assert_eq!(r["metrics"]["usage_prompt_tokens_diff_pct"]["value"], 0.0);
    }
    let config = read_json(&dir.join("run_config.json"));
    assert!(config.to_string().contains("\"server\""), "{config}");
    server.shutdown().await.unwrap();
}

/// A server without a tokenize endpoint: a usage error that says what to pass instead.
#[test]
fn a_server_without_tokenize_is_a_usage_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let output = aiperf()
        .args([
            "profile",
            "-m",
            "m",
            "-u",
            &url,
            "--tokenizer",
            "server",
            "--ui",
            "none",
        ])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("--tokenizer server"), "{err}");
    assert!(err.contains("has no tokenize endpoint"), "{err}");
    assert!(err.contains("HTTP 404"), "{err}");
}

/// `HF_HUB_OFFLINE=1`: a hub tokenizer comes from the local cache, or the run stops at once
/// with what to do; the network is never tried.
#[test]
fn hub_tokenizers_offline_come_from_the_cache_only() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("hf");
    let run = |dir: &std::path::Path| {
        aiperf()
            .env("HF_HOME", &home)
            .env("HF_HUB_OFFLINE", "1")
            // Were the network tried, it would fail here rather than hang.
            .env("HF_ENDPOINT", "http://127.0.0.1:9")
            .args([
                "profile",
                "--sim",
                "zero",
                "-m",
                "acme/tiny-model",
                "--tokenizer",
                "acme/tiny-model",
                "--request-count",
                "2",
                "--isl",
                "5",
                "--ui",
                "none",
                "--artifact-dir",
                dir.to_str().unwrap(),
            ])
            .output()
            .unwrap()
    };
    let output = run(&tmp.path().join("missing"));
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("HF_HUB_OFFLINE"), "{err}");
    assert!(err.contains("acme/tiny-model"), "{err}");

    // The cache as the hub client lays it out: refs/main names the snapshot.
    let repo = home.join("hub/models--acme--tiny-model");
    let snapshot = repo.join("snapshots/0123abcd");
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/main"), "0123abcd").unwrap();
    std::fs::write(snapshot.join("tokenizer.json"), WORD_LEVEL).unwrap();
    let dir = tmp.path().join("cached");
    let output = run(&dir);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert_eq!(summary["input_sequence_length"]["avg"], 5.0);
}

/// A word-level tokenizer.json: each word of its vocabulary is one token.
const WORD_LEVEL: &str = r#"{
  "version": "1.0",
  "truncation": null,
  "padding": null,
  "added_tokens": [],
  "normalizer": null,
  "pre_tokenizer": {"type": "WhitespaceSplit"},
  "post_processor": null,
  "decoder": {"type": "WordPiece", "prefix": "@@", "cleanup": true},
  "model": {
    "type": "WordLevel",
    "vocab": {"[UNK]": 0, "the": 1, "of": 2, "and": 3, "to": 4, "in": 5, "is": 6, "it": 7},
    "unk_token": "[UNK]"
  }
}"#;
