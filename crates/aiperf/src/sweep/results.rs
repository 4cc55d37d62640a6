//! What a plan's runs add up to: the confidence aggregate of repeated runs, per-cell
//! aggregates and the sweep aggregate of a sweep (with a recipe's post-processing), and the
//! lines and tables the console shows of them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::aggregate::{
    self, AggregateInfo, CellResult, ConfidenceDoc, FailedRun, Flat, SweepSummary,
};
use super::converge::ConvergenceDoc;
use super::plan::{self, Cell, PlannedRun};
use super::{COLLATED_JSON, RunResult, Verdicts, converge};
use crate::export::write_atomic;
use crate::settings::{ProfileConfig, SweepConfig, SweepMode};
use crate::ui::console;

/// The runs of a plan with their results, so far.
struct Outcomes<'a> {
    config: &'a ProfileConfig,
    base: &'a Path,
    cells: &'a [Cell],
    runs: &'a [PlannedRun],
    results: &'a [Option<RunResult>],
    verdicts: &'a Verdicts,
    mode: SweepMode,
}

impl<'a> Outcomes<'a> {
    /// The failed runs `filter` picks.
    fn failed(&self, filter: &dyn Fn(&PlannedRun) -> bool) -> Vec<FailedRun> {
        self.runs
            .iter()
            .zip(self.results)
            .filter(|(r, _)| filter(r))
            .filter_map(|(r, res)| match res {
                Some(RunResult::Failed(e)) => Some(FailedRun {
                    label: r.label.clone(),
                    error: e.clone(),
                    parameters: r.cell.map(|c| self.cells[c].parameters()),
                }),
                _ => None,
            })
            .collect()
    }

    /// The successful runs `filter` picks, named `run_NNNN`.
    fn ok(&self, filter: &dyn Fn(&PlannedRun) -> bool) -> Vec<(String, &Flat)> {
        self.runs
            .iter()
            .zip(self.results)
            .filter(|(r, _)| filter(r))
            .filter_map(|(r, res)| match res {
                Some(RunResult::Ok(f)) => Some((plan::numbered("run", r.trial), f)),
                _ => None,
            })
            .collect()
    }

    /// With convergence testing: every request of the cell's runs pooled into
    /// `profile_export_aiperf_collated.json`, and the verdict for the metadata.
    fn convergence(
        &self,
        cell: Option<usize>,
        dir: &Path,
    ) -> anyhow::Result<Option<ConvergenceDoc<'a>>> {
        let Some(c) = &self.config.multi_run.convergence else {
            return Ok(None);
        };
        let ok: Vec<(String, PathBuf)> = self
            .runs
            .iter()
            .zip(self.results)
            .filter(|(r, res)| r.cell == cell && matches!(res, Some(RunResult::Ok(_))))
            .map(|(r, _)| (plan::numbered("run", r.trial), self.base.join(&r.dir)))
            .collect();
        let refs: Vec<(String, &Path)> = ok.iter().map(|(l, d)| (l.clone(), d.as_path())).collect();
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        write_atomic(
            &dir.join(COLLATED_JSON),
            &serde_json::to_vec_pretty(&converge::collated(&refs))?,
        )?;
        Ok(self.verdicts.get(&cell).map(|v| v.doc(c)))
    }

    /// The metadata every confidence aggregate carries.
    fn info(&self) -> AggregateInfo<'a> {
        AggregateInfo {
            cooldown_seconds: Some(self.config.multi_run.cooldown_secs),
            model: Some(&self.config.models[0]),
            ..AggregateInfo::default()
        }
    }
}

/// Writes every aggregate of the plan; returns the number of failed runs.
pub(super) fn write_aggregates(
    config: &ProfileConfig,
    base: &Path,
    cells: &[Cell],
    runs: &[PlannedRun],
    results: &[Option<RunResult>],
    verdicts: &Verdicts,
    mode: SweepMode,
) -> anyhow::Result<usize> {
    let o = Outcomes {
        config,
        base,
        cells,
        runs,
        results,
        verdicts,
        mode,
    };
    let failed = o.failed(&|_| true).len();
    match &config.sweep {
        None => write_repeated(&o)?,
        Some(sweep) => write_sweep(&o, sweep)?,
    }
    Ok(failed)
}

/// Repeated runs of one configuration: their confidence aggregate.
fn write_repeated(o: &Outcomes<'_>) -> anyhow::Result<()> {
    let ok = o.ok(&|_| true);
    if ok.is_empty() {
        console::line("\nno run succeeded: no aggregate written")?;
        return Ok(());
    }
    let dir = o.base.join(plan::aggregate_dir(None, o.mode));
    let info = AggregateInfo {
        convergence: o.convergence(None, &dir)?,
        ..o.info()
    };
    let level = o.config.multi_run.confidence_level;
    let failed = o.failed(&|_| true);
    let doc = aggregate::confidence_doc(&ok, &failed, level, info);
    write_confidence(&dir, &doc)?;
    console::text(&confidence_text(&doc, &dir))?;
    Ok(())
}

