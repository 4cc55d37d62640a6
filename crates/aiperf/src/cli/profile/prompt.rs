//! How synthetic prompts are shaped beyond their mean lengths: system and context prompts,
//! length plans, the corpus, cache busting; and how trace rows are reshaped (synthesis).

use std::path::PathBuf;

use clap::Args;

use crate::settings::{CacheBustTarget, CorpusStyle, PromptCorpus};

#[derive(Debug, Args)]
pub struct PromptArgs {
    /// A system prompt, verbatim, sent with every conversation (before the dataset's own
    /// system prompt, when it has one). Its tokens add to --isl. Not with
    /// --system-prompt-file, --shared-system-prompt-length or prefix prompts.
    #[arg(long, value_name = "TEXT", help_heading = "Prefix Prompt")]
    pub system_prompt: Option<String>,

    /// A UTF-8 file holding the system prompt (read once, before the run starts), for prompts
    /// too long to quote on a command line.
    #[arg(long, value_name = "PATH", help_heading = "Prefix Prompt")]
    pub system_prompt_file: Option<PathBuf>,

    /// Tokens of a user message unique to each synthetic conversation, sent before its first
    /// turn (per-session context a prefix cache can reuse within the session only). Not
    /// with prefix prompts.
    #[arg(long, value_name = "TOKENS", help_heading = "Prefix Prompt")]
    pub user_context_prompt_length: Option<u32>,

    /// Input and output lengths drawn from pairs, each with a probability in percent (the
    /// probabilities add up to 100): `ISL,OSL:PROB;...`, a pair's lengths optionally with a
    /// standard deviation (`ISL|SD,OSL|SD:PROB`); also `[(ISL,OSL):PROB,...]` or
    /// `{"pairs": [{"isl": ., "osl": ., "prob": .}]}`. E.g. `128,64:25;512,128:75`.
    #[arg(
        long,
        visible_alias = "sequence-distribution",
        value_name = "PAIRS",
        help_heading = "Input Sequence Length (ISL)"
    )]
    pub seq_dist: Option<String>,

    /// Draw input and output lengths uniformly from a window around --isl and --osl (both
    /// needed): with --random-corpus-style vllm, [mean*(1-R), mean*(1+R)] with R in [0, 1),
    /// or `{"input": R, "output": R}`; with sglang, [mean*R, mean] with R in [0, 1]. Not
    /// with --seq-dist or the standard deviations.
    #[arg(long, value_name = "R", help_heading = "Input Sequence Length (ISL)")]
    pub random_range_ratio: Option<String>,

    /// Whose conventions --random-range-ratio and --prompt-corpus random follow: vllm (a
    /// window around the mean; special tokens left out) or sglang (a window below the mean;
    /// every token id).
    #[arg(
        long,
        value_enum,
        default_value_t = CorpusStyle::Vllm,
        help_heading = "Input Sequence Length (ISL)"
    )]
    pub random_corpus_style: CorpusStyle,

    /// The text synthetic prompts (and trace blocks) are cut from: sonnet (Shakespeare's
    /// sonnets), coding (code, shell output, JSON, tracebacks, diffs) or random (random token
    /// ids). Unset: a corpus of common words, each one token, so every prompt has its exact
    /// length.
    #[arg(long, value_enum, help_heading = "Prompt")]
    pub prompt_corpus: Option<PromptCorpus>,

    /// Add a marker that keeps a server's prefix cache from reusing one session's prompt in
    /// another: a unique `[rid:...]` per session before or after the system prompt or the
    /// first user text (system_prefix, system_suffix, first_turn_prefix, first_turn_suffix),
    /// or `[warmup]` during the warmup only (warmup_isolation_system,
    /// warmup_isolation_first_turn).
    #[arg(
        long,
        value_enum,
        default_value_t = CacheBustTarget::None,
        help_heading = "Cache Bust"
    )]
    pub cache_bust: CacheBustTarget,

    /// Trace files: divide timestamps by this factor (2 replays twice as fast).
    #[arg(long, default_value_t = 1.0, help_heading = "Synthesis")]
    pub synthesis_speedup_ratio: f64,

    /// Trace files: scale the shared prefix of each row (its blocks seen in other rows).
    #[arg(long, default_value_t = 1.0, help_heading = "Synthesis")]
    pub synthesis_prefix_len_multiplier: f64,

    /// Trace files: spread rows over this many independent prefix trees.
    #[arg(long, default_value_t = 1, help_heading = "Synthesis")]
    pub synthesis_prefix_root_multiplier: u32,

    /// Trace files: scale the unique part of each row's prompt.
    #[arg(long, default_value_t = 1.0, help_heading = "Synthesis")]
    pub synthesis_prompt_len_multiplier: f64,

    /// Trace files: scale each row's output length.
    #[arg(long, default_value_t = 1.0, help_heading = "Synthesis")]
    pub synthesis_output_len_multiplier: f64,

    /// Trace files: skip rows longer than this many input tokens.
    #[arg(long, value_name = "TOKENS", help_heading = "Synthesis")]
    pub synthesis_max_isl: Option<u32>,

    /// Trace files: cap each row's output length at this many tokens.
    #[arg(long, value_name = "TOKENS", help_heading = "Synthesis")]
    pub synthesis_max_osl: Option<u32>,
}
