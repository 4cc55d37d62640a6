//! How prompts are shaped: verbatim system prompts, per-session context, `--seq-dist` and
//! `--random-range-ratio` lengths, the corpus, cache-busting markers — each checked in what
//! the simulator (or a recording server) received and in the run's artifacts.

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::common::{assert_usage_error, profile, read_http_request, read_lines, stderr};

pub(crate) fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs `aiperf profile --sim zero ARGS` in a fresh directory, which it returns.
#[track_caller]
fn sim_run(tmp: &Path, name: &str, args: &[&str]) -> std::path::PathBuf {
    let dir = tmp.join(name);
    let mut all = vec!["--sim", "zero"];
    all.extend_from_slice(args);
    let output = profile(&dir, &all);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    dir
}

/// The first-turn payloads of inputs.json.
fn first_payloads(dir: &Path) -> Vec<Value> {
    read_json(&dir.join("inputs.json"))["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["payloads"][0].clone())
        .collect()
}

/// (input_sequence_length, usage_prompt_tokens) of every record.
fn isl(dir: &Path) -> Vec<(u64, u64)> {
    read_lines(&dir.join("profile_export.jsonl"))
        .iter()
        .map(|r| {
            let m = &r["metrics"];
            (
                m["input_sequence_length"]["value"].as_u64().unwrap(),
                m["usage_prompt_tokens"]["value"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn dataset(dir: &Path) -> Value {
    read_json(&dir.join("run_config.json"))["cfg"]["datasets"][0].clone()
}

#[test]
fn a_verbatim_system_prompt_reaches_every_conversation() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("system.txt");
    std::fs::write(&file, "You are terse.\nAnswer in one word.").unwrap();
    let dir = sim_run(
        tmp.path(),
        "file",
        &[
            "--system-prompt-file",
            file.to_str().unwrap(),
            "--isl",
            "30",
            "--request-count",
            "6",
        ],
    );
    for p in first_payloads(&dir) {
        assert_eq!(p["messages"][0]["role"], "system");
        assert_eq!(
            p["messages"][0]["content"],
            "You are terse.\nAnswer in one word."
        );
        assert_eq!(p["messages"][1]["role"], "user");
    }
    for (ours, server) in isl(&dir) {
        assert_eq!(
            ours, server,
            "the system prompt is counted as the server counts it"
        );
        assert!(ours > 30, "its tokens add to --isl: {ours}");
    }
    assert_eq!(
        dataset(&dir)["system_prompt"],
        "You are terse.\nAnswer in one word."
    );

    // An input file's own system prompt comes after it.
    let rows = tmp.path().join("rows.jsonl");
    std::fs::write(&rows, "{\"text\": \"hello there\"}\n").unwrap();
    let dir = sim_run(
        tmp.path(),
        "rows",
        &[
            "--system-prompt",
            "Be brief.",
            "--input-file",
            rows.to_str().unwrap(),
            "--request-count",
            "2",
        ],
    );
    let p = &first_payloads(&dir)[0];
    assert_eq!(p["messages"][0]["content"], "Be brief.");
    assert_eq!(p["messages"][1]["content"], "hello there");

    for (args, needle) in [
        (
            &["--system-prompt", "a", "--system-prompt-file", "b"][..],
            "mutually exclusive",
        ),
        (
            &["--system-prompt", "a", "--shared-system-prompt-length", "8"][..],
            "--shared-system-prompt-length are mutually exclusive",
        ),
        (&["--system-prompt", "  "][..], "--system-prompt is empty"),
        (
            &["--system-prompt-file", "/no/such/file"][..],
            "--system-prompt-file: cannot read /no/such/file",
        ),
        (
            &["--system-prompt", "a", "--endpoint-type", "embeddings"][..],
            "--endpoint-type embeddings sends no system message",
        ),
    ] {
        let mut all = vec!["profile", "--sim"];
        all.extend_from_slice(args);
        assert_usage_error(&all, needle);
    }
}

#[test]
fn user_context_is_a_message_of_its_own_per_conversation() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sim_run(
        tmp.path(),
        "ctx",
        &[
            "--user-context-prompt-length",
            "24",
            "--isl",
            "40",
            "--num-dataset-entries",
            "5",
            "--dataset-sampling-strategy",
            "sequential",
            "--request-count",
            "5",
        ],
    );
    let payloads = first_payloads(&dir);
    let contexts: std::collections::HashSet<String> = payloads
        .iter()
        .map(|p| {
            let m = p["messages"].as_array().unwrap();
            assert_eq!(m.len(), 2, "{p}");
            assert_eq!(
                (m[0]["role"].as_str(), m[1]["role"].as_str()),
                (Some("user"), Some("user"))
            );
            m[0]["content"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(contexts.len(), 5, "one context per conversation");
    for (ours, server) in isl(&dir) {
        assert_eq!((ours, server), (64, 64));
    }
    assert_eq!(dataset(&dir)["prefix_prompts"]["user_context_length"], 24);
    assert_usage_error(
        &[
            "profile",
            "--sim",
            "--user-context-prompt-length",
            "8",
            "--prefix-prompt-pool-size",
            "2",
            "--prompt-prefix-length",
            "8",
        ],
        "--user-context-prompt-length and --prompt-prefix-pool-size",
    );
}

/// The prefix-pool flags under the reference's names.
#[test]
fn prefix_pool_aliases() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sim_run(
        tmp.path(),
        "pool",
        &[
            "--prompt-prefix-pool-size",
            "2",
            "--prompt-prefix-length",
            "16",
            "--isl",
            "20",
            "--request-count",
            "4",
        ],
    );
    assert_eq!(dataset(&dir)["prefix_prompts"]["pool_size"], 2);
    assert_eq!(dataset(&dir)["prefix_prompts"]["length"], 16);
    assert!(isl(&dir).iter().all(|&(ours, _)| ours == 36));
}

#[test]
fn seq_dist_pairs_set_input_and_output_lengths() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sim_run(
        tmp.path(),
        "pairs",
        &[
            "--seq-dist",
            "32,4:50;96,12:50",
            "--request-count",
            "40",
            "--extra-inputs",
            "ignore_eos:true",
        ],
    );
    let records = read_lines(&dir.join("profile_export.jsonl"));
    let mut seen = std::collections::HashSet::new();
    for r in &records {
        let m = &r["metrics"];
        let pair = (
            m["input_sequence_length"]["value"].as_u64().unwrap(),
            m["output_sequence_length"]["value"].as_u64().unwrap(),
        );
        assert!([(32, 4), (96, 12)].contains(&pair), "{pair:?}");
        seen.insert(pair);
    }
    assert_eq!(seen.len(), 2, "both pairs are drawn");
    let pairs = &dataset(&dir)["prompts"]["sequence_distribution"];
    assert_eq!(pairs[1]["isl"]["mean"], 96.0);
    assert_eq!(pairs[1]["probability"], 50.0);
    for (value, needle) in [
        ("128,64:0.5;512,256:0.5", "add up to 1, not 100"),
        ("128;64", "is not ISL[|STDDEV],OSL[|STDDEV]:PROBABILITY"),
    ] {
        assert_usage_error(&["profile", "--sim", "--seq-dist", value], needle);
    }
}

#[test]
fn range_ratio_windows_follow_the_corpus_style() {
    let tmp = tempfile::tempdir().unwrap();
    let base = [
        "--isl",
        "100",
        "--osl",
        "20",
        "--request-count",
        "30",
        "--extra-inputs",
        "ignore_eos:true",
    ];
    let lengths = |dir: &Path| -> Vec<(u64, u64)> {
        read_lines(&dir.join("profile_export.jsonl"))
            .iter()
            .map(|r| {
                let m = &r["metrics"];
                (
                    m["input_sequence_length"]["value"].as_u64().unwrap(),
                    m["output_sequence_length"]["value"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let mut args = base.to_vec();
    args.extend(["--random-range-ratio", "0.5"]);
    let vllm = lengths(&sim_run(tmp.path(), "vllm", &args));
    assert!(
        vllm.iter()
            .all(|&(i, o)| (50..=150).contains(&i) && (10..=30).contains(&o))
    );
    assert!(
        vllm.iter().any(|&(i, _)| i > 100),
        "a window around the mean"
    );
    args.extend(["--random-corpus-style", "sglang"]);
    let dir = sim_run(tmp.path(), "sglang", &args);
    let sglang = lengths(&dir);
    assert!(
        sglang
            .iter()
            .all(|&(i, o)| (50..=100).contains(&i) && (10..=20).contains(&o))
    );
    let prompts = &dataset(&dir)["prompts"];
    assert_eq!(prompts["random_range_ratio"], "0.5");
    assert_eq!(prompts["random_corpus_style"], "sglang");
    for (args, needle) in [
        (
            &["--random-range-ratio", "0.5"][..],
            "needs --isl and --osl",
        ),
        (
            &["--isl", "9", "--osl", "9", "--random-range-ratio", "1.5"][..],
            "is not in [0, 1)",
        ),
        (
            &[
                "--isl",
                "9",
                "--osl",
                "9",
                "--random-range-ratio",
                "0.2",
                "--seq-dist",
                "1,1:100",
            ][..],
            "mutually exclusive",
        ),
    ] {
        let mut all = vec!["profile", "--sim"];
        all.extend_from_slice(args);
        assert_usage_error(&all, needle);
    }
}

#[test]
fn prompt_corpora() {
    let tmp = tempfile::tempdir().unwrap();
    let text = |corpus: &str| -> String {
        let dir = sim_run(
            tmp.path(),
            corpus,
            &[
                "--prompt-corpus",
                corpus,
                "--isl",
                "200",
                "--request-count",
                "3",
            ],
        );
        assert_eq!(dataset(&dir)["prompts"]["corpus"], corpus);
        first_payloads(&dir)
            .iter()
            .map(|p| p["messages"][0]["content"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let sonnet = text("sonnet");
    assert!(
        ["thee", "thou", "thy"].iter().any(|w| sonnet.contains(w)),
        "{sonnet}"
    );
    let coding = text("coding");
    assert!(
        [
            "def ",
            "fn ",
            "Traceback",
            "diff --git",
            "cargo",
            "\"status\""
        ]
        .iter()
        .any(|w| coding.contains(w)),
        "{coding}"
    );
    assert_ne!(text("random"), sonnet);
}

/// A server that answers every POST with a short chat completion and records the bodies.
pub(crate) fn recording_server() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let bodies: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let log = log.clone();
            std::thread::spawn(move || {
                while let Some((head, body)) = read_http_request(&mut stream) {
                    if head.starts_with("GET") {
                        let _ = stream
                            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                        continue;
                    }
                    log.lock()
                        .unwrap()
                        .push(serde_json::from_str(&body).unwrap_or(Value::Null));
                    let answer = r#"{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                        answer.len()
                    );
                }
            });
        }
    });
    (url, bodies)
}

fn first_user_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .unwrap()
        .to_owned()
}

#[test]
fn cache_bust_markers_are_per_session() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sim_run(
        tmp.path(),
        "bust",
        &[
            "--cache-bust",
            "first_turn_prefix",
            "--isl",
            "50",
            "--num-dataset-entries",
            "2",
            "--request-count",
            "8",
            "--export-level",
            "raw",
        ],
    );
    let raw = read_lines(&dir.join("profile_export_raw.jsonl"));
    let markers: std::collections::HashSet<String> = raw
        .iter()
        .map(|r| {
            let text = first_user_text(&r["payload"]);
            assert!(text.starts_with("[rid:"), "{text}");
            text[..19].to_owned()
        })
        .collect();
    assert_eq!(
        markers.len(),
        8,
        "two conversations, eight sessions, eight markers"
    );
    for (ours, server) in isl(&dir) {
        assert_eq!(ours, server, "the marker is counted");
        // The marker's digits tokenize to a varying count around the one left room for.
        assert!(
            (45..=55).contains(&ours),
            "--isl 50 leaves room for the marker: {ours}"
        );
    }
    assert_eq!(
        dataset(&dir)["prompts"]["cache_bust"]["target"],
        "first_turn_prefix"
    );

    // The system target marks the system prompt (after it: a suffix).
    let dir = sim_run(
        tmp.path(),
        "system",
        &[
            "--cache-bust",
            "system-suffix",
            "--system-prompt",
            "Be brief.",
            "--request-count",
            "3",
            "--export-level",
            "raw",
        ],
    );
    for r in read_lines(&dir.join("profile_export_raw.jsonl")) {
        let system = r["payload"]["messages"][0]["content"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(system.starts_with("Be brief.\n\n[rid:"), "{system}");
    }

    // Warmup isolation: the warmup's requests start with [warmup], the profiling ones do not.
    let (url, bodies) = recording_server();
    let output = profile(
        &tmp.path().join("warm"),
        &[
            "-m",
            "m",
            "-u",
            &url,
            "--tokenizer",
            "builtin",
            "--cache-bust",
            "warmup_isolation_first_turn",
            "--warmup-request-count",
            "3",
            "--request-count",
            "4",
            "--concurrency",
            "1",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let texts: Vec<String> = bodies.lock().unwrap().iter().map(first_user_text).collect();
    assert_eq!(texts.len(), 7);
    assert!(
        texts[..3].iter().all(|t| t.starts_with("[warmup]\n\n")),
        "{texts:?}"
    );
    assert!(
        texts[3..].iter().all(|t| !t.contains("[warmup]")),
        "{texts:?}"
    );
    assert_usage_error(
        &[
            "profile",
            "--sim",
            "--cache-bust",
            "warmup_isolation_system",
        ],
        "needs a system prompt",
    );
}
