//! Aggregates across runs: the confidence aggregate of repeated runs of one configuration
//! (`profile_export_aiperf_aggregate.{json,csv}`) and the sweep aggregate across cells
//! (`profile_export_aiperf_sweep.{json,csv}`: per-cell metrics, best configurations, Pareto
//! frontier, trends).

use crate::export::csv_field;
use crate::metrics::STATS;
use aiperf_stats::Confidence;
use aiperf_stats::sweep::{argmax, argmin, pareto_optimal, trend};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::converge::ConvergenceDoc;
use crate::export::VERSION;
use crate::settings::{Param, SlaFilter, SweepParam};
use crate::sweep::plan::Cell;

pub const AGGREGATE_JSON: &str = "profile_export_aiperf_aggregate.json";
pub const AGGREGATE_CSV: &str = "profile_export_aiperf_aggregate.csv";
pub const SWEEP_JSON: &str = "profile_export_aiperf_sweep.json";
pub const SWEEP_CSV: &str = "profile_export_aiperf_sweep.csv";

/// A run's metrics flattened to `<tag>_<stat>` → (value, unit), in file order.
pub type Flat = Vec<(String, f64, String)>;

/// Confidence statistics of `<tag>_<stat>` keys with their unit, in first-seen order.
pub type Aggregated = Vec<(String, Confidence, String)>;

/// Flattens a `profile_export_aiperf.json` document.
pub fn flatten(summary: &Value) -> Flat {
    let mut out = Vec::new();
    let Some(obj) = summary.as_object() else {
        return out;
    };
    for (tag, block) in obj {
        let Some(unit) = block.get("unit").and_then(Value::as_str) else {
            continue;
        };
        for stat in STATS {
            if let Some(v) = block.get(stat).and_then(Value::as_f64) {
                out.push((format!("{tag}_{stat}"), v, unit.to_owned()));
            }
        }
    }
    out
}

pub fn lookup(flat: &Flat, key: &str) -> Option<f64> {
    flat.iter().find(|(k, _, _)| k == key).map(|(_, v, _)| *v)
}

/// Confidence statistics of every `<tag>_<stat>` across `runs`, in first-seen order.
pub fn confidence_metrics(runs: &[&Flat], level: f64) -> Aggregated {
    let mut keys: Vec<(String, String)> = Vec::new();
    for run in runs {
        for (k, _, unit) in run.iter() {
            if !keys.iter().any(|(x, _)| x == k) {
                keys.push((k.clone(), unit.clone()));
            }
        }
    }
    keys.into_iter()
        .filter_map(|(key, unit)| {
            let values: Vec<f64> = runs.iter().filter_map(|r| lookup(r, &key)).collect();
            Confidence::of(&values, level).map(|c| (key, c, unit))
        })
        .collect()
}

/// A statistic as documents write it: non-finite values become `null`.
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The full statistics block of one aggregated key.
#[derive(Debug, Serialize)]
pub struct ConfidenceBlock<'a> {
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub cv: Option<f64>,
    pub se: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub t_critical: Option<f64>,
    pub unit: &'a str,
}

impl<'a> ConfidenceBlock<'a> {
    fn new(c: &Confidence, unit: &'a str) -> Self {
        Self {
            mean: finite(c.mean),
            std: finite(c.std),
            min: finite(c.min),
            max: finite(c.max),
            cv: finite(c.cv),
            se: finite(c.se),
            ci_low: finite(c.ci_low),
            ci_high: finite(c.ci_high),
            t_critical: c.t_critical.and_then(finite),
            unit,
        }
    }
}

/// The block of a key of a one-trial cell: its value and unit.
#[derive(Serialize)]
struct MeanBlock<'a> {
    mean: Option<f64>,
    unit: &'a str,
}

/// A run that failed: its label, why, and (in sweeps) its parameters.
#[derive(Debug, Clone, Serialize)]
pub struct FailedRun {
    pub label: String,
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Map<String, Value>>,
}

