//! Post-processing of a finished sweep aggregate into the recipes' answer files:
//! `degradation_knee.json`, `prefill_curve.json`, `decode_itl_surface.json`,
//! `pareto_sweep.json` and `sla_breach.json`. Each handler is a pure function of the
//! `profile_export_aiperf_sweep.json` document.

use super::documents::{
    Answer, Breach, BreachPoint, Curve, CurvePoint, HandlerFailure, Keyed, Knee, KneePoint, Pareto,
    ParetoCell, SlaBreach, Surface, SurfaceGrid, SurfacePoint,
};
use crate::settings::{PostProcessSpec, SlaFilter};
use aiperf_stats::fit::polyfit;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
pub fn degradation_knee<'a>(doc: &Value, p: &'a KneeParams) -> Result<Knee<'a>, PostProcessError> {
    let pts = points(doc, &p.param, &p.metric, &p.stat)?;
    let l = leaf(&p.param);
    let (bx, by) = pts[0];
    let knee = pts[1..]
        .iter()
        .find(|(_, y)| *y > by * (1.0 + p.threshold_pct));
    Ok(Knee {
        baseline_value: Keyed::prefixed("baseline", l, bx),
        baseline_metric: Keyed::prefixed("baseline", &p.stat, by),
        knee_value: Keyed::prefixed("knee", l, knee.map(|k| k.0)),
        knee_metric: Keyed::prefixed("knee", &p.stat, knee.map(|k| k.1)),
        threshold_pct: p.threshold_pct,
        swept_metric: &p.metric,
        stat: &p.stat,
        swept_param: &p.param,
        all_points: pts
            .iter()
            .map(|&(x, y)| KneePoint {
                value: Keyed { key: l, value: x },
                metric: Keyed {
                    key: &p.stat,
                    value: y,
                },
            })
            .collect(),
    })
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
pub fn prefill_curve<'a>(doc: &Value, p: &'a CurveParams) -> Result<Curve<'a>, PostProcessError> {
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
    Ok(Curve {
        fit_form: form,
        below_floor: fit.r_squared < R_SQUARED_FLOOR,
        coefficients: fit.coefficients,
        r_squared: fit.r_squared,
        r_squared_floor: R_SQUARED_FLOOR,
        raw_points: pts
            .iter()
            .map(|&(x, y)| CurvePoint {
                value: Keyed { key: l, value: x },
                ttft_ms: y,
            })
            .collect(),
        swept_metric: &p.metric,
        stat: &p.stat,
        swept_param: &p.param,
    })
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
pub fn decode_itl_surface<'a>(
    doc: &Value,
    p: &'a SurfaceParams,
) -> Result<Surface<'a>, PostProcessError> {
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
    let itl_grid: Vec<Vec<Option<f64>>> = conc
        .iter()
        .map(|c| {
            osl.iter()
                .map(|o| raw.iter().find(|r| r.0 == *c && r.1 == *o).map(|r| r.2))
                .collect()
        })
        .collect();
    Ok(Surface {
        swept_metric: &p.metric,
        stat: &p.stat,
        swept_params: [&p.concurrency_param, &p.osl_param],
        raw_points: raw
            .iter()
            .map(|&(concurrency, osl, itl_ms)| SurfacePoint {
                concurrency,
                osl,
                itl_ms,
            })
            .collect(),
        surface: SurfaceGrid {
            concurrency_axis: conc,
            osl_axis: osl,
            itl_grid,
        },
    })
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
pub fn pareto_sweep<'a>(
    doc: &'a Value,
    p: &'a ParetoParams,
) -> Result<Pareto<'a>, PostProcessError> {
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
    let cells = cs
        .iter()
        .zip(&xy)
        .map(|(c, v)| ParetoCell {
            parameters: c["parameters"].as_object(),
            x: v.map(|v| v.0),
            y: v.map(|v| v.1),
            pareto_optimal: v.is_some_and(|(x, y)| {
                !xy.iter()
                    .flatten()
                    .any(|&(ox, oy)| ox <= x && oy >= y && (ox < x || oy > y))
            }),
        })
        .collect();
    Ok(Pareto {
        x_metric: &p.x_metric,
        x_stat: &p.x_stat,
        y_metric: &p.y_metric,
        y_stat: &p.y_stat,
        cells,
    })
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
pub fn sla_breach<'a>(doc: &Value, p: &'a BreachParams) -> Result<Breach<'a>, PostProcessError> {
    let l = leaf(&p.param);
    let mut rows: Vec<(f64, Vec<SlaBreach<'a>>)> = Vec::new();
    for c in cells(doc) {
        let Some(x) = param(c, &p.param) else {
            continue;
        };
        let breaches: Vec<SlaBreach<'a>> = p
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
    Ok(Breach {
        swept_param: &p.param,
        max_passing: Keyed::prefixed("max_passing", l, max_pass),
        first_failing: Keyed::prefixed("first_failing", l, first_fail.map(|r| r.0)),
        first_failing_breach: first_fail.map(|r| r.1[0]),
        all_points: rows
            .into_iter()
            .map(|(x, breaches)| BreachPoint {
                value: Keyed { key: l, value: x },
                feasible: breaches.is_empty(),
                breaches,
            })
            .collect(),
        monotonicity_check: monotone,
        filters: &p.filters,
    })
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

/// The handler a spec names, with its parameters.
enum Handler {
    DegradationKnee(KneeParams),
    PrefillCurve(CurveParams),
    DecodeItlSurface(SurfaceParams),
    ParetoSweep(ParetoParams),
    SlaBreach(BreachParams),
}

impl Handler {
    fn parse(spec: &PostProcessSpec) -> Result<Self, PostProcessError> {
        Ok(match spec.handler.as_str() {
            "degradation_knee" => Self::DegradationKnee(params(spec)?),
            "prefill_curve" => Self::PrefillCurve(params(spec)?),
            "decode_itl_surface" => Self::DecodeItlSurface(params(spec)?),
            "pareto_sweep" => Self::ParetoSweep(params(spec)?),
            "sla_breach" => Self::SlaBreach(params(spec)?),
            other => {
                return err(format!(
                    "unknown post-process handler {other:?}; known: {}",
                    HANDLERS.join(", ")
                ));
            }
        })
    }

    /// The statistics the parameters name.
    fn stats(&self) -> Vec<&str> {
        match self {
            Self::DegradationKnee(p) => vec![&p.stat],
            Self::PrefillCurve(p) => vec![&p.stat],
            Self::DecodeItlSurface(p) => vec![&p.stat],
            Self::ParetoSweep(p) => vec![&p.x_stat, &p.y_stat],
            Self::SlaBreach(_) => Vec::new(),
        }
    }

    /// The answer to a sweep aggregate.
    fn run<'a>(&'a self, doc: &'a Value) -> Result<Answer<'a>, PostProcessError> {
        Ok(match self {
            Self::DegradationKnee(p) => Answer::Knee(degradation_knee(doc, p)?),
            Self::PrefillCurve(p) => Answer::Curve(prefill_curve(doc, p)?),
            Self::DecodeItlSurface(p) => Answer::Surface(decode_itl_surface(doc, p)?),
            Self::ParetoSweep(p) => Answer::Pareto(pareto_sweep(doc, p)?),
            Self::SlaBreach(p) => Answer::Breach(sla_breach(doc, p)?),
        })
    }
}

/// Checks a handler's parameters before anything runs, so a misspelled parameter or statistic
/// does not cost a whole sweep.
pub fn check(spec: &PostProcessSpec) -> Result<(), PostProcessError> {
    let handler = Handler::parse(spec)?;
    let known = crate::metrics::STATS;
    match handler.stats().into_iter().find(|s| !known.contains(s)) {
        Some(bad) => err(format!(
            "handler {:?}: statistic {bad:?} is unknown; known: {}",
            spec.handler,
            known.join(", ")
        )),
        None => Ok(()),
    }
}

/// Runs `spec` on a sweep aggregate and writes its file, or `post_process_errors.json` when it
/// fails (the sweep itself still counts as a success). Returns the path written.
pub fn run_and_write(
    spec: &PostProcessSpec,
    doc: &Value,
    dir: &std::path::Path,
) -> std::io::Result<std::path::PathBuf> {
    let (errors, output) = (dir.join(ERRORS_FILE), dir.join(&spec.output));
    let handler = Handler::parse(spec);
    let answer = handler
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|h| h.run(doc));
    let (path, stale, body) = match answer {
        Ok(answer) => (output, errors, serde_json::to_vec_pretty(&answer)),
        Err(e) => {
            tracing::warn!(
                "post-processing {:?} failed: {}; the sweep's results are complete, see {}",
                spec.handler,
                e.0,
                errors.display()
            );
            let failure = HandlerFailure {
                handler: &spec.handler,
                output_filename: &spec.output,
                error: &e.0,
                kind: "PostProcessError",
            };
            (errors, output, serde_json::to_vec_pretty(&[failure]))
        }
    };
    let bytes = body.map_err(std::io::Error::other)?;
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
    use serde_json::{Map, json};

    /// An answer as its file reads.
    fn answer<T: Serialize>(a: Result<T, PostProcessError>) -> Value {
        serde_json::to_value(a.unwrap()).unwrap()
    }

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
        let k = answer(degradation_knee(&d, &p));
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
        let none = answer(degradation_knee(
            &d,
            &KneeParams {
                threshold_pct: 5.0,
                ..p.clone()
            },
        ));
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
        let c = answer(prefill_curve(&line, &p));
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
        let q = answer(prefill_curve(&doc(&refs), &p));
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
        let s = answer(decode_itl_surface(&d, &p));
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
        let r = answer(pareto_sweep(&d, &p));
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
        let r = answer(sla_breach(&d, &p));
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
        let r = answer(sla_breach(&wobbly, &p));
        assert_eq!(r["monotonicity_check"], false);
        assert_eq!(r["max_passing_concurrency"], 2.0);
        let missing = doc(&[(json!({"concurrency": 1}), &[])]);
        let r = answer(sla_breach(&missing, &p));
        assert_eq!(
            r["first_failing_breach"]["observed"],
            Value::Null,
            "a missing metric breaches"
        );
    }
}
