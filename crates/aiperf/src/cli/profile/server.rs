//! The Endpoint group's options about the server besides its requests: how several URLs share
//! the load, waiting for the model, cache reset and profiler control, the transport, the
//! session header, per-chunk usage, image UUID stripping.

use clap::Args;

use crate::settings::ReadinessProbe;

#[derive(Debug, Args)]
#[command(next_help_heading = "Endpoint")]
pub struct ServerArgs {
    /// How conversations are spread over several --url values: `round-robin`, each new
    /// conversation to the next URL in turn, all its turns to the same one.
    #[arg(long, value_enum, default_value_t = UrlStrategy::RoundRobin)]
    pub url_strategy: UrlStrategy,

    /// Before benchmarking, wait up to this many seconds for each server and model to be
    /// ready (0: do not wait).
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    pub wait_for_model_timeout: f64,

    /// How readiness is probed: `models` (GET /v1/models lists the model), `inference` (a
    /// one-token request gets any answer below 500), `both` (models, then inference).
    #[arg(long, value_enum, default_value_t = ReadinessProbe::Inference)]
    pub wait_for_model_mode: ReadinessProbe,

    /// Seconds between readiness probes.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub wait_for_model_interval: f64,

    /// Before the run (each run of a sweep), reset every server's prefix cache with a POST to
    /// --reset-kv-cache-path; a failure stops the run.
    #[arg(long)]
    pub reset_kv_cache: bool,

    /// Timeout of the cache-reset request, in seconds [default: 30]. Setting it turns the
    /// reset on.
    #[arg(long, value_name = "SECONDS")]
    pub reset_kv_cache_timeout_seconds: Option<f64>,

    /// Path of the cache reset, relative to each server [default: /reset_prefix_cache].
    /// Setting it turns the reset on.
    #[arg(long, value_name = "PATH")]
    pub reset_kv_cache_path: Option<String>,

    /// Start the server's profiler right before the profiling phase and stop it right after
    /// (vLLM's /start_profile and /stop_profile, on every server).
    #[arg(long)]
    pub server_profiler: bool,

    /// Timeout of the profiler requests, in seconds [default: 30]. Setting it turns the
    /// profiler control on.
    #[arg(long, value_name = "SECONDS")]
    pub server_profiler_timeout_seconds: Option<f64>,

    /// Path that starts the profiler [default: /start_profile]. Setting it turns the profiler
    /// control on.
    #[arg(long, value_name = "PATH")]
    pub server_profiler_start_path: Option<String>,

    /// Path that stops the profiler [default: /stop_profile]. Setting it turns the profiler
    /// control on.
    #[arg(long, value_name = "PATH")]
    pub server_profiler_stop_path: Option<String>,

    /// Transport of the requests: `http` (HTTP/1.1, or HTTP/2 when an https server offers
    /// it), the only one, chosen from the URL either way.
    #[arg(long, visible_alias = "transport-type", value_enum)]
    pub transport: Option<Transport>,

    /// Ask streamed chat answers for usage on every chunk (stream_options.
    /// continuous_usage_stats, vLLM and TRT-LLM), so inter-token latency leaves out all the
    /// tokens of the first content chunk. Needs --use-server-token-count and --streaming.
    #[arg(long)]
    pub per_chunk_usage: bool,

    /// Header that carries each conversation's correlation id, instead of X-Correlation-ID
    /// (e.g. X-Session-ID for a router's session affinity).
    #[arg(long, value_name = "NAME")]
    pub session_header: Option<String>,

    /// Strip repeated images whose UUID the server has cached (vLLM's multimodal cache).
    /// Input files here carry no image UUIDs, so this has no effect (a note says so).
    #[arg(long)]
    pub uuid_and_strip: bool,
}

/// `--url-strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum UrlStrategy {
    /// Each new conversation goes to the next URL in turn.
    RoundRobin,
}

/// `--transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// HTTP/1.1, or HTTP/2 over TLS when the server offers it.
    Http,
}
