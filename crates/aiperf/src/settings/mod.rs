//! What a benchmark is told to do: the resolved, validated settings of a run and of the plan
//! around it, as plain serde types.
//!
//! `config` turns flags into these; everything below reads them, and `run_config.json`
//! records them. They import nothing of this crate, so any layer may use them. Secrets are
//! wrapped in [`Secret`] so they are never written anywhere.

mod gpu;
mod input;
mod load;
mod media;
mod network;
mod plan;
mod polling;
mod search;
mod server_control;
mod shard;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use gpu::{GpuCollector, GpuField};
pub use input::{
    BAILIAN_BLOCK_TOKENS, CacheBustTarget, CorpusStyle, DatasetFileKind, DatasetOptions, Encoding,
    LengthDist, LengthPlan, PromptCorpus, PublicSource, Sampling, SeqPair, Synthesis,
    TRACE_BLOCK_TOKENS, TokenizerSpec,
};
pub use load::{
    Arrival, Cancellation, LoadConfig, LoadMode, PhaseShape, RatePoint, ReplayWindow,
    StopCondition, UserCentric, WarmupLoad,
};
pub use media::{
    AudioFormat, AudioGen, ImageFormat, ImageGen, ImageSource, MediaConfig, SourceSampling,
    VideoAudio, VideoFormat, VideoGen, VideoSynth,
};
pub use network::{NetworkLatency, Probing};
pub use plan::{
    Convergence, ConvergenceMode, MultiRunConfig, Param, PostProcessSpec, SlaFilter, SlaOp,
    SweepConfig, SweepKind, SweepMode, SweepParam,
};
pub use polling::Polling;
pub use search::{Objective, PlannerKind, SearchConfig, SpaceDim};
pub use server_control::{ControlHook, ProfilerHook, ReadinessProbe, ServerControl, WaitForModel};
pub use shard::ShardConfig;

/// Everything one `aiperf profile` run needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileConfig {
    pub models: Vec<String>,
    pub model_selection: ModelSelection,
    pub endpoint: EndpointConfig,
    /// How answers that are jobs (`video_generation`) are followed to their end.
    #[serde(default, skip_serializing_if = "Polling::is_default")]
    pub polling: Polling,
    /// Waiting for the model, cache reset and profiler control; the session header and
    /// per-chunk usage.
    #[serde(default, skip_serializing_if = "ServerControl::is_default")]
    pub server_control: ServerControl,
    pub tokenizer: TokenizerSpec,
    pub input: InputConfig,
    /// System and context prompts, length plans, the prompt corpus, cache busting, and what
    /// is done to an input file as it is read.
    #[serde(default, skip_serializing_if = "DatasetOptions::is_default")]
    pub dataset: DatasetOptions,
    /// Images, audio and video added to synthetic turns.
    #[serde(default, skip_serializing_if = "MediaConfig::is_empty")]
    pub media: MediaConfig,
    /// Seed of every random choice (prompts, lengths, order, arrivals).
    pub random_seed: u64,
    pub load: LoadConfig,
    pub goodput: Vec<GoodputTarget>,
    /// `--network-latency-*`: the network round trip taken out of the latency metrics.
    #[serde(default, skip_serializing_if = "NetworkLatency::is_off")]
    pub network_latency: NetworkLatency,
    pub output: OutputConfig,
    pub ui: UiMode,
    /// Benchmark the built-in simulator started in-process.
    pub sim: Option<SimTarget>,
    /// Repeated runs (`--num-profile-runs`).
    pub multi_run: MultiRunConfig,
    /// A parameter sweep, when a sweepable flag got several values.
    pub sweep: Option<SweepConfig>,
    /// `--resume`: continue the plan in the artifact directory, refusing a different one.
    pub resume: bool,
    /// An adaptive search (`--search-*` flags or a search recipe).
    pub search: Option<SearchConfig>,
    /// A recipe's post-processing of the sweep aggregate.
    pub post_process: Option<PostProcessSpec>,
    /// The recipe this run expands.
    pub recipe: Option<String>,
    /// The command line, secrets redacted.
    pub cli_command: String,
    /// The YAML configuration file the run's flags came from (`--config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file: Option<PathBuf>,
    /// This process runs one shard of the benchmark (`--shards`).
    #[serde(default)]
    pub shard: Option<ShardConfig>,
    /// Access to the Hugging Face hub, from the environment (never written: a plan read
    /// elsewhere takes it from that environment).
    #[serde(skip)]
    pub hub: HubAccess,
}

