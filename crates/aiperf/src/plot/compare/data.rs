//! What a compared directory holds: its kind, its configuration, its summary or aggregates,
//! the per-request values of its runs, and each headline metric as a value with a confidence
//! interval where one can be had.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::super::{read_json, sweep_dir};
use crate::export::ExportNames;
use crate::sweep::aggregate::AGGREGATE_JSON;

/// The confidence level of the intervals computed here (trials carry their own).
pub(super) const LEVEL: f64 = 0.95;

/// The two-sided 97.5 % quantile of the standard normal distribution.
const Z95: f64 = 1.959_963_984_540_054;

/// The per-request metrics whose values are read from the records.
pub(super) const PER_REQUEST: [&str; 3] = [
    "time_to_first_token",
    "inter_token_latency",
    "request_latency",
];

/// What a results directory holds; a search is also a sweep, trials are runs of one
/// configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Run,
    Trials,
    Sweep,
    Search,
}

impl Kind {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Run => "single run",
            Self::Trials => "repeated trials",
            Self::Sweep => "sweep",
            Self::Search => "search",
        }
    }

    /// Compared cell by cell (sweeps and searches) rather than as a whole.
    pub(super) fn has_cells(self) -> bool {
        matches!(self, Self::Sweep | Self::Search)
    }
}

/// A headline metric of the comparison: the summary's `tag` statistic `stat`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Metric {
    pub tag: &'static str,
    pub stat: &'static str,
    pub title: &'static str,
    /// The unit for `human` formatting.
    pub unit: &'static str,
    pub higher_is_better: bool,
}

const fn metric(
    tag: &'static str,
    stat: &'static str,
    title: &'static str,
    unit: &'static str,
    higher_is_better: bool,
) -> Metric {
    Metric {
        tag,
        stat,
        title,
        unit,
        higher_is_better,
    }
}

/// The metrics of the deltas table, in table order.
pub(super) const HEADLINE: [Metric; 10] = [
    metric(
        "request_throughput",
        "avg",
        "Request throughput",
        "requests/s",
        true,
    ),
    metric(
        "output_token_throughput",
        "avg",
        "Output token throughput",
        "tokens/s",
        true,
    ),
    metric("time_to_first_token", "avg", "TTFT avg", "ms", false),
    metric("time_to_first_token", "p50", "TTFT p50", "ms", false),
    metric("time_to_first_token", "p99", "TTFT p99", "ms", false),
    metric("inter_token_latency", "avg", "ITL avg", "ms", false),
    metric("inter_token_latency", "p99", "ITL p99", "ms", false),
    metric("request_latency", "avg", "Request latency avg", "ms", false),
    metric("request_latency", "p99", "Request latency p99", "ms", false),
    metric("error_request_count", "avg", "Errors", "", false),
];

impl Metric {
    /// The key of this metric in an aggregate (`time_to_first_token_p99`).
    pub(super) fn key(&self) -> String {
        format!("{}_{}", self.tag, self.stat)
    }
}

/// A measured value and its confidence interval, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Estimate {
    pub value: f64,
    pub ci: Result<(f64, f64), &'static str>,
}

/// Each request's TTFT, ITL and latency (sorted), and when each request ended.
#[derive(Debug, Default)]
pub(super) struct Requests {
    sorted: Vec<Vec<f64>>,
    /// Seconds from the run's first request start to each request's end (single runs only).
    pub ends: Vec<f64>,
}

impl Requests {
    /// The sorted values of one of [`PER_REQUEST`]; empty for any other tag.
    pub(super) fn of(&self, tag: &str) -> &[f64] {
        PER_REQUEST
            .iter()
            .position(|t| *t == tag)
            .and_then(|i| self.sorted.get(i))
            .map_or(&[], Vec::as_slice)
    }

