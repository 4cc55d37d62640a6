//! Adaptive repetition: after each run of a cell, test whether its runs agree well enough
//! (`--convergence-metric`) and skip the cell's remaining runs if they do. Also the pooled
//! ("collated") view of every request of a cell's runs.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::RunResult;
use super::aggregate::Flat;
use super::plan::PlannedRun;
use crate::settings::{Convergence, ConvergenceMode};

/// What the last test of a cell found.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub converged: bool,
    /// The tested quantity: relative CI width, CV, or the KS p-value; `None` when it could
    /// not be computed (too few runs, metric missing).
    pub value: Option<f64>,
    /// Successful runs the test saw.
    pub runs: usize,
    /// The runs did not report the metric (or its statistic) at all.
    pub missing_metric: bool,
}

/// The `convergence` block of a cell's aggregate metadata: the test and what it found.
#[derive(Debug, Serialize)]
pub struct ConvergenceDoc<'a> {
    metric: &'a str,
    stat: &'a str,
    mode: &'static str,
    threshold: f64,
    min_runs: u32,
    converged: bool,
    value: Option<f64>,
    runs_used: usize,
}

impl Verdict {
    /// The `convergence` block of the cell's aggregate metadata.
    pub fn doc<'a>(&self, c: &'a Convergence) -> ConvergenceDoc<'a> {
        ConvergenceDoc {
            metric: &c.metric,
            stat: &c.stat,
            mode: c.mode.name(),
            threshold: c.threshold,
            min_runs: c.min_runs,
            converged: self.converged,
            value: self.value,
            runs_used: self.runs,
        }
    }

    /// One line for the console.
    pub fn describe(&self, c: &Convergence) -> String {
        let name = match c.mode {
            ConvergenceMode::Distribution => c.metric.clone(),
            _ => format!("{}_{}", c.metric, c.stat),
        };
        if self.missing_metric {
            return format!(
                "--convergence-metric: the runs report no {name}, so they cannot converge; \
                 check the metric tag (e.g. time_to_first_token, request_latency)"
            );
        }
        let what = match c.mode {
            ConvergenceMode::CiWidth => "relative CI width",
            ConvergenceMode::Cv => "CV",
            ConvergenceMode::Distribution => "KS p-value",
        };
        let value = self
            .value
            .map_or_else(|| "n/a".to_owned(), |v| format!("{v:.4}"));
        let cmp = if c.mode == ConvergenceMode::Distribution {
            ">"
        } else {
            "<"
        };
        if self.converged {
            format!(
                "{name} converged after {} runs ({what} {value} {cmp} {})",
                self.runs, c.threshold
            )
        } else {
            format!(
                "{name} not converged after {} runs ({what} {value}, needs {cmp} {})",
                self.runs, c.threshold
            )
        }
    }
}

/// Tests the runs of `cell` so far; `newest` is the run just finished.
pub fn test(
    c: &Convergence,
    level: f64,
    base: &Path,
    runs: &[PlannedRun],
    results: &[Option<RunResult>],
    newest: usize,
) -> Verdict {
    let cell = runs[newest].cell;
    let ok: Vec<(usize, &Flat)> = runs
        .iter()
        .zip(results)
        .enumerate()
        .filter(|(_, (r, _))| r.cell == cell)
        .filter_map(|(i, (_, res))| match res {
            Some(RunResult::Ok(flat)) => Some((i, flat)),
            _ => None,
        })
        .collect();
    let n = ok.len();
    let enough = n >= c.min_runs as usize;
    let key = format!("{}_{}", c.metric, c.stat);
    let (value, missing_metric) = match c.mode {
        ConvergenceMode::CiWidth | ConvergenceMode::Cv => {
            let values: Vec<f64> = ok
                .iter()
                .filter_map(|(_, flat)| flat.iter().find(|(k, _, _)| *k == key).map(|m| m.1))
                .collect();
            let value = if values.len() < n {
                None // a run without the metric: never call that agreement
            } else if c.mode == ConvergenceMode::CiWidth {
                aiperf_stats::convergence::ci_width(&values, level)
            } else {
                aiperf_stats::convergence::cv(&values)
            };
            (value, n > 0 && values.is_empty())
        }
        ConvergenceMode::Distribution => {
            let newest_ok = ok.iter().any(|(i, _)| *i == newest);
            let values = |i: usize| request_values(&base.join(&runs[i].dir), &c.metric);
            let newest_values = if newest_ok {
                values(newest)
            } else {
                Vec::new()
            };
            let value = if newest_ok && enough {
                let earlier: Vec<f64> = ok
                    .iter()
                    .filter(|(i, _)| *i != newest)
                    .flat_map(|(i, _)| values(*i))
                    .collect();
                aiperf_stats::convergence::ks_2samp(&earlier, &newest_values).map(|(_, p)| p)
            } else {
                None
            };
            (value, newest_ok && newest_values.is_empty())
        }
    };
    let converged = enough
        && value.is_some_and(|v| match c.mode {
            ConvergenceMode::Distribution => v > c.threshold,
            _ => v < c.threshold,
        });
    Verdict {
        converged,
        value,
        runs: n,
        missing_metric,
    }
}

/// The per-request values of `metric` in a run's records (profiling phase, no error).
pub fn request_values(dir: &Path, metric: &str) -> Vec<f64> {
    let mut out = Vec::new();
    for_each_record(dir, |metrics| {
        if let Some(v) = metrics
            .get(metric)
            .and_then(|m| m.get("value"))
            .and_then(Value::as_f64)
        {
            out.push(v);
        }
    });
    out
}

