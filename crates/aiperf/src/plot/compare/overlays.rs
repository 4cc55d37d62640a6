//! The overlay charts, a series per directory named by its label: latency distributions and
//! throughput over time of runs; the headline metrics against the swept parameter and the
//! throughput-latency points of sweeps.

use serde_json::Value;

use super::data::Dir;
use super::deltas::cell_name;
use crate::plot::chart::{Chart, Out, Series, Style};
use crate::plot::html::figure;

/// The percentile charts share the hover position.
const PERCENTILE_SYNC: &str = "compare_percentiles";

/// At most this many points of a percentile curve.
const CURVE_POINTS: usize = 1001;

/// Each sorted value at its percentile, thinned to [`CURVE_POINTS`].
fn percentile_curve(sorted: &[f64]) -> Vec<(f64, f64)> {
    let n = sorted.len();
    if n < 2 {
        return Vec::new();
    }
    let steps = n.min(CURVE_POINTS) - 1;
    (0..=steps)
        .map(|i| {
            let q = i as f64 / steps as f64;
            let idx = (q * (n - 1) as f64).round() as usize;
            (100.0 * q, sorted[idx])
        })
        .collect()
}

/// Completions per second in one-second bins.
fn completions_per_second(ends: &[f64]) -> Vec<(f64, f64)> {
    let Some(last) = ends.iter().copied().reduce(f64::max) else {
        return Vec::new();
    };
    let bins = (last.ceil() as usize).max(1);
    let mut counts = vec![0.0; bins];
    for e in ends {
        counts[(*e as usize).min(bins - 1)] += 1.0;
    }
    counts
        .iter()
        .enumerate()
        .map(|(i, c)| (i as f64 + 0.5, *c))
        .collect()
}

/// Runs and trials: request latency and TTFT by percentile (linked), completions over time.
pub(super) fn runs(dirs: &[&Dir], out: &Out) -> String {
    let mut html = String::new();
    for (tag, title, y_label, stem) in [
        (
            "request_latency",
            "Request latency by percentile",
            "request latency",
            "compare_request_latency_percentiles",
        ),
        (
            "time_to_first_token",
            "Time to first token by percentile",
            "time to first token",
            "compare_ttft_percentiles",
        ),
    ] {
        let series: Vec<Series> = dirs
            .iter()
            .map(|d| Series::line(&d.label, percentile_curve(d.requests.of(tag))))
            .filter(|s| !s.points.is_empty())
            .collect();
        let chart = Chart {
            title: title.into(),
            x_label: "percentile".into(),
            y_label: y_label.into(),
            x_unit: "%".into(),
            y_unit: "ms".into(),
            series,
            sync: PERCENTILE_SYNC.into(),
            ..Chart::default()
        };
        html.push_str(&figure(&chart, out, stem));
    }
    let series: Vec<Series> = dirs
        .iter()
        .map(|d| Series::line(&d.label, completions_per_second(&d.requests.ends)))
        .filter(|s| !s.points.is_empty())
        .collect();
    let chart = Chart {
        title: "Throughput over time".into(),
        x_label: "seconds since the first request".into(),
        y_label: "requests completed per second".into(),
        x_unit: "s".into(),
        y_unit: "requests/s".into(),
        series,
        ..Chart::default()
    };
    html.push_str(&figure(&chart, out, "compare_throughput_over_time"));
    html
}

/// x, y and the interval of y, if any.
type BandPoint = (f64, f64, Option<(f64, f64)>);

