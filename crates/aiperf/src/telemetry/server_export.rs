//! The server-metrics documents as typed data: `server_metrics_export.json` (per-series
//! statistics) and the lines of `server_metrics_export.jsonl` (one scrape each), plus the
//! gauge statistics and ordered JSON objects the GPU telemetry shares.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::SerializeMap;

use super::prometheus::{Family, Kind};
use super::scrape::Snapshot;

/// A number for a document: non-finite values are written as `null`.
pub(super) fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// A JSON object whose keys keep the order of their first insertion; inserting a key again
/// replaces its value in place (as `serde_json::Map` does).
pub type OrderedMap<K, V> = indexmap::IndexMap<K, V>;

/// A series' labels, `name → value`.
pub type Labels<'a> = OrderedMap<&'a str, &'a str>;

/// The series key of a sample: its labels but `skip`, as `k=v,…`.
pub(super) fn labels_key(labels: &[(String, String)], skip: &str) -> String {
    labels
        .iter()
        .filter(|(k, _)| k != skip)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A sample's labels but `skip`.
fn labels_doc<'a>(labels: &'a [(String, String)], skip: &str) -> Labels<'a> {
    labels
        .iter()
        .filter(|(k, _)| k != skip)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Statistics of a sampled gauge: avg, min, max, std (ddof 1, as the reference tool), the
/// reported percentiles and the sample count; an empty object when there are no samples.
#[derive(Debug, Clone, Default)]
pub struct GaugeStats(Option<GaugeSummary>);

#[derive(Debug, Clone)]
struct GaugeSummary {
    avg: f64,
    min: f64,
    max: f64,
    std: Option<f64>,
    percentiles: [f64; 9],
    count: usize,
}

impl GaugeStats {
    pub fn of(v: &[f64]) -> Self {
        Self(aiperf_stats::Summary::of(v).map(|s| GaugeSummary {
            avg: s.mean,
            min: s.min,
            max: s.max,
            std: aiperf_stats::sample_std(v),
            percentiles: s.percentiles,
            count: s.count,
        }))
    }

    /// `(key, value)` in document order, `null`s left out.
    pub fn numbers(&self) -> Vec<(String, f64)> {
        let Some(s) = &self.0 else {
            return Vec::new();
        };
        let percentiles = aiperf_stats::REPORTED_PERCENTILES
            .iter()
            .zip(s.percentiles)
            .map(|(p, x)| (format!("p{p}"), Some(x)));
        [
            ("avg".to_owned(), Some(s.avg)),
            ("min".to_owned(), Some(s.min)),
            ("max".to_owned(), Some(s.max)),
            ("std".to_owned(), s.std),
        ]
        .into_iter()
        .chain(percentiles)
        .chain([("count".to_owned(), Some(s.count as f64))])
        .filter_map(|(k, v)| Some((k, v.and_then(finite)?)))
        .collect()
    }

    /// One statistic by its key, when it is a number.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.numbers()
            .into_iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }
}

impl Serialize for GaugeStats {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        if let Some(g) = &self.0 {
            map.serialize_entry("avg", &finite(g.avg))?;
            map.serialize_entry("min", &finite(g.min))?;
            map.serialize_entry("max", &finite(g.max))?;
            map.serialize_entry("std", &g.std.and_then(finite))?;
            for (p, x) in aiperf_stats::REPORTED_PERCENTILES.iter().zip(g.percentiles) {
                map.serialize_entry(&format!("p{p}"), &finite(x))?;
            }
            map.serialize_entry("count", &g.count)?;
        }
        map.end()
    }
}

/// `server_metrics_export.json`, in the reference tool's shape (its `ServerMetricsExportData`).
#[derive(Debug, Serialize)]
pub struct ServerMetricsExport<'a> {
    pub schema_version: &'static str,
    pub aiperf_version: &'static str,
    pub benchmark_id: &'a str,
    pub summary: ExportSummary<'a>,
    /// The phase the metrics cover.
    pub metrics_phase: &'static str,
    /// Metric name (a counter's without `_total`) → its type, description, unit and series.
    pub metrics: BTreeMap<&'a str, MetricDoc<'a>>,
}

#[derive(Debug, Serialize)]
pub struct ExportSummary<'a> {
    pub endpoints_configured: Vec<&'a str>,
    pub endpoints_successful: Vec<&'a str>,
    pub start_time: &'a str,
    pub end_time: &'a str,
    /// Endpoint URL → how its scrapes went.
    pub endpoint_info: OrderedMap<&'a str, EndpointInfo<'a>>,
    /// Phase → the time the scrapes of that phase cover.
    #[serde(skip_serializing_if = "OrderedMap::is_empty")]
    pub phase_time_ranges: OrderedMap<&'static str, TimeRange>,
}

