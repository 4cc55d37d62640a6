//! `search_history.json` (every iteration, the best trials, the SLA boundary) and the sweep
//! aggregate of the iterations, with the recipe's post-processing.

use std::path::Path;

use aiperf_stats::search::Planner;
use anyhow::Context;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use super::Iteration;
use crate::export::write_atomic;
use crate::recipes::documents::SlaBreach;
use crate::settings::{Param, ProfileConfig, SearchConfig, SlaFilter, SpaceDim, SweepParam};
use crate::sweep::aggregate::{self, CellResult, FailedRun, Flat, SlaConstraints, SweepSummary};
use crate::sweep::plan::Cell;

pub(super) fn cell_of(s: &SearchConfig, values: &[f64], index: usize) -> Cell {
    Cell {
        index,
        values: s
            .space
            .iter()
            .zip(values)
            .map(|(d, v)| (d.param, *v))
            .collect(),
    }
}

/// `search_history.json`.
#[derive(Serialize)]
struct History<'a> {
    config: HistoryConfig<'a>,
    iterations: Vec<IterationRecord<'a>>,
    /// The best iteration, when one was scored.
    best_trials: Option<[BestTrial<'a>; 1]>,
    boundary_summary: Option<BoundarySummary<'a>>,
    recipe: Option<&'a str>,
    /// Why the planner stopped; `null` while the search is unfinished.
    convergence_reason: Option<&'a str>,
    /// The plan's identity, compared on resume.
    plan: Value,
}

/// The search's settings, as the history records them.
#[derive(Serialize)]
struct HistoryConfig<'a> {
    planner: &'static str,
    objectives: [ObjectiveRecord<'a>; 1],
    /// `pooled` or `mean`.
    objective_pooling: &'static str,
    /// Always empty: constraints are the `sla_filters`.
    outcome_constraints: [(); 0],
    max_iterations: u32,
    n_initial_points: u32,
    random_seed: u64,
    improvement_patience: u32,
    plateau_window: u32,
    plateau_threshold: f64,
    search_space: Vec<SpaceRecord>,
    sla_filters: &'a [SlaFilter],
}

#[derive(Serialize)]
struct ObjectiveRecord<'a> {
    metric: &'a str,
    stat: &'a str,
    /// `MAXIMIZE` or `MINIMIZE`.
    direction: &'static str,
    threshold: Option<f64>,
}

#[derive(Serialize)]
struct SpaceRecord {
    path: &'static str,
    lo: f64,
    hi: f64,
    /// `int` or `real`.
    kind: &'static str,
    /// `log-uniform` or `uniform`.
    prior: &'static str,
}

/// One iteration of `search_history.json`.
#[derive(Serialize)]
struct IterationRecord<'a> {
    iteration_idx: usize,
    variation_values: VariationValues<'a>,
    objective_values: Option<[f64; 1]>,
    feasible: bool,
    non_monotonic_warning: bool,
    sla_observed: Vec<SlaObserved<'a>>,
    successful_trials: usize,
    failed_trials: Vec<FailedTrial<'a>>,
}

/// The mean an SLA filter's metric had over an iteration's trials.
#[derive(Serialize)]
struct SlaObserved<'a> {
    metric_tag: &'a str,
    stat: &'a str,
    observed: Option<f64>,
}

#[derive(Serialize)]
struct FailedTrial<'a> {
    label: &'a str,
    error: &'a str,
}

#[derive(Serialize)]
struct BestTrial<'a> {
    iteration_idx: usize,
    objective_values: Option<[f64; 1]>,
    variation_values: VariationValues<'a>,
    feasible: bool,
    feasible_count: usize,
    pareto_rank: u32,
}

