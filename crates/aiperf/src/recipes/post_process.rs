//! Post-processing of a finished sweep aggregate into the recipes' answer files:
//! `degradation_knee.json`, `prefill_curve.json`, `decode_itl_surface.json`,
//! `pareto_sweep.json` and `sla_breach.json`. Each handler is a pure function of the
//! `profile_export_aiperf_sweep.json` document.

use crate::export::json_number as finite;
use crate::settings::{PostProcessSpec, SlaFilter};
use aiperf_stats::fit::polyfit;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// r² below which a linear TTFT(ISL) fit is replaced by a better quadratic one and flagged.
pub const R_SQUARED_FLOOR: f64 = 0.85;

/// Why a handler could not produce its file (written to `post_process_errors.json`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct PostProcessError(pub String);

fn err<T>(message: impl Into<String>) -> Result<T, PostProcessError> {
    Err(PostProcessError(message.into()))
}

/// The value of `<tag>_<stat>` in a cell (its mean across trials).
fn metric(cell: &Value, tag: &str, stat: &str) -> Option<f64> {
    let m = &cell["metrics"];
    m.get(format!("{tag}_{stat}"))
        .and_then(|b| b.get("mean"))
        .and_then(Value::as_f64)
}

/// A parameter of a cell by its name (`concurrency`) or a dotted path ending in it.
fn param(cell: &Value, name: &str) -> Option<f64> {
    let leaf = name.rsplit('.').next().unwrap_or(name);
    let p = &cell["parameters"];
    p.get(name).or_else(|| p.get(leaf)).and_then(Value::as_f64)
}

fn leaf(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

fn cells(doc: &Value) -> &[Value] {
    doc["per_combination_metrics"]
        .as_array()
        .map_or(&[], Vec::as_slice)
}

/// (x, y) points of `tag`/`stat` along `param`, sorted by x.
fn points(
    doc: &Value,
    param_name: &str,
    tag: &str,
    stat: &str,
) -> Result<Vec<(f64, f64)>, PostProcessError> {
    let mut pts: Vec<(f64, f64)> = cells(doc)
        .iter()
        .filter_map(|c| Some((param(c, param_name)?, metric(c, tag, stat)?)))
        .collect();
    if pts.is_empty() {
        return err(format!(
            "no sweep cell has both parameter {param_name:?} and metric {tag}_{stat}"
        ));
    }
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(pts)
}

/// Parameters of the degradation-knee handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KneeParams {
    pub param: String,
    pub metric: String,
    pub stat: String,
    /// Relative increase over the baseline that counts as degraded (0.5 = +50 %).
    pub threshold_pct: f64,
}

/// The first swept value whose metric exceeds the lowest value's by more than the threshold.
pub fn degradation_knee(doc: &Value, p: &KneeParams) -> Result<Value, PostProcessError> {
    let pts = points(doc, &p.param, &p.metric, &p.stat)?;
    let l = leaf(&p.param);
    let (bx, by) = pts[0];
    let knee = pts[1..]
        .iter()
        .find(|(_, y)| *y > by * (1.0 + p.threshold_pct));
    let mut o = Map::new();
    o.insert(format!("baseline_{l}"), json!(bx));
    o.insert(format!("baseline_{}", p.stat), finite(by));
    o.insert(
        format!("knee_{l}"),
        knee.map_or(Value::Null, |k| json!(k.0)),
    );
    o.insert(
        format!("knee_{}", p.stat),
        knee.map_or(Value::Null, |k| finite(k.1)),
    );
    o.insert("threshold_pct".into(), json!(p.threshold_pct));
    o.insert("swept_metric".into(), json!(p.metric));
    o.insert("stat".into(), json!(p.stat));
    o.insert("swept_param".into(), json!(p.param));
    o.insert(
        "all_points".into(),
        pts.iter()
            .map(|(x, y)| json!({l: x, p.stat.as_str(): finite(*y)}))
            .collect(),
    );
    Ok(Value::Object(o))
}

/// Parameters of the curve handlers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurveParams {
    pub param: String,
    pub metric: String,
    pub stat: String,
}

