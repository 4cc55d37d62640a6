//! What a plan runs: sweeps, repeated runs and their convergence test, and a recipe's
//! post-processing with its SLA filters.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{LengthDist, ProfileConfig, python_float};

/// A flag that accepts a list of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Param {
    // Declared in the order of the reference tool's canonical paths (datasets.* before
    // phases.*, alphabetical), which orders directory names and the product.
    Isl,
    Osl,
    Concurrency,
    BenchmarkDuration,
    RequestRate,
    RequestCount,
}

impl Param {
    /// The name used in directory names, `parameters` objects and CSV headers.
    pub fn name(self) -> &'static str {
        match self {
            Self::Isl => "isl",
            Self::Osl => "osl",
            Self::Concurrency => "concurrency",
            Self::BenchmarkDuration => "benchmark_duration",
            Self::RequestRate => "request_rate",
            Self::RequestCount => "request_count",
        }
    }

    /// The reference tool's configuration path of the parameter (search histories use it).
    pub fn path(self) -> &'static str {
        match self {
            Self::Isl => "datasets.main.prompts.isl",
            Self::Osl => "datasets.main.prompts.osl",
            Self::Concurrency => "phases.profiling.concurrency",
            Self::BenchmarkDuration => "phases.profiling.duration",
            Self::RequestRate => "phases.profiling.rate",
            Self::RequestCount => "phases.profiling.requests",
        }
    }

    /// The parameter a `--search-space` path or alias names.
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim();
        let name = name.strip_suffix(".mean").unwrap_or(name);
        [
            Self::Isl,
            Self::Osl,
            Self::Concurrency,
            Self::BenchmarkDuration,
            Self::RequestRate,
            Self::RequestCount,
        ]
        .into_iter()
        .find(|p| {
            name == p.name()
                || name == p.path()
                || name == p.path().rsplit('.').next().unwrap_or("")
        })
    }

    pub fn flag(self) -> &'static str {
        match self {
            Self::Isl => "--isl",
            Self::Osl => "--osl",
            Self::Concurrency => "--concurrency",
            Self::BenchmarkDuration => "--benchmark-duration",
            Self::RequestRate => "--request-rate",
            Self::RequestCount => "--request-count",
        }
    }

    /// Whether values are integers (printed without a decimal point).
    pub fn integer(self) -> bool {
        !matches!(self, Self::BenchmarkDuration | Self::RequestRate)
    }

    /// A value as the reference tool prints it: `10` for integers, `5.0` for floats.
    pub fn format(self, v: f64) -> String {
        if self.integer() {
            format!("{}", v as u64)
        } else {
            python_float(v)
        }
    }

    pub fn json(self, v: f64) -> Value {
        if self.integer() {
            json!(v as u64)
        } else {
            json!(v)
        }
    }

    /// Sets this parameter of `config` to `v`.
    pub fn apply(self, config: &mut ProfileConfig, v: f64) {
        use super::InputConfig;
        match self {
            Self::Concurrency => config.load.concurrency = Some(v as u32),
            Self::RequestRate => config.load.request_rate = Some(v),
            Self::RequestCount => config.load.stop.requests = Some(v as u64),
            Self::BenchmarkDuration => config.load.stop.duration_secs = Some(v),
            Self::Isl => {
                if let InputConfig::Synthetic { isl, .. } = &mut config.input {
                    isl.mean = v;
                }
            }
            Self::Osl => {
                let set = |osl: &mut Option<LengthDist>| match osl {
                    Some(d) => d.mean = v,
                    None => {
                        *osl = Some(LengthDist {
                            mean: v,
                            stddev: 0.0,
                        });
                    }
                };
                match &mut config.input {
                    InputConfig::Synthetic { osl, .. } | InputConfig::File { osl, .. } => set(osl),
                }
            }
        }
    }
}

/// One swept flag and its values, in the order given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepParam {
    pub param: Param,
    pub values: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepKind {
    Grid,
    Zip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepMode {
    Repeated,
    Independent,
}

impl SweepMode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Repeated => "repeated",
            Self::Independent => "independent",
        }
    }
}

/// A parameter sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepConfig {
    /// Swept flags, in canonical order.
    pub params: Vec<SweepParam>,
    pub kind: SweepKind,
    pub mode: SweepMode,
    pub cooldown_secs: f64,
    pub same_seed: bool,
}

/// Repeated runs (trials).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiRunConfig {
    pub num_runs: u32,
    pub confidence_level: f64,
    pub cooldown_secs: f64,
    /// Warm up only in the first trial of each cell.
    pub warmup_first_only: bool,
    /// Stop repeating a cell once its runs agree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub convergence: Option<Convergence>,
    /// Each trial gets its own seed (`--vary-seed-per-trial`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub vary_seed_per_trial: bool,
    /// No line per run while a sweep runs (`--no-sweep-table`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_sweep_table: bool,
}

/// When repeated runs of a cell agree well enough to stop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    pub metric: String,
    pub stat: String,
    pub mode: ConvergenceMode,
    pub threshold: f64,
    pub min_runs: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConvergenceMode {
    CiWidth,
    Cv,
    Distribution,
}

impl ConvergenceMode {
    pub fn name(self) -> &'static str {
        match self {
            Self::CiWidth => "ci_width",
            Self::Cv => "cv",
            Self::Distribution => "distribution",
        }
    }
}

impl Default for MultiRunConfig {
    fn default() -> Self {
        Self {
            num_runs: 1,
            confidence_level: 0.95,
            cooldown_secs: 0.0,
            warmup_first_only: true,
            convergence: None,
            vary_seed_per_trial: false,
            no_sweep_table: false,
        }
    }
}

/// One SLA filter: `<tag>:<stat> <op> <threshold>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaFilter {
    pub metric_tag: String,
    pub stat: String,
    pub op: SlaOp,
    pub threshold: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlaOp {
    Lt,
    Le,
    Gt,
    Ge,
}

impl SlaFilter {
    /// The signed, threshold-relative violation at `observed` (`≤ 0` passes).
    pub fn margin(&self, observed: f64) -> f64 {
        let scale = if self.threshold.abs() > 0.0 {
            self.threshold.abs()
        } else {
            1.0
        };
        match self.op {
            SlaOp::Lt | SlaOp::Le => (observed - self.threshold) / scale,
            SlaOp::Gt | SlaOp::Ge => (self.threshold - observed) / scale,
        }
    }

    /// Whether `observed` passes; a missing value never does.
    pub fn passes(&self, observed: Option<f64>) -> bool {
        let Some(v) = observed.filter(|v| v.is_finite()) else {
            return false;
        };
        match self.op {
            SlaOp::Lt => v < self.threshold,
            SlaOp::Le => v <= self.threshold,
            SlaOp::Gt => v > self.threshold,
            SlaOp::Ge => v >= self.threshold,
        }
    }
}

/// A post-processing step: a handler, its parameters, and the file it writes under
/// `sweep_aggregate/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostProcessSpec {
    pub handler: String,
    pub output: String,
    #[serde(default)]
    pub params: Value,
}
