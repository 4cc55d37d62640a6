//! `aiperf sim`: flags of the stand-alone simulated server.

use std::net::IpAddr;
use std::path::PathBuf;

use aiperf_sim::TokenizerKind;
use aiperf_sim::presets::{DEFAULT_PRESET, PRESETS, find};
use clap::Args;

fn preset_help() -> String {
    let mut help = String::from("Server profile to simulate:\n");
    for p in PRESETS {
        let aliases = if p.aliases.is_empty() {
            String::new()
        } else {
            format!(" (also: {})", p.aliases.join(", "))
        };
        help.push_str(&format!("  {}{aliases}: {}\n", p.name, p.description));
    }
    help
}

fn parse_preset(name: &str) -> Result<String, String> {
    match find(name) {
        Some(p) => Ok(p.name.to_owned()),
        None => {
            let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
            Err(format!(
                "unknown preset; choose one of: {}",
                names.join(", ")
            ))
        }
    }
}

fn parse_tokenizer(name: &str) -> Result<TokenizerKind, String> {
    TokenizerKind::from_name(name)
        .ok_or_else(|| format!("choose one of: {}", TokenizerKind::NAMES.join(", ")))
}

/// Run the simulated OpenAI-compatible LLM server.
///
/// Serves /v1/chat/completions and /v1/completions (streaming or not), /v1/models, /health,
/// Prometheus /metrics with vLLM's metric names and /dcgm/metrics, simulated GPU telemetry in
/// the DCGM exporter's format (power follows the load). Latency comes from a model of a
/// continuous-batching engine, so load produces queueing, saturation and rising latency.
/// Ctrl-C stops it cleanly (in-flight responses get the grace period to finish).
#[derive(Debug, Args)]
#[command(
    after_long_help = "Every latency is divided by --speedup. Every random choice \
    (output lengths, text, step jitter, injected faults) follows --seed."
)]
pub struct SimArgs {
    /// Address to listen on (loopback unless you mean to expose it).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Port to listen on; 0 picks a free one (the address is printed on start).
    #[arg(short, long, default_value_t = 8000)]
    pub port: u16,

    #[arg(long, default_value = DEFAULT_PRESET, value_parser = parse_preset, long_help = preset_help())]
    pub preset: String,

    /// Model name to serve (repeat or comma-separate for several). Default: the preset's.
    #[arg(
        long = "model",
        visible_alias = "served-model-name",
        value_delimiter = ','
    )]
    pub models: Vec<String>,

    /// Run this many times faster than real time.
    #[arg(long)]
    pub speedup: Option<f64>,

    /// Longest prompt plus output, in tokens.
    #[arg(long)]
    pub max_model_len: Option<u32>,

    /// Seed for output lengths, output text, step jitter and faults.
    #[arg(long)]
    pub seed: Option<u64>,

    /// Tokenizer that counts prompt tokens: o200k_base, cl100k_base, or approx (bytes/4, no cost).
    #[arg(long, value_parser = parse_tokenizer)]
    pub tokenizer: Option<TokenizerKind>,

    /// Write the server's own timestamps of every request here, one JSON object per line.
    #[arg(long, value_name = "PATH")]
    pub record_requests: Option<PathBuf>,

    /// Seconds shutdown waits for in-flight responses.
    #[arg(long, value_name = "SECONDS")]
    pub shutdown_grace_seconds: Option<f64>,

    /// Print the resolved configuration as JSON and exit.
    #[arg(long)]
    pub print_config: bool,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub engine: EngineArgs,

    #[command(flatten)]
    pub fixed: FixedArgs,

    #[command(flatten)]
    pub faults: FaultArgs,

    #[command(flatten)]
    pub gpus: GpuArgs,
}

/// The simulated GPUs behind /dcgm/metrics.
#[derive(Debug, Args)]
#[command(next_help_heading = "GPU telemetry (/dcgm/metrics)")]
pub struct GpuArgs {
    /// Number of GPUs reported (the load is shared between them). Default: the preset's.
    #[arg(long)]
    pub dcgm_num_gpus: Option<u32>,

    /// GPU model name reported in the modelName label.
    #[arg(long)]
    pub dcgm_gpu_name: Option<String>,