/// TTFT as a function of ISL: a linear fit, or a quadratic one when the line explains less
/// than [`R_SQUARED_FLOOR`] and the quadratic does better.
pub fn prefill_curve(doc: &Value, p: &CurveParams) -> Result<Value, PostProcessError> {
    let pts = points(doc, &p.param, &p.metric, &p.stat)?;
    let (xs, ys): (Vec<f64>, Vec<f64>) = pts.iter().copied().unzip();
    let Some(linear) = polyfit(&xs, &ys, 1) else {
        return err(format!(
            "a curve needs at least two distinct {} values, got {}",
            p.param,
            xs.len()
        ));
    };
    let (form, fit) = match polyfit(&xs, &ys, 2) {
        Some(q)
            if linear.r_squared < R_SQUARED_FLOOR
                && xs.len() >= 3
                && q.r_squared > linear.r_squared =>
        {
            ("quadratic", q)
        }
        _ => ("linear", linear),
    };
    let l = leaf(&p.param);
    Ok(json!({
        "fit_form": form,
        "coefficients": fit.coefficients.iter().map(|c| finite(*c)).collect::<Vec<_>>(),
        "r_squared": finite(fit.r_squared),
        "below_floor": fit.r_squared < R_SQUARED_FLOOR,
        "r_squared_floor": R_SQUARED_FLOOR,
        "raw_points": pts.iter().map(|(x, y)| json!({l: x, "ttft_ms": y})).collect::<Vec<_>>(),
        "swept_metric": p.metric,
        "stat": p.stat,
        "swept_param": p.param,
    }))
}

/// Parameters of the ITL surface handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurfaceParams {
    pub concurrency_param: String,
    pub osl_param: String,
    pub metric: String,
    pub stat: String,
}

/// ITL over the measured (concurrency, OSL) grid; unmeasured cells are `null`, nothing is
/// interpolated.
pub fn decode_itl_surface(doc: &Value, p: &SurfaceParams) -> Result<Value, PostProcessError> {
    let raw: Vec<(f64, f64, f64)> = cells(doc)
        .iter()
        .filter_map(|c| {
            Some((
                param(c, &p.concurrency_param)?,
                param(c, &p.osl_param)?,
                metric(c, &p.metric, &p.stat)?,
            ))
        })
        .collect();
    if raw.is_empty() {
        return err(format!(
            "no sweep cell has {}, {} and {}_{}",
            p.concurrency_param, p.osl_param, p.metric, p.stat
        ));
    }
    let axis = |f: fn(&(f64, f64, f64)) -> f64| {
        let mut v: Vec<f64> = raw.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    };
    let conc = axis(|r| r.0);
    let osl = axis(|r| r.1);
    let grid: Vec<Vec<Value>> = conc
        .iter()
        .map(|c| {
            osl.iter()
                .map(|o| {
                    raw.iter()
                        .find(|r| r.0 == *c && r.1 == *o)
                        .map_or(Value::Null, |r| finite(r.2))
                })
                .collect()
        })
        .collect();
    Ok(json!({
        "swept_metric": p.metric,
        "stat": p.stat,
        "swept_params": [p.concurrency_param, p.osl_param],
        "raw_points": raw.iter().map(|r| json!({"concurrency": r.0, "osl": r.1, "itl_ms": finite(r.2)})).collect::<Vec<_>>(),
        "surface": {"concurrency_axis": conc, "osl_axis": osl, "itl_grid": grid},
    }))
}

/// Parameters of the Pareto handler: x is minimized, y maximized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParetoParams {
    pub x_metric: String,
    pub x_stat: String,
    pub y_metric: String,
    pub y_stat: String,
}

