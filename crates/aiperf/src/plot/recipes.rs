//! The recipes' sections: one per answer file a recipe's post-processing wrote next to the
//! sweep aggregate (prefill curve, decode surface, degradation knee, SLA breach).

use std::path::Path;

use serde_json::Value;

use super::chart::{Chart, Heatmap, Out, Series, Style};
use super::html::{Report, figure, heatmap_figure, table};
use super::read_json;

/// The recipes' answer files.
pub(super) fn recipes(dir: &Path, out: &Out, report: &mut Report) {
    if let Some(c) = read_json(&dir.join("prefill_curve.json")) {
        prefill_curve(&c, out, report);
    }
    if let Some(s) = read_json(&dir.join("decode_itl_surface.json")) {
        decode_surface(&s, out, report);
    }
    if let Some(k) = read_json(&dir.join("degradation_knee.json")) {
        degradation_knee(&k, out, report);
    }
    if let Some(b) = read_json(&dir.join("sla_breach.json")) {
        let rows: Vec<Vec<String>> = b["all_points"]
            .as_array()
            .map(|a| a.iter().map(|p| vec![p.to_string()]).collect())
            .unwrap_or_default();
        report.add("SLA breach", table(&["point"], &rows));
    }
}

/// TTFT against input length as measured, with the fitted polynomial and its equation.
fn prefill_curve(c: &Value, out: &Out, report: &mut Report) {
    let pts: Vec<(f64, f64)> = c["raw_points"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| Some((p["isl"].as_f64()?, p["ttft_ms"].as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    let coeffs: Vec<f64> = c["coefficients"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    // The fit over the measured range, highest power first (Horner).
    let eval = |x: f64| coeffs.iter().fold(0.0, |acc, k| acc * x + k);
    let (lo, hi) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        });
    let fit: Vec<(f64, f64)> = (0..=50)
        .map(|i| lo + (hi - lo) * f64::from(i) / 50.0)
        .map(|x| (x, eval(x)))
        .collect();
    let equation = match coeffs.as_slice() {
        [a, b] => format!("TTFT = {a:.4}·ISL + {b:.2}"),
        [a, b, c0] => format!("TTFT = {a:.3e}·ISL² + {b:.4}·ISL + {c0:.2}"),
        _ => String::new(),
    };
    let chart = Chart {
        title: format!(
            "{equation}  (r² = {:.3})",
            c["r_squared"].as_f64().unwrap_or(f64::NAN)
        ),
        x_label: "input sequence length (tokens)".into(),
        y_label: "TTFT (ms)".into(),
        series: vec![
            Series::line(
                &format!("{} fit", c["fit_form"].as_str().unwrap_or("")),
                fit,
            ),
            Series::points("measured", pts, Style::Highlight),
        ],
        ..Chart::default()
    };
    report.add("Prefill: TTFT(ISL)", figure(&chart, out, "prefill_curve"));
}

/// Inter-token latency over concurrency × output length as a heat map.
fn decode_surface(s: &Value, out: &Out, report: &mut Report) {
    let axis = |k: &str| -> Vec<f64> {
        s["surface"][k]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let grid: Vec<Vec<Option<f64>>> = s["surface"]["itl_grid"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    r.as_array()
                        .map(|c| c.iter().map(Value::as_f64).collect())
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default();
    let map = Heatmap {
        title: "Inter-token latency (ms)".into(),
        x_label: "concurrency".into(),
        y_label: "output length".into(),
        x_axis: axis("concurrency_axis"),
        y_axis: axis("osl_axis"),
        grid,
    };
    let html = heatmap_figure(&map, out, "decode_itl_surface");
    if !html.is_empty() {
        report.add("Decode: ITL(concurrency, OSL)", html);
    }
}

/// The swept latency statistic against the swept parameter, with the knee and the
/// threshold above the baseline that defines it.
fn degradation_knee(k: &Value, out: &Out, report: &mut Report) {
    let stat = k["stat"].as_str().unwrap_or("p99").to_owned();
    let param = k["swept_param"]
        .as_str()
        .unwrap_or("concurrency")
        .to_owned();
    let pts: Vec<(f64, f64)> = k["all_points"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| Some((p[&param].as_f64()?, p[&stat].as_f64()?)))
                .collect()
        })
        .unwrap_or_default();
    let mut chart = Chart {
        title: format!(
            "{} {stat} vs {param}",
            k["swept_metric"].as_str().unwrap_or("")
        ),
        x_label: param.clone(),
        y_label: "ms".into(),
        series: vec![Series::line("", pts)],
        log_x: true,
        ..Chart::default()
    };
    if let Some(x) = k[format!("knee_{param}")].as_f64() {
        chart.vlines.push((x, format!("knee at {x}")));
    }
    if let Some(b) = k[format!("baseline_{stat}")].as_f64() {
        let t = k["threshold_pct"].as_f64().unwrap_or(0.0);
        chart
            .hlines
            .push((b * (1.0 + t), format!("baseline +{:.0} %", t * 100.0)));
    }
    report.add("Degradation knee", figure(&chart, out, "degradation_knee"));
}
