//! The warmup phase's own shape: sessions, prefill gate, arrival pattern, grace period and
//! ramps (the warmup's count, duration, concurrency and rate are among the load flags).

use clap::Args;

use super::ArrivalPattern;

#[derive(Debug, Args)]
#[command(next_help_heading = "Warmup")]
pub struct WarmupArgs {
    /// Sessions (conversations) the warmup starts before measuring; each runs all its turns.
    #[arg(long)]
    pub num_warmup_sessions: Option<u64>,

    /// Prefill concurrency of the warmup (default: --prefill-concurrency).
    #[arg(long)]
    pub warmup_prefill_concurrency: Option<u32>,

    /// Arrival pattern of the warmup's rate (default: --arrival-pattern).
    #[arg(long, value_enum)]
    pub warmup_arrival_pattern: Option<ArrivalPattern>,

    /// Seconds the warmup waits for its requests in flight after --warmup-duration ends
    /// (default: until all have answered).
    #[arg(long, value_name = "SECONDS")]
    pub warmup_grace_period: Option<f64>,

    /// --concurrency-ramp-duration of the warmup (default: the profiling one).
    #[arg(long, value_name = "SECONDS")]
    pub warmup_concurrency_ramp_duration: Option<f64>,

    /// --prefill-concurrency-ramp-duration of the warmup (default: the profiling one).
    #[arg(long, value_name = "SECONDS")]
    pub warmup_prefill_concurrency_ramp_duration: Option<f64>,

    /// --request-rate-ramp-duration of the warmup (default: the profiling one, when the
    /// warmup runs at a rate).
    #[arg(long, value_name = "SECONDS")]
    pub warmup_request_rate_ramp_duration: Option<f64>,

    /// Agentic replay's extra warmup seconds. Accepted for compatibility: agentic replay
    /// datasets are not read here, so it does not apply.
    #[arg(long, value_name = "SECONDS")]
    pub agentic_cache_warmup_duration: Option<f64>,

    /// Agentic replay's warmup grace period. Accepted for compatibility: agentic replay
    /// datasets are not read here, so it does not apply.
    #[arg(long, value_name = "SECONDS")]
    pub agentic_warmup_grace_period: Option<f64>,
}