/// How hub tokenizers may be fetched (`HF_HUB_OFFLINE`, `HF_TOKEN`).
#[derive(Debug, Clone, Default)]
pub struct HubAccess {
    /// Only the local cache is read.
    pub offline: bool,
    /// The token for gated models.
    pub token: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum ModelSelection {
    RoundRobin,
    Random,
}

/// The endpoint type, by its `--endpoint-type` name (the `endpoints` module knows what each
/// is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EndpointKind(pub String);

impl EndpointKind {
    pub fn name(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointConfig {
    /// Base URLs, used round robin.
    pub urls: Vec<String>,
    #[serde(rename = "type")]
    pub kind: EndpointKind,
    /// Path appended to each URL.
    pub path: String,
    pub streaming: bool,
    pub timeout_secs: f64,
    pub api_key: Option<Secret>,
    pub headers: Vec<Header>,
    /// Merged into every request body.
    pub extra_inputs: Map<String, Value>,
    pub use_server_token_count: bool,
    pub use_legacy_max_tokens: bool,
    /// Open the connections the load needs before measuring.
    #[serde(default)]
    pub connection_warmup: bool,
    /// How requests share connections.
    #[serde(default)]
    pub connection_reuse: ConnectionReuse,
}

/// How requests share connections (`--connection-reuse-strategy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionReuse {
    /// Requests share a pool of kept-alive connections (how most clients talk to a server).
    #[default]
    Pooled,
    /// A new connection for every request, closed after it (clients that never keep
    /// connections, or measuring connection setup as part of every request).
    Never,
    /// One connection per conversation, kept for all its turns (users with their own
    /// connection, behind a load balancer with connection affinity).
    StickyUserSessions,
}

impl EndpointConfig {
    pub fn timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.timeout_secs).unwrap_or(Duration::MAX)
    }
}

/// An extra request header; values of credential headers are [`Secret`]s.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub name: String,
    pub value: HeaderValue,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HeaderValue {
    Plain(String),
    Secret(Secret),
}

impl HeaderValue {
    pub fn expose(&self) -> &str {
        match self {
            Self::Plain(v) => v,
            Self::Secret(s) => s.expose(),
        }
    }
}

/// A credential. Debug output and serialization show `<redacted>`; the value is only reachable
/// through [`expose`](Self::expose), where a request is built.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

pub const REDACTED: &str = "<redacted>";

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

fn one() -> u32 {
    1
}

fn block_tokens() -> u32 {
    TRACE_BLOCK_TOKENS
}

/// Text shared between synthetic prompts, what a server's prefix cache can reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PrefixShape {
    /// A pool of this many prefixes (`--num-prefix-prompts`); each conversation's first
    /// prompt starts with one of them.
    pub count: u32,
    /// Tokens per prefix (`--prefix-prompt-length`).
    pub length: u32,
    /// Tokens of one system prompt sent with every conversation
    /// (`--shared-system-prompt-length`).
    pub system_length: u32,
}

/// The shape of synthetic conversations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SessionShape {
    pub turns: LengthDist,
    /// Pause before each turn after the first, milliseconds (already scaled by the ratio).
    pub delay_ms_mean: f64,
    pub delay_ms_stddev: f64,
}

impl Default for SessionShape {
    fn default() -> Self {
        Self {
            turns: LengthDist {
                mean: 1.0,
                stddev: 0.0,
            },
            delay_ms_mean: 0.0,
            delay_ms_stddev: 0.0,
        }
    }
}

pub use input::RankingsShape;