/// Every cell with its (x, y) and whether it is on the global frontier (no other cell has
/// `x ≤` and `y ≥` with one strict). Cells without finite values are kept, never optimal.
pub fn pareto_sweep(doc: &Value, p: &ParetoParams) -> Result<Value, PostProcessError> {
    let cs = cells(doc);
    if cs.is_empty() {
        return err("the sweep aggregate has no cells");
    }
    let xy: Vec<Option<(f64, f64)>> = cs
        .iter()
        .map(|c| {
            let x = metric(c, &p.x_metric, &p.x_stat)?;
            let y = metric(c, &p.y_metric, &p.y_stat)?;
            (x.is_finite() && y.is_finite()).then_some((x, y))
        })
        .collect();
    let out: Vec<Value> = cs
        .iter()
        .zip(&xy)
        .map(|(c, v)| {
            let optimal = v.is_some_and(|(x, y)| {
                !xy.iter()
                    .flatten()
                    .any(|&(ox, oy)| ox <= x && oy >= y && (ox < x || oy > y))
            });
            let mut o = c["parameters"].as_object().cloned().unwrap_or_default();
            o.insert("x".into(), v.map_or(Value::Null, |v| json!(v.0)));
            o.insert("y".into(), v.map_or(Value::Null, |v| json!(v.1)));
            o.insert("pareto_optimal".into(), json!(optimal));
            Value::Object(o)
        })
        .collect();
    Ok(json!({
        "x_metric": p.x_metric, "x_stat": p.x_stat, "y_metric": p.y_metric, "y_stat": p.y_stat,
        "cells": out,
    }))
}

impl SlaFilter {
    /// What an SLA breach records: the filter and the value it saw.
    fn breach(&self, observed: Option<f64>) -> Value {
        json!({"metric_tag": self.metric_tag, "stat": self.stat, "op": self.op,
               "threshold": self.threshold, "observed": observed.map_or(Value::Null, finite)})
    }
}

/// Parameters of the SLA-breach handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreachParams {
    pub param: String,
    pub filters: Vec<SlaFilter>,
}

/// Along the swept parameter: the highest value where every filter passes and the first that
/// breaches one. Cells at the same value (retries) must all pass.
pub fn sla_breach(doc: &Value, p: &BreachParams) -> Result<Value, PostProcessError> {
    let l = leaf(&p.param);
    let mut rows: Vec<(f64, Vec<Value>)> = Vec::new();
    for c in cells(doc) {
        let Some(x) = param(c, &p.param) else {
            continue;
        };
        let breaches: Vec<Value> = p
            .filters
            .iter()
            .filter_map(|f| {
                let v = metric(c, &f.metric_tag, &f.stat);
                (!f.passes(v)).then(|| f.breach(v))
            })
            .collect();
        match rows.iter_mut().find(|r| r.0 == x) {
            Some(r) => r.1.extend(breaches),
            None => rows.push((x, breaches)),
        }
    }
    if rows.is_empty() {
        return err(format!("no sweep cell has parameter {:?}", p.param));
    }
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let max_pass = rows.iter().rev().find(|r| r.1.is_empty()).map(|r| r.0);
    let first_fail = rows.iter().find(|r| !r.1.is_empty());
    let mut seen_fail = false;
    let mut monotone = true;
    for r in &rows {
        if r.1.is_empty() && seen_fail {
            monotone = false;
        }
        seen_fail |= !r.1.is_empty();
    }
    let mut o = Map::new();
    o.insert("swept_param".into(), json!(p.param));
    o.insert(
        format!("max_passing_{l}"),
        max_pass.map_or(Value::Null, |x| json!(x)),
    );
    o.insert(
        format!("first_failing_{l}"),
        first_fail.map_or(Value::Null, |r| json!(r.0)),
    );
    o.insert(
        "first_failing_breach".into(),
        first_fail.map_or(Value::Null, |r| r.1[0].clone()),
    );
    o.insert(
        "all_points".into(),
        rows.iter()
            .map(|(x, b)| json!({l: x, "feasible": b.is_empty(), "breaches": b}))
            .collect(),
    );
    o.insert("monotonicity_check".into(), json!(monotone));
    o.insert(
        "filters".into(),
        serde_json::to_value(&p.filters).unwrap_or_default(),
    );
    Ok(Value::Object(o))
}

/// Where a failed handler's error is written, next to the sweep aggregate.
pub const ERRORS_FILE: &str = "post_process_errors.json";

/// The handlers a recipe may name.
pub const HANDLERS: &[&str] = &[
    "degradation_knee",
    "prefill_curve",
    "decode_itl_surface",
    "pareto_sweep",
    "sla_breach",
];

