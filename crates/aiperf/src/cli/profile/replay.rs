//! Replaying a trace: the window of a fixed schedule, and the knobs of trace formats and
//! agentic replay that are accepted for compatibility.

use clap::Args;

#[derive(Debug, Args)]
#[command(next_help_heading = "Fixed Schedule")]
pub struct ReplayArgs {
    /// Shift the trace so its first row sent is at time 0 (what replay does unless
    /// --fixed-schedule-start-offset is given; not with it).
    #[arg(long)]
    pub fixed_schedule_auto_offset: bool,

    /// Milliseconds: rows of the trace before this timestamp are not sent, and the replay's
    /// clock starts here (a row at exactly this time is sent at once).
    #[arg(long, value_name = "MS")]
    pub fixed_schedule_start_offset: Option<u64>,

    /// Milliseconds: rows of the trace after this timestamp are not sent (a row at exactly
    /// this time is).
    #[arg(long, value_name = "MS")]
    pub fixed_schedule_end_offset: Option<u64>,

    /// Longest pause before a turn of an input file, seconds: longer recorded delays are
    /// cut to it.
    #[arg(long, value_name = "SECONDS", help_heading = "Conversation Input")]
    pub inter_turn_delay_cap_seconds: Option<f64>,

    /// Baseten traces only (not read here): refused.
    #[arg(long, value_name = "SECONDS", help_heading = "Conversation Input")]
    pub max_idle_gap_cap_seconds: Option<f64>,

    /// Baseten traces only (not read here): refused.
    #[arg(long, help_heading = "Conversation Input")]
    pub replay_speedup: Option<f64>,

    /// Baseten traces only (not read here): refused.
    #[arg(
        long,
        overrides_with = "no_open_loop_replay",
        help_heading = "Conversation Input"
    )]
    pub open_loop_replay: bool,

    /// Baseten traces only (not read here): refused.
    #[arg(
        long,
        overrides_with = "open_loop_replay",
        help_heading = "Conversation Input"
    )]
    pub no_open_loop_replay: bool,

    /// Baseten traces only (not read here): refused.
    #[arg(long, help_heading = "Conversation Input")]
    pub open_loop_strict: bool,

    /// Baseten traces only (not read here): refused.
    #[arg(long, help_heading = "Conversation Input")]
    pub omit_kv_hints: bool,

    /// Baseten traces only (not read here): refused.
    #[arg(
        long,
        overrides_with = "no_force_min_tokens",
        help_heading = "Conversation Input"
    )]
    pub force_min_tokens: bool,

    /// Baseten traces only (not read here): refused.
    #[arg(
        long,
        overrides_with = "force_min_tokens",
        help_heading = "Conversation Input"
    )]
    pub no_force_min_tokens: bool,

    /// Accepted for compatibility: applies to agentic replay, which is not offered here.
    #[arg(long, help_heading = "Load")]
    pub trajectory_start_min_ratio: Option<f64>,

    /// Accepted for compatibility: applies to agentic replay, which is not offered here.
    #[arg(long, help_heading = "Load")]
    pub trajectory_start_max_ratio: Option<f64>,

    /// Accepted for compatibility: applies to agentic replay, which is not offered here.
    #[arg(long, help_heading = "Load")]
    pub burst_phase_starts: bool,

    /// Accepted for compatibility: applies to Weka traces, which are not read here.
    #[arg(long, value_name = "SECONDS", help_heading = "Load")]
    pub trace_idle_gap_cap_seconds: Option<f64>,

    /// Accepted for compatibility: applies to agentic replay, which is not offered here.
    #[arg(long, value_name = "SECONDS", help_heading = "Load")]
    pub system_idle_gap_cap_seconds: Option<f64>,
}