/// Where prompts come from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputConfig {
    Synthetic {
        entries: u32,
        isl: LengthDist,
        osl: Option<LengthDist>,
        sampling: Sampling,
        /// Prompts per request (`--prompt-batch-size`, embeddings).
        #[serde(default = "one")]
        batch: u32,
        /// Turns per conversation and the pause before each later turn.
        #[serde(default)]
        sessions: SessionShape,
        /// Shared prefixes and system prompt (prefix caching).
        #[serde(default)]
        prefixes: PrefixShape,
        /// A query and passages per request instead of prompts (the rankings endpoint types).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rankings: Option<RankingsShape>,
    },
    File {
        path: PathBuf,
        kind: DatasetFileKind,
        osl: Option<LengthDist>,
        sampling: Sampling,
        /// Tokens per `hash_ids` block of a trace.
        #[serde(default = "block_tokens")]
        block_tokens: u32,
    },
}

/// `--goodput tag:value`: a request is "good" when every target holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoodputTarget {
    pub tag: String,
    /// In the metric's display unit (ms for latencies).
    pub threshold: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutputConfig {
    /// `--artifact-dir` as given (used verbatim), or `None` for `artifacts/<derived name>`.
    pub artifact_dir: Option<PathBuf>,
    pub export_level: ExportLevel,
    /// `--slice-duration`: seconds per time slice of the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice_duration_secs: Option<f64>,
    #[serde(default)]
    pub server_metrics: ServerMetricsConfig,
    #[serde(default)]
    pub gpu_telemetry: GpuTelemetryConfig,
    /// Write each request's HTTP trace (`trace_data`) to `profile_export.jsonl` (written
    /// only when on).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub export_http_trace: bool,
    /// Print the HTTP timing metrics in a console table of their own (written only when on).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub show_trace_timing: bool,
    /// `--profile-export-prefix`: every export file is named after it (`foo.json`,
    /// `foo.jsonl`, ...); `None` keeps the standard names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_prefix: Option<String>,
    /// `--export-outputs-json`: write every request's generated text to `outputs.json`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub export_outputs_json: bool,
}

/// Collecting GPU telemetry from DCGM exporters during the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GpuTelemetryConfig {
    pub enabled: bool,
    /// Endpoints given with `--gpu-telemetry`, scraped whether or not they answer.
    pub urls: Vec<String>,
    pub interval_ms: f64,
    /// The metrics file given with `--gpu-telemetry` (a `.csv` in DCGM's format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_file: Option<PathBuf>,
    /// The fields that file lists (those it adds to the standard ones are read besides them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_fields: Vec<GpuField>,
    /// Where the readings come from (`--gpu-telemetry pynvml`: this machine's GPUs).
    #[serde(default, skip_serializing_if = "GpuCollector::is_default")]
    pub collector: GpuCollector,
}

impl GpuTelemetryConfig {
    /// DCGM exporter endpoints tried by default (the exporter's port and the one often used
    /// next to it); they are kept only when they answer.
    pub const DEFAULT_URLS: [&'static str; 2] = [
        "http://localhost:9400/metrics",
        "http://localhost:9401/metrics",
    ];
}

