//! `aiperf synthesize`: flags.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// The workloads `synthesize` draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// Multi-turn coding-agent sessions with a layered shared prefix (a mooncake trace).
    AgenticCode,
}

#[derive(Debug, Args)]
pub struct SynthesizeArgs {
    /// Dataset workload to synthesize.
    #[arg(
        value_enum,
        value_name = "TARGET",
        required_unless_present = "target_flag",
        conflicts_with = "target_flag"
    )]
    pub target: Option<Target>,

    /// TARGET as a flag.
    #[arg(long = "target", id = "target_flag", value_enum, value_name = "TARGET")]
    pub target_flag: Option<Target>,

    /// Number of sessions to generate (restart splits add continuation sessions).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub num_sessions: u64,

    /// Parent directory of the run directory (`<config>_<N>s_seed<S>_<UTC time>`).
    #[arg(long, default_value = ".")]
    pub output: PathBuf,

    /// A config JSON, a previous run's manifest.json, or a bundled config's name (`default`).
    /// Without it, the built-in distributions.
    #[arg(long)]
    pub config: Option<String>,

    /// Random seed: the same seed and config draw the same sessions.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Maximum input sequence length: the context limit sessions grow to (the config's
    /// max_prompt_tokens).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_isl: Option<u64>,

    /// Maximum output sequence length: the longest answer drawn (the config's
    /// generation_length.max).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_osl: Option<u64>,
}

impl SynthesizeArgs {
    pub fn target(&self) -> Target {
        self.target
            .or(self.target_flag)
            .unwrap_or(Target::AgenticCode)
    }
}
