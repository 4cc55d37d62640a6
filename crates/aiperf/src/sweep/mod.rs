//! Parameter sweeps and repeated runs: run every planned benchmark in-process, one after
//! another, then write the confidence and sweep aggregates.
//!
//! Each finished run leaves a `.aiperf_results_ready.json` marker in its directory and the
//! plan is recorded in `.aiperf_plan.json`, so running the same command again (or with
//! `--resume`) skips completed runs and recomputes the aggregates.

pub mod aggregate;
pub mod plan;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde_json::{Map, Value, json};

use self::aggregate::{CellResult, FailedRun, Flat, SweepSummary};
use self::plan::{Cell, PlannedRun, SweepMode};
use crate::commands::profile::{RunOptions, prepare, run_config};
use crate::config::{ProfileConfig, UiMode};
use crate::export::write_atomic;
use crate::loadgen::Interrupts;
use crate::{ExitStatus, UsageError};

/// Marks a run directory whose artifacts are complete.
pub const READY_MARKER: &str = ".aiperf_results_ready.json";
/// Records the plan an artifact directory holds.
pub const PLAN_FILE: &str = ".aiperf_plan.json";

/// The outcome of one planned run.
#[derive(Debug)]
enum RunResult {
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
    let cells = config.sweep.as_ref().map(plan::cells).unwrap_or_default();
    let runs = plan::runs(&cells, config.sweep.as_ref(), trials);
    let mode = config
        .sweep
        .as_ref()
        .map_or(SweepMode::Repeated, |s| s.mode);

    // One tokenizer for every run; the base dataset tells whether a trace replays.
    let (tokenizer, dataset) = prepare(&config, None).await?;
    let base = config.artifact_dir(config.load.mode(dataset.has_timestamps()));
    drop(dataset);
    std::fs::create_dir_all(&base).map_err(|e| {
        UsageError::new(format!(
            "--artifact-dir: cannot create {}: {e}; choose a writable directory",
            base.display()
        ))
    })?;
    let resuming = check_plan(&base, &config, &runs)?;
    let what = if config.sweep.is_some() {
        format!("{} values × {trials} trial(s)", cells.len())
    } else {
        format!("{trials} runs")
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "aiperf: {} runs ({what}) into {}",
        runs.len(),
        base.display()
    )?;
    drop(out);
    if config.ui == UiMode::Simple && !config.cli_command.contains("--ui") {
        tracing::info!(
            "Parameter sweep mode: UI automatically set to 'simple' (use '--ui none' to disable UI output)"
        );
    }