    /// The successful profiling records of the JSONL files in `files`, pooled; the end times
    /// only when there is a single file (times of several runs do not share an origin).
    fn read(files: &[PathBuf]) -> Self {
        let mut sorted = vec![Vec::new(); PER_REQUEST.len()];
        let mut spans: Vec<(u64, u64)> = Vec::new();
        for file in files {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            for line in text.lines() {
                let Ok(r) = serde_json::from_str::<Value>(line) else {
                    continue;
                };
                let phase = &r["metadata"]["benchmark_phase"];
                if !(phase.is_null() || phase == "profiling") || !r["error"].is_null() {
                    continue;
                }
                for (values, tag) in sorted.iter_mut().zip(PER_REQUEST) {
                    if let Some(v) = r["metrics"][tag]["value"].as_f64() {
                        values.push(v);
                    }
                }
                if let (Some(s), Some(e)) = (
                    r["metadata"]["request_start_ns"].as_u64(),
                    r["metadata"]["request_end_ns"].as_u64(),
                ) {
                    spans.push((s, e));
                }
            }
        }
        for values in &mut sorted {
            values.sort_by(f64::total_cmp);
        }
        let ends = if files.len() == 1 {
            let t0 = spans.iter().map(|s| s.0).min().unwrap_or(0);
            spans
                .iter()
                .map(|s| s.1.saturating_sub(t0) as f64 / 1e9)
                .collect()
        } else {
            Vec::new()
        };
        Self { sorted, ends }
    }
}

/// One compared results directory.
#[derive(Debug)]
pub(super) struct Dir {
    pub path: PathBuf,
    pub kind: Kind,
    /// What tells it apart from the others (set once all are loaded).
    pub label: String,
    /// Its `run_config.json` (the first run's, for trials and sweeps), if any.
    pub config: Option<Value>,
    /// The summary of its run (the first run's for trials and sweeps), if any.
    pub summary: Option<Value>,
    /// The confidence aggregate of repeated trials.
    pub aggregate: Option<Value>,
    /// The sweep aggregate of a sweep or search.
    pub sweep: Option<Value>,
    pub requests: Requests,
    /// The requests of each cell of a sweep of one trial per cell, by the cell's values.
    cell_requests: Vec<(Vec<f64>, Requests)>,
}

impl Dir {
    /// The results in `path`, or `None` when it holds none.
    pub(super) fn load(path: &Path) -> Option<Self> {
        let summary_name = ExportNames::in_dir(path).summary_json();
        let aggregate_path = path.join("aggregate").join(AGGREGATE_JSON);
        let sweep =
            sweep_dir(path).and_then(|d| read_json(&d.join(crate::sweep::aggregate::SWEEP_JSON)));
        let kind = if path.join(crate::search::HISTORY).is_file() {
            Kind::Search
        } else if sweep.is_some() {
            Kind::Sweep
        } else if aggregate_path.is_file() {
            Kind::Trials
        } else if path.join(&summary_name).is_file() {
            Kind::Run
        } else {
            return None;
        };
        let config_path = super::super::provenance::find_run_config(path);
        let config = config_path.as_deref().and_then(read_json);
        let summary = match kind {
            Kind::Run => read_json(&path.join(&summary_name)),
            _ => config_path
                .as_deref()
                .and_then(Path::parent)
                .and_then(|d| read_json(&d.join(ExportNames::in_dir(d).summary_json()))),
        };
        let requests = match kind {
            Kind::Run => Requests::read(&[path.join(ExportNames::in_dir(path).records_jsonl())]),
            Kind::Trials => Requests::read(&trial_records(path)),
            Kind::Sweep | Kind::Search => Requests::default(),
        };
        let one_trial = sweep.as_ref().is_some_and(|s| {
            s["metadata"]["num_trials_per_value"]
                .as_u64()
                .is_none_or(|n| n <= 1)
        });
        let cell_requests = if one_trial {
            cell_runs(path)
        } else {
            Vec::new()
        };
        Some(Self {
            path: path.to_path_buf(),
            kind,
            label: String::new(),
            config,
            summary,
            aggregate: (kind == Kind::Trials)
                .then(|| read_json(&aggregate_path))
                .flatten(),
            sweep,
            requests,
            cell_requests,
        })
    }

    /// The directory's last path component, for labels and messages.
    pub(super) fn name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    /// The resolved settings (ours), the configuration in the Python AIPerf's shape, or the
    /// summary's `input_config`: what the labels are made of.
    pub(super) fn settings(&self) -> Option<&Value> {
        let c = self.config.as_ref();
        [
            c.map(|c| &c["aiperf_config"]),
            c.map(|c| &c["cfg"]),
            self.summary.as_ref().map(|s| &s["input_config"]),
        ]
        .into_iter()
        .flatten()
        .find(|v| v.is_object())
    }