/// A handler's parameters, typed.
fn params<T: serde::de::DeserializeOwned>(spec: &PostProcessSpec) -> Result<T, PostProcessError> {
    serde_json::from_value(spec.params.clone())
        .map_err(|e| PostProcessError(format!("parameters of handler {:?}: {e}", spec.handler)))
}

/// Checks a handler's parameters before anything runs, so a misspelled parameter or statistic
/// does not cost a whole sweep.
pub fn check(spec: &PostProcessSpec) -> Result<(), PostProcessError> {
    let stats: Vec<String> = match spec.handler.as_str() {
        "degradation_knee" => vec![params::<KneeParams>(spec)?.stat],
        "prefill_curve" => vec![params::<CurveParams>(spec)?.stat],
        "decode_itl_surface" => vec![params::<SurfaceParams>(spec)?.stat],
        "pareto_sweep" => {
            let p = params::<ParetoParams>(spec)?;
            vec![p.x_stat, p.y_stat]
        }
        "sla_breach" => {
            params::<BreachParams>(spec)?;
            Vec::new()
        }
        other => {
            return err(format!(
                "unknown post-process handler {other:?}; known: {}",
                HANDLERS.join(", ")
            ));
        }
    };
    let known = crate::metrics::STATS;
    match stats.iter().find(|s| !known.contains(&s.as_str())) {
        Some(bad) => err(format!(
            "handler {:?}: statistic {bad:?} is unknown; known: {}",
            spec.handler,
            known.join(", ")
        )),
        None => Ok(()),
    }
}

/// Runs the handler `spec` names on a sweep aggregate.
pub fn run(spec: &PostProcessSpec, doc: &Value) -> Result<Value, PostProcessError> {
    match spec.handler.as_str() {
        "degradation_knee" => degradation_knee(doc, &params(spec)?),
        "prefill_curve" => prefill_curve(doc, &params(spec)?),
        "decode_itl_surface" => decode_itl_surface(doc, &params(spec)?),
        "pareto_sweep" => pareto_sweep(doc, &params(spec)?),
        "sla_breach" => sla_breach(doc, &params(spec)?),
        other => err(format!(
            "unknown post-process handler {other:?}; known: {}",
            HANDLERS.join(", ")
        )),
    }
}

