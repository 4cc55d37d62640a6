//! Aggregates across runs: the confidence aggregate of repeated runs of one configuration
//! (`profile_export_aiperf_aggregate.{json,csv}`) and the sweep aggregate across cells
//! (`profile_export_aiperf_sweep.{json,csv}`: per-cell metrics, best configurations, Pareto
//! frontier, trends).

use crate::export::{csv_field, json_number as finite};
use crate::metrics::STATS;
use aiperf_stats::Confidence;
use aiperf_stats::sweep::{argmax, argmin, pareto_optimal, trend};
use serde_json::{Map, Value, json};

use crate::export::VERSION;
use crate::settings::{Param, SweepParam};
use crate::sweep::plan::Cell;

pub const AGGREGATE_JSON: &str = "profile_export_aiperf_aggregate.json";
pub const AGGREGATE_CSV: &str = "profile_export_aiperf_aggregate.csv";
pub const SWEEP_JSON: &str = "profile_export_aiperf_sweep.json";
pub const SWEEP_CSV: &str = "profile_export_aiperf_sweep.csv";

/// A run's metrics flattened to `<tag>_<stat>` → (value, unit), in file order.
pub type Flat = Vec<(String, f64, String)>;

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
pub fn confidence_metrics(runs: &[&Flat], level: f64) -> Vec<(String, Confidence, String)> {
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

/// The full statistics block of one aggregated key.
pub fn confidence_block(c: &Confidence, unit: &str) -> Value {
    json!({
        "mean": finite(c.mean),
        "std": finite(c.std),
        "min": finite(c.min),
        "max": finite(c.max),
        "cv": finite(c.cv),
        "se": finite(c.se),
        "ci_low": finite(c.ci_low),
        "ci_high": finite(c.ci_high),
        "t_critical": c.t_critical.map_or(Value::Null, finite),
        "unit": unit,
    })
}

/// A run that failed: its label, why, and (in sweeps) its parameters.
#[derive(Debug, Clone)]
pub struct FailedRun {
    pub label: String,
    pub error: String,
    pub parameters: Option<Map<String, Value>>,
}

impl FailedRun {
    fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("label".into(), json!(self.label));
        o.insert("error".into(), json!(self.error));
        if let Some(p) = &self.parameters {
            o.insert("parameters".into(), Value::Object(p.clone()));
        }
        Value::Object(o)
    }
}

/// `profile_export_aiperf_aggregate.json`.
pub fn confidence_json(
    runs: &[(String, &Flat)],
    failed: &[FailedRun],
    level: f64,
    extra: Map<String, Value>,
) -> Value {
    let flats: Vec<&Flat> = runs.iter().map(|(_, f)| *f).collect();
    let mut metadata = Map::new();
    metadata.insert("aggregation_type".into(), json!("confidence"));
    metadata.insert("num_profile_runs".into(), json!(runs.len() + failed.len()));
    metadata.insert("num_successful_runs".into(), json!(runs.len()));
    metadata.insert(
        "failed_runs".into(),
        Value::Array(failed.iter().map(FailedRun::to_json).collect()),
    );
    metadata.insert("confidence_level".into(), json!(level));
    metadata.insert(
        "run_labels".into(),
        json!(runs.iter().map(|(l, _)| l.clone()).collect::<Vec<_>>()),
    );
    if runs.len() == 1 {
        metadata.insert("single_run".into(), json!(true));
    }
    metadata.extend(extra);
    let metrics: Map<String, Value> = confidence_metrics(&flats, level)
        .into_iter()
        .map(|(k, c, unit)| (k, confidence_block(&c, &unit)))
        .collect();
    json!({
        "schema_version": "1.0",
        "aiperf_version": VERSION,
        "metadata": metadata,
        "metrics": metrics,
    })
}

