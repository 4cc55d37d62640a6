//! `aiperf profile`: flags, with the names, aliases and defaults of the reference tool.

use std::path::PathBuf;

use clap::Args;

mod accuracy;
mod endpoint;
mod input;
mod internals;
mod load;
mod media;
mod network;
mod output;
mod plan;
mod prompt;
mod publish;
mod replay;
mod search;
mod server;
mod user_centric;
mod warmup;

pub use self::accuracy::{AccuracyArgs, AccuracyBenchmarkArg, AccuracyGraderArg, ScenarioArgs};
pub use self::endpoint::{EndpointArgs, TokenizerArgs};
pub use self::input::InputArgs;
pub use self::internals::InternalsArgs;
pub use self::load::{ArrivalPattern, LoadArgs};
pub use self::media::{AudioArgs, ImageArgs, VideoArgs};
pub use self::network::NetworkLatencyArgs;
pub use self::output::{HttpTraceArgs, OutputArgs, UiArg};
pub use self::plan::{ConvergenceModeArg, MultiRunArgs, PoolingArg, SweepModeArg, SweepTypeArg};
pub use self::prompt::PromptArgs;
pub use self::publish::{PublishArgs, StreamArg};
pub use self::replay::ReplayArgs;
pub use self::search::{
    AcquisitionArg, ConstraintModeArg, DirectionArg, OptunaSamplerArg, PlannerArg, RecipeArgs,
    SearchArgs, SearchStyleArg, TerminatorArg,
};
pub use self::server::{ServerArgs, Transport, UrlStrategy};
pub use self::user_centric::UserCentricArgs;
pub use self::warmup::WarmupArgs;

/// One value of a comma-separated list of counts, spaces around it allowed (`10, 20`).
pub(super) fn list_count<T: TryFrom<u64>>(s: &str) -> Result<T, String> {
    let s = s.trim();
    match s.parse::<i128>() {
        Ok(n) if n < 1 => Err(format!("must be at least 1, got {n}")),
        Ok(n) => u64::try_from(n)
            .ok()
            .and_then(|n| T::try_from(n).ok())
            .ok_or_else(|| format!("{n} is too large")),
        Err(_) => Err(format!("expected a whole number, got {s:?}")),
    }
}

/// One value of a comma-separated list of numbers, spaces around it allowed (`2.5, 5`).
pub(super) fn list_number(s: &str) -> Result<f64, String> {
    let s = s.trim();
    s.parse::<f64>()
        .map_err(|_| format!("expected a number, got {s:?}"))
}

/// Benchmark an OpenAI-compatible inference server.
///
/// Sends load (a fixed concurrency, or an arrival rate), measures every request (time to
/// first token, inter-token latency, end-to-end latency, tokens, errors) and writes the
/// reference tool's artifacts: profile_export_aiperf.{json,csv}, profile_export.jsonl,
/// inputs.json and run_config.json.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:\n  \
    aiperf profile --sim --streaming --concurrency 8 --request-count 200\n  \
    aiperf profile -m Qwen/Qwen3-0.6B -u localhost:8000 --streaming --request-rate 20 \
    --benchmark-duration 60 --isl 512 --osl 128 --extra-inputs ignore_eos:true")]
pub struct ProfileArgs {
    #[command(flatten)]
    pub endpoint: EndpointArgs,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub tokenizer: TokenizerArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub prompt: PromptArgs,
    #[command(flatten)]
    pub image: ImageArgs,
    #[command(flatten)]
    pub audio: AudioArgs,
    #[command(flatten)]
    pub video: VideoArgs,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub warmup: WarmupArgs,
    #[command(flatten)]
    pub user_centric: UserCentricArgs,
    #[command(flatten)]
    pub replay: ReplayArgs,
    #[command(flatten)]
    pub network: NetworkLatencyArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub http_trace: HttpTraceArgs,
    #[command(flatten)]
    pub multi: MultiRunArgs,
    #[command(flatten)]
    pub search: SearchArgs,
    #[command(flatten)]
    pub recipe: RecipeArgs,
    #[command(flatten)]
    pub sim: SimArgs,
    #[command(flatten)]
    pub distributed: DistributedArgs,
    #[command(flatten)]
    pub internals: InternalsArgs,
    #[command(flatten)]
    pub publish: PublishArgs,
    #[command(flatten)]
    pub accuracy: AccuracyArgs,
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    #[command(flatten)]
    pub config_file: crate::cli::config::ConfigFileArgs,
    /// The flags given on the command line (long names), filled by
    /// [`Cli::parse_command_line`](crate::cli::Cli::parse_command_line).
    #[arg(skip)]
    pub given: Vec<String>,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Plans and shards")]
pub struct DistributedArgs {
    /// Run one run of a plan document (`aiperf kube plan`): the plan fixes every benchmark
    /// setting; only --cell, --artifact-dir and --ui may be added.
    #[arg(long, value_name = "PLAN.json", requires = "cell")]
    pub plan: Option<PathBuf>,

    /// Index of the plan's run to execute (0-based).
    #[arg(long, value_name = "N", requires = "plan")]
    pub cell: Option<usize>,

    /// After the run, print its artifacts to stdout as a bundle `aiperf kube collect --logs`
    /// unpacks (for pods without a shared volume).
    #[arg(long, requires = "plan")]
    pub bundle_to_stdout: bool,

    /// Split this benchmark across N processes (pods): each runs a disjoint share of the
    /// seeded schedule (or of the concurrency and request count). `aiperf merge` combines them.
    #[arg(long, value_name = "N")]
    pub shards: Option<u32>,

    /// Which shard this process runs (0-based).
    #[arg(long, value_name = "I", requires = "shards")]
    pub shard_index: Option<u32>,

    /// Shard 0 serves its clock at this address (port) and the other shards measure their
    /// offset from it, e.g. `my-job-0.my-svc:9555`.
    #[arg(long, value_name = "HOST:PORT", requires = "shards")]
    pub shard_clock: Option<String>,

    /// Unix time (seconds, shard 0's clock) at which every shard starts its profiling phase.
    #[arg(long, value_name = "UNIX_SECONDS", requires = "shards")]
    pub shard_start_at: Option<f64>,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Built-in simulator")]
pub struct SimArgs {
    /// Start the built-in simulated server in-process on a loopback port and benchmark it
    /// (optionally naming a preset: llama-8b-h100, llama-70b-h100x4, spec-decode, fixed, zero).
    #[arg(long, value_name = "PRESET", num_args = 0..=1, default_missing_value = aiperf_sim::presets::DEFAULT_PRESET)]
    pub sim: Option<String>,

    /// Run the simulator this many times faster than real time.
    #[arg(long, value_name = "FACTOR")]
    pub sim_speedup: Option<f64>,
}
