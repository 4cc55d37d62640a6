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

/// `server_metrics_export.json`.
#[derive(Debug, Serialize)]
pub struct ServerMetricsExport<'a> {
    pub schema_version: &'static str,
    pub aiperf_version: &'static str,
    pub benchmark_id: &'a str,
    pub summary: ExportSummary<'a>,
    /// Metric name → its type, description, unit and series.
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
}

#[derive(Debug, Serialize)]
pub struct EndpointInfo<'a> {
    pub total_fetches: u64,
    pub successful_fetches: usize,
    pub failed_fetches: u64,
    pub last_error: Option<&'a str>,
    pub avg_fetch_latency_ms: Option<f64>,
    pub avg_update_interval_ms: Option<f64>,
}

/// One metric over every endpoint.
#[derive(Debug, Serialize)]
pub struct MetricDoc<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description: Option<&'a str>,
    pub unit: &'static str,
    pub series: Vec<SeriesDoc<'a>>,
}

/// One series of one endpoint.
#[derive(Debug, Serialize)]
pub struct SeriesDoc<'a> {
    pub endpoint_url: &'a str,
    pub labels: Labels<'a>,
    pub stats: SeriesStats<'a>,
}

/// A series' statistics, by metric type.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum SeriesStats<'a> {
    /// Gauges and untyped metrics: the distribution while the load ran.
    Gauge(GaugeStats),
    /// The increase over the run and its rate per second.
    Counter { total: f64, rate: Option<f64> },
    /// The observations made during the run and each bucket's increase.
    Histogram {
        count: f64,
        sum: Option<f64>,
        avg: Option<f64>,
        buckets: OrderedMap<&'a str, f64>,
    },
    /// The observations made during the run and the last quantiles.
    Summary {
        count: f64,
        sum: Option<f64>,
        avg: Option<f64>,
        quantiles: OrderedMap<&'a str, Option<f64>>,
    },
}

impl SeriesStats<'_> {
    /// The numeric statistics in document order, `null`s left out (the CSV rows).
    pub fn numbers(&self) -> Vec<(String, f64)> {
        let named = |pairs: &[(&str, Option<f64>)]| {
            pairs
                .iter()
                .filter_map(|(k, v)| Some(((*k).to_owned(), v.and_then(finite)?)))
                .collect()
        };
        match self {
            Self::Gauge(g) => g.numbers(),
            Self::Counter { total, rate } => named(&[("total", Some(*total)), ("rate", *rate)]),
            Self::Histogram {
                count, sum, avg, ..
            }
            | Self::Summary {
                count, sum, avg, ..
            } => named(&[("count", Some(*count)), ("sum", *sum), ("avg", *avg)]),
        }
    }

    /// The `avg` statistic, when there is one and it is a number.
    pub fn avg(&self) -> Option<f64> {
        match self {
            Self::Gauge(g) => g.get("avg"),
            Self::Counter { .. } => None,
            Self::Histogram { avg, .. } | Self::Summary { avg, .. } => avg.and_then(finite),
        }
    }
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