fn num(v: &Value, decimals: usize) -> String {
    match v.as_f64() {
        Some(x) if x.is_finite() => format!("{x:.decimals$}"),
        Some(x) if x > 0.0 => "inf".into(),
        Some(_) => "-inf".into(),
        None => String::new(),
    }
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
pub fn confidence_csv(doc: &Value) -> String {
    let mut out = String::from("metric,mean,std,min,max,cv,se,ci_low,ci_high,t_critical,unit\n");
    if let Some(metrics) = doc["metrics"].as_object() {
        for (key, b) in metrics {
            let row = [
                csv_field(key),
                num(&b["mean"], 2),
                num(&b["std"], 2),
                num(&b["min"], 2),
                num(&b["max"], 2),
                num(&b["cv"], 4),
                num(&b["se"], 4),
                num(&b["ci_low"], 2),
                num(&b["ci_high"], 2),
                num(&b["t_critical"], 4),
                csv_field(b["unit"].as_str().unwrap_or("")),
            ];
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    out.push('\n');
    let m = &doc["metadata"];
    out.push_str(&format!(
        "Aggregation Type,{}\n",
        plain(&m["aggregation_type"])
    ));
    out.push_str(&format!("Total Runs,{}\n", plain(&m["num_profile_runs"])));
    out.push_str(&format!(
        "Successful Runs,{}\n",
        plain(&m["num_successful_runs"])
    ));
    if let Some(obj) = m.as_object() {
        for (k, v) in obj {
            if matches!(
                k.as_str(),
                "aggregation_type" | "num_profile_runs" | "num_successful_runs"
            ) {
                continue;
            }
            out.push_str(&format!("{},{}\n", title(k), csv_field(&plain(v))));
        }
    }
    out
}

/// One cell's results for the sweep aggregate.
#[derive(Debug)]
pub struct CellResult<'a> {
    pub cell: &'a Cell,
    /// `<tag>_<stat>` → canonical block (`mean` and `unit` at least).
    pub metrics: Map<String, Value>,
}

impl CellResult<'_> {
    pub fn mean(&self, key: &str) -> Option<f64> {
        self.metrics.get(key)?.get("mean")?.as_f64()
    }

    fn unit(&self, key: &str) -> Option<&str> {
        self.metrics.get(key)?.get("unit")?.as_str()
    }
}

/// A cell's canonical metrics: with several trials, the confidence block of every key; with
/// one, `mean` and `unit`. The alias `ttft_p99_ms` repeats `time_to_first_token_p99`.
pub fn cell_metrics(runs: &[&Flat], trials: u32, level: f64) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, c, unit) in confidence_metrics(runs, level) {
        let block = if trials > 1 {
            confidence_block(&c, &unit)
        } else {
            json!({"mean": finite(c.mean), "unit": unit})
        };
        out.insert(key, block);
    }
    if let Some(b) = out.get("time_to_first_token_p99").cloned() {
        out.insert("ttft_p99_ms".into(), b);
    }
    out
}