/// The cells of `d` by the values of its parameters other than `x`, in first-seen order.
fn groups<'a>(d: &'a Dir, x: &str) -> Vec<(String, Vec<&'a Value>)> {
    let mut groups: Vec<(String, Vec<&Value>)> = Vec::new();
    for c in d.cells() {
        if c["parameters"][x].is_null() {
            continue;
        }
        let rest = c["parameters"]
            .as_object()
            .map(|p| {
                p.iter()
                    .filter(|(k, _)| k.as_str() != x)
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        match groups.iter_mut().find(|g| g.0 == rest) {
            Some(g) => g.1.push(c),
            None => groups.push((rest, vec![c])),
        }
    }
    groups
}

/// A line of `key`'s means against `x`, banded when every point has an interval.
fn line(name: &str, cells: &[&Value], x: &str, key: &str) -> Series {
    let mut pts: Vec<BandPoint> = cells
        .iter()
        .filter_map(|c| {
            let b = &c["metrics"][key];
            Some((
                c["parameters"][x].as_f64()?,
                b["mean"].as_f64()?,
                b["ci_low"].as_f64().zip(b["ci_high"].as_f64()),
            ))
        })
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let band = (!pts.is_empty() && pts.iter().all(|p| p.2.is_some())).then(|| {
        pts.iter()
            .filter_map(|p| p.2.map(|(lo, hi)| (p.0, lo, hi)))
            .collect()
    });
    let mut s = Series::line(name, pts.iter().map(|p| (p.0, p.1)).collect());
    s.band = band;
    s
}

/// Sweeps and searches: the headline metrics against the first one's last swept parameter
/// (a line per directory, and per combination of its other parameters), and the throughput
/// and latency of every cell of every directory in one chart; notes on what was left out.
pub(super) fn sweeps(dirs: &[&Dir], out: &Out) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let Some(x) = dirs.first().and_then(|d| d.swept().pop()) else {
        return (String::new(), notes);
    };
    for d in dirs.iter().filter(|d| !d.swept().contains(&x)) {
        notes.push(format!(
            "{} does not sweep {x}: it is left out of the charts against {x}.",
            d.label
        ));
    }
    let all_cells = || dirs.iter().flat_map(|d| d.cells());
    let latency = if all_cells().all(|c| c["metrics"]["time_to_first_token_p99"].is_object()) {
        ("time_to_first_token_p99", "TTFT p99")
    } else {
        ("request_latency_p99", "Request latency p99")
    };
    let xs: Vec<f64> = all_cells()
        .filter_map(|c| c["parameters"][&x].as_f64())
        .collect();
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_x = lo > 0.0 && hi / lo >= 8.0;
    let mut html = String::new();
    for (key, title, unit) in [
        ("request_throughput_avg", "Request throughput", "requests/s"),
        (
            "output_token_throughput_avg",
            "Output token throughput",
            "tokens/s",
        ),
        (latency.0, latency.1, "ms"),
    ] {
        let series: Vec<Series> = dirs
            .iter()
            .flat_map(|d| {
                groups(d, &x).into_iter().map(|(group, cells)| {
                    let name = if group.is_empty() {
                        d.label.clone()
                    } else {
                        format!("{}, {group}", d.label)
                    };
                    line(&name, &cells, &x, key)
                })
            })
            .filter(|s| !s.points.is_empty())
            .collect();
        let chart = Chart {
            title: format!("{title} vs {x}"),
            x_label: x.clone(),
            y_label: title.into(),
            y_unit: unit.into(),
            series,
            log_x,
            ..Chart::default()
        };
        html.push_str(&figure(&chart, out, &format!("compare_sweep_{key}")));
    }
    html.push_str(&pareto(dirs, latency, out));
    (html, notes)
}

/// Throughput against latency, a series of labelled points per directory.
fn pareto(dirs: &[&Dir], latency: (&str, &str), out: &Out) -> String {
    let series: Vec<Series> = dirs
        .iter()
        .map(|d| {
            let (points, labels): (Vec<(f64, f64)>, Vec<String>) = d
                .cells()
                .iter()
                .filter_map(|c| {
                    let m = &c["metrics"];
                    Some((
                        (
                            m[latency.0]["mean"].as_f64()?,
                            m["request_throughput_avg"]["mean"].as_f64()?,
                        ),
                        cell_name(c),
                    ))
                })
                .unzip();
            Series::points(&d.label, points, Style::Points).labelled(labels)
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    let chart = Chart {
        title: "Throughput vs latency".into(),
        x_label: latency.1.into(),
        y_label: "request throughput".into(),
        x_unit: "ms".into(),
        y_unit: "requests/s".into(),
        series,
        ..Chart::default()
    };
    figure(&chart, out, "compare_pareto")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percentile_curve_spans_0_to_100_and_is_thinned() {
        let v: Vec<f64> = (0..5000).map(f64::from).collect();
        let c = percentile_curve(&v);
        assert_eq!(c.len(), CURVE_POINTS);
        assert_eq!(c[0], (0.0, 0.0));
        assert_eq!(c[CURVE_POINTS - 1], (100.0, 4999.0));
        assert_eq!(
            percentile_curve(&[1.0, 2.0]),
            vec![(0.0, 1.0), (100.0, 2.0)]
        );
        assert!(percentile_curve(&[1.0]).is_empty());
    }

    #[test]
    fn completions_fall_in_one_second_bins() {
        assert_eq!(
            completions_per_second(&[0.2, 0.7, 1.5]),
            vec![(0.5, 2.0), (1.5, 1.0)]
        );
    }
}