/// What a confidence aggregate's metadata tells about the runs' setting, after the counts.
#[derive(Debug, Default, Serialize)]
pub struct AggregateInfo<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_values: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep_mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convergence: Option<ConvergenceDoc<'a>>,
}

/// `profile_export_aiperf_aggregate.json`.
#[derive(Debug, Serialize)]
pub struct ConfidenceDoc<'a> {
    schema_version: &'static str,
    aiperf_version: &'static str,
    metadata: ConfidenceMetadata<'a>,
    metrics: ConfidenceMetrics,
}

impl ConfidenceDoc<'_> {
    /// The statistics block of `key`, if the runs reported it.
    pub fn metric(&self, key: &str) -> Option<ConfidenceBlock<'_>> {
        self.metrics
            .0
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, c, unit)| ConfidenceBlock::new(c, unit))
    }
}

#[derive(Debug, Serialize)]
struct ConfidenceMetadata<'a> {
    aggregation_type: &'static str,
    num_profile_runs: usize,
    num_successful_runs: usize,
    failed_runs: &'a [FailedRun],
    confidence_level: f64,
    run_labels: Vec<&'a str>,
    #[serde(skip_serializing_if = "is_false")]
    single_run: bool,
    #[serde(flatten)]
    info: AggregateInfo<'a>,
}

/// Text of a metadata value in the CSV: strings as they are, anything else as compact JSON.
fn json_text<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

impl ConfidenceMetadata<'_> {
    /// The fields after the counts, in document order, as `(key, text)`.
    fn csv_rows(&self) -> Vec<(&'static str, String)> {
        let mut rows = vec![
            ("failed_runs", json_text(self.failed_runs)),
            ("confidence_level", json_text(&self.confidence_level)),
            ("run_labels", json_text(&self.run_labels)),
        ];
        if self.single_run {
            rows.push(("single_run", json_text(&true)));
        }
        let info = &self.info;
        if let Some(v) = info.cooldown_seconds {
            rows.push(("cooldown_seconds", json_text(&v)));
        }
        if let Some(v) = &info.variation_label {
            rows.push(("variation_label", v.clone()));
        }
        if let Some(v) = &info.variation_values {
            rows.push(("variation_values", json_text(v)));
        }
        if let Some(v) = info.sweep_mode {
            rows.push(("sweep_mode", v.to_owned()));
        }
        if let Some(v) = info.model {
            rows.push(("model", v.to_owned()));
        }
        if let Some(v) = &info.convergence {
            rows.push(("convergence", json_text(v)));
        }
        rows
    }
}

/// Every aggregated key with its full statistics block.
#[derive(Debug)]
struct ConfidenceMetrics(Aggregated);

impl Serialize for ConfidenceMetrics {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (key, c, unit) in &self.0 {
            map.serialize_entry(key, &ConfidenceBlock::new(c, unit))?;
        }
        map.end()
    }
}

/// `profile_export_aiperf_aggregate.json` of the successful `runs` (label, metrics) and the
/// failed ones.
pub fn confidence_doc<'a>(
    runs: &'a [(String, &Flat)],
    failed: &'a [FailedRun],
    level: f64,
    info: AggregateInfo<'a>,
) -> ConfidenceDoc<'a> {
    let flats: Vec<&Flat> = runs.iter().map(|(_, f)| *f).collect();
    ConfidenceDoc {
        schema_version: "1.0",
        aiperf_version: VERSION,
        metadata: ConfidenceMetadata {
            aggregation_type: "confidence",
            num_profile_runs: runs.len() + failed.len(),
            num_successful_runs: runs.len(),
            failed_runs: failed,
            confidence_level: level,
            run_labels: runs.iter().map(|(l, _)| l.as_str()).collect(),
            single_run: runs.len() == 1,
            info,
        },
        metrics: ConfidenceMetrics(confidence_metrics(&flats, level)),
    }
}

/// A statistic in a CSV cell: `decimals` places, empty when absent (or non-finite).
fn num(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(String::new, |x| format!("{x:.decimals$}"))
}

