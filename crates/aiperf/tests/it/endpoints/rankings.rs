//! `--endpoint-type nim_rankings`, `hf_tei_rankings` and `cohere_rankings`: a query and
//! passages per request, synthetic (`--rankings-*`) or from an input file's named texts.

use std::path::Path;

use serde_json::{Value, json};

use super::support::{good_and_bad, read_json};
use crate::common::{assert_usage_error, profile, read_lines, stderr};

/// The query and passages of a request body, in the shape of `kind`.
fn query_and_passages(kind: &str, payload: &Value) -> (String, Vec<String>) {
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    let list = |v: &Value, f: &dyn Fn(&Value) -> String| -> Vec<String> {
        v.as_array().unwrap().iter().map(f).collect()
    };
    match kind {
        "nim_rankings" => (
            text(&payload["query"]["text"]),
            list(&payload["passages"], &|p| text(&p["text"])),
        ),
        "hf_tei_rankings" => (text(&payload["query"]), list(&payload["texts"], &text)),
        _ => (text(&payload["query"]), list(&payload["documents"], &text)),
    }
}

/// Synthetic rankings on the simulator: each API's body with the drawn number and lengths of
/// passages, answers read, only latency and input measured; the same seed sends the same.
#[test]
fn synthetic_queries_and_passages_on_the_simulator() {
    let tok = tiktoken_rs::o200k_base_singleton();
    let count = |t: &str| tok.encode_ordinary(t).len() as u64;
    for (kind, path, keys) in [
        (
            "nim_rankings",
            "/v1/ranking",
            &["model", "query", "passages"][..],
        ),
        ("hf_tei_rankings", "/rerank", &["query", "texts"][..]),
        (
            "cohere_rankings",
            "/v2/rerank",
            &["model", "query", "documents"][..],
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let args = [
            "--sim",
            "fixed",
            "--endpoint-type",
            kind,
            "--concurrency",
            "2",
            "--request-count",
            "6",
            "--rankings-passages-mean",
            "3",
            "--rankings-passages-prompt-token-mean",
            "20",
            "--rankings-query-prompt-token-mean",
            "8",
            "--random-seed",
            "5",
            "--export-level",
            "raw",
        ];
        let output = profile(&dir, &args);
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        let config = read_json(&dir.join("run_config.json"));
        assert_eq!(config["aiperf_config"]["endpoint"]["path"], path, "{kind}");

        let raw = read_lines(&dir.join("profile_export_raw.jsonl"));
        assert_eq!(raw.len(), 6);
        for r in &raw {
            let payload = &r["payload"];
            let got: Vec<&str> = payload
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(got, keys, "{kind}: {payload}");
            let (query, passages) = query_and_passages(kind, payload);
            assert_eq!(count(&query), 8, "{kind}");
            assert_eq!(passages.len(), 3, "{kind}");
            assert!(passages.iter().all(|p| count(p) == 20), "{kind}");
            let answer: Value =
                serde_json::from_str(r["responses"][0]["text"].as_str().unwrap()).unwrap();
            let ranked = match kind {
                "nim_rankings" => &answer["rankings"],
                "hf_tei_rankings" => &answer,
                _ => &answer["results"],
            };
            assert_eq!(ranked.as_array().unwrap().len(), 3, "{kind}: {answer}");
        }

        let records = read_lines(&dir.join("profile_export.jsonl"));
        assert_eq!(records.len(), 6);
        for r in &records {
            assert!(r.get("error").is_none(), "{kind}: {r}");
            let m = &r["metrics"];
            assert_eq!(m["input_sequence_length"]["value"], 8 + 3 * 20, "{kind}");
            assert!(m["request_latency"]["value"].as_f64().unwrap() > 0.0);
            for absent in [
                "time_to_first_token",
                "output_sequence_length",
                "inter_token_latency",
            ] {
                assert!(m.get(absent).is_none(), "{kind}: {absent} in {m}");
            }
        }
        let summary = read_json(&dir.join("profile_export_aiperf.json"));
        assert_eq!(summary["request_count"]["avg"], 6.0, "{kind}");
        assert!(summary["input_token_throughput"]["avg"].as_f64().unwrap() > 0.0);
        assert!(summary.get("output_token_throughput").is_none(), "{kind}");

        if kind == "nim_rankings" {
            let again = tmp.path().join("again");
            let output = profile(&again, &args);
            assert!(output.status.success(), "{}", stderr(&output));
            let payloads = |dir: &Path| read_json(&dir.join("inputs.json"))["data"].clone();
            assert_eq!(
                payloads(&dir),
                payloads(&again),
                "the same seed, the same requests"
            );
        }
    }
}

/// Without `--rankings-*` flags a request holds 10 passages of 128 tokens and a 32-token
/// query, as in the Python AIPerf.
#[test]
fn default_rankings_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = profile(
        &dir,
        &[
            "--sim",
            "fixed",
            "--endpoint-type",
            "cohere_rankings",
            "--request-count",
            "2",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let inputs = read_json(&dir.join("inputs.json"));
    let payload = &inputs["data"][0]["payloads"][0];
    assert_eq!(payload["documents"].as_array().unwrap().len(), 10);
    for r in read_lines(&dir.join("profile_export.jsonl")) {
        assert_eq!(
            r["metrics"]["input_sequence_length"]["value"],
            32 + 10 * 128
        );
    }
}

/// An input file's named texts (`query` or `queries`, and `passages`) are what is sent.
#[test]
fn named_texts_from_an_input_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("rankings.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"texts": [{"name": "query", "contents": ["what is a gpu"]}, {"name": "passages", "contents": ["a graphics processor", "a kind of fish"]}]}"#,
            "\n",
            r#"{"texts": [{"name": "queries", "contents": ["how fast is light"]}, {"name": "passages", "contents": ["very fast"]}]}"#,
            "\n",
        ),
    )
    .unwrap();
    let dir = tmp.path().join("run");
    let output = profile(
        &dir,
        &[
            "--sim",
            "fixed",
            "--endpoint-type",
            "hf_tei_rankings",
            "--input-file",
            file.to_str().unwrap(),
            "--custom-dataset-type",
            "single_turn",
            "--request-count",
            "2",
            "--export-level",
            "raw",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let raw = read_lines(&dir.join("profile_export_raw.jsonl"));
    let payloads: Vec<&Value> = raw.iter().map(|r| &r["payload"]).collect();
    assert_eq!(
        payloads,
        [
            &json!({"query": "what is a gpu", "texts": ["a graphics processor", "a kind of fish"]}),
            &json!({"query": "how fast is light", "texts": ["very fast"]}),
        ]
    );
    let records = read_lines(&dir.join("profile_export.jsonl"));
    let isl: Vec<u64> = records
        .iter()
        .map(|r| {
            r["metrics"]["input_sequence_length"]["value"]
                .as_u64()
                .unwrap()
        })
        .collect();
    // "what is a gpu" 4 + "a graphics processor" 3 + "a kind of fish" 4; 4 + 2.
    assert_eq!(isl, [11, 6]);
}

/// Answers without rankings, not JSON, or an error object are error records; the good answers
/// around them are measured and the run succeeds. When every answer is bad, the run fails.
#[test]
fn bad_answers_are_error_records() {
    let cases = [
        (
            "nim_rankings",
            r#"{"rankings":[{"index":0,"logit":1.5}]}"#,
            r#"{"rankings":[]}"#,
            "EmptyResponse",
            "no rankings",
        ),
        (
            "hf_tei_rankings",
            r#"[{"index":0,"score":0.9}]"#,
            "<html>bad gateway</html>",
            "InvalidResponse",
            "not a TEI rankings",
        ),
        (
            "cohere_rankings",
            r#"{"id":"x","results":[{"index":0,"relevance_score":0.9}]}"#,
            r#"{"message":"too many tokens"}"#,
            "ServerError",
            "too many tokens",
        ),
    ];
    for (kind, good, bad, error_type, needle) in cases {
        let args = ["--rankings-passages-mean", "2"];
        good_and_bad(kind, &args, (good, bad), (error_type, needle), 6);
    }
}

#[test]
fn rankings_flags_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("f.jsonl");
    std::fs::write(&file, "{\"text\": \"x\"}\n").unwrap();
    let file = file.to_str().unwrap();
    for (args, needle) in [
        (
            &["--endpoint-type", "chat", "--rankings-passages-mean", "3"][..],
            "--rankings-passages-mean shapes synthetic rankings requests; --endpoint-type chat",
        ),
        (
            &[
                "--endpoint-type",
                "nim_rankings",
                "--rankings-passages-stddev",
                "2",
            ][..],
            "--rankings-passages-stddev needs --rankings-passages-mean",
        ),
        (
            &[
                "--endpoint-type",
                "hf_tei_rankings",
                "--rankings-query-prompt-token-mean",
                "0",
            ][..],
            "--rankings-query-prompt-token-mean must be at least 1",
        ),
        (
            &[
                "--endpoint-type",
                "cohere_rankings",
                "--input-file",
                file,
                "--rankings-passages-prompt-token-mean",
                "64",
            ][..],
            "--rankings-passages-prompt-token-mean shapes synthetic prompts; --input-file",
        ),
        (
            &["--endpoint-type", "nim_rankings", "--streaming"][..],
            "nim_rankings responses are not streamed",
        ),
        (
            &["--endpoint-type", "cohere_rankings", "--osl", "8"][..],
            "--osl: cohere_rankings generate no output tokens",
        ),
    ] {
        let mut all = vec!["profile", "--sim"];
        all.extend_from_slice(args);
        assert_usage_error(&all, needle);
    }
}
