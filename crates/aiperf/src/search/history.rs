//! `search_history.json` (every iteration, the best trials, the SLA boundary) and the sweep
//! aggregate of the iterations, with the recipe's post-processing.

use std::path::Path;

use aiperf_stats::search::Planner;
use anyhow::Context;
use serde_json::{Map, Value, json};

use super::Iteration;
use crate::export::write_atomic;
use crate::settings::{ProfileConfig, SearchConfig, SweepParam};
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

pub(super) fn variation_values(s: &SearchConfig, values: &[f64]) -> Map<String, Value> {
    s.space
        .iter()
        .zip(values)
        .map(|(d, v)| (d.param.path().to_owned(), d.param.json(*v)))
        .collect()
}

pub(super) fn failed(label: &str, cell: &Cell, error: &str) -> FailedRun {
    FailedRun {
        label: label.to_owned(),
        error: error.to_owned(),
        parameters: Some(cell.parameters()),
    }
}

pub(super) fn first_breach(s: &SearchConfig, it: &Iteration) -> Value {
    s.sla
        .iter()
        .zip(&it.observed)
        .find(|(f, o)| !f.passes(**o))
        .map_or(Value::Null, |(f, o)| {
            json!({"metric_tag": f.metric_tag, "stat": f.stat, "op": f.op, "threshold": f.threshold, "observed": o})
        })
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
    let iters: Vec<Value> = iterations
        .iter()
        .enumerate()
        .map(|(i, it)| {
            json!({
                "iteration_idx": i,
                "variation_values": variation_values(s, &it.values),
                "objective_values": it.objective.map(|v| vec![v]),
                "feasible": it.feasible,
                "non_monotonic_warning": it.non_monotonic,
                "sla_observed": s.sla.iter().zip(&it.observed).map(|(f, o)| json!({"metric_tag": f.metric_tag, "stat": f.stat, "observed": o})).collect::<Vec<_>>(),
                "successful_trials": it.trials.len(),
                "failed_trials": it.failures.iter().map(|f| json!({"label": f.label, "error": f.error})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let (best_idx, feasible_count) = best(s, iterations);
    let best_trials = best_idx.map(|i| {
        let it = &iterations[i];
        json!([{
            "iteration_idx": i,
            "objective_values": it.objective.map(|v| vec![v]),
            "variation_values": variation_values(s, &it.values),
            "feasible": it.feasible,
            "feasible_count": feasible_count,
            "pareto_rank": 0,
        }])
    });
    let boundary = boundary_summary(s, iterations, planner);
    let doc = json!({
        "config": {
            "planner": s.planner.name(),
            "objectives": [{"metric": s.objective.metric, "stat": s.objective.stat,
                            "direction": if s.objective.maximize { "MAXIMIZE" } else { "MINIMIZE" }, "threshold": null}],
            "objective_pooling": if s.pooled { "pooled" } else { "mean" },
            "outcome_constraints": [],
            "max_iterations": s.max_iterations,
            "n_initial_points": s.initial_points,
            "random_seed": s.seed,
            "improvement_patience": 10, "plateau_window": 8, "plateau_threshold": 0.01,
            "search_space": s.space.iter().map(|d| json!({"path": d.param.path(), "lo": d.lo, "hi": d.hi,
                "kind": if d.integer { "int" } else { "real" }, "prior": if d.log { "log-uniform" } else { "uniform" }})).collect::<Vec<_>>(),
            "sla_filters": s.sla,
        },
        "iterations": iters,
        "best_trials": best_trials,
        "boundary_summary": boundary,
        "recipe": s.recipe,
        "convergence_reason": if finished { json!(planner.convergence_reason().unwrap_or("unknown")) } else { Value::Null },
        "plan": super::fingerprint(config),
    });
    write_atomic(path, &serde_json::to_vec_pretty(&doc)?)
        .with_context(|| format!("writing {}", path.display()))
}

pub(super) fn boundary_summary(
    s: &SearchConfig,
    iterations: &[Iteration],
    planner: &dyn Planner,
) -> Value {
    if s.space.len() != 1 || s.sla.is_empty() {
        return Value::Null;
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
    json!({
        "swept_dim_path": d.param.path(),
        "feasible_max": fmax.map(|i| json!({"value": d.param.json(iterations[i].values[0]), "iteration_idx": i, "objective_value": iterations[i].objective})),
        "infeasible_min": imin.map(|i| json!({"value": d.param.json(iterations[i].values[0]), "iteration_idx": i, "first_breach": first_breach(s, &iterations[i])})),
        "boundary_type": if cliff { "cliff" } else { "smooth" },
        "binding_constraint": binding,
        "boundary_ci": ci.map(|(lo, hi)| json!({"lo": lo, "hi": hi})),
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
    write_atomic(
        &dir.join(aggregate::SWEEP_CSV),
        aggregate::sweep_csv(&doc, &params).as_bytes(),
    )?;
    if let Some(spec) = &config.post_process {
        let doc = serde_json::to_value(&doc)?;
        let path = crate::recipes::post_process::run_and_write(spec, &doc, &dir)?;
        crate::ui::console::line(&path.display().to_string())?;
    }
    Ok(())
}
