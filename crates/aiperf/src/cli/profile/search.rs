//! Adaptive search and search recipes.

use clap::{ArgAction, Args, ValueEnum};

use super::PoolingArg;

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

    /// Acquisition of the Gaussian-process planner (--search-planner optuna with the
    /// botorch sampler, or bayesian): logei/qlogei, expected improvement over the best
    /// feasible value (the default); qnei/qlognei, noisy expected improvement, over the
    /// model's best mean at a feasible point. The multi-objective ones are refused: a search
    /// has one objective.
    #[arg(long, value_enum)]
    pub optuna_acquisition: Option<AcquisitionArg>,

    /// Posterior-regret stopping rule of --search-planner optuna: regret, emmr or none.
    /// Accepted with a note: it needs cross-validation error estimates a benchmark does not
    /// report, so (as in the Python AIPerf) it never stops a search; budget, patience and
    /// plateau do.
    #[arg(long, value_enum)]
    pub optuna_terminator: Option<TerminatorArg>,

    /// Deprecated and ignored, as in the Python AIPerf: SLA constraints are always modelled
    /// (expected improvement times the probability of meeting them).
    #[arg(long, value_enum)]
    pub bo_constraint_mode: Option<ConstraintModeArg>,

    /// One tier of SLA filters, `[LABEL:]FILTER[,FILTER...]` (2-10 tiers). Refused: tiered
    /// searches do not run here; run one search per tier with --search-sla.
    #[arg(long, value_name = "TIER", action = ArgAction::Append)]
    pub search_sla_tier: Vec<String>,
}

/// `--optuna-acquisition`: the acquisition function of the Gaussian-process planner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AcquisitionArg {
    /// Log expected improvement (the same choices as expected improvement).
    Logei,
    Qlogei,
    /// Noisy expected improvement: measured from the model's best mean at a feasible point.
    Qnei,
    Qlognei,
    /// Multi-objective (hypervolume) acquisitions: a search here has one objective.
    Qehvi,
    Qnehvi,
    Qlognehvi,
}

/// `--optuna-terminator`: a posterior-regret stopping rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TerminatorArg {
    Regret,
    Emmr,
    #[value(name = "none")]
    Off,
}

/// `--bo-constraint-mode` (deprecated and ignored, as in the Python AIPerf).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConstraintModeArg {
    Penalty,
    Eic,
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