/// Where the SLA boundary lies along a single swept dimension.
#[derive(Serialize)]
struct BoundarySummary<'a> {
    swept_dim_path: &'static str,
    feasible_max: Option<FeasibleMax>,
    infeasible_min: Option<InfeasibleMin<'a>>,
    /// `smooth` or `cliff`.
    boundary_type: &'static str,
    /// `<metric_tag>:<stat>` of the filter the lowest failing value breached.
    binding_constraint: Option<String>,
    boundary_ci: Option<Interval>,
}

#[derive(Serialize)]
struct FeasibleMax {
    value: ParamValue,
    iteration_idx: usize,
    objective_value: Option<f64>,
}

#[derive(Serialize)]
struct InfeasibleMin<'a> {
    value: ParamValue,
    iteration_idx: usize,
    first_breach: Option<SlaBreach<'a>>,
}

#[derive(Serialize)]
struct Interval {
    lo: f64,
    hi: f64,
}

/// A parameter's value as documents write it (integers without a decimal point).
struct ParamValue(Param, f64);

impl Serialize for ParamValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.json(self.1).serialize(s)
    }
}

/// An iteration's values by parameter path. A parameter listed twice is written once, at its
/// first place, with its last value.
struct VariationValues<'a> {
    space: &'a [SpaceDim],
    values: &'a [f64],
}

impl Serialize for VariationValues<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(Param, f64)> = self
            .space
            .iter()
            .zip(self.values)
            .map(|(d, v)| (d.param, *v))
            .collect();
        let mut m = s.serialize_map(None)?;
        for (i, (param, _)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(p, _)| p == param) {
                continue;
            }
            let last = pairs
                .iter()
                .rev()
                .find(|(p, _)| p == param)
                .map_or(0.0, |x| x.1);
            m.serialize_entry(param.path(), &ParamValue(*param, last))?;
        }
        m.end()
    }
}

fn variation_values<'a>(s: &'a SearchConfig, values: &'a [f64]) -> VariationValues<'a> {
    VariationValues {
        space: &s.space,
        values,
    }
}

pub(super) fn failed(label: &str, cell: &Cell, error: &str) -> FailedRun {
    FailedRun {
        label: label.to_owned(),
        error: error.to_owned(),
        parameters: Some(cell.parameters()),
    }
}

/// The first SLA filter an iteration breached, with what it observed.
fn first_breach<'a>(s: &'a SearchConfig, it: &Iteration) -> Option<SlaBreach<'a>> {
    s.sla
        .iter()
        .zip(&it.observed)
        .find(|(f, o)| !f.passes(**o))
        .map(|(f, o)| f.breach(*o))
}

/// Indices of the best iterations: feasible ones first (else all scored), best objective.
pub(super) fn best(s: &SearchConfig, iterations: &[Iteration]) -> (Option<usize>, usize) {
    let feasible: Vec<usize> = (0..iterations.len())
        .filter(|&i| iterations[i].feasible && iterations[i].objective.is_some_and(f64::is_finite))
        .collect();
    let pool: Vec<usize> = if feasible.is_empty() {
        (0..iterations.len())
            .filter(|&i| iterations[i].objective.is_some_and(f64::is_finite))
            .collect()
    } else {
        feasible.clone()
    };
    let sign = if s.objective.maximize { 1.0 } else { -1.0 };
    let best = pool.into_iter().max_by(|&a, &b| {
        let (x, y) = (
            iterations[a].objective.unwrap_or(f64::NAN),
            iterations[b].objective.unwrap_or(f64::NAN),
        );
        (sign * x).total_cmp(&(sign * y)).then(b.cmp(&a))
    });
    (best, feasible.len())
}

