//! An adaptive search: the space, the objective, the planner and its SLA filters.

use serde::{Deserialize, Serialize};

use super::{Param, SlaFilter};

/// One searched dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpaceDim {
    pub param: Param,
    pub lo: f64,
    pub hi: f64,
    pub integer: bool,
    /// Log-uniform prior.
    pub log: bool,
}

/// What the search optimizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    pub metric: String,
    pub stat: String,
    pub maximize: bool,
}

impl Objective {
    /// The key of the objective in a run's flattened metrics.
    pub fn key(&self) -> String {
        format!("{}_{}", self.metric, self.stat)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannerKind {
    Bayesian,
    /// Tree-structured Parzen estimator (`--search-planner optuna --optuna-sampler tpe`).
    Tpe,
    MonotonicSla,
    SmoothIsotonic,
    Grid,
}

impl PlannerKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Bayesian => "bayesian",
            Self::Tpe => "tpe",
            Self::MonotonicSla => "monotonic_sla",
            Self::SmoothIsotonic => "smooth_isotonic",
            Self::Grid => "grid",
        }
    }

    /// Model-based planners that start from `initial_points` random points.
    pub fn has_initial_design(self) -> bool {
        matches!(self, Self::Bayesian | Self::Tpe)
    }

    /// One-dimensional SLA boundary planners.
    pub fn is_sla_1d(self) -> bool {
        matches!(self, Self::MonotonicSla | Self::SmoothIsotonic)
    }
}

/// An adaptive search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchConfig {
    pub space: Vec<SpaceDim>,
    pub objective: Objective,
    pub max_iterations: u32,
    pub initial_points: u32,
    pub seed: u64,
    pub planner: PlannerKind,
    pub sla: Vec<SlaFilter>,
    /// Agreeing verdicts per value (SLA planners).
    pub stability: u32,
    /// Replicate probes of the final boundary value (smooth-isotonic).
    #[serde(default)]
    pub replicates: u32,
    /// Relative bracket width at which SLA planners stop.
    pub precision: f64,
    /// Growth factor of the SLA planners' exponential probe.
    pub growth: f64,
    /// Points per dimension of the grid planner.
    pub grid_steps: usize,
    /// The recipe this search came from.
    pub recipe: Option<String>,
    /// The objective is its percentile over every request of the iteration's runs, rather
    /// than the mean of each run's percentile (`--search-percentile-pooling pooled`).
    #[serde(default)]
    pub pooled: bool,
    /// Noisy expected improvement (`--optuna-acquisition qnei`/`qlognei`): improvement is
    /// measured from the model's best mean at a feasible point.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub noisy_ei: bool,
}
