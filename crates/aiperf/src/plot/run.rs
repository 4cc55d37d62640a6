//! The single-run section: the summary table, what the server and GPUs reported, and charts
//! of the per-request records over the run.

use std::path::Path;

use serde_json::Value;

use super::chart::{Chart, Out, Series, Style};
use super::html::{Report, figure, human, num, table};
use super::read_json;

/// The summary metrics tabled for a run, in table order.
const SUMMARY_METRICS: [&str; 9] = [
    "time_to_first_token",
    "inter_token_latency",
    "request_latency",
    "output_sequence_length",
    "input_sequence_length",
    "request_throughput",
    "output_token_throughput",
    "request_count",
    "error_request_count",
];

/// The per-request latencies charted over time: (metric, chart title).
const OVER_TIME: [(&str, &str); 3] = [
    ("time_to_first_token", "Time to first token over time"),
    ("inter_token_latency", "Inter-token latency over time"),
    ("request_latency", "Request latency over time"),
];

/// A single run: summary table and per-request charts from the JSONL.
pub(super) fn single_run(dir: &Path, out: &Out, report: &mut Report) {
    let names = crate::export::ExportNames::in_dir(dir);
    let Some(summary) = read_json(&dir.join(names.summary_json())) else {
        return;
    };
    headline(&summary, report);
    // The charts first (the header already holds the headline figures), then the tables.
    let mut html = String::new();
    let records = read_jsonl(&dir.join(names.records_jsonl()));
    if !records.is_empty() {
        // Every chart's time axis starts at the first request.
        let t0 = records
            .iter()
            .filter_map(|r| r["metadata"]["request_start_ns"].as_u64())
            .min()
            .unwrap_or(0);
        html.push_str(&latencies_over_time(&records, t0, out));
        html.push_str(&throughput_over_time(&records, t0, out));
        html.push_str(&percentiles(&records, out));
        let samples = read_jsonl(&dir.join(names.gpu_telemetry_jsonl()));
        html.push_str(&gpu_power(&samples, t0, out));
    }
    html.push_str(&summary_table(&summary));
    let setup = super::provenance::setup_rows(&summary);
    if !setup.is_empty() {
        html.push_str(&table(&["benchmark", ""], &setup));
    }
    html.push_str(&telemetry_table(&summary));
    report.add("Run", html);
}

/// One value per line; lines that do not parse are skipped, a missing file reads as empty.
pub(super) fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The run's headline figures for the report's header: throughput, latencies, errors.
fn headline(summary: &Value, report: &mut Report) {
    let unit = |b: &Value| b["unit"].as_str().unwrap_or("").to_owned();
    let figure = |tag: &str, stat: &str| -> Option<String> {
        let b = &summary[tag];
        Some(human(b[stat].as_f64()?, &unit(b)))
    };
    if let Some(v) = figure("request_throughput", "avg") {
        report.key("Request throughput", v, String::new());
    }
    if let Some(v) = figure("output_token_throughput", "avg") {
        let per_user = figure("output_token_throughput_per_user", "avg")
            .map_or(String::new(), |u| format!("{u} per user"));
        report.key("Output token throughput", v, per_user);
    }
    for (tag, label) in [
        ("time_to_first_token", "Time to first token"),
        ("inter_token_latency", "Inter-token latency"),
        ("request_latency", "Request latency"),
    ] {
        if let (Some(p50), Some(p99)) = (figure(tag, "p50"), figure(tag, "p99")) {
            report.key(label, format!("p50 {p50}"), format!("p99 {p99}"));
        }
    }
    let count = summary["request_count"]["avg"].as_f64();
    let errors = summary["error_request_count"]["avg"]
        .as_f64()
        .unwrap_or(0.0);
    if let Some(n) = count {
        report.key(
            "Requests",
            human(n, ""),
            if errors > 0.0 {
                format!("{} errors", human(errors, ""))
            } else {
                "no errors".into()
            },
        );
    }
}

/// Average and percentiles of the main metrics.
fn summary_table(summary: &Value) -> String {
    let mut rows = Vec::new();
    for tag in SUMMARY_METRICS {
        let b = &summary[tag];
        if b.is_object() {
            let unit = b["unit"].as_str().unwrap_or("");
            rows.push(vec![
                tag.to_owned(),
                num(&b["avg"], unit),
                num(&b["p50"], unit),
                num(&b["p90"], unit),
                num(&b["p99"], unit),
            ]);
        }
    }
    table(&["metric", "avg", "p50", "p90", "p99"], &rows)
}

