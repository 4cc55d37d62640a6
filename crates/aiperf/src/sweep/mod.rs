//! Parameter sweeps and repeated runs: run every planned benchmark in-process, one after
//! another, then write the confidence and sweep aggregates.
//!
//! Each finished run leaves a `.aiperf_results_ready.json` marker in its directory and the
//! plan is recorded in `.aiperf_plan.json`, so running the same command again (or with
//! `--resume`) skips completed runs and recomputes the aggregates.

pub mod aggregate;
pub mod converge;
pub mod plan;
mod results;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use self::aggregate::Flat;
use self::converge::Verdict;
use self::plan::{PlanDoc, PlannedRun};
use crate::bench::{RunOptions, load_dataset as prepare, run as run_config};
use crate::export::write_atomic;
use crate::loadgen::Interrupts;
use crate::settings::SweepMode;
use crate::settings::{ProfileConfig, UiMode};
use crate::{ExitStatus, UsageError};

/// Marks a run directory whose artifacts are complete.
pub const READY_MARKER: &str = ".aiperf_results_ready.json";
/// Every request of a cell's runs pooled (written when convergence is tested).
pub const COLLATED_JSON: &str = "profile_export_aiperf_collated.json";
/// Records the plan an artifact directory holds.
pub const PLAN_FILE: &str = ".aiperf_plan.json";

/// Marks a run directory whose run failed, with the reason.
pub const FAILED_MARKER: &str = ".aiperf_run_failed.json";

/// The content of [`FAILED_MARKER`].
#[derive(Serialize)]
struct FailedMarker<'a> {
    error: &'a str,
}

/// The outcome of one planned run.
#[derive(Debug)]
pub enum RunResult {
    Ok(Flat),
    Failed(String),
}

/// Runs a sweep and/or repeated runs described by `config`.
/// Returns how it ended and the artifact directory it wrote.
pub async fn run(
    config: ProfileConfig,
    interrupts: &Interrupts,
) -> anyhow::Result<(ExitStatus, PathBuf)> {
    let trials = config.multi_run.num_runs;
    // One tokenizer for every run; the base dataset tells whether a trace replays.
    let (tokenizer, dataset) = prepare(&config, None).await?;
    let base = config.artifact_dir(config.load.mode(dataset.has_timestamps()));
    drop(dataset);
    create_base(&base)?;
    let mut plan = PlanDoc::new(&config, &base);
    let resuming = check_plan(&base, &mut plan, config.resume)?;
    let what = if config.sweep.is_some() {
        format!("{} values × {trials} trial(s)", plan.cells().len())
    } else {
        format!("{trials} runs")
    };
    crate::ui::console::line(&format!(
        "aiperf: {} runs ({what}) into {}",
        plan.runs.len(),
        base.display()
    ))?;
    if config.ui == UiMode::Simple && !config.cli_command.contains("--ui") {
        tracing::info!(
            "Parameter sweep mode: UI automatically set to 'simple' (use '--ui none' to disable UI output)"
        );
    }

    let runs = plan.planned();
    let mut results: Vec<Option<RunResult>> = (0..runs.len()).map(|_| None).collect();
    let mut verdicts: Verdicts = HashMap::new();
    for (k, run) in runs.iter().enumerate() {
        if interrupts.stop.is_cancelled() {
            break;
        }
        if verdicts.get(&run.cell).is_some_and(|v| v.converged) {
            continue; // the cell's runs already agree
        }
        if k > 0 {
            let cooldown = cooldown_before(&config, &runs[k - 1], run);
            if !cooldown.is_zero() {
                tokio::select! {
                    () = tokio::time::sleep(cooldown) => {}
                    () = interrupts.stop.cancelled() => break,
                }
            }
        }
        let result = match resuming.then(|| completed(&base.join(&run.dir))).flatten() {
            Some(flat) => {
                tracing::info!("{}: already complete, skipped", run.label);
                RunResult::Ok(flat)
            }
            None => execute(&plan, k, &base, interrupts, Some(tokenizer.clone()), None).await?,
        };
        if config.sweep.is_none() || !config.multi_run.no_sweep_table {
            crate::ui::console::line(&results::run_line(k, runs.len(), run, &result))?;
        }
        results[k] = Some(result);
        if let Some(c) = &config.multi_run.convergence {
            let more = runs.get(k + 1).is_some_and(|next| next.cell == run.cell);
            let verdict = converge::test(
                c,
                config.multi_run.confidence_level,
                &base,
                &runs,
                &results,
                k,
            );
            let first_miss = verdict.missing_metric && verdict.runs == 1;
            if first_miss || verdict.runs >= c.min_runs as usize && (verdict.converged || !more) {
                crate::ui::console::line(&format!("  {}", verdict.describe(c)))?;
            }
            verdicts.insert(run.cell, verdict);
        }
    }
    let status = finish(
        &plan,
        &base,
        &results,
        &verdicts,
        "not started; run the same command again to resume",
    )?;
    Ok((status, base))
}

