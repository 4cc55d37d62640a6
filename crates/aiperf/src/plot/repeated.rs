//! The repeated-runs section: the confidence aggregate of several runs of one configuration,
//! and each run's latency distribution beside the others'.

use std::path::Path;

use serde_json::Value;

use super::chart::{Chart, Out, Series};
use super::html::{Report, figure, human, num, table};
use super::run::{percentile_curve, read_jsonl};

/// Repeated runs: each run's TTFT and request latency by percentile (how much the runs differ
/// over the whole distribution), and the confidence aggregate as a table.
pub(super) fn multi_run(dir: &Path, doc: &Value, out: &Out, report: &mut Report) {
    let Some(metrics) = doc["metrics"].as_object() else {
        return;
    };
    let rows: Vec<Vec<String>> = metrics
        .iter()
        .filter(|(k, _)| k.ends_with("_avg") || k.ends_with("_p99"))
        .map(|(k, b)| {
            let unit = b["unit"].as_str().unwrap_or("");
            vec![
                k.clone(),
                num(&b["mean"], unit),
                format!("{} – {}", num(&b["ci_low"], unit), num(&b["ci_high"], unit)),
                b["cv"]
                    .as_f64()
                    .map_or("–".into(), |c| format!("{:.1} %", 100.0 * c)),
            ]
        })
        .collect();
    let level = doc["metadata"]["confidence_level"].as_f64().unwrap_or(0.95);
    for (key, label) in [
        (
            "request_throughput_avg",
            "Request throughput (mean of runs)",
        ),
        ("time_to_first_token_p99", "TTFT p99 (mean of runs)"),
    ] {
        let b = &doc["metrics"][key];
        if let Some(mean) = b["mean"].as_f64() {
            let unit = b["unit"].as_str().unwrap_or("");
            report.key(
                label,
                human(mean, unit),
                format!(
                    "{:.0} % CI {} – {}",
                    level * 100.0,
                    num(&b["ci_low"], unit),
                    num(&b["ci_high"], unit)
                ),
            );
        }
    }
    let mut html = runs_by_percentile(dir, out);
    html.push_str(&table(&["metric", "mean", "interval", "CV"], &rows));
    report.add(
        &format!(
            "Across runs ({} runs, {:.0} % confidence)",
            doc["metadata"]["num_successful_runs"],
            level * 100.0
        ),
        html,
    );
}

/// The runs under `dir/profile_runs/`, in order: (name, records).
fn runs(dir: &Path) -> Vec<(String, Vec<Value>)> {
    super::run_dirs(dir)
        .into_iter()
        .filter_map(|d| {
            let names = crate::export::ExportNames::in_dir(&d);
            let records = read_jsonl(&d.join(names.records_jsonl()));
            let name = d.file_name()?.to_string_lossy().replace('_', " ");
            (!records.is_empty()).then_some((name, records))
        })
        .collect()
}

/// A chart per latency with one line per run, linked at the same percentile.
fn runs_by_percentile(dir: &Path, out: &Out) -> String {
    let runs = runs(dir);
    let mut html = String::new();
    for (tag, title) in [
        ("time_to_first_token", "TTFT by percentile, each run"),
        ("request_latency", "Request latency by percentile, each run"),
    ] {
        let chart = Chart {
            title: title.into(),
            x_label: "percentile".into(),
            y_label: "latency".into(),
            x_unit: "%".into(),
            y_unit: "ms".into(),
            series: runs
                .iter()
                .filter_map(|(name, records)| {
                    Some(Series::line(name, percentile_curve(records, tag)?))
                })
                .collect(),
            sync: "runs-percentile".into(),
            ..Chart::default()
        };
        html.push_str(&figure(&chart, out, &format!("runs_{tag}_percentiles")));
    }
    html
}
