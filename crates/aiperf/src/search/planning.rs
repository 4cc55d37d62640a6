//! The planners a search may use, built from its configuration, and what they are told of each
//! iteration: its objective (a mean of the trials, or pooled over their requests) and how far
//! each SLA filter was from passing.

use std::path::PathBuf;

use aiperf_stats::search::bayes::{BayesianPlanner, Stopping};
use aiperf_stats::search::grid::{GridPlanner, log_grid};
use aiperf_stats::search::isotonic::SmoothIsotonicPlanner;
use aiperf_stats::search::monotonic::MonotonicPlanner;
use aiperf_stats::search::tpe::TpePlanner;
use aiperf_stats::search::{Dim, Observation, Planner};

use super::Iteration;
use crate::settings::{PlannerKind, SearchConfig, SlaFilter};
use crate::sweep::aggregate::{self, FailedRun, Flat};

pub(super) fn build_planner(s: &SearchConfig) -> Box<dyn Planner + Send> {
    let dims: Vec<Dim> = s
        .space
        .iter()
        .map(|d| Dim {
            lo: d.lo,
            hi: d.hi,
            integer: d.integer,
            log: d.log,
        })
        .collect();
    let max = s.max_iterations as usize;
    match s.planner {
        PlannerKind::Bayesian => Box::new(
            BayesianPlanner::new(
                dims,
                s.initial_points as usize,
                max,
                Stopping::default(),
                s.seed,
            )
            .with_noisy_incumbent(s.noisy_ei),
        ),
        PlannerKind::Tpe => Box::new(TpePlanner::new(
            dims,
            s.initial_points as usize,
            max,
            Stopping::default(),
            s.seed,
        )),
        PlannerKind::MonotonicSla => Box::new(MonotonicPlanner::new(
            dims[0].lo,
            dims[0].hi,
            s.growth,
            s.precision,
            s.stability,
            max,
        )),
        PlannerKind::SmoothIsotonic => Box::new(
            SmoothIsotonicPlanner::new(
                dims[0].lo,
                dims[0].hi,
                s.growth,
                s.precision,
                s.stability,
                max,
            )
            .with_replicates(s.replicates, s.seed),
        ),
        PlannerKind::Grid => {
            let axes: Vec<Vec<f64>> = s
                .space
                .iter()
                .map(|d| {
                    if d.integer {
                        log_grid(d.lo, d.hi, s.grid_steps)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|v| v as f64)
                            .collect()
                    } else {
                        (0..s.grid_steps)
                            .map(|i| {
                                let dim = Dim {
                                    lo: d.lo,
                                    hi: d.hi,
                                    integer: false,
                                    log: true,
                                };
                                dim.from_unit(i as f64 / (s.grid_steps - 1).max(1) as f64)
                            })
                            .collect()
                    }
                })
                .collect();
            let points = axes.iter().fold(vec![Vec::new()], |acc, axis| {
                acc.iter()
                    .flat_map(|p| {
                        axis.iter().map(move |v| {
                            let mut q: Vec<f64> = p.clone();
                            q.push(*v);
                            q
                        })
                    })
                    .collect()
            });
            Box::new(GridPlanner::new(points))
        }
    }
}

/// What the planner is told about an iteration.
pub(super) fn observation(s: &SearchConfig, it: &Iteration) -> Observation {
    Observation {
        x: it.values.clone(),
        objective: it
            .objective
            .map(|v| if s.objective.maximize { v } else { -v }),
        feasible: it.feasible,
        margins: s
            .sla
            .iter()
            .zip(&it.observed)
            .map(|(f, o)| o.map(|o| f.margin(o)))
            .collect(),
    }
}

pub(super) fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Scores an iteration from its trials.
pub(super) fn score(
    s: &SearchConfig,
    values: Vec<f64>,
    trials: Vec<Flat>,
    failures: Vec<FailedRun>,
) -> Iteration {
    let objective = mean(
        &trials
            .iter()
            .filter_map(|t| aggregate::lookup(t, &s.objective.key()))
            .collect::<Vec<_>>(),
    );
    let key = |f: &SlaFilter| format!("{}_{}", f.metric_tag, f.stat);
    let observed: Vec<Option<f64>> = s
        .sla
        .iter()
        .map(|f| {
            mean(
                &trials
                    .iter()
                    .filter_map(|t| aggregate::lookup(t, &key(f)))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    // Feasible when at least one successful trial meets every SLA.
    let feasible = trials.iter().any(|t| {
        s.sla
            .iter()
            .all(|f| f.passes(aggregate::lookup(t, &key(f))))
    });
    Iteration {
        values,
        trials,
        failures,
        objective,
        feasible,
        observed,
        non_monotonic: false,
    }
}

/// With `--search-percentile-pooling pooled`: the objective is its statistic over every
/// request of the iteration's successful runs (a true percentile of all of them).
pub(super) fn pool_objective(s: &SearchConfig, it: &mut Iteration, run_dirs: &[PathBuf]) {
    if !s.pooled {
        return;
    }
    let p = match s.objective.stat.as_str() {
        "min" => 0.0,
        "max" => 100.0,
        stat => match stat.strip_prefix('p').and_then(|p| p.parse::<f64>().ok()) {
            Some(p) => p,
            None => return, // refused when the flags were read
        },
    };
    let mut all: Vec<f64> = run_dirs
        .iter()
        .flat_map(|d| crate::sweep::converge::request_values(d, &s.objective.metric))
        .collect();
    all.sort_by(f64::total_cmp);
    it.objective = aiperf_stats::percentile_sorted(&all, p);
}