    let mut results: Vec<Option<RunResult>> = (0..runs.len()).map(|_| None).collect();
    let base_seed = config.random_seed;
    for (k, run) in runs.iter().enumerate() {
        if interrupts.stop.is_cancelled() {
            break;
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
        let dir = base.join(&run.dir);
        let result = match resuming.then(|| completed(&dir)).flatten() {
            Some(flat) => {
                tracing::info!("{}: already complete, skipped", run.label);
                RunResult::Ok(flat)
            }
            None => {
                let cell = run.cell.map(|c| &cells[c]);
                let cfg = run_config_for(&config, cell, run, &dir, base_seed);
                let options = RunOptions {
                    quiet: true,
                    tokenizer: Some(tokenizer.clone()),
                };
                match run_config(cfg, interrupts, options).await {
                    Ok(o) if o.was_cancelled => {
                        RunResult::Failed("cancelled (interrupted by the user)".into())
                    }
                    Ok(o) => match o.error {
                        Some(e) => RunResult::Failed(e),
                        None => {
                            mark_ready(&dir)?;
                            RunResult::Ok(aggregate::flatten(&o.summary))
                        }
                    },
                    Err(e) if e.downcast_ref::<UsageError>().is_some() => return Err(e),
                    Err(e) => RunResult::Failed(format!("{e:#}")),
                }
            }
        };
        print_run_line(k, runs.len(), run, &result)?;
        results[k] = Some(result);
    }

    let failed = write_aggregates(&config, &base, &cells, &runs, &results, mode)?;
    let not_run = results.iter().filter(|r| r.is_none()).count();
    if not_run > 0 {
        writeln!(
            std::io::stdout().lock(),
            "\nstopped early: {not_run} of {} runs not started; run the same command again to resume",
            runs.len()
        )?;
    }
    let status = if failed > 0 || not_run > 0 {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    };
    Ok((status, base))
}

/// The configuration of one planned run: the cell's values, its seed, its directory.
fn run_config_for(
    config: &ProfileConfig,
    cell: Option<&Cell>,
    run: &PlannedRun,
    dir: &Path,
    base_seed: u64,
) -> ProfileConfig {
    let warmup = run.trial == 0 || !config.multi_run.warmup_first_only;
    let values = cell.map_or(&[][..], |c| c.values.as_slice());
    let mut cfg = config.single_run(values, dir, warmup);
    if let Some(cell) = cell {
        let same = config.sweep.as_ref().is_some_and(|s| s.same_seed);
        cfg.random_seed = plan::cell_seed(base_seed, cell.index, same);
    }
    cfg
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

/// The plan's identity: the configuration without what does not change results.
fn fingerprint(config: &ProfileConfig, runs: &[PlannedRun]) -> Value {
    let mut c = config.clone();
    c.cli_command = String::new();
    c.ui = UiMode::None;
    c.resume = false;
    json!({
        "config": c,
        "runs": runs.iter().map(|r| r.dir.display().to_string()).collect::<Vec<_>>(),
    })
}

/// Records the plan in `base`; says whether completed runs of an earlier attempt at the same
/// plan may be reused.
fn check_plan(base: &Path, config: &ProfileConfig, runs: &[PlannedRun]) -> anyhow::Result<bool> {
    let path = base.join(PLAN_FILE);
    let current = fingerprint(config, runs);
    let previous: Option<Value> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok());
    let same = previous.as_ref() == Some(&current);
    if config.resume && previous.is_some() && !same {
        return Err(UsageError::new(format!(
            "--resume: {} holds a different plan (other flags or values); resume with the \
             original command, or choose another --artifact-dir",
            base.display()
        ))
        .into());
    }
    if !same {
        // A fresh plan: stale markers must not make its runs look complete.
        for run in runs {
            let _ = std::fs::remove_file(base.join(&run.dir).join(READY_MARKER));
        }
        write_atomic(&path, &serde_json::to_vec_pretty(&current)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(same)
}

/// The flattened metrics of a run directory whose artifacts are complete.
fn completed(dir: &Path) -> Option<Flat> {
    if !dir.join(READY_MARKER).is_file() {
        return None;
    }
    let text = std::fs::read_to_string(dir.join(crate::export::SUMMARY_JSON)).ok()?;
    let doc: Value = serde_json::from_str(&text).ok()?;
    Some(aggregate::flatten(&doc))
}

fn mark_ready(dir: &Path) -> anyhow::Result<()> {
    write_atomic(&dir.join(READY_MARKER), br#"{"complete": true}"#)
        .with_context(|| format!("writing {}", dir.join(READY_MARKER).display()))
}

fn latency_p99(flat: &Flat) -> Option<(&'static str, f64)> {
    aggregate::lookup(flat, "time_to_first_token_p99")
        .map(|v| ("TTFT p99", v))
        .or_else(|| aggregate::lookup(flat, "request_latency_p99").map(|v| ("latency p99", v)))
}

fn print_run_line(k: usize, n: usize, run: &PlannedRun, result: &RunResult) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match result {
        RunResult::Ok(flat) => {
            let tp = aggregate::lookup(flat, "request_throughput_avg").unwrap_or(f64::NAN);
            let errors = aggregate::lookup(flat, "error_request_count_avg").unwrap_or(0.0);
            let latency = latency_p99(flat)
                .map(|(name, v)| format!(", {name} {v:.2} ms"))
                .unwrap_or_default();
            writeln!(
                out,
                "[{}/{n}] {}: {tp:.2} req/s{latency}, {errors} errors",
                k + 1,
                run.label
            )?;
        }
        RunResult::Failed(e) => writeln!(out, "[{}/{n}] {}: FAILED: {e}", k + 1, run.label)?,
    }
    Ok(())
}

/// Writes every aggregate of the plan; returns the number of failed runs.
fn write_aggregates(
    config: &ProfileConfig,
    base: &Path,
    cells: &[Cell],
    runs: &[PlannedRun],
    results: &[Option<RunResult>],
    mode: SweepMode,
) -> anyhow::Result<usize> {
    let trials = config.multi_run.num_runs;
    let level = config.multi_run.confidence_level;
    let failed_of = |filter: &dyn Fn(&PlannedRun) -> bool| -> Vec<FailedRun> {
        runs.iter()
            .zip(results)
            .filter(|(r, _)| filter(r))
            .filter_map(|(r, res)| match res {
                Some(RunResult::Failed(e)) => Some(FailedRun {
                    label: r.label.clone(),
                    error: e.clone(),
                    parameters: r.cell.map(|c| cells[c].parameters()),
                }),
                _ => None,
            })
            .collect()
    };
    let ok_of = |filter: &dyn Fn(&PlannedRun) -> bool| -> Vec<(String, &Flat)> {
        runs.iter()
            .zip(results)
            .filter(|(r, _)| filter(r))
            .filter_map(|(r, res)| match res {
                Some(RunResult::Ok(f)) => Some((plan::numbered("run", r.trial), f)),
                _ => None,
            })
            .collect()
    };
    let all_failed = failed_of(&|_| true);

    let Some(sweep) = &config.sweep else {
        // Repeated runs of one configuration.
        let ok = ok_of(&|_| true);
        if ok.is_empty() {
            writeln!(
                std::io::stdout().lock(),
                "\nno run succeeded: no aggregate written"
            )?;
            return Ok(all_failed.len());
        }
        let mut extra = Map::new();
        extra.insert(
            "cooldown_seconds".into(),
            json!(config.multi_run.cooldown_secs),
        );
        extra.insert("model".into(), json!(config.models[0]));
        let doc = aggregate::confidence_json(&ok, &all_failed, level, extra);
        let dir = base.join(plan::aggregate_dir(None, mode));
        write_confidence(&dir, &doc)?;
        print_confidence_summary(&doc, &dir)?;
        return Ok(all_failed.len());
    };

    // Per-cell confidence aggregates (several trials only).
    let mut cell_results: Vec<CellResult<'_>> = Vec::new();
    let mut attempted = 0;
    for cell in cells {
        let in_cell = |r: &PlannedRun| r.cell == Some(cell.index);
        if runs
            .iter()
            .zip(results)
            .any(|(r, res)| in_cell(r) && res.is_some())
        {
            attempted += 1;
        }
        let ok = ok_of(&in_cell);
        if ok.is_empty() {
            continue;
        }
        if trials > 1 {
            let mut extra = Map::new();
            extra.insert(
                "cooldown_seconds".into(),
                json!(config.multi_run.cooldown_secs),
            );
            extra.insert("variation_label".into(), json!(cell.label()));
            extra.insert("variation_values".into(), Value::Object(cell.parameters()));
            extra.insert("sweep_mode".into(), json!(mode.name()));
            extra.insert("model".into(), json!(config.models[0]));
            let doc = aggregate::confidence_json(&ok, &failed_of(&in_cell), level, extra);
            write_confidence(&base.join(plan::aggregate_dir(Some(cell), mode)), &doc)?;
        }
        let flats: Vec<&Flat> = ok.iter().map(|(_, f)| *f).collect();
        cell_results.push(CellResult {
            cell,
            metrics: aggregate::cell_metrics(&flats, trials, level),
        });
    }
    let num_ok = results
        .iter()
        .filter(|r| matches!(r, Some(RunResult::Ok(_))))
        .count();
    let summary = SweepSummary {
        params: &sweep.params,
        cells: cell_results,
        num_runs: results.iter().filter(|r| r.is_some()).count(),
        num_successful_runs: num_ok,
        num_combinations: attempted,
        failed: all_failed.clone(),
        mode: mode.name(),
        confidence_level: level,
        trials,
    };
    let dir = base.join(plan::sweep_aggregate_dir(trials, mode));
    if summary.cells.is_empty() {
        writeln!(
            std::io::stdout().lock(),
            "\nno run succeeded: no sweep aggregate written"
        )?;
        return Ok(all_failed.len());
    }
    let doc = aggregate::sweep_json(&summary);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    write_atomic(
        &dir.join(aggregate::SWEEP_JSON),
        &serde_json::to_vec_pretty(&doc)?,
    )?;
    write_atomic(
        &dir.join(aggregate::SWEEP_CSV),
        aggregate::sweep_csv(&doc, &sweep.params).as_bytes(),
    )?;
    print_sweep_table(&summary, &dir)?;
    if let Some(spec) = &config.post_process {
        let path = crate::recipes::post_process::run_and_write(spec, &doc, &dir)?;
        writeln!(std::io::stdout().lock(), "{}", path.display())?;
    }
    Ok(all_failed.len())
}

fn write_confidence(dir: &Path, doc: &Value) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_atomic(
        &dir.join(aggregate::AGGREGATE_JSON),
        &serde_json::to_vec_pretty(doc)?,
    )?;
    write_atomic(
        &dir.join(aggregate::AGGREGATE_CSV),
        aggregate::confidence_csv(doc).as_bytes(),
    )?;
    Ok(())
}

fn print_confidence_summary(doc: &Value, dir: &Path) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out)?;
    for key in [
        "request_throughput_avg",
        "output_token_throughput_avg",
        "time_to_first_token_p99",
        "inter_token_latency_avg",
        "request_latency_p99",
    ] {
        let b = &doc["metrics"][key];
        if let (Some(mean), Some(lo), Some(hi)) = (
            b["mean"].as_f64(),
            b["ci_low"].as_f64(),
            b["ci_high"].as_f64(),
        ) {
            let cv = b["cv"]
                .as_f64()
                .map(|c| format!(", cv {:.1} %", c * 100.0))
                .unwrap_or_default();
            writeln!(
                out,
                "{key}: {mean:.2} {} (CI {lo:.2} – {hi:.2}{cv})",
                b["unit"].as_str().unwrap_or("")
            )?;
        }
    }
    writeln!(out, "\n{}", dir.join(aggregate::AGGREGATE_JSON).display())?;
    writeln!(out, "{}", dir.join(aggregate::AGGREGATE_CSV).display())?;
    Ok(())
}