/// Calls `f` with the `metrics` object of every successful profiling-phase record of a run.
fn for_each_record(dir: &Path, mut f: impl FnMut(&Map<String, Value>)) {
    let records = crate::export::ExportNames::in_dir(dir).records_jsonl();
    let Ok(text) = std::fs::read_to_string(dir.join(records)) else {
        return;
    };
    for line in text.lines() {
        let Ok(record) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let profiling = record["metadata"]["benchmark_phase"].as_str() == Some("profiling");
        if profiling
            && record.get("error").is_none_or(Value::is_null)
            && let Some(metrics) = record["metrics"].as_object()
        {
            f(metrics);
        }
    }
}

/// `profile_export_aiperf_collated.json`.
#[derive(Debug, Serialize)]
pub struct CollatedDoc {
    aggregation_type: &'static str,
    num_runs: usize,
    /// By metric tag, sorted.
    metrics: BTreeMap<String, CollatedMetric>,
}

/// One metric pooled over the runs, and each run's own mean and count.
#[derive(Debug, Serialize)]
struct CollatedMetric {
    unit: String,
    combined: Combined,
    per_run: Vec<RunMean>,
}

#[derive(Debug, Serialize)]
struct Combined {
    mean: f64,
    std: Option<f64>,
    p50: Option<f64>,
    p90: Option<f64>,
    p95: Option<f64>,
    p99: Option<f64>,
    count: usize,
}

#[derive(Debug, Serialize)]
struct RunMean {
    label: String,
    mean: f64,
    count: usize,
}

/// `profile_export_aiperf_collated.json`: every scalar per-request metric pooled over the
/// runs `(label, dir)` (true percentiles of all requests, not means of per-run percentiles),
/// with each run's own mean and count.
pub fn collated(runs: &[(String, &Path)]) -> CollatedDoc {
    /// A metric's unit and each run's values, by run label.
    type Pooled = (String, Vec<(String, Vec<f64>)>);
    let mut pooled: BTreeMap<String, Pooled> = BTreeMap::new();
    for (label, dir) in runs {
        for_each_record(dir, |metrics| {
            for (tag, m) in metrics {
                let Some(v) = m.get("value").and_then(Value::as_f64) else {
                    continue;
                };
                let unit = m.get("unit").and_then(Value::as_str).unwrap_or("");
                let entry = pooled
                    .entry(tag.clone())
                    .or_insert_with(|| (unit.to_owned(), Vec::new()));
                match entry.1.last_mut() {
                    Some((l, values)) if l == label => values.push(v),
                    _ => entry.1.push((label.clone(), vec![v])),
                }
            }
        });
    }
    let metrics = pooled
        .into_iter()
        .map(|(tag, (unit, per_run))| {
            let mut all: Vec<f64> = per_run
                .iter()
                .flat_map(|(_, v)| v.iter().copied())
                .collect();
            all.sort_by(f64::total_cmp);
            let n = all.len();
            let pct = |p: f64| aiperf_stats::percentile_sorted(&all, p);
            let combined = Combined {
                mean: all.iter().sum::<f64>() / n as f64,
                std: aiperf_stats::sample_std(&all),
                p50: pct(50.0),
                p90: pct(90.0),
                p95: pct(95.0),
                p99: pct(99.0),
                count: n,
            };
            let per_run = per_run
                .into_iter()
                .map(|(label, v)| RunMean {
                    mean: v.iter().sum::<f64>() / v.len() as f64,
                    count: v.len(),
                    label,
                })
                .collect();
            (
                tag,
                CollatedMetric {
                    unit,
                    combined,
                    per_run,
                },
            )
        })
        .collect();
    CollatedDoc {
        aggregation_type: "detailed",
        num_runs: runs.len(),
        metrics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(cell: Option<usize>, trial: u32) -> PlannedRun {
        PlannedRun {
            cell,
            trial,
            dir: format!("c{cell:?}/t{trial}").into(),
            label: format!("trial {trial}"),
        }
    }

    fn ok(tp: f64) -> Option<RunResult> {
        Some(RunResult::Ok(vec![(
            "request_throughput_avg".into(),
            tp,
            "requests/sec".into(),
        )]))
    }

    #[test]
    fn cv_counts_only_the_cells_successful_runs() {
        let c = Convergence {
            metric: "request_throughput".into(),
            stat: "avg".into(),
            mode: ConvergenceMode::Cv,
            threshold: 0.05,
            min_runs: 3,
        };
        let runs = [
            planned(Some(0), 0),
            planned(Some(1), 0),
            planned(Some(0), 1),
            planned(Some(0), 2),
            planned(Some(0), 3),
        ];
        let dir = Path::new("/nonexistent");
        // Cell 0: 100, then a failure, then 104: two successes are below the minimum of 3.
        let mut results = vec![
            ok(100.0),
            ok(1.0), // another cell, far off: must not count
            ok(104.0),
            Some(RunResult::Failed("boom".into())),
            None,
        ];
        let v = test(&c, 0.95, dir, &runs, &results, 3);
        assert_eq!((v.converged, v.runs), (false, 2));
        assert!((v.value.unwrap() - (8.0_f64).sqrt() / 102.0).abs() < 1e-12);
        results[4] = ok(102.0);
        let v = test(&c, 0.95, dir, &runs, &results, 4);
        // Mean 102, s = 2: cv 0.0196 < 0.05.
        assert_eq!((v.converged, v.runs, v.missing_metric), (true, 3, false));
        assert!((v.value.unwrap() - 2.0 / 102.0).abs() < 1e-12);
        assert!(
            v.describe(&c)
                .contains("converged after 3 runs (CV 0.0196 < 0.05)")
        );
        let other = Convergence {
            metric: "no_such".into(),
            ..c
        };
        let v = test(&other, 0.95, dir, &runs, &results, 4);
        assert!(!v.converged && v.missing_metric && v.value.is_none());
    }
}