/// A sweep: each cell's confidence aggregate (several trials only), then the sweep aggregate
/// and the recipe's post-processing.
fn write_sweep(o: &Outcomes<'_>, sweep: &SweepConfig) -> anyhow::Result<()> {
    let trials = o.config.multi_run.num_runs;
    let level = o.config.multi_run.confidence_level;
    let mut cell_results: Vec<CellResult<'_>> = Vec::new();
    let mut attempted = 0;
    for cell in o.cells {
        let in_cell = |r: &PlannedRun| r.cell == Some(cell.index);
        if o.runs
            .iter()
            .zip(o.results)
            .any(|(r, res)| in_cell(r) && res.is_some())
        {
            attempted += 1;
        }
        let ok = o.ok(&in_cell);
        if ok.is_empty() {
            continue;
        }
        if trials > 1 {
            let dir = o.base.join(plan::aggregate_dir(Some(cell), o.mode));
            let info = AggregateInfo {
                variation_label: Some(cell.label()),
                variation_values: Some(cell.parameters()),
                sweep_mode: Some(o.mode.name()),
                convergence: o.convergence(Some(cell.index), &dir)?,
                ..o.info()
            };
            let failed = o.failed(&in_cell);
            let doc = aggregate::confidence_doc(&ok, &failed, level, info);
            write_confidence(&dir, &doc)?;
        }
        let flats: Vec<&Flat> = ok.iter().map(|(_, f)| *f).collect();
        cell_results.push(CellResult {
            cell,
            metrics: aggregate::cell_metrics(&flats, trials, level),
        });
    }
    let summary = SweepSummary {
        params: &sweep.params,
        cells: cell_results,
        num_runs: o.results.iter().filter(|r| r.is_some()).count(),
        num_successful_runs: o
            .results
            .iter()
            .filter(|r| matches!(r, Some(RunResult::Ok(_))))
            .count(),
        num_combinations: attempted,
        failed: o.failed(&|_| true),
        mode: o.mode.name(),
        confidence_level: level,
        trials,
    };
    if summary.cells.is_empty() {
        console::line("\nno run succeeded: no sweep aggregate written")?;
        return Ok(());
    }
    let dir = o.base.join(plan::sweep_aggregate_dir(trials, o.mode));
    let doc = aggregate::sweep_doc(&summary);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    write_atomic(
        &dir.join(aggregate::SWEEP_JSON),
        &serde_json::to_vec_pretty(&doc)?,
    )?;
    crate::export::write_csv(
        &dir.join(aggregate::SWEEP_CSV),
        &aggregate::sweep_csv(&doc, &sweep.params),
    )?;
    console::text(&sweep_table_text(&summary, &dir))?;
    if let Some(spec) = &o.config.post_process {
        let doc = serde_json::to_value(&doc)?;
        let path = crate::recipes::post_process::run_and_write(spec, &doc, &dir)?;
        console::line(&path.display().to_string())?;
    }
    Ok(())
}

fn latency_p99(flat: &Flat) -> Option<(&'static str, f64)> {
    aggregate::lookup(flat, "time_to_first_token_p99")
        .map(|v| ("TTFT p99", v))
        .or_else(|| aggregate::lookup(flat, "request_latency_p99").map(|v| ("latency p99", v)))
}

/// The console line of run `k` of `n`.
pub(super) fn run_line(k: usize, n: usize, run: &PlannedRun, result: &RunResult) -> String {
    match result {
        RunResult::Ok(flat) => {
            let tp = aggregate::lookup(flat, "request_throughput_avg").unwrap_or(f64::NAN);
            let errors = aggregate::lookup(flat, "error_request_count_avg").unwrap_or(0.0);
            let latency = latency_p99(flat)
                .map(|(name, v)| format!(", {name} {v:.2} ms"))
                .unwrap_or_default();
            format!(
                "[{}/{n}] {}: {tp:.2} req/s{latency}, {errors} errors",
                k + 1,
                run.label
            )
        }
        RunResult::Failed(e) => format!("[{}/{n}] {}: FAILED: {e}", k + 1, run.label),
    }
}

fn write_confidence(dir: &Path, doc: &ConfidenceDoc<'_>) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_atomic(
        &dir.join(aggregate::AGGREGATE_JSON),
        &serde_json::to_vec_pretty(doc)?,
    )?;
    crate::export::write_csv(
        &dir.join(aggregate::AGGREGATE_CSV),
        &aggregate::confidence_csv(doc),
    )?;
    Ok(())
}

/// The key figures of a confidence aggregate, with their intervals.
fn confidence_text(doc: &ConfidenceDoc<'_>, dir: &Path) -> String {
    let mut out = String::from("\n");
    for key in [
        "request_throughput_avg",
        "output_token_throughput_avg",
        "time_to_first_token_p99",
        "inter_token_latency_avg",
        "request_latency_p99",
    ] {
        let Some(b) = doc.metric(key) else {
            continue;
        };
        if let (Some(mean), Some(lo), Some(hi)) = (b.mean, b.ci_low, b.ci_high) {
            let cv =
                b.cv.map(|c| format!(", cv {:.1} %", c * 100.0))
                    .unwrap_or_default();
            let _ = writeln!(
                out,
                "{key}: {mean:.2} {} (CI {lo:.2} – {hi:.2}{cv})",
                b.unit
            );
        }
    }
    let _ = writeln!(out, "\n{}", dir.join(aggregate::AGGREGATE_JSON).display());
    let _ = writeln!(out, "{}", dir.join(aggregate::AGGREGATE_CSV).display());
    out
}

/// The sweep's table: each value's throughput and latency, the best ones and the Pareto set.
fn sweep_table_text(summary: &SweepSummary<'_>, dir: &Path) -> String {
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
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\naiperf | sweep ({} values; * = Pareto optimal)",
        summary.cells.len()
    );
    let _ = writeln!(out, "{table}");
    for f in &summary.failed {
        let _ = writeln!(out, "failed: {}: {}", f.label, f.error);
    }
    let _ = writeln!(out, "\n{}", dir.join(aggregate::SWEEP_JSON).display());
    let _ = writeln!(out, "{}", dir.join(aggregate::SWEEP_CSV).display());
    out
}