fn title(key: &str) -> String {
    key.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `profile_export_aiperf_aggregate.csv`: the metrics table, a blank line, the metadata.
pub fn confidence_csv(doc: &ConfidenceDoc<'_>) -> String {
    let mut out = String::from("metric,mean,std,min,max,cv,se,ci_low,ci_high,t_critical,unit\n");
    for (key, c, unit) in &doc.metrics.0 {
        let b = ConfidenceBlock::new(c, unit);
        let row = [
            csv_field(key),
            num(b.mean, 2),
            num(b.std, 2),
            num(b.min, 2),
            num(b.max, 2),
            num(b.cv, 4),
            num(b.se, 4),
            num(b.ci_low, 2),
            num(b.ci_high, 2),
            num(b.t_critical, 4),
            csv_field(unit),
        ];
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out.push('\n');
    let m = &doc.metadata;
    out.push_str(&format!("Aggregation Type,{}\n", m.aggregation_type));
    out.push_str(&format!("Total Runs,{}\n", m.num_profile_runs));
    out.push_str(&format!("Successful Runs,{}\n", m.num_successful_runs));
    for (key, text) in m.csv_rows() {
        out.push_str(&format!("{},{}\n", title(key), csv_field(&text)));
    }
    out
}

const THROUGHPUT: &str = "request_throughput_avg";
const TTFT_P99: &str = "time_to_first_token_p99";
const LATENCY_P99: &str = "request_latency_p99";
/// The alias of [`TTFT_P99`] in cell metrics and trends.
const TTFT_ALIAS: &str = "ttft_p99_ms";

/// A cell's canonical metrics: with several trials the confidence block of every key, with
/// one `mean` and `unit`. The alias `ttft_p99_ms` repeats `time_to_first_token_p99`.
#[derive(Debug)]
pub struct CellMetrics {
    entries: Aggregated,
    /// Full confidence blocks (several trials), else `mean` and `unit` only.
    full: bool,
}

impl CellMetrics {
    fn get(&self, key: &str) -> Option<&(String, Confidence, String)> {
        let key = if key == TTFT_ALIAS { TTFT_P99 } else { key };
        self.entries.iter().find(|(k, _, _)| k == key)
    }

    pub fn mean(&self, key: &str) -> Option<f64> {
        finite(self.get(key)?.1.mean)
    }

    fn unit(&self, key: &str) -> Option<&str> {
        Some(&self.get(key)?.2)
    }

    /// The keys in document order: the aggregated ones, then the alias.
    fn keys(&self) -> impl Iterator<Item = &str> {
        let alias = self.get(TTFT_P99).map(|_| TTFT_ALIAS);
        self.entries.iter().map(|(k, _, _)| k.as_str()).chain(alias)
    }

    /// One statistic of a key as the document has it: `mean` always, the spread with full
    /// blocks only.
    fn stat(&self, key: &str, stat: &str) -> Option<f64> {
        let c = &self.get(key)?.1;
        let v = match stat {
            "mean" => c.mean,
            _ if !self.full => return None,
            "std" => c.std,
            "min" => c.min,
            "max" => c.max,
            "cv" => c.cv,
            _ => return None,
        };
        finite(v)
    }
}

impl Serialize for CellMetrics {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        let alias = self.get(TTFT_P99).map(|(_, c, unit)| (TTFT_ALIAS, c, unit));
        let entries = self
            .entries
            .iter()
            .map(|(k, c, unit)| (k.as_str(), c, unit));
        for (key, c, unit) in entries.chain(alias) {
            if self.full {
                map.serialize_entry(key, &ConfidenceBlock::new(c, unit))?;
            } else {
                let mean = finite(c.mean);
                map.serialize_entry(key, &MeanBlock { mean, unit })?;
            }
        }
        map.end()
    }
}

/// One cell's results for the sweep aggregate.
#[derive(Debug)]
pub struct CellResult<'a> {
    pub cell: &'a Cell,
    pub metrics: CellMetrics,
}

impl CellResult<'_> {
    pub fn mean(&self, key: &str) -> Option<f64> {
        self.metrics.mean(key)
    }

    fn unit(&self, key: &str) -> Option<&str> {
        self.metrics.unit(key)
    }
}

