//! Repeated runs and parameter sweeps.

use clap::{Args, ValueEnum};

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

    /// Give each trial of a configuration its own seed (derived from the seed, the sweep
    /// value's label and the trial with SHA-256, as the Python AIPerf derives it), so trials
    /// also draw different prompts; by default every trial repeats the same inputs.
    #[arg(long)]
    pub vary_seed_per_trial: bool,

    /// Do not print a line per run during a sweep of several values (the summary table at
    /// the end is still printed).
    #[arg(long)]
    pub no_sweep_table: bool,

    /// One hand-picked sweep value, `[name:] key=value, key=value` (repeatable). Refused
    /// here: sweep with flag lists instead (--concurrency 4,8 --isl 128,512 --sweep-type
    /// zip).
    #[arg(long, visible_alias = "sweep-variant", value_name = "VARIANT", action = clap::ArgAction::Append)]
    pub variant: Vec<String>,

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
