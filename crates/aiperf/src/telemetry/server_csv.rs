//! `server_metrics_export.csv` in the reference tool's layout: `#` comment lines (ending in
//! LF), then one section per metric type (gauge, counter, histogram, unknown, summary), each
//! with its own header, stat columns, one column per label and the description; `_info`
//! gauges last, one row per label. Rows end in CRLF as the reference tool's CSV writer ends
//! them; sections are parted by an empty row.

use std::collections::{BTreeMap, BTreeSet};

use super::server_export::{
    ESTIMATED_PERCENTILES, Labels, SeriesDoc, ServerMetricsExport, endpoint_display,
    labels_sort_key,
};

const GAUGE_STATS: [&str; 13] = [
    "avg", "min", "max", "std", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99",
];
const COUNTER_STATS: [&str; 6] = [
    "total", "rate", "rate_avg", "rate_min", "rate_max", "rate_std",
];
const SUMMARY_STATS: [&str; 3] = ["count", "sum", "avg"];

fn histogram_stats() -> Vec<String> {
    ["count", "count_rate", "sum", "sum_rate", "avg"]
        .into_iter()
        .map(str::to_owned)
        .chain(
            ESTIMATED_PERCENTILES
                .iter()
                .map(|p| format!("p{p}_estimate")),
        )
        .collect()
}

/// A field as the reference tool's CSV writer quotes it (only when it must).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn row(cells: &[String]) -> String {
    let mut line = cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

/// A statistic: counts without decimals, everything else with four, absent ones empty.
fn number(v: Option<f64>, integer: bool) -> String {
    match v {
        None => String::new(),
        Some(x) if integer => format!("{}", x.round()),
        Some(x) => format!("{x:.4}"),
    }
}

/// One series of one metric, with what its row needs.
struct Row<'d, 'a> {
    endpoint: String,
    name: &'a str,
    unit: &'static str,
    description: &'a str,
    series: &'d SeriesDoc<'a>,
}

/// The label columns of a section, ordered so that rows fill neighbouring columns: labels
/// that occur together form a family (families in order of their first label); within one,
/// the labels of a single label set come before those shared by several, each part sorted.
fn label_columns(sets: &[BTreeSet<&str>]) -> Vec<String> {
    let all: BTreeSet<&str> = sets.iter().flatten().copied().collect();
    let mut parent: BTreeMap<&str, &str> = all.iter().map(|l| (*l, *l)).collect();
    fn root<'x>(parent: &BTreeMap<&'x str, &'x str>, mut x: &'x str) -> &'x str {
        while parent[x] != x {
            x = parent[x];
        }
        x
    }
    for set in sets {
        let labels: Vec<&str> = set.iter().copied().collect();
        for pair in labels.windows(2) {
            let (a, b) = (root(&parent, pair[0]), root(&parent, pair[1]));
            parent.insert(b, a);
        }
    }
    let mut families: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for l in &all {
        families.entry(root(&parent, l)).or_default().push(l);
    }
    let shared = |l: &str| sets.iter().filter(|s| s.contains(l)).count() > 1;
    let mut families: Vec<Vec<&str>> = families.into_values().collect();
    families.sort_by_key(|f| f.iter().min().copied());
    let mut out = Vec::new();
    for family in families {
        out.extend(family.iter().filter(|l| !shared(l)).map(|l| l.to_string()));
        out.extend(family.iter().filter(|l| shared(l)).map(|l| l.to_string()));
    }
    out
}

