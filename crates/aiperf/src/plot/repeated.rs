//! The repeated-runs section: the confidence aggregate of several runs of one configuration.

use serde_json::Value;

use super::html::{Report, num, table};

/// Repeated runs: the confidence aggregate as a table.
pub(super) fn multi_run(doc: &Value, report: &mut Report) {
    let Some(metrics) = doc["metrics"].as_object() else {
        return;
    };
    let rows: Vec<Vec<String>> = metrics
        .iter()
        .filter(|(k, _)| k.ends_with("_avg") || k.ends_with("_p99"))
        .map(|(k, b)| {
            vec![
                k.clone(),
                num(&b["mean"]),
                format!("{} – {}", num(&b["ci_low"]), num(&b["ci_high"])),
                b["cv"]
                    .as_f64()
                    .map_or("–".into(), |c| format!("{:.1} %", 100.0 * c)),
                b["unit"].as_str().unwrap_or("").to_owned(),
            ]
        })
        .collect();
    let level = doc["metadata"]["confidence_level"].as_f64().unwrap_or(0.95);
    report.add(
        &format!(
            "Across runs ({} runs, {:.0} % confidence)",
            doc["metadata"]["num_successful_runs"],
            level * 100.0
        ),
        table(&["metric", "mean", "interval", "CV", "unit"], &rows),
    );
}
