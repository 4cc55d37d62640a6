//! The repeated-runs section: the confidence aggregate of several runs of one configuration.

use serde_json::Value;

use super::html::{Report, human, num, table};

/// Repeated runs: the confidence aggregate as a table.
pub(super) fn multi_run(doc: &Value, report: &mut Report) {
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
    report.add(
        &format!(
            "Across runs ({} runs, {:.0} % confidence)",
            doc["metadata"]["num_successful_runs"],
            level * 100.0
        ),
        table(&["metric", "mean", "interval", "CV"], &rows),
    );
}