/// A span of wall-clock time, in nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TimeRange {
    pub start_ns: u64,
    pub end_ns: u64,
}

/// How the scrapes of one endpoint went. An update is a scrape whose metrics differ from the
/// scrape before; an endpoint never scraped has zeros.
#[derive(Debug, Serialize)]
pub struct EndpointInfo<'a> {
    /// Every scrape tried, failed ones included.
    pub total_fetches: u64,
    pub first_fetch_ns: u64,
    pub last_fetch_ns: u64,
    pub avg_fetch_latency_ms: f64,
    pub unique_updates: u64,
    pub first_update_ns: u64,
    pub last_update_ns: u64,
    /// From the first update to the last.
    pub duration_seconds: f64,
    pub avg_update_interval_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_update_interval_ms: Option<f64>,
    pub successful_fetches: usize,
    pub failed_fetches: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<&'a str>,
}

/// One metric over every endpoint.
#[derive(Debug, Serialize)]
pub struct MetricDoc<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The HELP text (empty without one).
    pub description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<&'static str>,
    pub series: Vec<SeriesDoc<'a>>,
}

/// One series of one endpoint.
#[derive(Debug, Serialize)]
pub struct SeriesDoc<'a> {
    pub endpoint_url: &'a str,
    /// Sorted by name; absent when the series has none.
    #[serde(skip_serializing_if = "OrderedMap::is_empty")]
    pub labels: Labels<'a>,
    pub stats: SeriesStats<'a>,
    /// A histogram's observations per bucket (`le` → increase over the run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buckets: Option<OrderedMap<&'a str, u64>>,
}

/// The percentiles a histogram's buckets estimate, as `p<q>_estimate`.
pub const ESTIMATED_PERCENTILES: [f64; 9] = [1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0];

/// A counter's statistics: the increase over the run, its rate per second, and the rate's
/// distribution over the complete one-second slices of the run.
#[derive(Debug, Clone, Serialize)]
pub struct CounterStats {
    pub total: f64,
    pub rate: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_avg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_std: Option<f64>,
}

/// A histogram's statistics over the run: the observations, their rates, average and the
/// percentiles the buckets estimate. A histogram without observations has only `count`.
#[derive(Debug, Clone, Default)]
pub struct HistogramStats {
    pub count: u64,
    pub count_rate: Option<f64>,
    pub sum: Option<f64>,
    pub sum_rate: Option<f64>,
    pub avg: Option<f64>,
    pub estimates: Option<[f64; 9]>,
}

impl HistogramStats {
    /// `(key, value)` in document order, `null`s left out.
    pub fn numbers(&self) -> Vec<(String, f64)> {
        let mut out = vec![("count".to_owned(), self.count as f64)];
        for (k, v) in [
            ("count_rate", self.count_rate),
            ("sum", self.sum),
            ("sum_rate", self.sum_rate),
            ("avg", self.avg),
        ] {
            if let Some(v) = v.and_then(finite) {
                out.push((k.to_owned(), v));
            }
        }
        if let Some(e) = &self.estimates {
            for (p, v) in ESTIMATED_PERCENTILES.iter().zip(e) {
                if let Some(v) = finite(*v) {
                    out.push((format!("p{p}_estimate"), v));
                }
            }
        }
        out
    }
}

impl Serialize for HistogramStats {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (k, v) in self.numbers() {
            if k == "count" {
                map.serialize_entry(&k, &self.count)?;
            } else {
                map.serialize_entry(&k, &v)?;
            }
        }
        map.end()
    }
}

/// A series' statistics, by metric type.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum SeriesStats<'a> {
    /// Gauges and untyped metrics: the distribution while the load ran.
    Gauge(GaugeStats),
    Counter(CounterStats),
    Histogram(HistogramStats),
    /// The observations made during the run and the last quantiles.
    Summary {
        count: f64,
        sum: Option<f64>,
        avg: Option<f64>,
        quantiles: OrderedMap<&'a str, Option<f64>>,
    },
}

