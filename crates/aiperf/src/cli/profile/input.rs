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
        visible_alias = "batch-size-text",
        default_value_t = 1
    )]
    pub prompt_batch_size: u32,

    /// Number of distinct synthetic prompts (conversations, with --session-turns-mean).
    #[arg(long, visible_alias = "num-prompts", default_value_t = 100)]
    pub num_dataset_entries: u32,

    /// Tokens per `hash_ids` block of a trace file (mooncake's is 512; other traces use
    /// other sizes, e.g. 16).
    #[arg(long, default_value_t = 512)]
    pub isl_block_size: u32,

    /// Size of a pool of shared prefixes: each synthetic conversation's first prompt starts
    /// with one of them (what a server's prefix cache can reuse). Needs --prefix-prompt-length.
    #[arg(long, default_value_t = 0)]
    pub num_prefix_prompts: u32,

    /// Tokens per shared prefix (counted in the input length).
    #[arg(long, default_value_t = 0)]
    pub prefix_prompt_length: u32,

    /// Tokens of one system prompt sent with every synthetic conversation (a system message
    /// in chat; text before the prompt in completions).
    #[arg(long, default_value_t = 0)]
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

    /// JSON-lines file of prompts, sessions or a trace (needs --custom-dataset-type).
    #[arg(long)]
    pub input_file: Option<PathBuf>,

    /// Format of --input-file.
    #[arg(long, value_enum)]
    pub custom_dataset_type: Option<DatasetFileKind>,

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
