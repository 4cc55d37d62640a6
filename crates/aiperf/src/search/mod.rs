//! Adaptive search: ask a planner for the next configuration, benchmark it in-process
//! (`--num-profile-runs` trials), tell the planner what was measured, and keep
//! `search_history.json` current after every iteration. A search interrupted or killed
//! resumes from that file: the recorded iterations are replayed into a fresh planner (every
//! planner is deterministic for its seed), then the search goes on.

use std::io::Write;
use std::path::{Path, PathBuf};

use aiperf_stats::search::bayes::{BayesianPlanner, Stopping};
use aiperf_stats::search::grid::{GridPlanner, log_grid};
use aiperf_stats::search::isotonic::SmoothIsotonicPlanner;
use aiperf_stats::search::monotonic::MonotonicPlanner;
use aiperf_stats::search::tpe::TpePlanner;
use aiperf_stats::search::{Dim, Observation, Planner};
use anyhow::Context;
use serde_json::{Map, Value, json};

use crate::bench::load_dataset as prepare;
use crate::export::write_atomic;
use crate::loadgen::Interrupts;
use crate::settings::SlaFilter;
use crate::settings::SweepParam;
use crate::settings::{PlannerKind, SearchConfig};
use crate::settings::{ProfileConfig, UiMode};
use crate::sweep::RunResult;
use crate::sweep::aggregate::{self, CellResult, FailedRun, Flat, SweepSummary};
use crate::sweep::plan::{self, Cell, PlanDoc, RunSpec};
use crate::{ExitStatus, UsageError};

pub const HISTORY: &str = "search_history.json";

/// One finished iteration.
#[derive(Debug, Clone)]
struct Iteration {
    values: Vec<f64>,
    /// Flattened metrics of each successful trial.
    trials: Vec<Flat>,
    failures: Vec<FailedRun>,
    objective: Option<f64>,
    feasible: bool,
    /// Mean observed value of each SLA filter's metric over successful trials.
    observed: Vec<Option<f64>>,
    non_monotonic: bool,
}