impl SeriesStats<'_> {
    /// The numeric statistics in document order, `null`s left out.
    pub fn numbers(&self) -> Vec<(String, f64)> {
        let named = |pairs: &[(&str, Option<f64>)]| {
            pairs
                .iter()
                .filter_map(|(k, v)| Some(((*k).to_owned(), v.and_then(finite)?)))
                .collect()
        };
        match self {
            Self::Gauge(g) => g.numbers(),
            Self::Counter(c) => named(&[
                ("total", Some(c.total)),
                ("rate", Some(c.rate)),
                ("rate_avg", c.rate_avg),
                ("rate_min", c.rate_min),
                ("rate_max", c.rate_max),
                ("rate_std", c.rate_std),
            ]),
            Self::Histogram(h) => h.numbers(),
            Self::Summary {
                count, sum, avg, ..
            } => named(&[("count", Some(*count)), ("sum", *sum), ("avg", *avg)]),
        }
    }

    /// One statistic by its key, when it is a number.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.numbers()
            .into_iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }

    /// The `avg` statistic, when there is one and it is a number.
    pub fn avg(&self) -> Option<f64> {
        match self {
            Self::Counter(_) => None,
            _ => self.get("avg"),
        }
    }
}

/// An endpoint as the reference tool displays it: `host:port` and the path without a
/// trailing `/metrics` (`http://node:9400/metrics` → `node:9400`).
pub fn endpoint_display(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    rest.strip_suffix("/metrics").unwrap_or(rest).to_owned()
}

/// The labels as the reference tool's sort keys spell them (a Python dict's text), `""`
/// without labels.
pub(super) fn labels_sort_key(labels: &Labels<'_>) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("'{k}': '{v}'"))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// One line of `server_metrics_export.jsonl`: one scrape of one endpoint.
#[derive(Debug, Serialize)]
pub struct RawLine<'a> {
    pub endpoint_url: &'a str,
    pub timestamp_ns: u64,
    pub endpoint_latency_ns: u64,
    /// Metric name → its series.
    pub metrics: OrderedMap<&'a str, Vec<RawSeries<'a>>>,
}

/// One series of a scrape: its labels, then `value`, `sum`, `count` or the
/// `histogram`/`summary` bounds, in the order the exposition first lists them.
#[derive(Debug, Serialize)]
pub struct RawSeries<'a> {
    pub labels: Labels<'a>,
    #[serde(flatten)]
    pub fields: OrderedMap<&'static str, RawField<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum RawField<'a> {
    Number(Option<f64>),
    /// Bound (`le` or `quantile`) → value.
    Bounds(OrderedMap<&'a str, Option<f64>>),
}

impl<'a> RawLine<'a> {
    /// The line of one scrape of `endpoint_url`.
    pub(super) fn new(endpoint_url: &'a str, snap: &'a Snapshot) -> Self {
        Self {
            endpoint_url,
            timestamp_ns: snap.unix_ns,
            endpoint_latency_ns: snap.latency.as_nanos() as u64,
            metrics: snapshot_metrics(&snap.families),
        }
    }
}

/// The families of one snapshot as the raw JSONL shows them: per metric, one entry per
/// series with its labels and either `value`, or `histogram`/`summary` with `sum` and `count`.
fn snapshot_metrics(families: &[Family]) -> OrderedMap<&str, Vec<RawSeries<'_>>> {
    families
        .iter()
        .map(|f| {
            let mut series: BTreeMap<String, RawSeries<'_>> = BTreeMap::new();
            for s in &f.samples {
                let bound = match f.kind {
                    Kind::Histogram => s.label("le"),
                    Kind::Summary => s.label("quantile"),
                    _ => None,
                };
                let skip = if f.kind == Kind::Histogram {
                    "le"
                } else {
                    "quantile"
                };
                let entry = series
                    .entry(labels_key(&s.labels, skip))
                    .or_insert_with(|| RawSeries {
                        labels: labels_doc(&s.labels, skip),
                        fields: OrderedMap::default(),
                    });
                let suffix = s.name.strip_prefix(f.name.as_str()).unwrap_or("");
                let value = finite(s.value);
                match (bound, suffix) {
                    (Some(b), _) => {
                        let key = if f.kind == Kind::Histogram {
                            "histogram"
                        } else {
                            "summary"
                        };
                        let field = entry
                            .fields
                            .entry(key)
                            .or_insert_with(|| RawField::Bounds(OrderedMap::default()));
                        if let RawField::Bounds(m) = field {
                            m.insert(b, value);
                        }
                    }
                    (None, suffix) => {
                        let key = match suffix {
                            "_sum" => "sum",
                            "_count" => "count",
                            _ => "value",
                        };
                        entry.fields.insert(key, RawField::Number(value));
                    }
                }
            }
            (f.name.as_str(), series.into_values().collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_inserted_again_keeps_its_place() {
        let mut m: OrderedMap<&str, f64> =
            [("b", 1.0), ("a", 2.0), ("b", 3.0)].into_iter().collect();
        m.insert("c", 4.0);
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"b":3.0,"a":2.0,"c":4.0}"#
        );
        assert_eq!(serde_json::to_string(&GaugeStats::of(&[])).unwrap(), "{}");
    }
}
