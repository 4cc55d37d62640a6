//! `aiperf profile`: flags, with the names, aliases and defaults of the reference tool.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::settings::{DatasetFileKind, Sampling};
use crate::settings::{ExportLevel, ModelSelection};

/// One value of a comma-separated list of counts, spaces around it allowed (`10, 20`).
fn list_count<T: TryFrom<u64>>(s: &str) -> Result<T, String> {
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
fn list_number(s: &str) -> Result<f64, String> {
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
    pub tokenizer: TokenizerArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub output: OutputArgs,
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
    pub unsupported: UnsupportedArgs,
}

/// Running one run of a plan, or one shard of a benchmark (as Kubernetes pods do).
#[derive(Debug, Args)]
pub struct UnsupportedArgs {
    /// Reference-tool flags this tool does not offer, accepted only to say so clearly.
    #[arg(long, hide = true, value_name = "NAME")]
    pub public_dataset: Option<String>,
    #[arg(long, hide = true)]
    pub optuna_acquisition: Option<String>,
    #[arg(long, hide = true)]
    pub optuna_terminator: Option<String>,
    #[arg(long, hide = true)]
    pub bo_constraint_mode: Option<String>,
    #[arg(long, hide = true, visible_alias = "profile-export-file")]
    pub profile_export_prefix: Option<String>,
    #[arg(long, hide = true)]
    pub prompt_corpus: Option<String>,
}

/// Flags of the Python AIPerf that have no counterpart here, with what to do instead.
impl UnsupportedArgs {
    pub fn check(&self) -> Result<(), String> {
        let u = self;
        let refusal = if u.public_dataset.is_some() {
            "--public-dataset: public datasets are not downloaded; fetch one (e.g. ShareGPT) \
             yourself and pass it with --input-file (--custom-dataset-type single_turn or \
             multi_turn)"
        } else if u.optuna_acquisition.is_some() || u.optuna_terminator.is_some() {
            "--optuna-acquisition and --optuna-terminator are not supported: the Gaussian-process \
             planner maximizes expected improvement times the probability of meeting every SLA, \
             and stops on its budget, patience or a plateau; --optuna-sampler tpe selects TPE"
        } else if u.profile_export_prefix.is_some() {
            "--profile-export-prefix / --profile-export-file are not supported: artifacts keep \
             the standard names (what `aiperf plot` and scripts expect); use --artifact-dir to \
             keep runs apart"
        } else if u.prompt_corpus.is_some() {
            "--prompt-corpus is not supported: synthetic prompts come from one corpus of words \
             that tokenize exactly, so every prompt has exactly --isl tokens"
        } else {
            return Ok(());
        };
        Err(refusal.to_owned())
    }
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
#[command(next_help_heading = "Endpoint")]
pub struct EndpointArgs {
    /// Model name(s) to send in requests (comma-separated for several). Required unless --sim.
    #[arg(
        short = 'm',
        long = "model",
        visible_alias = "model-names",
        value_delimiter = ','
    )]
    pub models: Vec<String>,

    /// How requests pick among several models.
    #[arg(long, value_enum, default_value_t = ModelSelection::RoundRobin)]
    pub model_selection_strategy: ModelSelection,

    /// Server base URL (repeat for several, used round robin). `http://` is added when no
    /// scheme is given. [default: http://localhost:8000]
    #[arg(short = 'u', long = "url")]
    pub urls: Vec<String>,

    /// API shape of the endpoint.
    #[arg(long, default_value = "chat", value_parser = clap::builder::PossibleValuesParser::new(crate::endpoints::names()))]
    pub endpoint_type: String,

    /// Request path, overriding the endpoint type's (/v1/chat/completions, /v1/completions).
    #[arg(long, visible_alias = "custom-endpoint")]
    pub endpoint: Option<String>,

    /// Stream responses (server-sent events); needed for time to first token and inter-token
    /// latency.
    #[arg(long, overrides_with = "no_streaming")]
    pub streaming: bool,

    /// Do not stream responses (the default).
    #[arg(long, overrides_with = "streaming")]
    pub no_streaming: bool,

    /// Give up on a request after this long, in seconds (connect, send and whole response).
    #[arg(long, default_value_t = 21600.0)]
    pub request_timeout_seconds: f64,

    /// API key, sent as `Authorization: Bearer <key>`. Never written to any file.
    #[arg(long, env = "AIPERF_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,

    /// Open the connections the load needs before measuring (default), so the first requests
    /// do not include TCP/TLS setup; `--connection-warmup false` measures cold connections.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub connection_warmup: bool,

    /// How requests share connections: `pooled` (default) keeps connections alive and shares
    /// them; `never` opens a new connection for every request (connection setup is then part
    /// of every latency); `sticky-user-sessions` gives each conversation its own connection
    /// for all its turns (users behind a load balancer with connection affinity). Whatever
    /// the strategy, a request that finds its kept-alive connection closed by the server is
    /// sent again once on a new one.
    #[arg(long, value_enum, ignore_case = true, default_value_t = crate::settings::ConnectionReuse::Pooled)]
    pub connection_reuse_strategy: crate::settings::ConnectionReuse,

    /// Extra request header, `Name:Value` (repeatable), or a JSON object of headers.
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,

    /// Field merged into every request body, `key:value` (repeatable; the value is read as
    /// JSON when it parses, e.g. `ignore_eos:true`, `min_tokens:64`), or a JSON object.
    #[arg(long)]
    pub extra_inputs: Vec<String>,

    /// Count input and output tokens from the server's `usage` instead of the tokenizer.
    #[arg(long)]
    pub use_server_token_count: bool,

    /// Send the output cap as `max_tokens` instead of `max_completion_tokens` (chat).
    #[arg(long)]
    pub use_legacy_max_tokens: bool,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Tokenizer")]
pub struct TokenizerArgs {
    /// Tokenizer for counting tokens: `builtin` (o200k_base, no network), `cl100k_base`, a
    /// tokenizer.json file or its directory, a Hugging Face model id, or `server`: the served
    /// model's own, through the server's /tokenize endpoint (llama.cpp, vLLM, SGLang). Default:
    /// the model name when it looks like a hub id (`org/name`) or a local directory, else
    /// builtin. HF_HUB_OFFLINE=1 takes hub tokenizers from the local cache only.
    #[arg(long)]
    pub tokenizer: Option<String>,

    /// Hub revision (branch, tag or commit) of the tokenizer.
    #[arg(long, default_value = "main")]
    pub tokenizer_revision: String,

    /// Accepted for compatibility; tokenizer.json files never run code.
    #[arg(long)]
    pub tokenizer_trust_remote_code: bool,
}

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum ArrivalPattern {
    Constant,
    Poisson,
    Gamma,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Load")]
pub struct LoadArgs {
    /// Requests in flight: clients each sending the next request when the previous ends. With
    /// --request-rate, a ceiling on requests in flight.
    #[arg(long, value_delimiter = ',', value_parser = list_count::<u32>, action = clap::ArgAction::Set)]
    pub concurrency: Vec<u32>,

    /// Arrivals per second (open loop).
    #[arg(long, value_delimiter = ',', value_parser = list_number, action = clap::ArgAction::Set)]
    pub request_rate: Vec<f64>,

    /// Arrival process of --request-rate. [default: poisson]
    #[arg(long, visible_alias = "arrival-pattern", value_enum)]
    pub request_rate_mode: Option<ArrivalPattern>,

    /// Shape of gamma arrivals: 1 is Poisson, below 1 burstier, above 1 smoother.
    #[arg(long, visible_alias = "vllm-burstiness")]
    pub arrival_smoothness: Option<f64>,

    /// Requests to send. Default: twice the concurrency (at least 10) in closed loop, ten
    /// seconds' worth in rate mode, the whole trace in fixed-schedule replay.
    #[arg(long, visible_alias = "num-requests", value_delimiter = ',', value_parser = list_count::<u64>, action = clap::ArgAction::Set)]
    pub request_count: Vec<u64>,

    /// Stop after this many sessions (conversations) have started; each runs all its turns.
    #[arg(long, visible_aliases = ["num-conversations", "conversation-num"])]
    pub num_sessions: Option<u64>,

    /// Stop sending after this many seconds (with --request-count: whichever comes first).
    #[arg(long, value_delimiter = ',', value_parser = list_number, action = clap::ArgAction::Set)]
    pub benchmark_duration: Vec<f64>,

    /// Seconds to wait for in-flight requests after the duration ends (or after Ctrl-C).
    #[arg(long, default_value_t = 30.0)]
    pub benchmark_grace_period: f64,

    /// Requests to send before measuring (excluded from all results).
    #[arg(long, visible_alias = "num-warmup-requests")]
    pub warmup_request_count: Option<u64>,

    /// Seconds of warmup before measuring (excluded from all results).
    #[arg(long)]
    pub warmup_duration: Option<f64>,

    /// Concurrency of the warmup phase (default: the profiling phase's load).
    #[arg(long)]
    pub warmup_concurrency: Option<u32>,

    /// Arrival rate of the warmup phase, requests per second (default: the profiling phase's
    /// load).
    #[arg(long)]
    pub warmup_request_rate: Option<f64>,

    /// Percentage (0-100) of requests the client cancels on purpose, to see how the server
    /// copes with abandoned requests; they are recorded as errors with code 499.
    #[arg(long, value_name = "PERCENT")]
    pub request_cancellation_rate: Option<f64>,

    /// Seconds after sending that a request chosen by --request-cancellation-rate is
    /// cancelled (if it is still in flight).
    #[arg(long, value_name = "SECONDS")]
    pub request_cancellation_delay: Option<f64>,

    /// Abort the run once more than this share of the completed requests failed (0-1, e.g.
    /// 0.1; judged once the larger of the concurrency and 10 requests completed). Everything
    /// measured is still written, and the run exits 1.
    #[arg(long)]
    pub failed_request_threshold: Option<f64>,

    /// Replay a timestamped trace at its timestamps (the default for traces whose rows all
    /// have timestamps, when no --request-rate is given).
    #[arg(long, overrides_with = "no_fixed_schedule")]
    pub fixed_schedule: bool,

    /// Ignore trace timestamps.
    #[arg(long, overrides_with = "fixed_schedule")]
    pub no_fixed_schedule: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UiArg {
    Simple,
    None,
    Dashboard,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Service-level objectives defining a "good" request, `tag:value` separated by spaces,
    /// in display units, e.g. "time_to_first_token:200 inter_token_latency:20".
    #[arg(long)]
    pub goodput: Vec<String>,

    /// Directory for the artifacts, used as given. Default: artifacts/<model>-openai-<type>-<load>.
    #[arg(long, visible_alias = "output-artifact-dir")]
    pub artifact_dir: Option<PathBuf>,

    /// How much to export: summary, records (+ per-request JSONL) or raw (+ raw responses).
    #[arg(long, visible_alias = "profile-export-level", value_enum, default_value_t = ExportLevel::Records)]
    pub export_level: ExportLevel,

    /// Prometheus endpoint(s) of the server to scrape during the run (repeatable). The
    /// endpoint's `<url>/metrics` is scraped by default; failures are counted, never fatal.
    #[arg(long, visible_alias = "server-metrics-url", num_args = 1..)]
    pub server_metrics: Vec<String>,

    /// Do not scrape server metrics.
    #[arg(long)]
    pub no_server_metrics: bool,

    /// Milliseconds between server-metrics scrapes.
    #[arg(long, default_value_t = 100.0)]
    pub server_metrics_interval_ms: f64,

    /// Server-metrics files to write: json, csv, jsonl (every scrape, identical runs
    /// collapsed).
    #[arg(long, value_delimiter = ',', num_args = 1.., default_values = ["json", "csv"])]
    pub server_metrics_formats: Vec<String>,

    /// DCGM exporter endpoint(s) to scrape for GPU telemetry during the run (power, energy,
    /// utilisation, memory, temperature per GPU). http://localhost:9400/metrics and :9401 are
    /// tried by default; with --sim, the simulator's /dcgm/metrics. `dashboard` is accepted
    /// for compatibility (the summary always shows the telemetry).
    #[arg(long, visible_alias = "gpu-telemetry-url", num_args = 0.., value_name = "URL")]
    pub gpu_telemetry: Option<Vec<String>>,

    /// Do not collect GPU telemetry.
    #[arg(long)]
    pub no_gpu_telemetry: bool,

    /// Milliseconds between GPU-telemetry scrapes.
    #[arg(long, default_value_t = 330.0)]
    pub gpu_telemetry_interval_ms: f64,

    /// Write charts and plots/report.html when the run, sweep or search ends (on by default
    /// for the curve recipes).
    #[arg(long, overrides_with = "no_auto_plot")]
    pub auto_plot: bool,

    /// Do not write the report at the end.
    #[arg(long, overrides_with = "auto_plot")]
    pub no_auto_plot: bool,

    /// Progress display: simple (progress bar) or none. Default: simple on a terminal.
    #[arg(long, visible_alias = "ui-type", value_enum)]
    pub ui: Option<UiArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SweepTypeArg {
    /// Every combination of the listed values (Cartesian product).
    Grid,
    /// The i-th value of every list together (all lists the same length).
    Zip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SweepModeArg {
    /// Run the whole sweep once per trial.
    Repeated,
    /// Run every trial of one value before moving to the next.
    Independent,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Repeated runs and sweeps")]
pub struct MultiRunArgs {
    /// Run the benchmark (or every sweep value) this many times (1-10) and report confidence
    /// intervals across runs.
    #[arg(long, default_value_t = 1)]
    pub num_profile_runs: u32,

    /// Confidence level of the intervals across runs, between 0 and 1.
    #[arg(long, default_value_t = 0.95)]
    pub confidence_level: f64,

    /// Seconds to wait between runs (repeated mode: between whole sweeps).
    #[arg(long, default_value_t = 0.0)]
    pub profile_run_cooldown_seconds: f64,

    /// Warm up only before the first run of each sweep value.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub profile_run_disable_warmup_after_first: bool,

    /// Stop repeating once this metric agrees across runs (--num-profile-runs is then the
    /// most runs); e.g. time_to_first_token.
    #[arg(long, value_name = "TAG")]
    pub convergence_metric: Option<String>,

    /// Statistic of --convergence-metric compared across runs.
    #[arg(long, default_value = "avg", value_parser = ["avg", "min", "max", "p50", "p90", "p95", "p99"])]
    pub convergence_stat: String,

    /// How agreement is judged: ci_width, the confidence interval's width relative to the
    /// mean; cv, the coefficient of variation across runs; distribution, a Kolmogorov-Smirnov
    /// test of the newest run's per-request values against the earlier runs' (p above the
    /// threshold).
    #[arg(long, value_enum, default_value_t = ConvergenceModeArg::CiWidth)]
    pub convergence_mode: ConvergenceModeArg,

    /// Threshold of the convergence test, between 0 and 1. [default: 0.10 for ci_width,
    /// 0.05 for cv and distribution]
    #[arg(long)]
    pub convergence_threshold: Option<f64>,

    /// Runs always made before convergence is tested (at least 2).
    #[arg(long, default_value_t = 2)]
    pub convergence_min_runs: u32,

    /// Use seed 42 for repeated runs and sweeps when --random-seed is not given, so results
    /// are reproducible.
    #[arg(long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub set_consistent_seed: bool,

    /// How several swept flags combine.
    #[arg(long, value_enum, default_value_t = SweepTypeArg::Grid)]
    pub sweep_type: SweepTypeArg,

    /// Order of sweep values and trials when both are used.
    #[arg(long, value_enum, default_value_t = SweepModeArg::Repeated)]
    pub parameter_sweep_mode: SweepModeArg,

    /// Seconds to wait between sweep values.
    #[arg(long, default_value_t = 0.0)]
    pub parameter_sweep_cooldown_seconds: f64,

    /// Use the same seed for every sweep value (default: base seed + value index).
    #[arg(long)]
    pub parameter_sweep_same_seed: bool,

    /// Continue a sweep or repeated run in the same artifact directory, skipping runs that
    /// completed (re-running the same command resumes too; --resume also refuses a
    /// directory that holds a different plan).
    #[arg(long)]
    pub resume: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PoolingArg {
    Mean,
    Pooled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum ConvergenceModeArg {
    CiWidth,
    Cv,
    Distribution,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum PlannerArg {
    /// Gaussian-process Bayesian optimization with SLA constraints.
    Bayesian,
    /// Optuna's planner: TPE with --optuna-sampler tpe, otherwise Gaussian-process Bayesian
    /// optimization (Optuna's gp and botorch samplers are both GP-based).
    Optuna,
    /// One integer dimension: exponential probe, then bisection of the SLA boundary.
    MonotonicSla,
    /// One integer dimension: bracket, then isotonic fit of SLA margins and root finding.
    SmoothIsotonic,
    /// A log-spaced grid over the search space.
    Grid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    Maximize,
    Minimize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OptunaSamplerArg {
    Tpe,
    Gp,
    Botorch,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Adaptive search")]
pub struct SearchArgs {
    /// A dimension to search, `PATH:LO,HI[:int|real][:log]` (repeatable). PATH is
    /// concurrency, request_rate, isl or osl (or their phases./datasets. paths).
    #[arg(long)]
    pub search_space: Vec<String>,

    /// Metric tag to optimize, e.g. output_token_throughput.
    #[arg(long)]
    pub search_metric: Option<String>,

    /// Statistic of the metric to optimize.
    #[arg(long, value_parser = ["avg", "p50", "p90", "p95", "p99", "min", "max"])]
    pub search_stat: Option<String>,

    /// Whether to maximize or minimize the metric.
    #[arg(long, value_enum)]
    pub search_direction: Option<DirectionArg>,

    /// Benchmarks to run at most (2-200).
    #[arg(long)]
    pub search_max_iterations: Option<u32>,

    /// Space-filling points before the model takes over (Bayesian planner). [default: 5]
    #[arg(long)]
    pub search_initial_points: Option<u32>,

    /// Seed of the planner (default: random, recorded in search_history.json).
    #[arg(long)]
    pub search_random_seed: Option<u64>,

    /// Search algorithm. [default: bayesian]
    #[arg(long, value_enum)]
    pub search_planner: Option<PlannerArg>,

    /// An SLA every accepted configuration must meet, `TAG:STAT:OP:THRESHOLD` with OP one of
    /// lt, le, gt, ge (repeatable), e.g. time_to_first_token:p95:lt:200.
    #[arg(long)]
    pub search_sla: Vec<String>,

    /// Agreeing verdicts needed at one value before the SLA planners trust it.
    #[arg(long, default_value_t = 1)]
    pub search_stability_trials: u32,

    /// smooth_isotonic: re-probe the final passing value this many times (at most 20) for a
    /// confidence interval of the boundary.
    #[arg(long, default_value_t = 0)]
    pub search_replicates: u32,

    /// Relative width at which the SLA planners stop narrowing the boundary.
    #[arg(long, default_value_t = 0.05)]
    pub search_precision: f64,

    /// How the objective combines the runs of an iteration: mean, the mean of each run's
    /// statistic (default); pooled, the percentile over every request of all the runs
    /// (needs a percentile --search-stat).
    #[arg(long, value_enum)]
    pub search_percentile_pooling: Option<PoolingArg>,

    /// Sampler of --search-planner optuna (or --search-style optuna): tpe, a tree-structured
    /// Parzen estimator; gp or botorch (the default), Gaussian-process Bayesian optimization.
    #[arg(long, value_enum)]
    pub optuna_sampler: Option<OptunaSamplerArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum SearchStyleArg {
    Monotonic,
    SmoothIsotonic,
    Bo,
    Optuna,
    Grid,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Search recipes")]
pub struct RecipeArgs {
    /// A named recipe (see `aiperf recipes`) or the path of a recipe file (.toml).
    #[arg(long)]
    pub search_recipe: Option<String>,

    /// Style of max-concurrency-under-sla. [default: smooth_isotonic]
    #[arg(long, value_enum)]
    pub search_style: Option<SearchStyleArg>,

    /// SLA: p95 time to first token below this many milliseconds.
    #[arg(long)]
    pub ttft_sla_ms: Option<f64>,

    /// SLA: p95 inter-token latency below this many milliseconds.
    #[arg(long)]
    pub itl_sla_ms: Option<f64>,

    /// Alias of --itl-sla-ms (time per output token).
    #[arg(long)]
    pub tpot_sla_ms: Option<f64>,

    /// SLA: p99 request latency below this many milliseconds.
    #[arg(long)]
    pub e2e_sla_ms: Option<f64>,

    /// SLA: share of failed requests below this fraction (0-1).
    #[arg(long)]
    pub error_rate_sla: Option<f64>,

    /// max-goodput-under-slo: required share of requests meeting every SLO. [default: 0.95]
    #[arg(long)]
    pub slo_attainment_fraction: Option<f64>,

    /// Lower end of the concurrency range a recipe searches.
    #[arg(long)]
    pub concurrency_min: Option<f64>,

    /// Upper end of the concurrency range a recipe searches.
    #[arg(long)]
    pub concurrency_max: Option<f64>,

    /// Number of log-spaced concurrency values of grid recipes.
    #[arg(long)]
    pub concurrency_steps: Option<f64>,

    /// Lower end of the input lengths prefill-ttft-curve measures.
    #[arg(long)]
    pub isl_min: Option<f64>,

    /// Upper end of the input lengths prefill-ttft-curve measures.
    #[arg(long)]
    pub isl_max: Option<f64>,

    /// Number of input lengths prefill-ttft-curve measures.
    #[arg(long)]
    pub isl_steps: Option<f64>,

    /// Lower end of the output lengths decode-itl-curve measures.
    #[arg(long)]
    pub osl_min: Option<f64>,

    /// Upper end of the output lengths decode-itl-curve measures.
    #[arg(long)]
    pub osl_max: Option<f64>,

    /// Number of output lengths decode-itl-curve measures.
    #[arg(long)]
    pub osl_steps: Option<f64>,

    /// concurrency-ramp: relative increase over the lowest concurrency that counts as
    /// degraded (0.20 = +20 %).
    #[arg(long)]
    pub degradation_threshold: Option<f64>,

    /// concurrency-ramp: metric whose degradation is detected.
    #[arg(long)]
    pub degradation_metric_tag: Option<String>,

    /// concurrency-ramp: statistic of that metric.
    #[arg(long)]
    pub degradation_stat: Option<String>,

    /// pareto-sweep: workload shapes `ISL/OSL,ISL/OSL,...`.
    #[arg(long)]
    pub isl_osl_pairs: Option<String>,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Built-in simulator")]
pub struct SimArgs {
    /// Start the built-in simulated server in-process on a loopback port and benchmark it
    /// (optionally naming a preset: llama-8b-h100, llama-70b-h100x4, fixed, zero).
    #[arg(long, value_name = "PRESET", num_args = 0..=1, default_missing_value = aiperf_sim::presets::DEFAULT_PRESET)]
    pub sim: Option<String>,

    /// Run the simulator this many times faster than real time.
    #[arg(long, value_name = "FACTOR")]
    pub sim_speedup: Option<f64>,
}
