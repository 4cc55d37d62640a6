//! Endpoint, HTTP, tokenizer and logging options: the model each request names, the output
//! cap's key, connection reuse, form uploads, the HTTP timing table, the tokenizer's revision
//! and the log level.

use std::path::Path;

use serde_json::Value;

use super::{metric, read_json, records};
use crate::common::{aiperf, assert_usage_error, profile, profile_ok, read_lines, stderr, stdout};

/// The request bodies of a run with `--export-level raw`, in the order they were sent.
fn sent_payloads(dir: &Path) -> Vec<Value> {
    let mut raw = read_lines(&dir.join("profile_export_raw.jsonl"));
    raw.sort_by_key(|r| r["metadata"]["request_num"].as_u64().unwrap());
    raw.into_iter().map(|r| r["payload"].clone()).collect()
}

fn models(dir: &Path) -> Vec<String> {
    sent_payloads(dir)
        .iter()
        .map(|p| p["model"].as_str().unwrap().to_owned())
        .collect()
}

/// `--model-selection-strategy`: round_robin names the models in turn; random draws them (the
/// same for the same seed), so the turns break.
#[test]
fn model_selection_strategy_picks_each_requests_model() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, strategy: &str| {
        let dir = tmp.path().join(name);
        profile_ok(
            &dir,
            &[
                "--sim",
                "zero",
                "-m",
                "a,b,c",
                "--concurrency",
                "1",
                "--request-count",
                "30",
                "--isl",
                "4",
                "--osl",
                "2",
                "--random-seed",
                "4",
                "--export-level",
                "raw",
                "--model-selection-strategy",
                strategy,
            ],
        );
        models(&dir)
    };
    let turns = run("rr", "round_robin");
    let want: Vec<&str> = ["a", "b", "c"].iter().cycle().take(30).copied().collect();
    assert_eq!(turns, want);
    let drawn = run("random", "random");
    assert_ne!(drawn, want);
    for m in ["a", "b", "c"] {
        assert!(drawn.iter().any(|d| d == m), "{m} never drawn: {drawn:?}");
    }
    assert_eq!(
        run("again", "random"),
        drawn,
        "the same seed draws the same"
    );
}

/// `--use-legacy-max-tokens`: chat requests cap the output with `max_tokens`, not
/// `max_completion_tokens`.
#[test]
fn use_legacy_max_tokens_renames_the_output_cap() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, extra, key, absent) in [
        ("new", &[][..], "max_completion_tokens", "max_tokens"),
        (
            "legacy",
            &["--use-legacy-max-tokens"][..],
            "max_tokens",
            "max_completion_tokens",
        ),
    ] {
        let dir = tmp.path().join(name);
        let args = [
            &["--sim", "zero", "--request-count", "3", "--osl", "5"][..],
            // The whole cap: without ignore_eos the simulator may stop early, as engines do.
            &["--export-level", "raw", "--extra-inputs", "ignore_eos:true"],
            extra,
        ]
        .concat();
        profile_ok(&dir, &args);
        let sent = sent_payloads(&dir);
        assert_eq!(sent.len(), 3);
        for p in &sent {
            assert_eq!(p[key], 5, "{name}: {p}");
            assert!(p.get(absent).is_none(), "{name}: {p}");
        }
        for r in records(&dir) {
            assert_eq!(metric(&r, "output_sequence_length"), 5.0, "{name}");
        }
    }
}

/// `--connection-reuse-strategy`: `never` opens a connection for every request; `pooled`
/// reuses them; `sticky-user-sessions` gives each conversation its own connection for all its
/// turns and closes it when the conversation ends.
#[test]
fn connection_reuse_strategy_decides_which_requests_reuse_a_connection() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |strategy: &str| {
        let dir = tmp.path().join(strategy);
        profile_ok(
            &dir,
            &[
                "--sim",
                "zero",
                "--concurrency",
                "2",
                "--request-count",
                "12",
                "--session-turns-mean",
                "3",
                "--osl",
                "2",
                "--connection-reuse-strategy",
                strategy,
            ],
        );
        let recs = records(&dir);
        assert_eq!(recs.len(), 12, "{strategy}");
        recs
    };
    let reused = |r: &Value| metric(r, "http_req_connection_reused") == 1.0;
    let never = run("never");
    assert!(never.iter().all(|r| !reused(r)), "never reused");
    let pooled = run("pooled");
    assert!(
        pooled.iter().filter(|r| reused(r)).count() >= 10,
        "pooled: at most one new connection per concurrent slot"
    );
    // The first conversations start on the connections opened ahead of the load; the later
    // ones on new connections, as the ended conversations' connections were closed.
    let sticky = run("sticky-user-sessions");
    let mut fresh_starts = 0;
    for r in &sticky {
        let turn = r["metadata"]["turn_index"].as_u64().unwrap();
        if turn > 0 {
            assert!(
                reused(r),
                "turn {turn} on a new connection: {}",
                r["metrics"]
            );
        } else if !reused(r) {
            fresh_starts += 1;
        }
    }
    assert!(fresh_starts >= 1, "every conversation reused a connection");
}

