//! Where prompts come from and how long they are; which tokenizer counts them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The order in which conversations are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// In file order, wrapping around.
    Sequential,
    /// A seeded permutation, repeated.
    Shuffle,
    /// Independent uniform draws.
    Random,
}

/// Normal distribution parameters of a length.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LengthDist {
    pub mean: f64,
    pub stddev: f64,
}

/// `--custom-dataset-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum DatasetFileKind {
    SingleTurn,
    MultiTurn,
    MooncakeTrace,
}

/// Which tokenizer to load, as resolved from `--tokenizer` and `--model`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TokenizerSpec {
    /// A built-in OpenAI encoding.
    Builtin { encoding: Encoding },
    /// A `tokenizer.json` file, or a directory holding one.
    File { path: PathBuf },
    /// A Hugging Face hub repository.
    Hub { repo: String, revision: String },
    /// The server's own `/tokenize` endpoint (`--tokenizer server`), at `url` (the first
    /// `--url`), for `model`.
    Server { url: String, model: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    O200kBase,
    Cl100kBase,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Self::O200kBase => "o200k_base",
            Self::Cl100kBase => "cl100k_base",
        }
    }
}

impl TokenizerSpec {
    /// Resolves `--tokenizer` (or its absence) for the first `--model`.
    ///
    /// Without `--tokenizer`, a model name shaped like a hub id (`org/name`) or naming a local
    /// directory is used as the tokenizer, as the reference tool does; any other model name is
    /// a placeholder (`mock-model`, `gpt-4o`, a simulator model) and gets `o200k_base`.
    pub fn resolve(tokenizer: Option<&str>, model: &str, revision: &str) -> Self {
        let name = match tokenizer {
            Some(name) => name,
            None if Path::new(model).is_dir() || looks_like_hub_id(model) => model,
            None => {
                return Self::Builtin {
                    encoding: Encoding::O200kBase,
                };
            }
        };
        match name {
            "builtin" | "o200k_base" => Self::Builtin {
                encoding: Encoding::O200kBase,
            },
            "cl100k_base" => Self::Builtin {
                encoding: Encoding::Cl100kBase,
            },
            _ if Path::new(name).exists()
                || name.ends_with(".json")
                || name.starts_with('.')
                || name.starts_with('/') =>
            {
                Self::File {
                    path: PathBuf::from(name),
                }
            }
            _ => Self::Hub {
                repo: name.to_owned(),
                revision: revision.to_owned(),
            },
        }
    }

    /// A short human-readable name (for logs and `input_config`).
    pub fn display_name(&self) -> String {
        match self {
            Self::Builtin { encoding } => encoding.name().to_owned(),
            Self::File { path } => path.display().to_string(),
            Self::Hub { repo, .. } => repo.clone(),
            Self::Server { url, .. } => format!("server ({url})"),
        }
    }
}

fn looks_like_hub_id(name: &str) -> bool {
    let mut parts = name.split('/');
    let (Some(org), Some(repo), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    ok(org) && ok(repo)
}

/// Tokens per block of a trace's `hash_ids` (the mooncake trace convention).
pub const TRACE_BLOCK_TOKENS: u32 = 512;

/// Synthetic rankings requests (`--rankings-*`): one query and a number of passages each.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RankingsShape {
    /// Passages per request.
    pub passages: LengthDist,
    /// Tokens per passage.
    pub passage_tokens: LengthDist,
    /// Tokens of the query.
    pub query_tokens: LengthDist,
}

impl Default for RankingsShape {
    /// What the Python AIPerf generates when no `--rankings-*` flag is given: 10 passages of
    /// 128 tokens and a query of 32 tokens.
    fn default() -> Self {
        let fixed = |mean: f64| LengthDist { mean, stddev: 0.0 };
        Self {
            passages: fixed(10.0),
            passage_tokens: fixed(128.0),
            query_tokens: fixed(32.0),
        }
    }
}
