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
    /// Alibaba's Bailian traces: sessions linked by `chat_id`/`parent_chat_id`, 16-token
    /// blocks, timestamps in seconds.
    BailianTrace,
    /// Pools of prompts (a file, or a directory of files) sampled into conversations.
    RandomPool,
    /// BurstGPT's CSV of request and response token counts.
    BurstGptTrace,
    /// Whole request bodies, one per line (or one file per session in a directory).
    RawPayload,
    /// An `inputs.json` as this tool writes it: its payloads replayed.
    InputsJson,
    /// A `--public-dataset` (its format follows from its name).
    #[value(skip)]
    PublicDataset,
}

impl DatasetFileKind {
    /// The `--custom-dataset-type` name.
    pub fn name(self) -> &'static str {
        match self {
            Self::SingleTurn => "single_turn",
            Self::MultiTurn => "multi_turn",
            Self::MooncakeTrace => "mooncake_trace",
            Self::BailianTrace => "bailian_trace",
            Self::RandomPool => "random_pool",
            Self::BurstGptTrace => "burst_gpt_trace",
            Self::RawPayload => "raw_payload",
            Self::InputsJson => "inputs_json",
            Self::PublicDataset => "public",
        }
    }

    /// Tokens per `hash_ids` block when `--isl-block-size` is not given.
    pub fn default_block_tokens(self) -> u32 {
        match self {
            Self::BailianTrace => BAILIAN_BLOCK_TOKENS,
            _ => TRACE_BLOCK_TOKENS,
        }
    }

    /// Traces: rows carry timestamps and token counts, and are replayed in file order.
    pub fn is_trace(self) -> bool {
        matches!(
            self,
            Self::MooncakeTrace | Self::BailianTrace | Self::BurstGptTrace
        )
    }
}

/// Tokens per block of a Bailian trace's `hash_ids`.
pub const BAILIAN_BLOCK_TOKENS: u32 = 16;

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

/// `--prompt-corpus`: the text synthetic prompts are cut from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum PromptCorpus {
    /// Shakespeare's sonnets.
    Sonnet,
    /// Code, shell output, JSON, tracebacks and diffs.
    Coding,
    /// Random token ids of the tokenizer's vocabulary.
    Random,
}

/// `--random-corpus-style`: which benchmark tool's conventions random lengths and random
/// tokens follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum CorpusStyle {
    /// `vllm bench serve`: a window around the mean, special tokens left out.
    #[default]
    Vllm,
    /// SGLang's `bench_serving` (random-ids): a window below the mean, every token id.
    Sglang,
}

/// `--cache-bust`: where a marker that defeats prefix caching between sessions goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum CacheBustTarget {
    #[default]
    None,
    /// A per-session marker before the system prompt (the first user text without one).
    #[value(alias = "system-prefix")]
    SystemPrefix,
    /// A per-session marker after the system prompt (the first user text without one).
    #[value(alias = "system-suffix")]
    SystemSuffix,
    /// A per-session marker before the first user text.
    #[value(alias = "first-turn-prefix")]
    FirstTurnPrefix,
    /// A per-session marker after the first user text.
    #[value(alias = "first-turn-suffix")]
    FirstTurnSuffix,
    /// `[warmup]` before the system prompt, during the warmup only.
    #[value(alias = "warmup-isolation-system")]
    WarmupIsolationSystem,
    /// `[warmup]` before the first user text, during the warmup only.
    #[value(alias = "warmup-isolation-first-turn")]
    WarmupIsolationFirstTurn,
}

impl CacheBustTarget {
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::SystemPrefix => "system_prefix",
            Self::SystemSuffix => "system_suffix",
            Self::FirstTurnPrefix => "first_turn_prefix",
            Self::FirstTurnSuffix => "first_turn_suffix",
            Self::WarmupIsolationSystem => "warmup_isolation_system",
            Self::WarmupIsolationFirstTurn => "warmup_isolation_first_turn",
        }
    }

    /// Targets that mark only the warmup's requests.
    pub fn warmup_only(self) -> bool {
        matches!(
            self,
            Self::WarmupIsolationSystem | Self::WarmupIsolationFirstTurn
        )
    }
}

