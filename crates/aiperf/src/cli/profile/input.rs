//! Prompts: synthetic lengths, sessions, shared prefixes, input files.

use std::path::PathBuf;

use clap::Args;

use super::list_count;
use crate::settings::*;

#[derive(Debug, Args)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// Mean input length of synthetic prompts, in tokens (comma-separated values sweep).
    #[arg(long = "isl", visible_aliases = ["synthetic-input-tokens-mean", "prompt-input-tokens-mean"], value_delimiter = ',', value_parser = list_count::<u32>, action = clap::ArgAction::Set)]
    pub isl: Vec<u32>,

    /// Standard deviation of the synthetic input length.
    #[arg(long = "isl-stddev", visible_aliases = ["synthetic-input-tokens-stddev", "prompt-input-tokens-stddev"], default_value_t = 0.0)]
    pub isl_stddev: f64,

    /// Mean requested output length (`max_completion_tokens`), in tokens. Unset: the server
    /// decides (add `--extra-inputs ignore_eos:true` to force exact lengths).
    #[arg(long = "osl", visible_aliases = ["output-tokens-mean", "prompt-output-tokens-mean"], value_delimiter = ',', value_parser = list_count::<u32>, action = clap::ArgAction::Set)]
    pub osl: Vec<u32>,

    /// Standard deviation of the requested output length.
    #[arg(long = "osl-stddev", visible_aliases = ["output-tokens-stddev", "prompt-output-tokens-stddev"], default_value_t = 0.0)]
    pub osl_stddev: f64,

    /// Texts per request for --endpoint-type embeddings (each a synthetic prompt of --isl
    /// tokens).
    #[arg(
        short = 'b',
        long,
        visible_aliases = ["batch-size-text", "batch-size"],
        default_value_t = 1
    )]
    pub prompt_batch_size: u32,

    /// Number of distinct synthetic prompts (conversations, with --session-turns-mean).
    #[arg(long, visible_alias = "num-prompts", default_value_t = 100)]
    pub num_dataset_entries: u32,

    /// Tokens per `hash_ids` block of a trace file. Default: the format's own (512 for
    /// mooncake_trace, 16 for bailian_trace); set it for a trace recorded with other blocks.
    #[arg(
        long = "prompt-input-tokens-block-size",
        visible_aliases = ["synthetic-input-tokens-block-size", "isl-block-size"],
        value_name = "TOKENS",
        help_heading = "Input Sequence Length (ISL)"
    )]
    pub isl_block_size: Option<u32>,

    /// Size of a pool of shared prefixes: each synthetic conversation's first prompt starts
    /// with one of them (what a server's prefix cache can reuse). Needs --prefix-prompt-length.
    #[arg(
        long = "prompt-prefix-pool-size",
        visible_aliases = ["prefix-prompt-pool-size", "num-prefix-prompts"],
        default_value_t = 0,
        help_heading = "Prefix Prompt"
    )]
    pub num_prefix_prompts: u32,

    /// Tokens per shared prefix (added to the input length).
    #[arg(
        long = "prompt-prefix-length",
        visible_alias = "prefix-prompt-length",
        default_value_t = 0,
        help_heading = "Prefix Prompt"
    )]
    pub prefix_prompt_length: u32,

    /// Tokens of one system prompt sent with every synthetic conversation (a system message
    /// in chat; text before the prompt in completions).
    #[arg(long, default_value_t = 0, help_heading = "Prefix Prompt")]
    pub shared_system_prompt_length: u32,

    /// Mean number of turns of a synthetic conversation (multi-turn chat: each turn resends
    /// the history with the server's answers).
    #[arg(long, visible_alias = "conversation-turn-mean", default_value_t = 1.0)]
    pub session_turns_mean: f64,

    /// Standard deviation of the number of turns.
    #[arg(
        long,
        visible_alias = "conversation-turn-stddev",
        default_value_t = 0.0
    )]
    pub session_turns_stddev: f64,

    /// Mean pause before each turn after the first, in milliseconds (a user reading and
    /// typing).
    #[arg(
        long,
        visible_alias = "conversation-turn-delay-mean",
        default_value_t = 0.0
    )]
    pub session_turn_delay_mean: f64,

    /// Standard deviation of that pause, in milliseconds.
    #[arg(
        long,
        visible_alias = "conversation-turn-delay-stddev",
        default_value_t = 0.0
    )]
    pub session_turn_delay_stddev: f64,

    /// Scales every turn pause (0 sends the turns back to back).
    #[arg(
        long,
        visible_alias = "conversation-turn-delay-ratio",
        default_value_t = 1.0
    )]
    pub session_delay_ratio: f64,

    /// Seed of every random choice (prompts, lengths, order, arrivals). Default: random, and
    /// recorded in run_config.json so the run can be repeated.
    #[arg(long)]
    pub random_seed: Option<u64>,

    /// JSON-lines file of prompts, sessions or a trace (needs --custom-dataset-type), a
    /// directory (random_pool, raw_payload), or the local copy of a --public-dataset.
    #[arg(long)]
    pub input_file: Option<PathBuf>,

    /// Format of --input-file: single_turn, multi_turn, mooncake_trace, bailian_trace,
    /// burst_gpt_trace, random_pool, raw_payload or inputs_json (guessed from the first row
    /// when omitted).
    #[arg(long, value_name = "TYPE")]
    pub custom_dataset_type: Option<String>,

    /// A well-known dataset, read from its local copy: sharegpt (ShareGPT), or a Hugging Face
    /// dataset exported as JSON lines (aimo, spec_al_gsm8k, ...; see docs/profile.md). Nothing
    /// is downloaded: a missing copy is an error that says what to download and where.
    #[arg(long, value_name = "NAME")]
    pub public_dataset: Option<String>,

    /// The Hugging Face config (subset) of --public-dataset to read instead of its default.
    #[arg(long, value_name = "NAME")]
    pub hf_subset: Option<String>,

    /// A filter of --public-dataset rows, `key=value` (repeatable); only for datasets that
    /// declare filters.
    #[arg(long = "dataset-filter", value_name = "KEY=VALUE", num_args = 1.., action = clap::ArgAction::Append)]
    pub dataset_filters: Vec<String>,

    /// Drop the timestamps and delays of --input-file rows: turns go out back to back at the
    /// load's concurrency or rate instead of at their recorded times. No effect with
    /// --fixed-schedule.
    #[arg(long)]
    pub ignore_trace_delays: bool,

    /// For weka_trace inputs only (not read by this tool): pace turns by their recorded think
    /// time alone. Accepted; no effect.
    #[arg(long)]
    pub use_think_time_only: bool,

    /// For weka_trace inputs only: drop traces whose recorded context exceeds this many
    /// tokens. Refused for every dataset this tool reads.
    #[arg(long, value_name = "TOKENS")]
    pub max_context_length: Option<u32>,

    /// For weka and agentic replay (not offered here): let sessions reuse traces when the
    /// concurrency exceeds them. Other datasets always wrap around; accepted, no effect.
    #[arg(long, overrides_with = "no_allow_dataset_wrap")]
    pub allow_dataset_wrap: bool,

    /// The default: see --allow-dataset-wrap.
    #[arg(long, overrides_with = "allow_dataset_wrap")]
    pub no_allow_dataset_wrap: bool,

    /// For baseten_trace inputs only (Parquet, not read by this tool): keep this share of the
    /// trace's sessions. Refused for every dataset this tool reads.
    #[arg(long, value_name = "RATIO")]
    pub trace_session_sample_ratio: Option<f64>,

    /// Order in which prompts are used. Default: shuffle for synthetic prompts, sequential
    /// for files.
    #[arg(long, value_enum)]
    pub dataset_sampling_strategy: Option<Sampling>,

    /// Mean number of passages per synthetic rankings request (the rankings endpoint types).
    /// Unset: 10.
    #[arg(long, help_heading = "Rankings")]
    pub rankings_passages_mean: Option<u32>,

    /// Standard deviation of the number of passages (needs --rankings-passages-mean).
    #[arg(long, help_heading = "Rankings")]
    pub rankings_passages_stddev: Option<u32>,

    /// Mean tokens per synthetic passage. Unset: 128.
    #[arg(long, help_heading = "Rankings")]
    pub rankings_passages_prompt_token_mean: Option<u32>,

    /// Standard deviation of the tokens per passage (needs
    /// --rankings-passages-prompt-token-mean).
    #[arg(long, help_heading = "Rankings")]
    pub rankings_passages_prompt_token_stddev: Option<u32>,

    /// Mean tokens of a synthetic rankings query. Unset: 32.
    #[arg(long, help_heading = "Rankings")]
    pub rankings_query_prompt_token_mean: Option<u32>,

    /// Standard deviation of the query tokens (needs --rankings-query-prompt-token-mean).
    #[arg(long, help_heading = "Rankings")]
    pub rankings_query_prompt_token_stddev: Option<u32>,
}
