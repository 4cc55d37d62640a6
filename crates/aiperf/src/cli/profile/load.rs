//! How requests are paced and when the run stops.

use clap::{Args, ValueEnum};

use super::{list_count, list_number};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum ArrivalPattern {
    /// No gaps: each request starts as soon as a concurrency slot is free (the closed loop
    /// at --concurrency), as the Python AIPerf's concurrency phases send.
    ConcurrencyBurst,
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

    /// Requests in their prefill at once, at most: sent and not yet at their first token
    /// (needs --streaming). The next request waits for a slot.
    #[arg(long, value_delimiter = ',', value_parser = list_count::<u32>, action = clap::ArgAction::Set)]
    pub prefill_concurrency: Vec<u32>,

    /// Seconds to step the session concurrency up from 1 to --concurrency, one more session
    /// at a time, evenly spaced.
    #[arg(long, value_name = "SECONDS")]
    pub concurrency_ramp_duration: Option<f64>,

    /// Seconds to step the prefill concurrency up from 1 to --prefill-concurrency.
    #[arg(long, value_name = "SECONDS")]
    pub prefill_concurrency_ramp_duration: Option<f64>,

    /// Seconds to raise the request rate linearly to its target, from target × 0.1 s /
    /// duration (updated every 0.1 s).
    #[arg(long, value_name = "SECONDS")]
    pub request_rate_ramp_duration: Option<f64>,

    /// A JSON file of request-rate points, `{"points": [{"time_s": 0, "qps": 2}, ...]}` (or
    /// the array alone): the rate follows them piecewise linearly, holding the last one.
    /// Replaces --request-rate.
    #[arg(long, value_name = "FILE")]
    pub request_rate_series: Option<std::path::PathBuf>,

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