    /// Power draw of an idle GPU, in watts.
    #[arg(long)]
    pub gpu_idle_watts: Option<f64>,

    /// Power draw at full load (the power limit), in watts.
    #[arg(long)]
    pub gpu_max_watts: Option<f64>,
}

/// Output length and content.
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Mean answer length in tokens when the request does not set ignore_eos.
    #[arg(long)]
    pub output_tokens_mean: Option<u32>,

    /// Standard deviation of that length.
    #[arg(long)]
    pub output_tokens_stddev: Option<u32>,

    /// Fraction of chat output sent as reasoning_content before the answer (0-1).
    #[arg(long)]
    pub reasoning_ratio: Option<f64>,

    /// Speculative decoding: draft tokens per step, reported in chat and completions
    /// responses (metrics.speculative_decoding) and as vllm:spec_decode_* metrics; 0 turns it
    /// off. Default: the preset's (3 for spec-decode, off otherwise).
    #[arg(long, value_name = "K")]
    pub spec_decode_tokens: Option<u32>,

    /// Speculative decoding: the chance each draft token is accepted (0-1). Default: the
    /// preset's, or 0.7.
    #[arg(long, value_name = "RATE")]
    pub spec_decode_acceptance: Option<f64>,
}

/// Coefficients of the continuous-batching engine presets.
#[derive(Debug, Args)]
#[command(next_help_heading = "Engine model (llama-8b-h100, llama-70b-h100x4)")]
pub struct EngineArgs {
    /// Most sequences in one batch.
    #[arg(long)]
    pub max_num_seqs: Option<u32>,

    /// Most tokens per step (chunked-prefill budget).
    #[arg(long)]
    pub max_num_batched_tokens: Option<u32>,

    /// Tokens per KV-cache block.
    #[arg(long)]
    pub block_size: Option<u32>,

    /// KV-cache blocks (capacity = blocks × block size); preemption starts when full.
    #[arg(long, visible_alias = "num-gpu-blocks")]
    pub num_kv_blocks: Option<u32>,

    /// Fixed cost of every step, ms (c0).
    #[arg(long)]
    pub step_base_ms: Option<f64>,

    /// Cost per prefill token, ms (a).
    #[arg(long)]
    pub prefill_ms_per_token: Option<f64>,

    /// Cost per squared prefill-chunk length, ms (b).
    #[arg(long)]
    pub prefill_ms_per_token_sq: Option<f64>,

    /// Cost per decoding sequence, ms (d).
    #[arg(long)]
    pub decode_ms_per_seq: Option<f64>,

    /// Cost per token of decode context, ms (e).
    #[arg(long)]
    pub kv_ms_per_token: Option<f64>,

    /// Coefficient of variation of the random factor on each step time (0 = exact).
    #[arg(long)]
    pub step_jitter_cv: Option<f64>,
}

/// The fixed-latency preset.
#[derive(Debug, Args)]
#[command(next_help_heading = "Fixed latency (fixed)")]
pub struct FixedArgs {
    /// Time to first token, ms.
    #[arg(long)]
    pub ttft_ms: Option<f64>,

    /// Time between output tokens, ms.
    #[arg(long)]
    pub itl_ms: Option<f64>,
}

/// Seeded fault injection (per-request rates, at most one fault per request).
#[derive(Debug, Args)]
#[command(next_help_heading = "Fault injection")]
pub struct FaultArgs {
    /// Fraction of requests answered with an HTTP error.
    #[arg(long)]
    pub error_rate: Option<f64>,

    /// Statuses for injected errors, picked uniformly (e.g. 500,429,503).
    #[arg(long, value_delimiter = ',')]
    pub error_status: Vec<u16>,

    /// Retry-After seconds sent with injected 429 and 503 errors.
    #[arg(long)]
    pub retry_after_secs: Option<u32>,

    /// Fraction of responses whose connection drops part-way.
    #[arg(long)]
    pub disconnect_rate: Option<f64>,

    /// Fraction of streams with one chunk of invalid JSON.
    #[arg(long)]
    pub malformed_rate: Option<f64>,

    /// Fraction of responses that pause part-way for --stall-ms.
    #[arg(long)]
    pub stall_rate: Option<f64>,

    /// Length of an injected stall, ms.
    #[arg(long)]
    pub stall_ms: Option<f64>,
}
