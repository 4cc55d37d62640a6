//! `profile_export_aiperf.csv`: distributions (avg, min, max, sum, percentiles, std) then
//! scalar figures, each section sorted by name, as the reference tool writes it.

use super::csv_field;
use crate::metrics::{MetricResult, Value as MValue};

fn csv_name(m: &MetricResult) -> String {
    match m.unit {
        "requests" | "count" => m.header.to_owned(),
        unit => format!("{} ({unit})", m.header),
    }
}

fn f2(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        String::new()
    }
}

/// The two-section `profile_export_aiperf.csv`.
pub fn summary_csv(metrics: &[MetricResult]) -> String {
    let mut dists: Vec<(String, &MetricResult)> = Vec::new();
    let mut scalars: Vec<(String, f64)> = Vec::new();
    for m in metrics {
        match &m.value {
            MValue::Dist(_) => dists.push((csv_name(m), m)),
            MValue::Scalar(v) => scalars.push((csv_name(m), *v)),
        }
    }
    dists.sort_by(|a, b| a.0.cmp(&b.0));
    scalars.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::from("Metric,avg,min,max,sum,p1,p5,p10,p25,p50,p75,p90,p95,p99,std\n");
    for (name, m) in &dists {
        let MValue::Dist(d) = &m.value else { continue };
        let s = &d.summary;
        let mut row = vec![csv_field(name), f2(s.mean), f2(s.min), f2(s.max), f2(s.sum)];
        row.extend(s.percentiles.iter().map(|p| f2(*p)));
        row.push(f2(s.std));
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out.push_str("\nMetric,Value\n");
    for (name, v) in &scalars {
        out.push_str(&format!("{},{}\n", csv_field(name), f2(*v)));
    }
    out
}