fn build_planner(s: &SearchConfig) -> Box<dyn Planner + Send> {
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
        PlannerKind::Bayesian => Box::new(BayesianPlanner::new(
            dims,
            s.initial_points as usize,
            max,
            Stopping::default(),
            s.seed,
        )),
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
fn observation(s: &SearchConfig, it: &Iteration) -> Observation {
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

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Scores an iteration from its trials.
fn score(
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
fn pool_objective(s: &SearchConfig, it: &mut Iteration, run_dirs: &[PathBuf]) {
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

fn cell_of(s: &SearchConfig, values: &[f64], index: usize) -> Cell {
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

fn variation_values(s: &SearchConfig, values: &[f64]) -> Map<String, Value> {
    s.space
        .iter()
        .zip(values)
        .map(|(d, v)| (d.param.path().to_owned(), d.param.json(*v)))
        .collect()
}

/// The plan's identity, to decide whether a history may be resumed. The artifact directory is
/// not part of it: the history is found in it, however its path was spelled (`./art`, `art`).
fn fingerprint(config: &ProfileConfig) -> Value {
    let mut c = config.clone();
    c.cli_command = String::new();
    c.ui = UiMode::None;
    c.resume = false;
    c.output.artifact_dir = None;
    serde_json::to_value(&c).unwrap_or_default()
}

/// The plan of one iteration: its trials of the configuration `cell`, writing into `dir`.
fn iteration_plan(config: &ProfileConfig, cell: &Cell, dir: &Path, first: bool) -> PlanDoc {
    let trials = config.multi_run.num_runs.max(1);
    PlanDoc {
        format: plan::PLAN_FORMAT,
        aiperf_version: env!("CARGO_PKG_VERSION").to_owned(),
        base: dir.to_path_buf(),
        config: config.clone(),
        runs: (0..trials)
            .map(|t| RunSpec {
                index: t as usize,
                cell: Some(cell.index),
                parameters: cell.parameters(),
                values: cell.values.clone(),
                trial: t,
                seed: config.random_seed,
                warmup: (first && t == 0) || !config.multi_run.warmup_first_only,
                dir: PathBuf::from("profile_runs").join(plan::numbered("run", t)),
                label: format!("{}, run {}", cell.label(), t + 1),
            })
            .collect(),
    }
}

/// Runs the search `config.search` describes, its trials in this process; returns how it
/// ended and the artifact directory it wrote.
pub async fn run(
    config: ProfileConfig,
    interrupts: &Interrupts,
) -> anyhow::Result<(ExitStatus, PathBuf)> {
    let (tokenizer, dataset) = prepare(&config, None).await?;
    let base = config.artifact_dir(config.load.mode(dataset.has_timestamps()));
    drop(dataset);
    let runner = crate::sweep::LocalRunner {
        tokenizer: Some(tokenizer),
    };
    run_with(config, base, &runner, interrupts).await
}

/// The search into `base`, each iteration's trials run by `runner`.
pub async fn run_with(
    config: ProfileConfig,
    base: PathBuf,
    runner: &dyn crate::sweep::Runner,
    interrupts: &Interrupts,
) -> anyhow::Result<(ExitStatus, PathBuf)> {
    let s = config.search.clone().expect("a search configuration");
    std::fs::create_dir_all(&base).map_err(|e| {
        UsageError::new(format!(
            "--artifact-dir: cannot create {}: {e}; choose a writable directory",
            base.display()
        ))
    })?;
    let history_path = base.join(HISTORY);
    let mut planner = build_planner(&s);
    let mut iterations: Vec<Iteration> = Vec::new();

    // Resume: replay the recorded iterations of the same plan.
    let previous: Option<Value> = std::fs::read_to_string(&history_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    if let Some(prev) = &previous {
        if prev["plan"] == fingerprint(&config) {
            iterations = replay(&s, prev, &base, planner.as_mut());
            tracing::info!(
                "resuming the search after {} recorded iterations",
                iterations.len()
            );
        } else if config.resume
            || prev["iterations"]
                .as_array()
                .is_some_and(|its| !its.is_empty())
        {
            // Nothing measured is thrown away: a changed search does not overwrite the history.
            return Err(UsageError::new(format!(
                "--artifact-dir: {} holds a search with other settings ({} recorded \
                 iterations); resume it with the original command, or choose another \
                 --artifact-dir (or remove that one) for the new search",
                base.display(),
                prev["iterations"].as_array().map_or(0, Vec::len)
            ))
            .into());
        }
    }

    writeln!(
        std::io::stdout().lock(),
        "aiperf: {} search over {} (at most {} iterations) into {}",
        s.planner.name(),
        s.space
            .iter()
            .map(|d| d.param.name())
            .collect::<Vec<_>>()
            .join(", "),
        s.max_iterations,
        base.display()
    )?;
    let mut stopped = false;
    while let Some(values) = planner.ask() {
        if interrupts.stop.is_cancelled() {
            stopped = true;
            break;
        }
        let idx = iterations.len();
        let cell = cell_of(&s, &values, idx);
        let dir = base.join(format!("search_iter_{idx:04}"));
        let iteration = iteration_plan(&config, &cell, &dir, idx == 0);
        let mut ok = Vec::new();
        let mut ok_dirs = Vec::new();
        let mut failures = Vec::new();
        let results = runner.run_all(&iteration, interrupts).await?;
        for (spec, result) in iteration.runs.iter().zip(results) {
            match result {
                Some(RunResult::Ok(flat)) => {
                    ok.push(flat);
                    ok_dirs.push(dir.join(&spec.dir));
                }
                Some(RunResult::Failed(e)) => failures.push(failed(&spec.label, &cell, &e)),
                None => failures.push(failed(
                    &spec.label,
                    &cell,
                    "no results (the run did not finish)",
                )),
            }
        }
        if interrupts.stop.is_cancelled() && ok.is_empty() {
            stopped = true;
            break;
        }
        let mut it = score(&s, values, ok, failures);
        pool_objective(&s, &mut it, &ok_dirs);
        planner.tell(observation(&s, &it));
        it.non_monotonic = planner.non_monotonic(idx);
        print_iteration(&s, idx, &it)?;
        iterations.push(it);
        write_history(
            &history_path,
            &config,
            &s,
            &iterations,
            planner.as_ref(),
            false,
        )?;
    }
    write_history(
        &history_path,
        &config,
        &s,
        &iterations,
        planner.as_ref(),
        !stopped,
    )?;
    let failed_iterations = iterations.iter().filter(|i| i.trials.is_empty()).count();
    write_sweep_aggregate(&config, &s, &base, &iterations)?;
    print_result(&s, &iterations, planner.as_ref(), &history_path)?;
    if stopped {
        writeln!(
            std::io::stdout().lock(),
            "\nstopped early; run the same command again to resume"
        )?;
    }
    let status = if iterations.is_empty() || failed_iterations == iterations.len() || stopped {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    };
    Ok((status, base))
}

fn failed(label: &str, cell: &Cell, error: &str) -> FailedRun {
    FailedRun {
        label: label.to_owned(),
        error: error.to_owned(),
        parameters: Some(cell.parameters()),
    }
}

/// Re-reads the trials of recorded iterations and replays them into `planner`.
fn replay(
    s: &SearchConfig,
    history: &Value,
    base: &Path,
    planner: &mut dyn Planner,
) -> Vec<Iteration> {
    let mut out = Vec::new();
    let Some(recorded) = history["iterations"].as_array() else {
        return out;
    };
    for (idx, rec) in recorded.iter().enumerate() {
        let values: Option<Vec<f64>> = s
            .space
            .iter()
            .map(|d| rec["variation_values"][d.param.path()].as_f64())
            .collect();
        let Some(values) = values else { break };
        if planner.ask().as_ref() != Some(&values) {
            break; // the planner would go elsewhere now: stop replaying
        }
        let dir = base
            .join(format!("search_iter_{idx:04}"))
            .join("profile_runs");
        let mut trials = Vec::new();
        let mut ok_dirs = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            let mut runs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            runs.sort();
            for run in runs {
                if let Some(doc) = std::fs::read_to_string(run.join(crate::export::SUMMARY_JSON))
                    .ok()
                    .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                    .filter(|d| d["was_cancelled"] == false)
                {
                    trials.push(aggregate::flatten(&doc));
                    ok_dirs.push(run);
                }
            }
        }
        let mut it = score(s, values, trials, Vec::new());
        pool_objective(s, &mut it, &ok_dirs);
        planner.tell(observation(s, &it));
        out.push(it);
    }
    out
}

fn first_breach(s: &SearchConfig, it: &Iteration) -> Value {
    s.sla
        .iter()
        .zip(&it.observed)
        .find(|(f, o)| !f.passes(**o))
        .map_or(Value::Null, |(f, o)| {
            json!({"metric_tag": f.metric_tag, "stat": f.stat, "op": f.op, "threshold": f.threshold, "observed": o})
        })
}

/// Indices of the best iterations: feasible ones first (else all scored), best objective.
fn best(s: &SearchConfig, iterations: &[Iteration]) -> (Option<usize>, usize) {
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

fn write_history(
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
        "plan": fingerprint(config),
    });
    write_atomic(path, &serde_json::to_vec_pretty(&doc)?)
        .with_context(|| format!("writing {}", path.display()))
}

fn boundary_summary(s: &SearchConfig, iterations: &[Iteration], planner: &dyn Planner) -> Value {
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
fn write_sweep_aggregate(
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
    let mut doc = aggregate::sweep_json(&summary);
    if let Some(obj) = doc.as_object_mut()
        && !s.sla.is_empty()
    {
        let feasible = iterations.iter().filter(|i| i.feasible).count();
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert(
                "sla_constraints".into(),
                json!({"active_filters": s.sla, "feasible_count": feasible, "infeasible_count": iterations.len() - feasible}),
            );
        }
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
        let path = crate::recipes::post_process::run_and_write(spec, &doc, &dir)?;
        writeln!(std::io::stdout().lock(), "{}", path.display())?;
    }
    Ok(())
}

fn print_iteration(s: &SearchConfig, idx: usize, it: &Iteration) -> anyhow::Result<()> {
    let values: Vec<String> = s
        .space
        .iter()
        .zip(&it.values)
        .map(|(d, v)| format!("{}={}", d.param.name(), d.param.format(*v)))
        .collect();
    let objective = it.objective.map_or("no result".into(), |v| {
        format!("{} {} {v:.2}", s.objective.metric, s.objective.stat)
    });
    let slas: Vec<String> = s
        .sla
        .iter()
        .zip(&it.observed)
        .map(|(f, o)| {
            format!(
                "{}.{}={}",
                f.metric_tag,
                f.stat,
                o.map_or("n/a".into(), |o| format!("{o:.2}"))
            )
        })
        .collect();
    let verdict = if s.sla.is_empty() {
        String::new()
    } else if it.feasible {
        " feasible".into()
    } else {
        " infeasible".into()
    };
    writeln!(
        std::io::stdout().lock(),
        "[iter {idx}] {} -> {objective}{}{}{verdict}",
        values.join(", "),
        if slas.is_empty() { "" } else { ", " },
        slas.join(", ")
    )?;
    Ok(())
}

fn print_result(
    s: &SearchConfig,
    iterations: &[Iteration],
    planner: &dyn Planner,
    history: &Path,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\nstopped: {}",
        planner.convergence_reason().unwrap_or("interrupted")
    )?;
    let (best_idx, feasible) = best(s, iterations);
    if let Some(i) = best_idx {
        let it = &iterations[i];
        let values: Vec<String> = s
            .space
            .iter()
            .zip(&it.values)
            .map(|(d, v)| format!("{}={}", d.param.name(), d.param.format(*v)))
            .collect();
        writeln!(
            out,
            "best{}: {} ({} {} {:.2}, iteration {i})",
            if feasible == 0 && !s.sla.is_empty() {
                " (no configuration met the SLA)"
            } else {
                ""
            },
            values.join(", "),
            s.objective.metric,
            s.objective.stat,
            it.objective.unwrap_or(f64::NAN)
        )?;
    }
    if s.space.len() == 1
        && !s.sla.is_empty()
        && let Some(b) = planner.boundary()
    {
        let d = &s.space[0];
        let f = b
            .feasible_max
            .map_or("none".into(), |x| d.param.format(x.0));
        let i = b
            .infeasible_min
            .map_or("none".into(), |x| d.param.format(x.0));
        writeln!(
            out,
            "SLA boundary: highest passing {} = {f}, lowest failing = {i}",
            d.param.name()
        )?;
    }
    writeln!(out, "\n{}", history.display())?;
    Ok(())
}