/// Executes run `index` of `plan` into `base` and leaves its marker: ready, or failed with the
/// reason. The local sweep and `aiperf profile --plan --cell` both run cells through here.
pub async fn execute(
    plan: &PlanDoc,
    index: usize,
    base: &Path,
    interrupts: &Interrupts,
    tokenizer: Option<std::sync::Arc<crate::tokenizer::Tokenizer>>,
    shard: Option<crate::settings::ShardConfig>,
) -> anyhow::Result<RunResult> {
    let Some(mut cfg) = plan.run_config(index, base) else {
        return Err(UsageError::new(format!(
            "--cell {index}: the plan has {} runs (0 to {})",
            plan.runs.len(),
            plan.runs.len().saturating_sub(1)
        ))
        .into());
    };
    cfg.shard = shard;
    let dir = base.join(&plan.runs[index].dir);
    let _ = std::fs::remove_file(dir.join(FAILED_MARKER));
    let options = RunOptions {
        quiet: true,
        tokenizer,
        identity: plan.identity(index),
    };
    let result = match run_config(cfg, interrupts, options).await {
        Ok(o) if o.was_cancelled => RunResult::Failed("cancelled (interrupted by the user)".into()),
        Ok(o) => match o.error {
            Some(e) => RunResult::Failed(e),
            None => {
                mark_ready(&dir)?;
                return Ok(RunResult::Ok(aggregate::flatten(&o.summary)));
            }
        },
        Err(e) if e.downcast_ref::<UsageError>().is_some() => return Err(e),
        Err(e) => RunResult::Failed(format!("{e:#}")),
    };
    if let RunResult::Failed(e) = &result {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        write_atomic(
            &dir.join(FAILED_MARKER),
            &serde_json::to_vec_pretty(&FailedMarker { error: e })?,
        )?;
    }
    Ok(result)
}

/// A boxed future, so that [`Runner`] can be used as a trait object.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Where the runs of a plan execute: in this process ([`LocalRunner`]), or elsewhere (a
/// Kubernetes Job per search iteration). The drivers hand plans to a runner; they never call a
/// command.
pub trait Runner: Send + Sync {
    /// Runs every run of `plan` and returns their results, in order (`None`: not run).
    fn run_all<'a>(
        &'a self,
        plan: &'a PlanDoc,
        interrupts: &'a Interrupts,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Option<RunResult>>>>;
}

/// Runs in this process, one after another.
#[derive(Debug, Default)]
pub struct LocalRunner {
    /// A tokenizer already loaded for the plan.
    pub tokenizer: Option<std::sync::Arc<crate::tokenizer::Tokenizer>>,
}

impl Runner for LocalRunner {
    fn run_all<'a>(
        &'a self,
        plan: &'a PlanDoc,
        interrupts: &'a Interrupts,
    ) -> BoxFuture<'a, anyhow::Result<Vec<Option<RunResult>>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(plan.runs.len());
            for index in 0..plan.runs.len() {
                let r = execute(
                    plan,
                    index,
                    &plan.base,
                    interrupts,
                    self.tokenizer.clone(),
                    None,
                )
                .await?;
                out.push(Some(r));
            }
            Ok(out)
        })
    }
}