/// The latency key used for "best latency" and the Pareto frontier: TTFT p99 when every cell
/// has it (streaming), else request latency p99.
fn latency_key(cells: &[CellResult<'_>]) -> Option<&'static str> {
    ["time_to_first_token_p99", "request_latency_p99"]
        .into_iter()
        .find(|k| !cells.is_empty() && cells.iter().all(|c| c.mean(k).is_some()))
}

const THROUGHPUT: &str = "request_throughput_avg";

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

/// `profile_export_aiperf_sweep.json`.
pub fn sweep_json(s: &SweepSummary<'_>) -> Value {
    let (best_tp, best_lat, pareto, lat_key) = analyze(&s.cells);
    let sweep_parameters: Vec<Value> = s
        .params
        .iter()
        .map(|p| {
            let mut seen: Vec<f64> = Vec::new();
            for v in &p.values {
                if !seen.contains(v) {
                    seen.push(*v);
                }
            }
            json!({"name": p.param.name(), "values": seen.iter().map(|v| p.param.json(*v)).collect::<Vec<_>>()})
        })
        .collect();
    let metadata = json!({
        "sweep_parameters": sweep_parameters,
        "num_combinations": s.num_combinations,
        "sweep_mode": s.mode,
        "confidence_level": s.confidence_level,
        "num_trials_per_value": s.trials,
        "aggregation_type": "sweep",
    });
    let per_combination: Vec<Value> = s
        .cells
        .iter()
        .map(|c| json!({"parameters": c.cell.parameters(), "metrics": c.metrics}))
        .collect();
    let mut best = Map::new();
    if let Some(i) = best_tp {
        let c = &s.cells[i];
        best.insert(
            "best_throughput".into(),
            json!({"parameters": c.cell.parameters(), "metric": c.mean(THROUGHPUT), "unit": c.unit(THROUGHPUT).unwrap_or("requests/sec")}),
        );
    }
    if let (Some(i), Some(key)) = (best_lat, lat_key) {
        let c = &s.cells[i];
        best.insert(
            "best_latency_p99".into(),
            json!({"parameters": c.cell.parameters(), "metric": c.mean(key), "unit": c.unit(key).unwrap_or("ms")}),
        );
    }
    let pareto_json: Vec<Value> = pareto
        .iter()
        .map(|&i| Value::Object(s.cells[i].cell.parameters()))
        .collect();
    let mut doc = Map::new();
    doc.insert("aggregation_type".into(), json!("sweep"));
    doc.insert("num_profile_runs".into(), json!(s.num_runs));
    doc.insert("num_successful_runs".into(), json!(s.num_successful_runs));
    doc.insert(
        "failed_runs".into(),
        Value::Array(s.failed.iter().map(FailedRun::to_json).collect()),
    );
    doc.insert("metadata".into(), metadata);
    doc.insert(
        "per_combination_metrics".into(),
        Value::Array(per_combination),
    );
    doc.insert("best_configurations".into(), Value::Object(best));
    doc.insert("pareto_optimal".into(), Value::Array(pareto_json));
    if s.params.len() == 1 && s.cells.len() >= 2 {
        doc.insert(
            "trends".into(),
            trends(&s.cells, s.params[0].param, lat_key),
        );
    }
    Value::Object(doc)
}

/// Rate of change and inflection points (as parameter values) of throughput and latency
/// along the single swept parameter.
fn trends(cells: &[CellResult<'_>], param: Param, lat_key: Option<&'static str>) -> Value {
    let mut order: Vec<&CellResult<'_>> = cells.iter().collect();
    order.sort_by(|a, b| a.cell.values[0].1.total_cmp(&b.cell.values[0].1));
    let mut out = Map::new();
    let mut keys = vec![THROUGHPUT];
    keys.extend(lat_key);
    for key in keys {
        let values: Option<Vec<f64>> = order.iter().map(|c| c.mean(key)).collect();
        let Some(values) = values else { continue };
        let xs: Vec<f64> = order.iter().map(|c| c.cell.values[0].1).collect();
        let t = trend(&xs, &values);
        let block = json!({
            "rate_of_change": t.rate_of_change,
            "inflection_points": t.inflection_points.iter().map(|&i| param.json(order[i].cell.values[0].1)).collect::<Vec<_>>(),
        });
        if key == "time_to_first_token_p99" {
            out.insert("ttft_p99_ms".into(), block.clone());
        }
        out.insert(key.into(), block);
    }
    Value::Object(out)
}

/// `profile_export_aiperf_sweep.csv`: per-combination table, best configurations, Pareto
/// points, metadata.
pub fn sweep_csv(doc: &Value, params: &[SweepParam]) -> String {
    let names: Vec<&str> = params.iter().map(|p| p.param.name()).collect();
    let cells = doc["per_combination_metrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut keys: Vec<String> = cells
        .first()
        .and_then(|c| c["metrics"].as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    let mut header: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    for k in &keys {
        for s in ["mean", "std", "min", "max", "cv"] {
            header.push(format!("{k}_{s}"));
        }
    }
    let mut out = header.join(",") + "\n";
    let param_cells = |p: &Value| -> Vec<String> { names.iter().map(|n| plain(&p[*n])).collect() };
    for c in &cells {
        let mut row = param_cells(&c["parameters"]);
        for k in &keys {
            let b = &c["metrics"][k];
            for (s, d) in [("mean", 2), ("std", 2), ("min", 2), ("max", 2), ("cv", 4)] {
                row.push(num(&b[s], d));
            }
        }
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out.push_str("\nBest Configurations\n");
    out.push_str(&format!("Configuration,{},Metric,Unit\n", names.join(",")));
    for (key, label) in [
        ("best_throughput", "Best Throughput"),
        ("best_latency_p99", "Best Latency P99"),
    ] {
        let b = &doc["best_configurations"][key];
        if b.is_object() {
            let mut row = vec![label.to_owned()];
            row.extend(param_cells(&b["parameters"]));
            row.push(num(&b["metric"], 2));
            row.push(plain(&b["unit"]));
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    out.push_str("\nPareto Optimal Points\n");
    out.push_str(&names.join(","));
    out.push('\n');
    let pareto = doc["pareto_optimal"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if pareto.is_empty() {
        out.push_str("None\n");
    }
    for p in &pareto {
        out.push_str(&param_cells(p).join(","));
        out.push('\n');
    }
    out.push_str("\nMetadata\nField,Value\nAggregation Type,sweep\n");
    out.push_str(&format!(
        "Sweep Parameters,{}\n",
        csv_field(&names.join(","))
    ));
    out.push_str(&format!(
        "Number of Combinations,{}\n",
        plain(&doc["metadata"]["num_combinations"])
    ));
    out.push_str(&format!(
        "Number of Profile Runs,{}\n",
        plain(&doc["num_profile_runs"])
    ));
    out.push_str(&format!(
        "Number of Successful Runs,{}\n",
        plain(&doc["num_successful_runs"])
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let doc = confidence_json(
            &[
                ("run_0001".into(), &a),
                ("run_0002".into(), &b),
                ("run_0003".into(), &c),
            ],
            &[FailedRun {
                label: "run_0004".into(),
                error: "boom".into(),
                parameters: None,
            }],
            0.95,
            Map::new(),
        );
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
        let csv = confidence_csv(&doc);
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
        let doc = sweep_json(&summary);
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
        let csv = sweep_csv(&doc, &params);
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