/// A cell's canonical metrics from its runs (see [`CellMetrics`]).
pub fn cell_metrics(runs: &[&Flat], trials: u32, level: f64) -> CellMetrics {
    CellMetrics {
        entries: confidence_metrics(runs, level),
        full: trials > 1,
    }
}

/// The latency key used for "best latency" and the Pareto frontier: TTFT p99 when every cell
/// has it (streaming), else request latency p99.
fn latency_key(cells: &[CellResult<'_>]) -> Option<&'static str> {
    [TTFT_P99, LATENCY_P99]
        .into_iter()
        .find(|k| !cells.is_empty() && cells.iter().all(|c| c.mean(k).is_some()))
}

/// Everything the sweep aggregate needs besides the cells.
#[derive(Debug)]
pub struct SweepSummary<'a> {
    pub params: &'a [SweepParam],
    pub cells: Vec<CellResult<'a>>,
    pub num_runs: usize,
    pub num_successful_runs: usize,
    /// Cells that were run (at least one run attempted).
    pub num_combinations: usize,
    pub failed: Vec<FailedRun>,
    pub mode: &'static str,
    pub confidence_level: f64,
    pub trials: u32,
}

/// Best configurations, Pareto set (indices into `cells`) and the latency key used.
pub fn analyze(
    cells: &[CellResult<'_>],
) -> (
    Option<usize>,
    Option<usize>,
    Vec<usize>,
    Option<&'static str>,
) {
    let tp: Vec<Option<f64>> = cells.iter().map(|c| c.mean(THROUGHPUT)).collect();
    let lat_key = latency_key(cells);
    let lat: Vec<Option<f64>> = cells
        .iter()
        .map(|c| lat_key.and_then(|k| c.mean(k)))
        .collect();
    let best_tp = argmax(&tp);
    let best_lat = lat_key.and_then(|_| argmin(&lat));
    let mut pareto = if lat_key.is_some() {
        pareto_optimal(&tp, &lat)
    } else {
        Vec::new()
    };
    pareto.sort_by(|&a, &b| {
        sort_key(cells[a].cell)
            .partial_cmp(&sort_key(cells[b].cell))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    (best_tp, best_lat, pareto, lat_key)
}

fn sort_key(cell: &Cell) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = cell
        .values
        .iter()
        .map(|(p, x)| (p.name().to_owned(), *x))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    v
}

/// A parameter value as documents write it: an integer for integer parameters.
#[derive(Debug, Clone, Copy)]
struct ParamValue(Param, f64);

impl Serialize for ParamValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.integer() {
            s.serialize_u64(self.1 as u64)
        } else {
            s.serialize_f64(self.1)
        }
    }
}

/// `profile_export_aiperf_sweep.json`.
#[derive(Debug, Serialize)]
pub struct SweepDoc<'a> {
    aggregation_type: &'static str,
    num_profile_runs: usize,
    num_successful_runs: usize,
    failed_runs: &'a [FailedRun],
    pub metadata: SweepMetadata<'a>,
    per_combination_metrics: Vec<Combination<'a>>,
    best_configurations: BestConfigurations<'a>,
    pareto_optimal: Vec<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trends: Option<Trends>,
}

#[derive(Debug, Serialize)]
pub struct SweepMetadata<'a> {
    sweep_parameters: Vec<SweepParameter>,
    num_combinations: usize,
    sweep_mode: &'static str,
    confidence_level: f64,
    num_trials_per_value: u32,
    aggregation_type: &'static str,
    /// A search's SLA filters and how many iterations met them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla_constraints: Option<SlaConstraints<'a>>,
}

/// The SLA filters a search applied and how many iterations passed them.
#[derive(Debug, Serialize)]
pub struct SlaConstraints<'a> {
    pub active_filters: &'a [SlaFilter],
    pub feasible_count: usize,
    pub infeasible_count: usize,
}