/// The server's and GPUs' averages, if any were collected; empty otherwise.
fn telemetry_table(summary: &Value) -> String {
    let rows: Vec<Vec<String>> = summary
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(tag, b)| {
            (tag.starts_with("server_") || tag.starts_with("nvidia_")) && b["avg"].is_number()
        })
        .map(|(tag, b)| {
            vec![
                tag.clone(),
                num(&b["avg"], b["unit"].as_str().unwrap_or("")),
            ]
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let mut html = String::from("<h3>Server and GPU telemetry</h3>");
    html.push_str(&table(&["metric", "average"], &rows));
    html
}

/// Each request's TTFT, ITL and latency at the time it started, one chart per metric.
fn latencies_over_time(records: &[Value], t0: u64, out: &Out) -> String {
    let over_time = |tag: &str| -> Vec<(f64, f64)> {
        records
            .iter()
            .filter_map(|r| {
                let t = r["metadata"]["request_start_ns"].as_u64()?;
                let v = r["metrics"][tag]["value"].as_f64()?;
                Some(((t - t0) as f64 / 1e9, v))
            })
            .collect()
    };
    let mut html = String::new();
    for (tag, title) in OVER_TIME {
        let pts = over_time(tag);
        if pts.is_empty() {
            continue;
        }
        let chart = Chart {
            title: title.into(),
            x_label: "time since the first request".into(),
            y_label: "latency".into(),
            x_unit: "s".into(),
            y_unit: "ms".into(),
            series: vec![Series::points(title_short(tag), pts, Style::Points)],
            sync: "run-time".into(),
            ..Chart::default()
        };
        html.push_str(&figure(&chart, out, &format!("run_{tag}")));
    }
    html
}

/// Completions per second, in one-second bins.
fn throughput_over_time(records: &[Value], t0: u64, out: &Out) -> String {
    let ends: Vec<f64> = records
        .iter()
        .filter_map(|r| r["metadata"]["request_end_ns"].as_u64())
        .map(|t| t.saturating_sub(t0) as f64 / 1e9)
        .collect();
    let Some(last) = ends.iter().copied().reduce(f64::max) else {
        return String::new();
    };
    let bins = (last.ceil() as usize).max(1);
    let mut counts = vec![0.0; bins];
    for e in &ends {
        counts[(*e as usize).min(bins - 1)] += 1.0;
    }
    let pts: Vec<(f64, f64)> = counts
        .iter()
        .enumerate()
        .map(|(i, c)| (i as f64 + 0.5, *c))
        .collect();
    let chart = Chart {
        title: "Throughput over time".into(),
        x_label: "time since the first request".into(),
        y_label: "requests completed per second".into(),
        x_unit: "s".into(),
        y_unit: "requests/s".into(),
        series: vec![Series::line("completions", pts)],
        sync: "run-time".into(),
        ..Chart::default()
    };
    figure(&chart, out, "run_throughput")
}

/// Every value of `tag` in `records`, sorted, at its percentile; none for fewer than two.
pub(super) fn percentile_curve(records: &[Value], tag: &str) -> Option<Vec<(f64, f64)>> {
    let mut v: Vec<f64> = records
        .iter()
        .filter_map(|r| r["metrics"][tag]["value"].as_f64())
        .collect();
    v.sort_by(f64::total_cmp);
    if v.len() < 2 {
        return None;
    }
    let n = (v.len() - 1) as f64;
    Some(
        v.iter()
            .enumerate()
            .map(|(i, y)| (100.0 * i as f64 / n, *y))
            .collect(),
    )
}

/// A short series name for a metric tag.
fn title_short(tag: &str) -> &'static str {
    match tag {
        "time_to_first_token" => "TTFT",
        "inter_token_latency" => "ITL",
        _ => "request latency",
    }
}

/// Each latency's distribution: every sorted value at its percentile, TTFT, ITL and request
/// latency on one chart (hover shows all three at one percentile).
fn percentiles(records: &[Value], out: &Out) -> String {
    let series: Vec<Series> = OVER_TIME
        .iter()
        .filter_map(|(tag, _)| {
            Some(Series::line(
                title_short(tag),
                percentile_curve(records, tag)?,
            ))
        })
        .collect();
    let chart = Chart {
        title: "Latency by percentile".into(),
        x_label: "percentile".into(),
        y_label: "latency".into(),
        x_unit: "%".into(),
        y_unit: "ms".into(),
        series,
        sync: "percentile".into(),
        ..Chart::default()
    };
    figure(&chart, out, "run_latency_percentiles")
}

/// GPU power next to the load, one line per GPU; empty without telemetry samples.
fn gpu_power(samples: &[Value], t0: u64, out: &Out) -> String {
    let mut per_gpu: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for s in samples {
        let (Some(t), Some(w)) = (
            s["timestamp_ns"].as_u64(),
            s["telemetry_data"]["nvidia_power_usage"].as_f64(),
        ) else {
            continue;
        };
        // "GPU 0 (host:port)": the exporter's address without scheme and path.
        let source = s["telemetry_source_url"].as_str().unwrap_or("");
        let host = source
            .split("://")
            .last()
            .unwrap_or(source)
            .split('/')
            .next()
            .unwrap_or("");
        let name = format!("GPU {} ({host})", s["gpu_index"]);
        let point = (t.saturating_sub(t0) as f64 / 1e9, w);
        match per_gpu.iter_mut().find(|g| g.0 == name) {
            Some(g) => g.1.push(point),
            None => per_gpu.push((name, vec![point])),
        }
    }
    if per_gpu.is_empty() {
        return String::new();
    }
    let chart = Chart {
        title: "GPU power over time".into(),
        x_label: "time since the first request".into(),
        y_label: "power".into(),
        x_unit: "s".into(),
        y_unit: "W".into(),
        sync: "run-time".into(),
        series: per_gpu
            .into_iter()
            .map(|(name, pts)| Series::line(&name, pts))
            .collect(),
        ..Chart::default()
    };
    figure(&chart, out, "run_gpu_power")
}