pub(super) fn write_history(
    path: &Path,
    config: &ProfileConfig,
    s: &SearchConfig,
    iterations: &[Iteration],
    planner: &dyn Planner,
    finished: bool,
) -> anyhow::Result<()> {
    let records = iterations
        .iter()
        .enumerate()
        .map(|(i, it)| IterationRecord {
            iteration_idx: i,
            variation_values: variation_values(s, &it.values),
            objective_values: it.objective.map(|v| [v]),
            feasible: it.feasible,
            non_monotonic_warning: it.non_monotonic,
            sla_observed: s
                .sla
                .iter()
                .zip(&it.observed)
                .map(|(f, o)| SlaObserved {
                    metric_tag: &f.metric_tag,
                    stat: &f.stat,
                    observed: *o,
                })
                .collect(),
            successful_trials: it.trials.len(),
            failed_trials: it
                .failures
                .iter()
                .map(|f| FailedTrial {
                    label: &f.label,
                    error: &f.error,
                })
                .collect(),
        })
        .collect();
    let (best_idx, feasible_count) = best(s, iterations);
    let best_trials = best_idx.map(|i| {
        let it = &iterations[i];
        [BestTrial {
            iteration_idx: i,
            objective_values: it.objective.map(|v| [v]),
            variation_values: variation_values(s, &it.values),
            feasible: it.feasible,
            feasible_count,
            pareto_rank: 0,
        }]
    });
    let doc = History {
        config: history_config(s),
        iterations: records,
        best_trials,
        boundary_summary: boundary_summary(s, iterations, planner),
        recipe: s.recipe.as_deref(),
        convergence_reason: finished.then(|| planner.convergence_reason().unwrap_or("unknown")),
        plan: super::fingerprint(config),
    };
    write_atomic(path, &serde_json::to_vec_pretty(&doc)?)
        .with_context(|| format!("writing {}", path.display()))
}

fn history_config(s: &SearchConfig) -> HistoryConfig<'_> {
    HistoryConfig {
        planner: s.planner.name(),
        objectives: [ObjectiveRecord {
            metric: &s.objective.metric,
            stat: &s.objective.stat,
            direction: if s.objective.maximize {
                "MAXIMIZE"
            } else {
                "MINIMIZE"
            },
            threshold: None,
        }],
        objective_pooling: if s.pooled { "pooled" } else { "mean" },
        outcome_constraints: [],
        max_iterations: s.max_iterations,
        n_initial_points: s.initial_points,
        random_seed: s.seed,
        improvement_patience: 10,
        plateau_window: 8,
        plateau_threshold: 0.01,
        search_space: s
            .space
            .iter()
            .map(|d| SpaceRecord {
                path: d.param.path(),
                lo: d.lo,
                hi: d.hi,
                kind: if d.integer { "int" } else { "real" },
                prior: if d.log { "log-uniform" } else { "uniform" },
            })
            .collect(),
        sla_filters: &s.sla,
    }
}

/// The SLA boundary of a one-dimensional search with SLA filters.
fn boundary_summary<'a>(
    s: &'a SearchConfig,
    iterations: &[Iteration],
    planner: &dyn Planner,
) -> Option<BoundarySummary<'a>> {
    if s.space.len() != 1 || s.sla.is_empty() {
        return None;
    }
    let d = &s.space[0];
    // The planner's bracket when it keeps one, else derived from the history.
    let (fmax, imin, cliff, ci) = match planner.boundary() {
        Some(b) => (
            b.feasible_max.map(|x| x.1),
            b.infeasible_min.map(|x| x.1),
            b.cliff,
            b.ci,
        ),
        None => {
            let f = (0..iterations.len())
                .filter(|&i| iterations[i].feasible)
                .max_by(|&a, &b| iterations[a].values[0].total_cmp(&iterations[b].values[0]));
            let i = (0..iterations.len())
                .filter(|&i| !iterations[i].feasible)
                .min_by(|&a, &b| iterations[a].values[0].total_cmp(&iterations[b].values[0]));
            (f, i, false, None)
        }
    };
    let binding = imin
        .and_then(|i| {
            s.sla
                .iter()
                .zip(&iterations[i].observed)
                .find(|(f, o)| !f.passes(**o))
        })
        .map(|(f, _)| format!("{}:{}", f.metric_tag, f.stat));
    Some(BoundarySummary {
        swept_dim_path: d.param.path(),
        feasible_max: fmax.map(|i| FeasibleMax {
            value: ParamValue(d.param, iterations[i].values[0]),
            iteration_idx: i,
            objective_value: iterations[i].objective,
        }),
        infeasible_min: imin.map(|i| InfeasibleMin {
            value: ParamValue(d.param, iterations[i].values[0]),
            iteration_idx: i,
            first_breach: first_breach(s, &iterations[i]),
        }),
        boundary_type: if cliff { "cliff" } else { "smooth" },
        binding_constraint: binding,
        boundary_ci: ci.map(|(lo, hi)| Interval { lo, hi }),
    })
}

