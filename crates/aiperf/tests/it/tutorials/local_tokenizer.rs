//! docs/tutorials/local-tokenizer.md: `--tokenizer DIR` reads a Hugging Face tokenizer from
//! local files, with no connection to the hub.
//!
//! Each tutorial path becomes a directory the test writes in the layout the tutorial shows
//! (`tokenizer.json`, `tokenizer_config.json`, `config.json`), holding a word-level tokenizer:
//! one token per word. Prompts built and counted with it have exactly as many words as
//! tokens, which the built-in tokenizers would not give.

use std::path::{Path, PathBuf};

use super::sharegpt::{only_sharegpt_prompts, write_sharegpt};
use super::{Tutorial, metric, payloads, read_json, records};

const LOCAL: &str = r"aiperf profile \
    --tokenizer /path/to/your/local/tokenizer \
    --model your-model-name \
    --endpoint-type chat \
    --url localhost:8000 \
    --request-count 10";

const LLAMA: &str = r"aiperf profile \
    --tokenizer /home/user/tokenizers/llama-2-7b \
    --model llama-2-7b \
    --endpoint-type chat \
    --url localhost:8000 \
    --streaming \
    --request-count 20 \
    --concurrency 4";

const QWEN_SHAREGPT: &str = r"aiperf profile \
    --tokenizer /opt/tokenizers/qwen-0.6b \
    --model Qwen/Qwen3-0.6B \
    --endpoint-type chat \
    --url localhost:8000 \
    --public-dataset sharegpt \
    --request-count 50";

/// A word-level tokenizer.json: each whitespace-separated word is one token.
pub(super) const WORD_LEVEL: &str = r#"{
  "version": "1.0",
  "truncation": null,
  "padding": null,
  "added_tokens": [],
  "normalizer": null,
  "pre_tokenizer": {"type": "WhitespaceSplit"},
  "post_processor": null,
  "decoder": {"type": "WordPiece", "prefix": "@@", "cleanup": false},
  "model": {
    "type": "WordLevel",
    "vocab": {"[UNK]": 0, "the": 1, "of": 2, "and": 3, "to": 4, "in": 5, "is": 6, "it": 7,
              "a": 8, "that": 9, "for": 10, "on": 11, "with": 12, "as": 13, "was": 14,
              "at": 15, "by": 16, "river": 17, "stone": 18, "light": 19},
    "unk_token": "[UNK]"
  }
}"#;

/// Writes the tokenizer directory in `cwd`; its path.
fn tokenizer_dir(cwd: &Path) -> PathBuf {
    let dir = cwd.join("tokenizer");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tokenizer.json"), WORD_LEVEL).unwrap();
    std::fs::write(
        dir.join("tokenizer_config.json"),
        r#"{"model_max_length": 4096, "unk_token": "[UNK]"}"#,
    )
    .unwrap();
    std::fs::write(dir.join("config.json"), r#"{"model_type": "word-level"}"#).unwrap();
    dir
}

/// Runs a printed command with its tokenizer path replaced by the test's directory.
fn run_with_local(printed: &str, path: &str, count: &str, cwd: &Path) -> PathBuf {
    let dir = tokenizer_dir(cwd);
    let run = Tutorial::parse(printed)
        .on_sim("fixed", 10.0)
        .replacing(path, dir.to_str().unwrap())
        .with("--request-count", count)
        .run_in(cwd)
        .ok();
    let out = run.dir();
    let config = read_json(&out.join("run_config.json"));
    assert!(
        config.to_string().contains(dir.to_str().unwrap()),
        "run_config.json names the tokenizer: {config}"
    );
    out
}

/// Synthetic prompts of the default 550 tokens: 550 of the tokenizer's own words.
fn prompts_are_made_of_its_words(dir: &Path) {
    let vocab: serde_json::Value = serde_json::from_str(WORD_LEVEL).unwrap();
    let vocab = vocab["model"]["vocab"].as_object().unwrap();
    for p in payloads(dir) {
        let text = p["messages"][0]["content"].as_str().unwrap();
        let words: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(words.len(), 550, "{text}");
        assert!(words.iter().all(|w| vocab.contains_key(*w)), "{text}");
    }
    for r in records(dir) {
        assert_eq!(metric(&r, "input_sequence_length"), 550.0);
    }
}

#[test]
fn a_local_tokenizer_directory_builds_the_prompts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run_with_local(LOCAL, "/path/to/your/local/tokenizer", "4", tmp.path());
    assert_eq!(records(&dir).len(), 4);
    prompts_are_made_of_its_words(&dir);
}

#[test]
fn a_local_llama_tokenizer_with_streaming() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run_with_local(LLAMA, "/home/user/tokenizers/llama-2-7b", "8", tmp.path());
    assert_eq!(records(&dir).len(), 8);
    prompts_are_made_of_its_words(&dir);
}

#[test]
fn a_local_tokenizer_counts_sharegpt() {
    let tmp = tempfile::tempdir().unwrap();
    let sent = write_sharegpt(tmp.path());
    let dir = run_with_local(QWEN_SHAREGPT, "/opt/tokenizers/qwen-0.6b", "8", tmp.path());
    only_sharegpt_prompts(&dir, &sent);
    // "Question 1: how do tides depend on the moon and the sun?" is 12 words, 12 tokens
    // here (a built-in BPE tokenizer splits off the colon and the question mark).
    for r in records(&dir) {
        assert_eq!(metric(&r, "input_sequence_length"), 12.0);
    }
}