/// A swept parameter and its distinct values, in sweep order.
#[derive(Debug, Serialize)]
struct SweepParameter {
    name: &'static str,
    values: Vec<ParamValue>,
}

#[derive(Debug, Serialize)]
struct Combination<'a> {
    parameters: Map<String, Value>,
    metrics: &'a CellMetrics,
}

#[derive(Debug, Serialize)]
struct BestConfigurations<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    best_throughput: Option<Best<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    best_latency_p99: Option<Best<'a>>,
}

/// The best cell by one metric.
#[derive(Debug, Serialize)]
struct Best<'a> {
    parameters: Map<String, Value>,
    metric: Option<f64>,
    unit: &'a str,
}

/// Trends of throughput and latency along the single swept parameter, by metric key.
#[derive(Debug, Default, Serialize)]
struct Trends {
    #[serde(skip_serializing_if = "Option::is_none")]
    request_throughput_avg: Option<TrendBlock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttft_p99_ms: Option<TrendBlock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_to_first_token_p99: Option<TrendBlock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_latency_p99: Option<TrendBlock>,
}

#[derive(Debug, Clone, Serialize)]
struct TrendBlock {
    rate_of_change: Vec<f64>,
    /// As parameter values.
    inflection_points: Vec<ParamValue>,
}

/// `profile_export_aiperf_sweep.json`.
pub fn sweep_doc<'a>(s: &'a SweepSummary<'_>) -> SweepDoc<'a> {
    let (best_tp, best_lat, pareto, lat_key) = analyze(&s.cells);
    let sweep_parameters = s
        .params
        .iter()
        .map(|p| {
            let mut seen: Vec<f64> = Vec::new();
            for v in &p.values {
                if !seen.contains(v) {
                    seen.push(*v);
                }
            }
            SweepParameter {
                name: p.param.name(),
                values: seen.iter().map(|v| ParamValue(p.param, *v)).collect(),
            }
        })
        .collect();
    let best = |i: usize, key: &str, unit: &'static str| {
        let c = &s.cells[i];
        Best {
            parameters: c.cell.parameters(),
            metric: c.mean(key),
            unit: c.unit(key).unwrap_or(unit),
        }
    };
    SweepDoc {
        aggregation_type: "sweep",
        num_profile_runs: s.num_runs,
        num_successful_runs: s.num_successful_runs,
        failed_runs: &s.failed,
        metadata: SweepMetadata {
            sweep_parameters,
            num_combinations: s.num_combinations,
            sweep_mode: s.mode,
            confidence_level: s.confidence_level,
            num_trials_per_value: s.trials,
            aggregation_type: "sweep",
            sla_constraints: None,
        },
        per_combination_metrics: s
            .cells
            .iter()
            .map(|c| Combination {
                parameters: c.cell.parameters(),
                metrics: &c.metrics,
            })
            .collect(),
        best_configurations: BestConfigurations {
            best_throughput: best_tp.map(|i| best(i, THROUGHPUT, "requests/sec")),
            best_latency_p99: best_lat.zip(lat_key).map(|(i, k)| best(i, k, "ms")),
        },
        pareto_optimal: pareto
            .iter()
            .map(|&i| s.cells[i].cell.parameters())
            .collect(),
        trends: (s.params.len() == 1 && s.cells.len() >= 2)
            .then(|| trends(&s.cells, s.params[0].param, lat_key)),
    }
}