/// The cross-iteration sweep aggregate (iterations grouped by their values), plus the
/// recipe's post-processing.
pub(super) fn write_sweep_aggregate(
    config: &ProfileConfig,
    s: &SearchConfig,
    base: &Path,
    iterations: &[Iteration],
) -> anyhow::Result<()> {
    let mut cells: Vec<(Cell, Vec<&Flat>)> = Vec::new();
    for it in iterations {
        match cells
            .iter_mut()
            .find(|(c, _)| c.values.iter().map(|v| v.1).eq(it.values.iter().copied()))
        {
            Some((_, flats)) => flats.extend(it.trials.iter()),
            None => {
                let cell = cell_of(s, &it.values, cells.len());
                cells.push((cell, it.trials.iter().collect()));
            }
        }
    }
    let params: Vec<SweepParam> = s
        .space
        .iter()
        .enumerate()
        .map(|(k, d)| {
            let mut values: Vec<f64> = Vec::new();
            for (c, _) in &cells {
                if !values.contains(&c.values[k].1) {
                    values.push(c.values[k].1);
                }
            }
            SweepParam {
                param: d.param,
                values,
            }
        })
        .collect();
    let level = config.multi_run.confidence_level;
    let results: Vec<CellResult<'_>> = cells
        .iter()
        .filter(|(_, flats)| !flats.is_empty())
        .map(|(cell, flats)| CellResult {
            cell,
            metrics: aggregate::cell_metrics(flats, flats.len() as u32, level),
        })
        .collect();
    if results.is_empty() {
        return Ok(());
    }
    let failed: Vec<FailedRun> = iterations
        .iter()
        .flat_map(|i| i.failures.iter().cloned())
        .collect();
    let num_runs: usize = iterations
        .iter()
        .map(|i| i.trials.len() + i.failures.len())
        .sum();
    let summary = SweepSummary {
        params: &params,
        num_successful_runs: iterations.iter().map(|i| i.trials.len()).sum(),
        num_combinations: cells.len(),
        cells: results,
        num_runs,
        failed,
        mode: "repeated",
        confidence_level: level,
        trials: config.multi_run.num_runs,
    };
    let mut doc = aggregate::sweep_doc(&summary);
    if !s.sla.is_empty() {
        let feasible = iterations.iter().filter(|i| i.feasible).count();
        doc.metadata.sla_constraints = Some(SlaConstraints {
            active_filters: &s.sla,
            feasible_count: feasible,
            infeasible_count: iterations.len() - feasible,
        });
    }
    let dir = base.join("sweep_aggregate");
    std::fs::create_dir_all(&dir)?;
    write_atomic(
        &dir.join(aggregate::SWEEP_JSON),
        &serde_json::to_vec_pretty(&doc)?,
    )?;
    crate::export::write_csv(
        &dir.join(aggregate::SWEEP_CSV),
        &aggregate::sweep_csv(&doc, &params),
    )?;
    if let Some(spec) = &config.post_process {
        let doc = serde_json::to_value(&doc)?;
        let path = crate::recipes::post_process::run_and_write(spec, &doc, &dir)?;
        crate::ui::console::line(&path.display().to_string())?;
    }
    Ok(())
}