/// Runs `spec` and writes its file, or `post_process_errors.json` when it fails (the sweep
/// itself still counts as a success). Returns the path written.
pub fn run_and_write(
    spec: &PostProcessSpec,
    doc: &Value,
    dir: &std::path::Path,
) -> std::io::Result<std::path::PathBuf> {
    let (errors, output) = (dir.join(ERRORS_FILE), dir.join(&spec.output));
    let (path, stale, body) = match run(spec, doc) {
        Ok(v) => (output, errors, v),
        Err(e) => {
            tracing::warn!(
                "post-processing {:?} failed: {}; the sweep's results are complete, see {}",
                spec.handler,
                e.0,
                errors.display()
            );
            (
                errors,
                output,
                json!([{"handler": spec.handler, "output_filename": spec.output, "error": e.0, "type": "PostProcessError"}]),
            )
        }
    };
    let bytes = serde_json::to_vec_pretty(&body).map_err(std::io::Error::other)?;
    crate::export::write_atomic(&path, &bytes)?;
    // What an earlier run into this directory left would contradict this run's outcome.
    match std::fs::remove_file(&stale) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SlaOp;

    /// A sweep aggregate with one cell per `(parameters, metrics)` entry (metric means).
    fn doc(cells: &[(Value, &[(&str, f64)])]) -> Value {
        let cells: Vec<Value> = cells
            .iter()
            .map(|(params, metrics)| {
                let m: Map<String, Value> = metrics
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), json!({"mean": v, "unit": "ms"})))
                    .collect();
                json!({"parameters": params, "metrics": m})
            })
            .collect();
        json!({"aggregation_type": "sweep", "per_combination_metrics": cells})
    }

    #[test]
    fn knee_is_the_first_value_past_the_threshold() {
        let d = doc(&[
            (json!({"concurrency": 4}), &[("request_latency_p99", 130.0)]),
            (json!({"concurrency": 1}), &[("request_latency_p99", 100.0)]),
            (json!({"concurrency": 8}), &[("request_latency_p99", 160.0)]),
            (
                json!({"concurrency": 16}),
                &[("request_latency_p99", 400.0)],
            ),
        ]);
        let p = KneeParams {
            param: "concurrency".into(),
            metric: "request_latency".into(),
            stat: "p99".into(),
            threshold_pct: 0.5,
        };
        let k = degradation_knee(&d, &p).unwrap();
        assert_eq!(k["baseline_concurrency"], 1.0);
        assert_eq!(k["baseline_p99"], 100.0);
        assert_eq!(
            k["knee_concurrency"], 8.0,
            "160 > 150, the first past +50 %"
        );
        assert_eq!(k["knee_p99"], 160.0);
        assert_eq!(
            k["all_points"][0],
            json!({"concurrency": 1.0, "p99": 100.0})
        );
        let none = degradation_knee(
            &d,
            &KneeParams {
                threshold_pct: 5.0,
                ..p.clone()
            },
        )
        .unwrap();
        assert_eq!(none["knee_concurrency"], Value::Null);
        let missing = KneeParams {
            metric: "time_to_first_token".into(),
            ..p
        };
        assert!(
            degradation_knee(&d, &missing)
                .unwrap_err()
                .0
                .contains("time_to_first_token_p99")
        );
    }

    #[test]
    fn prefill_curve_fits_lines_and_falls_back_to_quadratics() {
        let p = CurveParams {
            param: "isl".into(),
            metric: "time_to_first_token".into(),
            stat: "avg".into(),
        };
        let line = doc(&[
            (
                json!({"isl": 256}),
                &[("time_to_first_token_avg", 0.0641 * 256.0 + 1.83)],
            ),
            (
                json!({"isl": 1024}),
                &[("time_to_first_token_avg", 0.0641 * 1024.0 + 1.83)],
            ),
            (
                json!({"isl": 4096}),
                &[("time_to_first_token_avg", 0.0641 * 4096.0 + 1.83)],
            ),
        ]);
        let c = prefill_curve(&line, &p).unwrap();
        assert_eq!(c["fit_form"], "linear");
        assert!((c["coefficients"][0].as_f64().unwrap() - 0.0641).abs() < 1e-9);
        assert!((c["coefficients"][1].as_f64().unwrap() - 1.83).abs() < 1e-6);
        assert_eq!(c["below_floor"], false);
        assert_eq!(c["raw_points"][0]["isl"], 256.0);
        // A parabola whose linear fit explains little: the quadratic wins.
        let xs = [-2.0, -1.0, 0.0, 1.0, 2.0];
        let cells: Vec<(Value, Vec<(&str, f64)>)> = xs
            .iter()
            .map(|x| (json!({"isl": x}), vec![("time_to_first_token_avg", x * x)]))
            .collect();
        let refs: Vec<(Value, &[(&str, f64)])> = cells
            .iter()
            .map(|(a, b)| (a.clone(), b.as_slice()))
            .collect();
        let q = prefill_curve(&doc(&refs), &p).unwrap();
        assert_eq!(q["fit_form"], "quadratic");
        assert!((q["r_squared"].as_f64().unwrap() - 1.0).abs() < 1e-9);
        let one = doc(&[(json!({"isl": 1}), &[("time_to_first_token_avg", 1.0)])]);
        assert!(prefill_curve(&one, &p).is_err());
    }

    #[test]
    fn surface_leaves_unmeasured_cells_null() {
        let d = doc(&[
            (
                json!({"concurrency": 1, "osl": 64}),
                &[("inter_token_latency_avg", 5.0)],
            ),
            (
                json!({"concurrency": 8, "osl": 64}),
                &[("inter_token_latency_avg", 7.0)],
            ),
            (
                json!({"concurrency": 1, "osl": 256}),
                &[("inter_token_latency_avg", 5.5)],
            ),
        ]);
        let p = SurfaceParams {
            concurrency_param: "concurrency".into(),
            osl_param: "osl".into(),
            metric: "inter_token_latency".into(),
            stat: "avg".into(),
        };
        let s = decode_itl_surface(&d, &p).unwrap();
        assert_eq!(s["surface"]["concurrency_axis"], json!([1.0, 8.0]));
        assert_eq!(s["surface"]["osl_axis"], json!([64.0, 256.0]));
        assert_eq!(s["surface"]["itl_grid"], json!([[5.0, 5.5], [7.0, null]]));
        assert_eq!(s["raw_points"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn pareto_cells_are_flagged_globally() {
        let d = doc(&[
            (
                json!({"isl": 128, "concurrency": 1}),
                &[
                    ("time_to_first_token_p95", 10.0),
                    ("output_token_throughput_avg", 50.0),
                ],
            ),
            (
                json!({"isl": 128, "concurrency": 4}),
                &[
                    ("time_to_first_token_p95", 12.0),
                    ("output_token_throughput_avg", 200.0),
                ],
            ),
            (
                json!({"isl": 512, "concurrency": 1}),
                &[
                    ("time_to_first_token_p95", 30.0),
                    ("output_token_throughput_avg", 45.0),
                ],
            ),
            (
                json!({"isl": 512, "concurrency": 4}),
                &[
                    ("time_to_first_token_p95", 12.0),
                    ("output_token_throughput_avg", 200.0),
                ],
            ),
            (
                json!({"isl": 2048, "concurrency": 1}),
                &[("output_token_throughput_avg", 999.0)],
            ),
        ]);
        let p = ParetoParams {
            x_metric: "time_to_first_token".into(),
            x_stat: "p95".into(),
            y_metric: "output_token_throughput".into(),
            y_stat: "avg".into(),
        };
        let r = pareto_sweep(&d, &p).unwrap();
        let flags: Vec<bool> = r["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["pareto_optimal"].as_bool().unwrap())
            .collect();
        assert_eq!(
            flags,
            [true, true, false, true, false],
            "ties both kept; missing x never optimal"
        );
        assert_eq!(r["cells"][0]["isl"], 128);
        assert_eq!(r["cells"][4]["x"], Value::Null);
    }

    #[test]
    fn sla_breach_finds_the_boundary_and_its_cause() {
        let ttft = |v: f64| v;
        let d = doc(&[
            (
                json!({"concurrency": 1}),
                &[("time_to_first_token_p95", ttft(50.0))],
            ),
            (
                json!({"concurrency": 2}),
                &[("time_to_first_token_p95", ttft(90.0))],
            ),
            (
                json!({"concurrency": 4}),
                &[("time_to_first_token_p95", ttft(150.0))],
            ),
            (
                json!({"concurrency": 8}),
                &[("time_to_first_token_p95", ttft(300.0))],
            ),
            (
                json!({"concurrency": 2}),
                &[("time_to_first_token_p95", ttft(120.0))],
            ),
        ]);
        let p = BreachParams {
            param: "phases.profiling.concurrency".into(),
            filters: vec![SlaFilter {
                metric_tag: "time_to_first_token".into(),
                stat: "p95".into(),
                op: SlaOp::Lt,
                threshold: 100.0,
            }],
        };
        let r = sla_breach(&d, &p).unwrap();
        assert_eq!(
            r["max_passing_concurrency"], 1.0,
            "a retry at 2 breached: all must pass"
        );
        assert_eq!(r["first_failing_concurrency"], 2.0);
        assert_eq!(r["first_failing_breach"]["observed"], 120.0);
        assert_eq!(r["first_failing_breach"]["op"], "lt");
        assert_eq!(r["monotonicity_check"], true);
        assert_eq!(r["all_points"].as_array().unwrap().len(), 4);
        let wobbly = doc(&[
            (
                json!({"concurrency": 1}),
                &[("time_to_first_token_p95", 150.0)],
            ),
            (
                json!({"concurrency": 2}),
                &[("time_to_first_token_p95", 50.0)],
            ),
        ]);
        let r = sla_breach(&wobbly, &p).unwrap();
        assert_eq!(r["monotonicity_check"], false);
        assert_eq!(r["max_passing_concurrency"], 2.0);
        let missing = doc(&[(json!({"concurrency": 1}), &[])]);
        let r = sla_breach(&missing, &p).unwrap();
        assert_eq!(
            r["first_failing_breach"]["observed"],
            Value::Null,
            "a missing metric breaches"
        );
    }
}
