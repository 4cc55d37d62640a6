//! `--tokenizer server`: the served model's own tokenizer, through the server's `/tokenize`
//! and `/detokenize` endpoints (llama.cpp, vLLM and SGLang have them), so prompts of exact
//! token lengths need no tokenizer download.
//!
//! One request body fits the three servers: llama.cpp reads `content` and `add_special`,
//! vLLM and SGLang read `prompt`, `model` and `add_special_tokens`; each ignores the others'
//! fields. Answers carry `tokens`; detokenizing answers `content` (llama.cpp) or `prompt`.
//! Counting output during a run sends one small request per response to the server (off the
//! request path, from the collector).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::UsageError;

/// A tokenizer that asks the server.
pub struct ServerTokenizer {
    name: String,
    agent: ureq::Agent,
    /// `…/tokenize` and `…/detokenize`.
    tokenize: String,
    detokenize: String,
    model: String,
    /// A failure during the run is logged once.
    warned: AtomicBool,
}

impl std::fmt::Debug for ServerTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServerTokenizer({})", self.tokenize)
    }
}

/// Paths tried under the server's base URL, in order.
const PATHS: [(&str, &str); 2] = [
    ("/tokenize", "/detokenize"),
    ("/v1/tokenize", "/v1/detokenize"),
];

impl ServerTokenizer {
    /// Finds the server's tokenize endpoint under `base` (its root URL, as `--url`) and checks
    /// that it answers.
    pub fn connect(base: &str, model: &str) -> Result<Self, UsageError> {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(60))
            .build();
        let base = base.trim_end_matches('/');
        let mut tried = Vec::new();
        for (tokenize, detokenize) in PATHS {
            let t = Self {
                name: format!("server ({base})"),
                agent: agent.clone(),
                tokenize: format!("{base}{tokenize}"),
                detokenize: format!("{base}{detokenize}"),
                model: model.to_owned(),
                warned: AtomicBool::new(false),
            };
            match t.try_encode("hello world") {
                Ok(ids) if !ids.is_empty() => return Ok(t),
                Ok(_) => tried.push(format!("{tokenize}: answered no tokens")),
                Err(e) => match *e {
                    ureq::Error::Status(code, _) => tried.push(format!("{tokenize}: HTTP {code}")),
                    e => {
                        return Err(UsageError::new(format!(
                            "--tokenizer server: cannot reach {base} to tokenize ({e}); start \
                             the server first, or pass the model's tokenizer with --tokenizer \
                             NAME_OR_PATH"
                        )));
                    }
                },
            }
        }
        Err(UsageError::new(format!(
            "--tokenizer server: {base} has no tokenize endpoint ({}); this server cannot count \
             tokens for aiperf: pass the model's tokenizer with --tokenizer NAME_OR_PATH (a \
             tokenizer.json, its directory, or a Hugging Face id)",
            tried.join(", ")
        )))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn try_encode(&self, text: &str) -> Result<Vec<u32>, Box<ureq::Error>> {
        let answer: Value = self
            .agent
            .post(&self.tokenize)
            .send_json(json!({
                "content": text,
                "prompt": text,
                "model": self.model,
                "add_special": false,
                "add_special_tokens": false,
            }))?
            .into_json()
            .map_err(ureq::Error::from)?;
        Ok(answer
            .get("tokens")
            .and_then(Value::as_array)
            .map(|ids| {
                ids.iter()
                    // llama.cpp answers `{"id": n, "piece": …}` when asked for pieces.
                    .filter_map(|v| v.as_u64().or_else(|| v.get("id")?.as_u64()))
                    .filter_map(|v| u32::try_from(v).ok())
                    .collect()
            })
            .unwrap_or_default())
    }

    fn try_decode(&self, ids: &[u32]) -> Result<String, Box<ureq::Error>> {
        let answer: Value = self
            .agent
            .post(&self.detokenize)
            .send_json(json!({"tokens": ids, "model": self.model}))?
            .into_json()
            .map_err(ureq::Error::from)?;
        Ok(answer
            .get("content")
            .or_else(|| answer.get("prompt"))
            .or_else(|| answer.get("text"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned())
    }

    fn failed(&self, what: &str, e: &ureq::Error) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "--tokenizer server: {what} at {} failed ({e}); token counts that needed it are 0",
                self.tokenize
            );
        }
    }

    pub fn encode(&self, text: &str) -> Vec<u32> {
        self.try_encode(text).unwrap_or_else(|e| {
            self.failed("tokenizing", &e);
            Vec::new()
        })
    }

    pub fn decode(&self, ids: &[u32]) -> String {
        self.try_decode(ids).unwrap_or_else(|e| {
            self.failed("detokenizing", &e);
            String::new()
        })
    }
}