/// Scraping the server's Prometheus metrics during the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ServerMetricsConfig {
    pub enabled: bool,
    /// Endpoints given with `--server-metrics` (the target's `/metrics` is added).
    pub urls: Vec<String>,
    pub interval_ms: f64,
    /// Also write `server_metrics_export.jsonl`, every scrape.
    #[serde(default)]
    pub jsonl: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ExportLevel {
    /// `profile_export_aiperf.{json,csv}` only.
    Summary,
    /// Plus `profile_export.jsonl`, one line per request.
    Records,
    /// Plus `profile_export_raw.jsonl` with request payloads and raw responses.
    Raw,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UiMode {
    /// A progress bar on the terminal (hidden when stderr is not one).
    Simple,
    /// Log lines only.
    None,
    /// A live terminal dashboard (single runs).
    Dashboard,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimTarget {
    pub preset: String,
    pub speedup: f64,
}

impl ProfileConfig {
    /// One benchmark of a larger plan (a sweep cell, a trial, a search iteration): this
    /// configuration with `values` applied, writing into `dir`, with the plan itself removed.
    pub fn single_run(&self, values: &[(Param, f64)], dir: &std::path::Path, warmup: bool) -> Self {
        let mut cfg = self.clone();
        for (param, value) in values {
            param.apply(&mut cfg, *value);
        }
        if !warmup {
            cfg.load.warmup = None;
        }
        cfg.output.artifact_dir = Some(dir.to_path_buf());
        cfg.sweep = None;
        cfg.search = None;
        cfg.post_process = None;
        cfg.recipe = None;
        cfg.multi_run = MultiRunConfig::default();
        cfg
    }

    /// `artifacts/<model>-openai-<endpoint>-<stimulus>`, the reference tool's naming, unless
    /// `--artifact-dir` was given.
    pub fn artifact_dir(&self, mode: LoadMode) -> PathBuf {
        if let Some(dir) = &self.output.artifact_dir {
            return dir.clone();
        }
        let mut model = self.models[0].replace('/', "_");
        if self.models.len() > 1 {
            model.push_str("_multi");
        }
        if let Some(recipe) = &self.recipe {
            let name = std::path::Path::new(recipe)
                .file_stem()
                .map_or_else(|| recipe.clone(), |s| s.to_string_lossy().into_owned());
            return PathBuf::from("artifacts").join(format!(
                "{model}-openai-{}-{name}",
                self.endpoint.kind.name()
            ));
        }
        if self.search.is_some() {
            return PathBuf::from("artifacts").join(format!(
                "{model}-openai-{}-search",
                self.endpoint.kind.name()
            ));
        }
        if let Some(sweep) = &self.sweep {
            return PathBuf::from("artifacts").join(format!(
                "{model}-openai-{}-{}",
                self.endpoint.kind.name(),
                sweep_stimulus(sweep, &self.load)
            ));
        }
        let stimulus = match mode {
            LoadMode::Concurrency { concurrency } => format!("concurrency{concurrency}"),
            LoadMode::Rate {
                rate,
                max_concurrency: Some(c),
                ..
            } => format!("concurrency{c}-request_rate{}", python_float(rate)),
            LoadMode::Rate { rate, .. } => format!("request_rate{}", python_float(rate)),
            LoadMode::FixedSchedule { .. } => "fixed_schedule".to_owned(),
            LoadMode::UserCentric { rate, users, .. } => {
                format!("user_centric-users{users}-qps{}", python_float(rate))
            }
        };
        PathBuf::from("artifacts").join(format!(
            "{model}-openai-{}-{stimulus}",
            self.endpoint.kind.name()
        ))
    }
}

/// `concurrency_sweep`, `request_rate10.0-isl_sweep`: the load part of a sweep's directory
/// name, each swept flag named `<flag>_sweep`.
fn sweep_stimulus(sweep: &SweepConfig, load: &LoadConfig) -> String {
    use Param;
    let swept = |p: Param| sweep.params.iter().any(|s| s.param == p);
    let mut parts = Vec::new();
    if swept(Param::Concurrency) {
        parts.push("concurrency_sweep".to_owned());
    } else if let Some(c) = load.concurrency {
        parts.push(format!("concurrency{c}"));
    }
    if swept(Param::RequestRate) {
        parts.push("request_rate_sweep".to_owned());
    } else if let Some(r) = load.request_rate {
        parts.push(format!("request_rate{}", python_float(r)));
    }
    for p in [
        Param::Isl,
        Param::Osl,
        Param::RequestCount,
        Param::BenchmarkDuration,
    ] {
        if swept(p) {
            parts.push(format!("{}_sweep", p.name()));
        }
    }
    if parts.is_empty() {
        parts.push("concurrency1".to_owned());
    }
    parts.join("-")
}

/// Formats a float the way Python's `repr` does for ordinary values (`10.0`, `2.5`).
pub fn python_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_float_formatting() {
        assert_eq!(python_float(10.0), "10.0");
        assert_eq!(python_float(2.5), "2.5");
        assert_eq!(python_float(0.1), "0.1");
    }

    #[test]
    fn secrets_never_serialize() {
        let secret = Secret::new("sk-very-secret");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"<redacted>\"");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(secret.expose(), "sk-very-secret");
    }
}