/// `--request-content-type multipart/form-data` with a type that uploads files: sent as forms,
/// which the simulator's image-edit route parses; JSON for such a type, or forms for a JSON
/// type, is refused.
#[test]
fn request_content_type_is_the_form_upload_of_file_types() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("edit");
    profile_ok(
        &dir,
        &[
            "--sim",
            "zero",
            "--endpoint-type",
            "image_edit",
            "--request-count",
            "2",
            "--image-width-mean",
            "16",
            "--image-height-mean",
            "16",
            "--request-content-type",
            "multipart/form-data",
        ],
    );
    let recs = records(&dir);
    assert_eq!(recs.len(), 2);
    assert!(recs.iter().all(|r| r.get("error").is_none()), "{recs:?}");
    assert_usage_error(
        &[
            "profile",
            "--sim",
            "--request-content-type",
            "multipart/form-data",
        ],
        "multipart-form-data is for the endpoint types that take forms",
    );
}

/// `--show-trace-timing`: the HTTP timing metrics get a console table of their own.
#[test]
fn show_trace_timing_adds_the_http_timing_table() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, extra, shown) in [
        ("plain", &[][..], false),
        ("traced", &["--show-trace-timing"][..], true),
    ] {
        let dir = tmp.path().join(name);
        let args = [
            &["--sim", "zero", "--request-count", "2", "--osl", "2"][..],
            extra,
        ]
        .concat();
        let output = profile(&dir, &args);
        assert!(output.status.success(), "{}", stderr(&output));
        let console = std::fs::read_to_string(dir.join("profile_export_console.txt")).unwrap();
        for text in [&stdout(&output), &console] {
            assert_eq!(text.contains("HTTP Trace Timing"), shown, "{name}: {text}");
            assert_eq!(text.contains("HTTP DNS Lookup (ms)"), shown, "{name}");
        }
    }
}

/// A word-level tokenizer.json: each word of its vocabulary is one token.
const WORD_LEVEL: &str = r#"{
  "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
  "normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"}, "post_processor": null,
  "decoder": {"type": "WordPiece", "prefix": "@@", "cleanup": true},
  "model": {"type": "WordLevel", "unk_token": "[UNK]",
    "vocab": {"[UNK]": 0, "the": 1, "of": 2, "and": 3, "to": 4, "in": 5, "is": 6, "it": 7}}
}"#;

/// `--tokenizer-revision`: the hub tokenizer comes from that revision's snapshot (here from
/// the offline cache, where only the `v2` revision is), and the revision is recorded.
/// `--tokenizer-trust-remote-code` says it has no effect.
#[test]
fn tokenizer_revision_picks_the_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("hf");
    let repo = home.join("hub/models--acme--tiny-model");
    let snapshot = repo.join("snapshots/0123abcd");
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs/v2"), "0123abcd").unwrap();
    std::fs::write(snapshot.join("tokenizer.json"), WORD_LEVEL).unwrap();
    let run = |dir: &Path, extra: &[&str]| {
        aiperf()
            .env("HF_HOME", &home)
            .env("HF_HUB_OFFLINE", "1")
            .env("HF_ENDPOINT", "http://127.0.0.1:9")
            .args(["profile", "--sim", "zero", "-m", "acme/tiny-model"])
            .args(["--tokenizer", "acme/tiny-model", "--request-count", "2"])
            .args(["--isl", "5", "--ui", "none", "--artifact-dir"])
            .arg(dir)
            .args(extra)
            .output()
            .unwrap()
    };
    let output = run(&tmp.path().join("main"), &[]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("revision main"), "{err}");

    let dir = tmp.path().join("v2");
    let output = run(
        &dir,
        &[
            "--tokenizer-revision",
            "v2",
            "--tokenizer-trust-remote-code",
        ],
    );
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.contains("--tokenizer-trust-remote-code has no effect"),
        "{err}"
    );
    // Prompts in the word-level vocabulary (the corpus's words are unknown to it).
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    assert_eq!(summary["input_sequence_length"]["avg"], 5.0);
    for p in super::payloads(&dir) {
        let text = p["messages"][0]["content"].as_str().unwrap();
        assert!(
            text.split_whitespace()
                .all(|w| ["[UNK]", "the", "of", "and", "to", "in", "is", "it"].contains(&w)),
            "{text}"
        );
    }
    let config = read_json(&dir.join("run_config.json"));
    assert!(
        config.to_string().contains(r#""revision":"v2""#),
        "{config}"
    );
}

/// `--log-level`: DEBUG shows debug lines on stderr; WARNING hides the INFO ones.
#[test]
fn log_level_filters_the_log() {
    let tmp = tempfile::tempdir().unwrap();
    let log = |level: &str| {
        let output = profile(
            &tmp.path().join(level),
            &[
                "--sim",
                "zero",
                "--request-count",
                "1",
                "--log-level",
                level,
            ],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        stderr(&output)
    };
    let debug = log("DEBUG");
    assert!(debug.contains(" DEBUG "), "{debug}");
    assert!(debug.contains(" INFO "), "{debug}");
    let warning = log("WARNING");
    assert!(!warning.contains(" INFO "), "{warning}");
    assert!(!warning.contains(" DEBUG "), "{warning}");
}