/// The last convergence test of each cell (`None`: the one configuration of repeated runs).
pub type Verdicts = HashMap<Option<usize>, Verdict>;

/// Writes the aggregates of whatever of `plan` has run and says how the plan ended. Runs a
/// converged cell did not need are not missing.
pub fn finish(
    plan: &PlanDoc,
    base: &Path,
    results: &[Option<RunResult>],
    verdicts: &Verdicts,
    missing: &str,
) -> anyhow::Result<ExitStatus> {
    let config = &plan.config;
    let mode = config
        .sweep
        .as_ref()
        .map_or(SweepMode::Repeated, |s| s.mode);
    let runs = plan.planned();
    let failed =
        results::write_aggregates(config, base, &plan.cells(), &runs, results, verdicts, mode)?;
    let converged = |r: &PlannedRun| verdicts.get(&r.cell).is_some_and(|v| v.converged);
    let not_run = runs
        .iter()
        .zip(results)
        .filter(|(r, res)| res.is_none() && !converged(r))
        .count();
    let skipped = runs
        .iter()
        .zip(results)
        .filter(|(r, res)| res.is_none() && converged(r))
        .count();
    if skipped > 0 {
        crate::ui::console::line(&format!(
            "\n{skipped} of {} runs not needed: their runs had converged",
            results.len()
        ))?;
    }
    if not_run > 0 {
        crate::ui::console::line(&format!("\n{not_run} of {} runs {missing}", results.len()))?;
    }
    Ok(if failed > 0 || not_run > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// The result a run directory records: complete, failed (with the reason), or nothing yet.
pub fn recorded(dir: &Path) -> Option<RunResult> {
    if let Some(flat) = completed(dir) {
        return Some(RunResult::Ok(flat));
    }
    let text = std::fs::read_to_string(dir.join(FAILED_MARKER)).ok()?;
    let doc: Value = serde_json::from_str(&text).ok()?;
    Some(RunResult::Failed(
        doc["error"].as_str().unwrap_or("failed").to_owned(),
    ))
}

fn create_base(base: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(base).map_err(|e| {
        UsageError::new(format!(
            "--artifact-dir: cannot create {}: {e}; choose a writable directory",
            base.display()
        ))
        .into()
    })
}

/// Loads a plan document (`aiperf kube plan`, or a sweep's `.aiperf_plan.json`).
pub fn load_plan(path: &Path, flag: &str) -> anyhow::Result<PlanDoc> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError::new(format!("{flag}: cannot read {}: {e}", path.display())))?;
    let plan: PlanDoc = serde_json::from_str(&text).map_err(|e| {
        UsageError::new(format!(
            "{flag}: {} is not an aiperf plan ({e}); make one with `aiperf kube plan`",
            path.display()
        ))
    })?;
    if plan.format != plan::PLAN_FORMAT {
        return Err(UsageError::new(format!(
            "{flag}: {} has plan format {}, this aiperf reads format {}",
            path.display(),
            plan.format,
            plan::PLAN_FORMAT
        ))
        .into());
    }
    Ok(plan)
}

/// `aiperf profile --plan PLAN --cell N [--artifact-dir DIR]`: one run of a plan, into the
/// plan's directory or `DIR`, exactly as the local sweep would run it.
pub async fn run_cell(
    mut plan: PlanDoc,
    index: usize,
    artifact_dir: Option<&Path>,
    interrupts: &Interrupts,
    shard: Option<crate::settings::ShardConfig>,
    ui: Option<UiMode>,
) -> anyhow::Result<(ExitStatus, PathBuf)> {
    if let Some(ui) = ui {
        plan.config.ui = ui;
    }
    let base = artifact_dir.map_or_else(|| plan.base.clone(), Path::to_path_buf);
    create_base(&base)?;
    // Every executor of the plan records it; a different plan in the directory is refused.
    let path = base.join(PLAN_FILE);
    if plan.sweep_id.is_empty() {
        plan.sweep_id = plan::new_sweep_id();
    }
    match std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| serde_json::from_str::<PlanDoc>(&s).ok())
    {
        Some(existing) if !existing.same_benchmarks(&plan) => {
            return Err(UsageError::new(format!(
                "--artifact-dir: {} holds a different plan; choose another directory",
                base.display()
            ))
            .into());
        }
        Some(_) => {}
        None => write_atomic(&path, &serde_json::to_vec_pretty(&plan)?)?,
    }
    let result = execute(&plan, index, &base, interrupts, None, shard).await?;
    let run = &plan.planned()[index];
    crate::ui::console::line(&results::run_line(index, plan.runs.len(), run, &result))?;
    let status = match result {
        RunResult::Ok(_) => ExitStatus::Success,
        RunResult::Failed(_) => ExitStatus::Failure,
    };
    Ok((status, base.join(&run.dir)))
}