/// One (input, output) length pair of `--seq-dist`, with its probability in percent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeqPair {
    pub isl: LengthDist,
    pub osl: LengthDist,
    pub probability: f64,
}

/// How each synthetic request's input and output lengths are drawn, when not from the
/// normal distributions of `--isl` and `--osl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LengthPlan {
    /// `--seq-dist`: one pair drawn by its probability, per request.
    Pairs { pairs: Vec<SeqPair> },
    /// `--random-range-ratio`: uniform whole numbers in these inclusive windows.
    Window {
        isl: (u32, u32),
        osl: (u32, u32),
        /// The ratios given (input, output), for the record.
        ratio: (f64, f64),
        /// The flag's text, as given.
        given: String,
    },
}

/// `--synthesis-*`: how trace rows are reshaped before their prompts are built.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Synthesis {
    pub speedup_ratio: f64,
    pub prefix_len_multiplier: f64,
    pub prefix_root_multiplier: u32,
    pub prompt_len_multiplier: f64,
    pub output_len_multiplier: f64,
    pub max_isl: Option<u32>,
    pub max_osl: Option<u32>,
}

impl Default for Synthesis {
    fn default() -> Self {
        Self {
            speedup_ratio: 1.0,
            prefix_len_multiplier: 1.0,
            prefix_root_multiplier: 1,
            prompt_len_multiplier: 1.0,
            output_len_multiplier: 1.0,
            max_isl: None,
            max_osl: None,
        }
    }
}

impl Synthesis {
    /// Whether a multiplier or the speedup differs from 1 (the caps alone filter and clip
    /// rows without reshaping them).
    pub fn reshapes(&self) -> bool {
        self.speedup_ratio != 1.0
            || self.prefix_len_multiplier != 1.0
            || self.prefix_root_multiplier != 1
            || self.prompt_len_multiplier != 1.0
            || self.output_len_multiplier != 1.0
    }
}

/// `--public-dataset`: a well-known dataset read from a local copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicSource {
    /// Its `--public-dataset` name (snake_case).
    pub name: String,
    /// `--hf-subset`: the Hugging Face config to read instead of the dataset's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subset: Option<String>,
    /// `--dataset-filter key=value`, in the order given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<(String, String)>,
}

/// What shapes prompts beyond their lengths, and what is done to a dataset as it is built.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DatasetOptions {
    /// A verbatim system prompt sent with every conversation (`--system-prompt`,
    /// `--system-prompt-file`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// Tokens of a user message unique to each synthetic conversation, sent before its first
    /// turn (`--user-context-prompt-length`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_context_length: Option<u32>,
    /// `--seq-dist` or `--random-range-ratio`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lengths: Option<LengthPlan>,
    /// `--prompt-corpus`; unset: the built-in corpus of single-token words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corpus: Option<PromptCorpus>,
    /// `--random-corpus-style`.
    #[serde(skip_serializing_if = "is_vllm")]
    pub corpus_style: CorpusStyle,
    /// `--cache-bust`.
    #[serde(skip_serializing_if = "is_none_target")]
    pub cache_bust: CacheBustTarget,
    /// `--ignore-trace-delays`: input-file timestamps and delays are dropped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ignore_trace_delays: bool,
    /// `--synthesis-*`, when one differs from its default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synthesis: Option<Synthesis>,
    /// `--num-dataset-entries` for an input file: how many rows (public datasets) or
    /// conversations (`random_pool`) to use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_entries: Option<u32>,
    /// `--public-dataset`, read from the file of `InputConfig::File`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public: Option<PublicSource>,
}

fn is_vllm(style: &CorpusStyle) -> bool {
    *style == CorpusStyle::Vllm
}

fn is_none_target(target: &CacheBustTarget) -> bool {
    *target == CacheBustTarget::None
}

impl DatasetOptions {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}
