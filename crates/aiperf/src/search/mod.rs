//! Adaptive search: ask a planner for the next configuration, benchmark it in-process
//! (`--num-profile-runs` trials), tell the planner what was measured, and keep
//! `search_history.json` current after every iteration. A search interrupted or killed
//! resumes from that file: the recorded iterations are replayed into a fresh planner (every
//! planner is deterministic for its seed), then the search goes on.

mod history;
mod planning;
mod report;

use std::path::{Path, PathBuf};

use aiperf_stats::search::Planner;
use serde_json::Value;

use self::history::{cell_of, failed, write_history, write_sweep_aggregate};
use self::planning::{build_planner, observation, pool_objective, score};
use crate::bench::load_dataset as prepare;
use crate::loadgen::Interrupts;
use crate::settings::SearchConfig;
use crate::settings::{ProfileConfig, UiMode};
use crate::sweep::RunResult;
use crate::sweep::aggregate::{self, FailedRun, Flat};
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

/// The plan's identity, to decide whether a history may be resumed. The artifact directory is
/// not part of it: the history is found in it, however its path was spelled (`./art`, `art`).
pub(super) fn fingerprint(config: &ProfileConfig) -> Value {
    let mut c = config.clone();
    c.cli_command = String::new();
    c.ui = UiMode::None;
    c.resume = false;
    c.output.artifact_dir = None;
    serde_json::to_value(&c).unwrap_or_default()
}

/// The plan of one iteration of the search `sweep_id`: its trials of the configuration `cell`,
/// writing into `dir`.
fn iteration_plan(
    config: &ProfileConfig,
    sweep_id: &str,
    cell: &Cell,
    dir: &Path,
    first: bool,
) -> PlanDoc {
    let trials = config.multi_run.num_runs.max(1);
    PlanDoc {
        format: plan::PLAN_FORMAT,
        aiperf_version: env!("CARGO_PKG_VERSION").to_owned(),
        sweep_id: sweep_id.to_owned(),
        base: dir.to_path_buf(),
        config: config.clone(),
        runs: (0..trials)
            .map(|t| RunSpec {
                index: t as usize,
                cell: Some(cell.index),
                parameters: cell.parameters(),
                values: cell.values.clone(),
                trial: t,
                seed: if config.multi_run.vary_seed_per_trial {
                    let label = format!("search_iter_{:04}", cell.index);
                    plan::trial_seed(config.random_seed, &label, t)
                } else {
                    config.random_seed
                },
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

    crate::ui::console::line(&format!(
        "aiperf: {} search over {} (at most {} iterations) into {}",
        s.planner.name(),
        s.space
            .iter()
            .map(|d| d.param.name())
            .collect::<Vec<_>>()
            .join(", "),
        s.max_iterations,
        base.display()
    ))?;
    let sweep_id = plan::new_sweep_id();
    let mut stopped = false;
    while let Some(values) = planner.ask() {
        if interrupts.stop.is_cancelled() {
            stopped = true;
            break;
        }
        let idx = iterations.len();
        let cell = cell_of(&s, &values, idx);
        let dir = base.join(format!("search_iter_{idx:04}"));
        let iteration = iteration_plan(&config, &sweep_id, &cell, &dir, idx == 0);
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
        crate::ui::console::line(&report::iteration_line(&s, idx, &it))?;
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
    crate::ui::console::text(&report::result_text(
        &s,
        &iterations,
        planner.as_ref(),
        &history_path,
    ))?;
    if stopped {
        crate::ui::console::line("\nstopped early; run the same command again to resume")?;
    }
    let status = if iterations.is_empty() || failed_iterations == iterations.len() || stopped {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    };
    Ok((status, base))
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
                let summary = crate::export::ExportNames::in_dir(&run).summary_json();
                if let Some(doc) = std::fs::read_to_string(run.join(summary))
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