    /// The command that produced the results, or "".
    pub(super) fn command(&self) -> &str {
        let c = self.config.as_ref().unwrap_or(&Value::Null);
        let s = self.summary.as_ref().unwrap_or(&Value::Null);
        [
            &c["cli_command"],
            &c["aiperf_config"]["cli_command"],
            &s["run_info"]["cli_command"],
        ]
        .into_iter()
        .find_map(Value::as_str)
        .unwrap_or("")
    }

    /// The sweep's cells (`parameters` and `metrics` each).
    pub(super) fn cells(&self) -> &[Value] {
        self.sweep
            .as_ref()
            .and_then(|s| s["per_combination_metrics"].as_array())
            .map_or(&[], Vec::as_slice)
    }

    /// The names of the swept parameters, in order.
    pub(super) fn swept(&self) -> Vec<String> {
        self.sweep
            .as_ref()
            .and_then(|s| s["metadata"]["sweep_parameters"].as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|p| p["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `m` for the whole directory (a run or trials), or `None` where it was not measured.
    pub(super) fn estimate(&self, m: &Metric) -> Option<Estimate> {
        match self.kind {
            Kind::Trials => aggregate_estimate(&self.aggregate.as_ref()?["metrics"], m),
            Kind::Run => run_estimate(self.summary.as_ref()?, &self.requests, m),
            Kind::Sweep | Kind::Search => None,
        }
    }
}

impl Dir {
    /// Whether some intervals come from the requests of a run (rather than from trials).
    pub(super) fn has_request_intervals(&self) -> bool {
        self.kind == Kind::Run || !self.cell_requests.is_empty()
    }

    /// Whether some intervals come from trials.
    pub(super) fn has_trial_intervals(&self) -> bool {
        self.kind == Kind::Trials || (self.kind.has_cells() && self.cell_requests.is_empty())
    }

    /// `m` of a sweep `cell`: the aggregate's, with an interval from the cell's requests
    /// where the cell had one trial.
    pub(super) fn cell_estimate(&self, cell: &Value, m: &Metric) -> Option<Estimate> {
        let mut e = aggregate_estimate(&cell["metrics"], m)?;
        if e.ci.is_err() && PER_REQUEST.contains(&m.tag) {
            let values = values_of(&cell["parameters"]);
            if let Some((_, r)) = self.cell_requests.iter().find(|(v, _)| *v == values) {
                e.ci = request_interval(r.of(m.tag), m.stat);
            }
        }
        Some(e)
    }
}

/// The numbers of a JSON object, in order: a cell's identity, however its parameters are
/// named.
fn values_of(object: &Value) -> Vec<f64> {
    object
        .as_object()
        .map(|o| o.values().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// The requests of every run under a sweep `path` by the values of its variation, leaving
/// out values that more than one run measured (which of them a cell is would be a guess).
fn cell_runs(path: &Path) -> Vec<(Vec<f64>, Requests)> {
    let mut runs: Vec<(Vec<f64>, PathBuf)> = Vec::new();
    let mut level = vec![path.to_path_buf()];
    for _ in 0..4 {
        let mut next = Vec::new();
        for d in &level {
            if let Some(config) = read_json(&d.join("run_config.json")) {
                let values = values_of(&config["variation"]["values"]);
                if !values.is_empty() {
                    runs.push((values, d.join(ExportNames::in_dir(d).records_jsonl())));
                }
                continue;
            }
            next.extend(
                std::fs::read_dir(d)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir()),
            );
        }
        level = next;
    }
    runs.iter()
        .filter(|(v, _)| runs.iter().filter(|(w, _)| w == v).count() == 1)
        .map(|(v, file)| (v.clone(), Requests::read(std::slice::from_ref(file))))
        .collect()
}

/// `m` from the metrics of a confidence aggregate (trials, or a sweep cell): the mean over the
/// trials and its interval, where there were several.
pub(super) fn aggregate_estimate(metrics: &Value, m: &Metric) -> Option<Estimate> {
    let b = &metrics[m.key()];
    let Some(value) = b["mean"].as_f64() else {
        // Without errors the aggregate has no error count.
        return (m.tag == "error_request_count" && metrics["request_count_avg"].is_object())
            .then_some(Estimate {
                value: 0.0,
                ci: Err("no CI"),
            });
    };
    let ci = match (b["ci_low"].as_f64(), b["ci_high"].as_f64()) {
        (Some(lo), Some(hi)) => Ok((lo, hi)),
        _ => Err("no CI (one trial)"),
    };
    Some(Estimate { value, ci })
}

/// `m` of a single run: the summary's value, with an interval from the per-request values
/// for the per-request metrics.
fn run_estimate(summary: &Value, requests: &Requests, m: &Metric) -> Option<Estimate> {
    let value = summary[m.tag][m.stat].as_f64().or_else(|| {
        // The summary lists no error count when there were none.
        (m.tag == "error_request_count" && summary["request_count"].is_object()).then_some(0.0)
    })?;
    let ci = if PER_REQUEST.contains(&m.tag) {
        request_interval(requests.of(m.tag), m.stat)
    } else {
        Err("no CI")
    };
    Some(Estimate { value, ci })
}

/// The interval of a statistic of sorted per-request values: Student-t for the mean, the
/// order-statistic interval for a percentile.
fn request_interval(sorted: &[f64], stat: &str) -> Result<(f64, f64), &'static str> {
    let too_few = "no CI (too few requests)";
    if stat == "avg" {
        return aiperf_stats::Confidence::of(sorted, LEVEL)
            .filter(|c| c.n >= 2)
            .map(|c| (c.ci_low, c.ci_high))
            .ok_or(too_few);
    }
    let q = stat
        .strip_prefix('p')
        .and_then(|p| p.parse::<f64>().ok())
        .ok_or("no CI")?
        / 100.0;
    quantile_interval(sorted, q).ok_or(too_few)
}

/// A distribution-free 95 % interval of the `q` quantile from sorted values: the order
/// statistics whose ranks bound the binomial count of values below the quantile (normal
/// approximation); `None` when those ranks fall outside the sample.
pub(super) fn quantile_interval(sorted: &[f64], q: f64) -> Option<(f64, f64)> {
    let n = sorted.len() as f64;
    if n < 2.0 || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let half = Z95 * (n * q * (1.0 - q)).sqrt();
    let lo = (n * q - half).floor();
    let hi = (n * q + half).ceil();
    if lo < 1.0 || hi > n {
        return None;
    }
    Some((sorted[lo as usize - 1], sorted[hi as usize - 1]))
}

/// The records of each trial of repeated runs (`profile_runs/*/`).
fn trial_records(path: &Path) -> Vec<PathBuf> {
    super::super::run_dirs(path)
        .into_iter()
        .map(|d| d.join(ExportNames::in_dir(&d).records_jsonl()))
        .filter(|f| f.is_file())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quantile_interval_needs_enough_values_beyond_it() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        // The median of 1..=100: ranks 50 ± 1.96 × 5 → 40 and 60.
        assert_eq!(quantile_interval(&values, 0.5), Some((40.0, 60.0)));
        // p99 of 100 values: the upper rank would pass the largest value.
        assert_eq!(quantile_interval(&values, 0.99), None);
        let many: Vec<f64> = (1..=1000).map(f64::from).collect();
        let (lo, hi) = quantile_interval(&many, 0.99).unwrap();
        assert!(lo < 990.0 && hi > 990.0 && hi <= 1000.0, "{lo} {hi}");
    }

    #[test]
    fn a_run_without_errors_counts_zero_errors_without_an_interval() {
        let summary = serde_json::json!({"request_count": {"avg": 10.0}});
        let errors = HEADLINE
            .iter()
            .find(|m| m.tag == "error_request_count")
            .unwrap();
        assert_eq!(
            run_estimate(&summary, &Requests::default(), errors),
            Some(Estimate {
                value: 0.0,
                ci: Err("no CI")
            })
        );
        let ttft = &HEADLINE[2];
        assert_eq!(run_estimate(&summary, &Requests::default(), ttft), None);
    }
}
