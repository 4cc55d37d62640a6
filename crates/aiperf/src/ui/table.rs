//! The console's tables of a run: the metrics, and the server and GPU figures.

use crate::metrics::{
    ACTIVE_ORDER, CONSOLE_ORDER, EFFECTIVE_ORDER, HTTP_TRACE_METRICS, MetricResult, RECORD_METRICS,
    SPEC_DECODE_ORDER, Value as MValue,
};

/// Formats with thousands separators and two decimals, as the reference console does.
pub fn grouped(v: f64) -> String {
    if !v.is_finite() {
        return "N/A".into();
    }
    let s = format!("{:.2}", v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut g = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            g.push(',');
        }
        g.push(c);
    }
    format!("{}{g}.{frac}", if v < 0.0 { "-" } else { "" })
}

/// The console's metric tables: the request metrics, then the time-weighted figures
/// ("Effective") and the rates while their phase was active ("Active") when measured.
pub fn console_table(metrics: &[MetricResult]) -> String {
    let generated = metrics.iter().any(|m| m.tag == "output_token_throughput");
    // Input token throughput is shown only when nothing is generated (embeddings).
    let tags = CONSOLE_ORDER
        .iter()
        .filter(|t| !(**t == "input_token_throughput" && generated));
    let mut out = metrics_table("aiperf | LLM Metrics", tags.copied(), metrics);
    for (title, rows) in [
        ("aiperf | LLM Metrics: Effective", EFFECTIVE_ORDER),
        ("aiperf | LLM Metrics: Active", ACTIVE_ORDER),
        ("aiperf | LLM Metrics: Spec Decode", SPEC_DECODE_ORDER),
    ] {
        if rows.iter().any(|t| metrics.iter().any(|m| m.tag == *t)) {
            out.push('\n');
            out.push_str(&metrics_table(title, rows.iter().copied(), metrics));
        }
    }
    out
}

/// The HTTP timing metrics (`--show-trace-timing`), in a table of their own.
pub fn http_trace_table(metrics: &[MetricResult]) -> String {
    let tags = HTTP_TRACE_METRICS
        .iter()
        .map(|r| RECORD_METRICS[*r as usize].tag);
    metrics_table("aiperf | HTTP Trace Timing", tags, metrics)
}

/// A table of the `tags` the run has, in that order, under `title`.
fn metrics_table<'a>(
    title: &str,
    tags: impl Iterator<Item = &'a str>,
    metrics: &[MetricResult],
) -> String {
    use comfy_table::{CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(["Metric", "avg", "min", "max", "p99", "p90", "p50", "std"]);
    for tag in tags {
        let Some(m) = metrics.iter().find(|m| m.tag == tag) else {
            continue;
        };
        let name = format!("{} ({})", m.header, m.unit);
        let row: Vec<String> = match &m.value {
            MValue::Dist(d) => {
                let s = &d.summary;
                let p = |q: f64| s.percentile(q).map_or("N/A".into(), grouped);
                vec![
                    name,
                    grouped(s.mean),
                    grouped(s.min),
                    grouped(s.max),
                    p(99.0),
                    p(90.0),
                    p(50.0),
                    grouped(s.std),
                ]
            }
            MValue::Scalar(v) => {
                let mut r = vec![name, grouped(*v)];
                r.extend(std::iter::repeat_n("N/A".to_owned(), 6));
                r
            }
        };
        table.add_row(row);
    }
    for column in table.column_iter_mut() {
        column.set_cell_alignment(CellAlignment::Right);
    }
    let body = table.to_string();
    let width = body.lines().next().map_or(0, |l| l.chars().count());
    format!("{title:^width$}\n{body}\n")
}

/// The table "GPU Power Efficiency (NVIDIA)": the energy-efficiency figures, in the reference
/// console's order; `None` without any.
pub fn power_efficiency_table(metrics: &[MetricResult]) -> Option<String> {
    use comfy_table::{CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(["Metric", "avg"]);
    let mut rows = 0;
    for (tag, _, _) in crate::telemetry::energy::CONSOLE_ORDER {
        let Some(m) = metrics.iter().find(|m| m.tag == tag) else {
            continue;
        };
        table.add_row([format!("{} ({})", m.header, m.unit), grouped(m.avg())]);
        rows += 1;
    }
    if rows == 0 {
        return None;
    }
    for column in table.column_iter_mut() {
        column.set_cell_alignment(CellAlignment::Right);
    }
    let body = table.to_string();
    let width = body.lines().next().map_or(0, |l| l.chars().count());
    Some(format!(
        "{:^width$}\n{body}\n",
        "GPU Power Efficiency (NVIDIA)"
    ))
}

/// What the server reported, one line each (empty when nothing was collected); the GPU
/// figures have their own table.
pub fn server_and_gpu_lines(metrics: &[MetricResult]) -> String {
    let mut out = String::new();
    let in_table = |tag: &str| {
        crate::telemetry::energy::CONSOLE_ORDER
            .iter()
            .any(|(t, _, _)| *t == tag)
    };
    for m in metrics
        .iter()
        .filter(|m| m.tag.starts_with("server_") || m.tag.starts_with("nvidia_"))
        .filter(|m| !in_table(m.tag))
    {
        if let MValue::Scalar(v) = m.value {
            out.push_str(&format!("{:<34} {:>12} {}\n", m.header, grouped(v), m.unit));
        }
    }
    if out.is_empty() {
        out
    } else {
        format!("\nServer metrics\n{out}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_like_the_reference_console() {
        assert_eq!(grouped(1297.254), "1,297.25");
        assert_eq!(grouped(0.0), "0.00");
        assert_eq!(grouped(1_234_567.0), "1,234,567.00");
        assert_eq!(grouped(-1234.5), "-1,234.50");
        assert_eq!(grouped(f64::NAN), "N/A");
    }
}