/// Rate of change and inflection points (as parameter values) of throughput and latency
/// along the single swept parameter.
fn trends(cells: &[CellResult<'_>], param: Param, lat_key: Option<&'static str>) -> Trends {
    let mut order: Vec<&CellResult<'_>> = cells.iter().collect();
    order.sort_by(|a, b| a.cell.values[0].1.total_cmp(&b.cell.values[0].1));
    let xs: Vec<f64> = order.iter().map(|c| c.cell.values[0].1).collect();
    let block = |key: &str| {
        let values: Vec<f64> = order.iter().map(|c| c.mean(key)).collect::<Option<_>>()?;
        let t = trend(&xs, &values);
        Some(TrendBlock {
            rate_of_change: t.rate_of_change,
            inflection_points: (t.inflection_points.iter())
                .map(|&i| ParamValue(param, order[i].cell.values[0].1))
                .collect(),
        })
    };
    let mut out = Trends {
        request_throughput_avg: block(THROUGHPUT),
        ..Trends::default()
    };
    match lat_key {
        Some(TTFT_P99) => {
            out.time_to_first_token_p99 = block(TTFT_P99);
            out.ttft_p99_ms.clone_from(&out.time_to_first_token_p99);
        }
        Some(LATENCY_P99) => out.request_latency_p99 = block(LATENCY_P99),
        _ => {}
    }
    out
}

/// `profile_export_aiperf_sweep.csv`: per-combination table, best configurations, Pareto
/// points, metadata.
pub fn sweep_csv(doc: &SweepDoc<'_>, params: &[SweepParam]) -> String {
    let names: Vec<&str> = params.iter().map(|p| p.param.name()).collect();
    let cells = &doc.per_combination_metrics;
    let mut keys: Vec<&str> = cells
        .first()
        .map(|c| c.metrics.keys().collect())
        .unwrap_or_default();
    keys.sort_unstable();
    let mut header: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    for k in &keys {
        for s in ["mean", "std", "min", "max", "cv"] {
            header.push(format!("{k}_{s}"));
        }
    }
    let mut out = header.join(",") + "\n";
    let param_cells = |p: &Map<String, Value>| -> Vec<String> {
        (names.iter())
            .map(|n| plain(p.get(*n).unwrap_or(&Value::Null)))
            .collect()
    };
    for c in cells {
        let mut row = param_cells(&c.parameters);
        for k in &keys {
            for (s, d) in [("mean", 2), ("std", 2), ("min", 2), ("max", 2), ("cv", 4)] {
                row.push(num(c.metrics.stat(k, s), d));
            }
        }
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out.push_str("\nBest Configurations\n");
    out.push_str(&format!("Configuration,{},Metric,Unit\n", names.join(",")));
    let best = &doc.best_configurations;
    for (b, label) in [
        (&best.best_throughput, "Best Throughput"),
        (&best.best_latency_p99, "Best Latency P99"),
    ] {
        if let Some(b) = b {
            let mut row = vec![label.to_owned()];
            row.extend(param_cells(&b.parameters));
            row.push(num(b.metric, 2));
            row.push(b.unit.to_owned());
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    out.push_str("\nPareto Optimal Points\n");
    out.push_str(&names.join(","));
    out.push('\n');
    if doc.pareto_optimal.is_empty() {
        out.push_str("None\n");
    }
    for p in &doc.pareto_optimal {
        out.push_str(&param_cells(p).join(","));
        out.push('\n');
    }
    out.push_str("\nMetadata\nField,Value\nAggregation Type,sweep\n");
    out.push_str(&format!(
        "Sweep Parameters,{}\n",
        csv_field(&names.join(","))
    ));
    let m = &doc.metadata;
    out.push_str(&format!("Number of Combinations,{}\n", m.num_combinations));
    out.push_str(&format!(
        "Number of Profile Runs,{}\n",
        doc.num_profile_runs
    ));
    out.push_str(&format!(
        "Number of Successful Runs,{}\n",
        doc.num_successful_runs
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flat(pairs: &[(&str, f64)]) -> Flat {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v, "u".to_owned()))
            .collect()
    }

    fn cell(index: usize, concurrency: f64) -> Cell {
        Cell {
            index,
            values: vec![(Param::Concurrency, concurrency)],
        }
    }

    fn result<'a>(
        cell: &'a Cell,
        tp: Option<f64>,
        ttft: Option<f64>,
        latency: Option<f64>,
    ) -> CellResult<'a> {
        let mut pairs = Vec::new();
        if let Some(v) = tp {
            pairs.push(("request_throughput_avg", v));
        }
        if let Some(v) = ttft {
            pairs.push(("time_to_first_token_p99", v));
        }
        if let Some(v) = latency {
            pairs.push(("request_latency_p99", v));
        }
        CellResult {
            cell,
            metrics: cell_metrics(&[&flat(&pairs)], 1, 0.95),
        }
    }

    #[test]
    fn flatten_reads_every_stat_of_every_metric() {
        let doc = json!({"schema_version": "1.1", "request_throughput": {"unit": "requests/sec", "avg": 5.0},
            "time_to_first_token": {"unit": "ms", "avg": 1.0, "p99": 2.0, "count": 3, "sum": 3.0}, "was_cancelled": false});
        let f = flatten(&doc);
        let keys: Vec<&str> = f.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "request_throughput_avg",
                "time_to_first_token_avg",
                "time_to_first_token_p99",
                "time_to_first_token_sum"
            ]
        );
    }

    #[test]
    fn confidence_aggregate_of_known_runs() {
        let a = flat(&[("x_avg", 10.0), ("y_avg", 1.0)]);
        let b = flat(&[("x_avg", 12.0)]);
        let c = flat(&[("x_avg", 14.0)]);
        let runs = [
            ("run_0001".into(), &a),
            ("run_0002".into(), &b),
            ("run_0003".into(), &c),
        ];
        let failed = [FailedRun {
            label: "run_0004".into(),
            error: "boom".into(),
            parameters: None,
        }];
        let typed = confidence_doc(&runs, &failed, 0.95, AggregateInfo::default());
        let doc = serde_json::to_value(&typed).unwrap();
        let x = &doc["metrics"]["x_avg"];
        assert_eq!(x["mean"], 12.0);
        assert_eq!(x["std"], 2.0);
        assert!((x["t_critical"].as_f64().unwrap() - 4.302_652_729_749_462).abs() < 1e-9);
        assert_eq!(
            doc["metrics"]["y_avg"]["t_critical"],
            Value::Null,
            "one value: no interval"
        );
        assert_eq!(doc["metadata"]["num_profile_runs"], 4);
        assert_eq!(doc["metadata"]["num_successful_runs"], 3);
        assert_eq!(doc["metadata"]["failed_runs"][0]["label"], "run_0004");
        let csv = confidence_csv(&typed);
        assert!(csv.starts_with("metric,mean,std,min,max,cv,se,ci_low,ci_high,t_critical,unit\nx_avg,12.00,2.00,10.00,14.00,0.1667,1.1547,"), "{csv}");
        assert!(
            csv.contains("\n\nAggregation Type,confidence\nTotal Runs,4\nSuccessful Runs,3\n"),
            "{csv}"
        );
    }

    #[test]
    fn best_and_pareto_on_known_cells() {
        let cells: Vec<Cell> = [10.0, 20.0, 30.0, 40.0]
            .iter()
            .enumerate()
            .map(|(i, c)| cell(i, *c))
            .collect();
        // 30 is dominated by 20 (less throughput, more latency).
        let results = vec![
            result(&cells[0], Some(100.0), Some(120.0), Some(500.0)),
            result(&cells[1], Some(180.0), Some(135.0), Some(510.0)),
            result(&cells[2], Some(170.0), Some(140.0), Some(520.0)),
            result(&cells[3], Some(270.0), Some(155.0), Some(530.0)),
        ];
        let (tp, lat, pareto, key) = analyze(&results);
        assert_eq!(
            (tp, lat, key),
            (Some(3), Some(0), Some("time_to_first_token_p99"))
        );
        assert_eq!(pareto, [0, 1, 3]);
        assert_eq!(
            results[0].mean("ttft_p99_ms"),
            Some(120.0),
            "the spec's alias"
        );
    }

    #[test]
    fn missing_metrics_fall_back_or_disable() {
        let cells: Vec<Cell> = (0..2).map(|i| cell(i, f64::from(i as u32 + 1))).collect();
        // Non-streaming: no TTFT anywhere → request latency.
        let r = vec![
            result(&cells[0], Some(1.0), None, Some(9.0)),
            result(&cells[1], Some(2.0), None, Some(8.0)),
        ];
        let (tp, lat, pareto, key) = analyze(&r);
        assert_eq!(
            (tp, lat, key),
            (Some(1), Some(1), Some("request_latency_p99"))
        );
        assert_eq!(pareto, [1]);
        // TTFT missing in one cell → request latency; throughput missing → no best throughput
        // and no frontier.
        let r = vec![
            result(&cells[0], None, Some(5.0), Some(9.0)),
            result(&cells[1], Some(2.0), None, Some(8.0)),
        ];
        let (tp, lat, pareto, key) = analyze(&r);
        assert_eq!((tp, lat, key), (None, Some(1), Some("request_latency_p99")));
        assert!(pareto.is_empty());
        // A single cell is best at everything and on the frontier.
        let one = vec![result(&cells[0], Some(1.0), Some(2.0), None)];
        assert_eq!(
            analyze(&one),
            (Some(0), Some(0), vec![0], Some("time_to_first_token_p99"))
        );
        assert_eq!(analyze(&[]), (None, None, vec![], None));
    }

    #[test]
    fn sweep_documents_have_the_spec_shape() {
        let cells: Vec<Cell> = [10.0, 20.0, 30.0]
            .iter()
            .enumerate()
            .map(|(i, c)| cell(i, *c))
            .collect();
        let params = [SweepParam {
            param: Param::Concurrency,
            values: vec![10.0, 20.0, 30.0],
        }];
        let summary = SweepSummary {
            params: &params,
            cells: vec![
                result(&cells[0], Some(100.0), Some(120.0), None),
                result(&cells[1], Some(180.0), Some(135.0), None),
                result(&cells[2], Some(190.0), Some(240.0), None),
            ],
            num_runs: 4,
            num_successful_runs: 3,
            num_combinations: 3,
            failed: vec![FailedRun {
                label: "concurrency=40".into(),
                error: "all 10 requests failed".into(),
                parameters: Some(cells[0].parameters()),
            }],
            mode: "repeated",
            confidence_level: 0.95,
            trials: 1,
        };
        let typed = sweep_doc(&summary);
        let doc = serde_json::to_value(&typed).unwrap();
        let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "aggregation_type",
                "num_profile_runs",
                "num_successful_runs",
                "failed_runs",
                "metadata",
                "per_combination_metrics",
                "best_configurations",
                "pareto_optimal",
                "trends"
            ]
        );
        assert_eq!(
            doc["best_configurations"]["best_throughput"]["parameters"],
            json!({"concurrency": 30})
        );
        assert_eq!(
            doc["best_configurations"]["best_latency_p99"]["metric"],
            120.0
        );
        assert_eq!(
            doc["pareto_optimal"],
            json!([{"concurrency": 10}, {"concurrency": 20}, {"concurrency": 30}])
        );
        assert_eq!(
            doc["trends"]["request_throughput_avg"]["rate_of_change"],
            json!([80.0, 10.0])
        );
        assert_eq!(
            doc["trends"]["request_throughput_avg"]["inflection_points"],
            json!([20])
        );
        assert_eq!(
            doc["trends"]["ttft_p99_ms"]["inflection_points"],
            json!([20])
        );
        let csv = sweep_csv(&typed, &params);
        let sections: Vec<&str> = csv.split("\n\n").collect();
        assert_eq!(sections.len(), 4, "{csv}");
        assert!(
            sections[0]
                .starts_with("concurrency,request_throughput_avg_mean,request_throughput_avg_std,")
        );
        assert!(sections[0].contains("\n10,100.00,,,,"), "{csv}");
        assert_eq!(
            sections[1],
            "Best Configurations\nConfiguration,concurrency,Metric,Unit\nBest Throughput,30,190.00,u\nBest Latency P99,10,120.00,u"
        );
        assert_eq!(
            sections[2],
            "Pareto Optimal Points\nconcurrency\n10\n20\n30"
        );
        assert!(sections[3].starts_with("Metadata\nField,Value\nAggregation Type,sweep\nSweep Parameters,concurrency\nNumber of Combinations,3\nNumber of Profile Runs,4\nNumber of Successful Runs,3"));
    }
}