/// Aggregates the runs found in `base` (written by `aiperf profile --plan --cell`, possibly on
/// other machines) exactly as the local sweep would, and says how complete the plan is.
pub fn collect(base: &Path) -> anyhow::Result<ExitStatus> {
    let plan = load_plan(&base.join(PLAN_FILE), "collect")?;
    let results: Vec<Option<RunResult>> = plan
        .runs
        .iter()
        .map(|r| recorded(&base.join(&r.dir)))
        .collect();
    let runs = plan.planned();
    for (k, (run, result)) in runs.iter().zip(&results).enumerate() {
        match result {
            Some(r) => crate::ui::console::line(&results::run_line(k, runs.len(), run, r))?,
            None => crate::ui::console::line(&format!(
                "[{}/{}] {}: no results",
                k + 1,
                runs.len(),
                run.label
            ))?,
        }
    }
    finish(
        &plan,
        base,
        &results,
        &Verdicts::new(),
        "have no results yet (not run, still running, or lost); collect again when they are done",
    )
}

fn cooldown_before(config: &ProfileConfig, prev: &PlannedRun, next: &PlannedRun) -> Duration {
    let sweep_cooldown = config.sweep.as_ref().map_or(0.0, |s| s.cooldown_secs);
    let run_cooldown = config.multi_run.cooldown_secs;
    let mode = config
        .sweep
        .as_ref()
        .map_or(SweepMode::Independent, |s| s.mode);
    // Repeated: trials are whole sweeps, so the run cooldown separates trials. Independent:
    // the run cooldown separates trials of one value, the sweep cooldown separates values.
    let secs = match mode {
        SweepMode::Repeated if next.trial != prev.trial => run_cooldown,
        SweepMode::Repeated => sweep_cooldown,
        SweepMode::Independent if next.cell != prev.cell => sweep_cooldown,
        SweepMode::Independent => run_cooldown,
    };
    Duration::from_secs_f64(secs)
}

/// Records the plan in `base`; says whether completed runs of an earlier attempt at the same
/// plan may be reused.
/// Records `plan` in `base`; whether it is the plan already there (its runs may be resumed,
/// and keep that plan's identity).
fn check_plan(base: &Path, plan: &mut PlanDoc, resume: bool) -> anyhow::Result<bool> {
    let path = base.join(PLAN_FILE);
    let previous: Option<PlanDoc> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok());
    let same = previous.as_ref().is_some_and(|p| p.same_benchmarks(plan));
    if resume && path.exists() && !same {
        return Err(UsageError::new(format!(
            "--resume: {} holds a different plan (other flags or values); resume with the \
             original command, or choose another --artifact-dir",
            base.display()
        ))
        .into());
    }
    if let Some(p) = previous.filter(|p| same && !p.sweep_id.is_empty()) {
        plan.sweep_id = p.sweep_id;
    }
    if !same {
        // A fresh plan: stale markers must not make its runs look complete.
        for run in &plan.runs {
            let _ = std::fs::remove_file(base.join(&run.dir).join(READY_MARKER));
            let _ = std::fs::remove_file(base.join(&run.dir).join(FAILED_MARKER));
        }
    }
    write_atomic(&path, &serde_json::to_vec_pretty(plan)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(same)
}