/// One section: its header, then its rows clustered by which label columns they fill.
fn section(out: &mut String, kind: &str, mut rows: Vec<Row<'_, '_>>) {
    let stats: Vec<String> = match kind {
        "gauge" | "unknown" => GAUGE_STATS.iter().map(|s| s.to_string()).collect(),
        "counter" => COUNTER_STATS.iter().map(|s| s.to_string()).collect(),
        "histogram" => histogram_stats(),
        _ => SUMMARY_STATS.iter().map(|s| s.to_string()).collect(),
    };
    let sets: Vec<BTreeSet<&str>> = rows
        .iter()
        .filter(|r| !r.series.labels.is_empty())
        .map(|r| r.series.labels.keys().copied().collect())
        .collect();
    let columns = label_columns(&sets);
    let mut header: Vec<String> = ["Endpoint", "Type", "Metric", "Unit"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(stats.iter().cloned());
    header.extend(columns.iter().cloned());
    header.push("Description".into());
    if kind == "histogram" {
        header.push("buckets".into());
    }
    out.push_str(&row(&header));
    let fill = |labels: &Labels<'_>| -> String {
        columns
            .iter()
            .map(|c| {
                if labels.contains_key(c.as_str()) {
                    '1'
                } else {
                    '0'
                }
            })
            .collect()
    };
    rows.sort_by_cached_key(|r| {
        (
            fill(&r.series.labels),
            r.name,
            r.endpoint.clone(),
            labels_sort_key(&r.series.labels),
        )
    });
    for r in &rows {
        let mut cells = vec![
            r.endpoint.clone(),
            kind.to_owned(),
            r.name.to_owned(),
            r.unit.to_owned(),
        ];
        cells.extend(
            stats
                .iter()
                .map(|s| number(r.series.stats.get(s), s == "count" && kind == "histogram")),
        );
        cells.extend(
            columns
                .iter()
                .map(|c| r.series.labels.get(c.as_str()).unwrap_or(&"").to_string()),
        );
        cells.push(r.description.to_owned());
        if kind == "histogram" {
            let buckets = r.series.buckets.iter().flatten();
            cells.push(
                buckets
                    .map(|(le, n)| format!("{le}={n}"))
                    .collect::<Vec<_>>()
                    .join(";"),
            );
        }
        out.push_str(&row(&cells));
    }
}

/// `server_metrics_export.csv`.
pub fn export_csv(doc: &ServerMetricsExport<'_>) -> String {
    let mut out = format!(
        "# AIPerf Server Metrics Export (CSV)\n# aiperf_version: {}\n# schema_version: 1.0\n\
         # benchmark_id: {}\n# Note: Same benchmark_id and version appear in JSON and Parquet exports\n#\n",
        doc.aiperf_version, doc.benchmark_id
    );
    let mut by_kind: BTreeMap<&str, Vec<Row<'_, '_>>> = BTreeMap::new();
    let mut info: Vec<Row<'_, '_>> = Vec::new();
    for (name, m) in &doc.metrics {
        for series in &m.series {
            let r = Row {
                endpoint: endpoint_display(series.endpoint_url),
                name,
                unit: m.unit.unwrap_or(""),
                description: m.description,
                series,
            };
            if m.kind == "gauge" && name.ends_with("_info") {
                info.push(r);
            } else {
                by_kind.entry(m.kind).or_default().push(r);
            }
        }
    }
    let mut first = true;
    for kind in ["gauge", "counter", "histogram", "unknown", "summary"] {
        let Some(rows) = by_kind.remove(kind) else {
            continue;
        };
        if !first {
            out.push_str("\r\n");
        }
        first = false;
        section(&mut out, kind, rows);
    }
    if !info.is_empty() {
        if !first {
            out.push_str("\r\n");
        }
        out.push_str(&row(
            &["Endpoint", "Metric", "Key", "Value", "Description"].map(String::from)
        ));
        info.sort_by(|a, b| (a.name, &a.endpoint).cmp(&(b.name, &b.endpoint)));
        for r in &info {
            for (k, v) in &r.series.labels {
                out.push_str(&row(&[
                    r.endpoint.clone(),
                    r.name.to_owned(),
                    (*k).to_owned(),
                    (*v).to_owned(),
                    r.description.to_owned(),
                ]));
            }
        }
    }
    out
}