fn print_sweep_table(summary: &SweepSummary<'_>, dir: &Path) -> anyhow::Result<()> {
    use comfy_table::{CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
    let (best_tp, best_lat, pareto, lat_key) = aggregate::analyze(&summary.cells);
    let lat_name = match lat_key {
        Some("time_to_first_token_p99") => "TTFT p99 (ms)",
        _ => "latency p99 (ms)",
    };
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    let mut header: Vec<String> = summary
        .params
        .iter()
        .map(|p| p.param.name().to_owned())
        .collect();
    header.extend(
        [
            "requests/s",
            lat_name,
            "output tokens/s",
            "errors",
            "pareto",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    table.set_header(header);
    for (i, c) in summary.cells.iter().enumerate() {
        let mut row: Vec<String> = c.cell.values.iter().map(|(p, v)| p.format(*v)).collect();
        let f = |v: Option<f64>| v.map_or("N/A".into(), |v| format!("{v:.2}"));
        let mut tp = f(c.mean("request_throughput_avg"));
        if best_tp == Some(i) {
            tp.push_str(" (best)");
        }
        let mut lat = f(lat_key.and_then(|k| c.mean(k)));
        if best_lat == Some(i) {
            lat.push_str(" (best)");
        }
        row.push(tp);
        row.push(lat);
        row.push(f(c.mean("output_token_throughput_avg")));
        row.push(format!(
            "{}",
            c.mean("error_request_count_avg").unwrap_or(0.0)
        ));
        row.push(if pareto.contains(&i) {
            "*".into()
        } else {
            String::new()
        });
        table.add_row(row);
    }
    for column in table.column_iter_mut() {
        column.set_cell_alignment(CellAlignment::Right);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "\naiperf | sweep ({} values; * = Pareto optimal)",
        summary.cells.len()
    )?;
    writeln!(out, "{table}")?;
    for f in &summary.failed {
        writeln!(out, "failed: {}: {}", f.label, f.error)?;
    }
    writeln!(out, "\n{}", dir.join(aggregate::SWEEP_JSON).display())?;
    writeln!(out, "{}", dir.join(aggregate::SWEEP_CSV).display())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::plan::{Param, SweepConfig, SweepKind, SweepParam};
    use super::*;

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
    fn runs_get_their_cell_values_seed_and_warmup() {
        let mut c = config(SweepMode::Repeated);
        c.load.warmup = Some(crate::config::StopCondition {
            requests: Some(3),
            duration_secs: None,
        });
        let cells = plan::cells(c.sweep.as_ref().unwrap());
        let runs = plan::runs(&cells, c.sweep.as_ref(), 2);
        let second_cell_trial_two = &runs[3];
        let cfg = run_config_for(
            &c,
            Some(&cells[1]),
            second_cell_trial_two,
            Path::new("d"),
            42,
        );
        assert_eq!(cfg.load.concurrency, Some(2));
        assert_eq!(cfg.random_seed, 43);
        assert!(cfg.load.warmup.is_none(), "warmup only in the first trial");
        assert!(cfg.sweep.is_none() && cfg.multi_run.num_runs == 1);
        let first = run_config_for(&c, Some(&cells[0]), &runs[0], Path::new("d"), 42);
        assert!(first.load.warmup.is_some());
        c.sweep.as_mut().unwrap().same_seed = true;
        assert_eq!(
            run_config_for(&c, Some(&cells[1]), &runs[1], Path::new("d"), 42).random_seed,
            42
        );
    }
}