/// The flattened metrics of a run directory whose artifacts are complete.
fn completed(dir: &Path) -> Option<Flat> {
    if !dir.join(READY_MARKER).is_file() {
        return None;
    }
    let summary = crate::export::ExportNames::in_dir(dir).summary_json();
    let text = std::fs::read_to_string(dir.join(summary)).ok()?;
    let doc: Value = serde_json::from_str(&text).ok()?;
    Some(aggregate::flatten(&doc))
}

fn mark_ready(dir: &Path) -> anyhow::Result<()> {
    write_atomic(&dir.join(READY_MARKER), br#"{"complete": true}"#)
        .with_context(|| format!("writing {}", dir.join(READY_MARKER).display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Param, SweepConfig, SweepKind, SweepParam};

    fn config(mode: SweepMode) -> ProfileConfig {
        use clap::Parser;
        let cli =
            crate::cli::Cli::try_parse_from(["aiperf", "profile", "--sim", "--concurrency", "1,2"])
                .unwrap();
        let crate::cli::Command::Profile(args) = cli.command else {
            unreachable!()
        };
        let mut c = crate::config::resolve(&args, &[]).unwrap();
        c.sweep = Some(SweepConfig {
            params: vec![SweepParam {
                param: Param::Concurrency,
                values: vec![1.0, 2.0],
            }],
            kind: SweepKind::Grid,
            mode,
            cooldown_secs: 3.0,
            same_seed: false,
        });
        c.multi_run.num_runs = 2;
        c.multi_run.cooldown_secs = 7.0;
        c
    }

    #[test]
    fn cooldowns_separate_the_right_runs() {
        for (mode, expected) in [
            // repeated: c1 t1, c2 t1 | c1 t2, c2 t2
            (SweepMode::Repeated, [3.0, 7.0, 3.0]),
            // independent: c1 t1, c1 t2 | c2 t1, c2 t2
            (SweepMode::Independent, [7.0, 3.0, 7.0]),
        ] {
            let c = config(mode);
            let cells = plan::cells(c.sweep.as_ref().unwrap());
            let runs = plan::runs(&cells, c.sweep.as_ref(), 2);
            let gaps: Vec<f64> = runs
                .windows(2)
                .map(|w| cooldown_before(&c, &w[0], &w[1]).as_secs_f64())
                .collect();
            assert_eq!(gaps, expected, "{mode:?}");
        }
    }

    #[test]
    fn plan_runs_get_their_cell_values_seed_and_warmup() {
        let mut c = config(SweepMode::Repeated);
        c.random_seed = 42;
        c.load.warmup = Some(crate::settings::StopCondition {
            requests: Some(3),
            ..Default::default()
        });
        c.multi_run.num_runs = 2;
        let plan = PlanDoc::new(&c, Path::new("base"));
        // Repeated mode: trial 2 of the second cell is the fourth run.
        let cfg = plan.run_config(3, Path::new("elsewhere")).unwrap();
        assert_eq!(cfg.load.concurrency, Some(2));
        assert_eq!(cfg.random_seed, 43);
        assert!(cfg.load.warmup.is_none(), "warmup only in the first trial");
        assert!(cfg.sweep.is_none() && cfg.multi_run.num_runs == 1);
        assert_eq!(
            cfg.output.artifact_dir.as_deref(),
            Some(Path::new("elsewhere/profile_runs/trial_0002/concurrency_2"))
        );
        assert!(
            plan.run_config(0, Path::new("b"))
                .unwrap()
                .load
                .warmup
                .is_some()
        );
        assert!(plan.run_config(4, Path::new("b")).is_none());
        // The document survives a round trip and still describes the same benchmarks.
        let back: PlanDoc = serde_json::from_str(&serde_json::to_string(&plan).unwrap()).unwrap();
        assert!(back.same_benchmarks(&plan));
        assert_eq!(back.runs[3].parameters, plan.runs[3].parameters);
        c.sweep.as_mut().unwrap().same_seed = true;
        let same = PlanDoc::new(&c, Path::new("base"));
        assert_eq!(same.run_config(1, Path::new("b")).unwrap().random_seed, 42);
        assert!(!same.same_benchmarks(&plan));
    }
}
