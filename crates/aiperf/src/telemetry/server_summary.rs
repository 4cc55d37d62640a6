//! `server_metrics_export.json` from the scrapes: each series' statistics by metric type, as
//! the reference tool computes them (a counter's increase, rate and per-second rates; a
//! histogram's observations, rates, buckets and estimated percentiles; a gauge's
//! distribution while the load ran), and how each endpoint's scrapes went.

use std::collections::BTreeMap;
use std::time::Instant;

use super::histogram_estimate::{self, Scrape};
use super::prometheus::Kind;
use super::scrape::{EndpointScrapes, Snapshot, during_load};
use super::server_export::{
    CounterStats, EndpointInfo, ExportSummary, GaugeStats, HistogramStats, MetricDoc, OrderedMap,
    SeriesDoc, SeriesStats, ServerMetricsExport, TimeRange, finite, labels_key, labels_sort_key,
};

/// The length of the slices a counter's rate is measured over, as the reference tool's.
const SLICE_NS: u64 = 1_000_000_000;

/// One sample of one series in one scrape: (sample-name suffix, `le`/`quantile` bound, value).
type Point<'a> = (&'a str, Option<&'a str>, f64);

/// One series in one scrape: when, and its samples.
struct Obs<'a> {
    ns: u64,
    at: Instant,
    points: Vec<Point<'a>>,
}

/// One series over time: the labels of its first sample, then its samples in each scrape.
type SeriesOverTime<'a> = (&'a [(String, String)], Vec<Obs<'a>>);

/// The value of the sample with `suffix` and no bound.
fn value_of(points: &[Point<'_>], suffix: &str) -> Option<f64> {
    points
        .iter()
        .find(|(s, b, _)| *s == suffix && b.is_none())
        .map(|x| x.2)
}

/// The name a metric is exported under: a counter's without its `_total` suffix.
pub fn export_name(name: &str, kind: Kind) -> &str {
    match kind {
        Kind::Counter => name.strip_suffix("_total").unwrap_or(name),
        _ => name,
    }
}

/// The type a metric is exported as (`unknown` for an untyped one).
fn export_kind(kind: Kind) -> &'static str {
    match kind {
        Kind::Untyped => "unknown",
        k => k.name(),
    }
}

/// Per-series statistics of one family over the snapshots of one endpoint.
fn family_series<'a>(
    name: &str,
    kind: Kind,
    url: &'a str,
    snaps: &'a [Snapshot],
) -> Vec<SeriesDoc<'a>> {
    let bound_label = if kind == Kind::Histogram {
        "le"
    } else {
        "quantile"
    };
    let mut series: BTreeMap<String, SeriesOverTime<'a>> = BTreeMap::new();
    for snap in snaps {
        let Some(fam) = snap.families.iter().find(|f| f.name == name) else {
            continue;
        };
        let mut per_key: BTreeMap<String, Vec<Point<'a>>> = BTreeMap::new();
        for s in &fam.samples {
            let key = labels_key(&s.labels, bound_label);
            let bound = s.label("le").or_else(|| s.label("quantile"));
            let suffix = s.name.strip_prefix(name).unwrap_or("");
            per_key
                .entry(key.clone())
                .or_default()
                .push((suffix, bound, s.value));
            series
                .entry(key)
                .or_insert_with(|| (s.labels.as_slice(), Vec::new()));
        }
        for (key, points) in per_key {
            if let Some(entry) = series.get_mut(&key) {
                entry.1.push(Obs {
                    ns: snap.unix_ns,
                    at: snap.at,
                    points,
                });
            }
        }
    }
    series
        .into_values()
        .map(|(labels, over_time)| {
            let mut labels: Vec<(&str, &str)> = labels
                .iter()
                .filter(|(k, _)| k != "le" && k != "quantile")
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            labels.sort();
            let (stats, buckets) = series_stats(kind, &over_time);
            SeriesDoc {
                endpoint_url: url,
                labels: labels.into_iter().collect(),
                stats,
                buckets,
            }
        })
        .collect()
}

/// The statistics of one series from its samples over time (and a histogram's buckets).
fn series_stats<'a>(
    kind: Kind,
    over_time: &[Obs<'a>],
) -> (SeriesStats<'a>, Option<OrderedMap<&'a str, u64>>) {
    match kind {
        Kind::Gauge | Kind::Untyped => {
            let v: Vec<f64> = during_load(over_time)
                .iter()
                .filter_map(|o| value_of(&o.points, ""))
                .collect();
            (SeriesStats::Gauge(GaugeStats::of(&v)), None)
        }
        Kind::Counter => (SeriesStats::Counter(counter_stats(over_time)), None),
        Kind::Histogram => {
            let (stats, buckets) = histogram_stats(over_time);
            (SeriesStats::Histogram(stats), buckets)
        }
        Kind::Summary => {
            let first = over_time.first().map_or(&[][..], |o| o.points.as_slice());
            let last = over_time.last().map_or(&[][..], |o| o.points.as_slice());
            let delta = |suffix: &str| match (value_of(first, suffix), value_of(last, suffix)) {
                (Some(a), Some(b)) => (b - a).max(0.0),
                _ => 0.0,
            };
            let (count, sum) = (delta("_count"), delta("_sum"));
            let quantiles = last
                .iter()
                .filter(|(_, b, _)| b.is_some())
                .map(|(_, b, v)| (b.unwrap_or_default(), finite(*v)))
                .collect();
            let stats = SeriesStats::Summary {
                count,
                sum: finite(sum),
                avg: (count > 0.0).then(|| sum / count).and_then(finite),
                quantiles,
            };
            (stats, None)
        }
    }
}

/// Seconds from the first observation to the last.
fn span_secs(over_time: &[Obs<'_>]) -> f64 {
    match (over_time.first(), over_time.last()) {
        (Some(a), Some(b)) => b.at.duration_since(a.at).as_secs_f64(),
        _ => 0.0,
    }
}

/// A counter's increase over the run (a reset counts as no increase), its rate, and the rate
/// over each complete one-second slice from the first scrape on.
fn counter_stats(over_time: &[Obs<'_>]) -> CounterStats {
    let v: Vec<(u64, f64)> = over_time
        .iter()
        .filter_map(|o| {
            let x = value_of(&o.points, "").or_else(|| value_of(&o.points, "_total"))?;
            Some((o.ns, x))
        })
        .collect();
    let total = match (v.first(), v.last()) {
        (Some(a), Some(b)) => (b.1 - a.1).max(0.0),
        _ => 0.0,
    };
    let secs = span_secs(over_time);
    let rate = if secs > 0.0 { total / secs } else { 0.0 };
    let rates = slice_rates(&v);
    let (rate_avg, rate_min, rate_max, rate_std) = if rates.is_empty() {
        (None, None, None, None)
    } else {
        let n = rates.len() as f64;
        let avg = rates.iter().sum::<f64>() / n;
        let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let max = rates.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let std = aiperf_stats::sample_std(&rates).unwrap_or(0.0);
        (Some(avg), Some(min), Some(max), Some(std))
    };
    CounterStats {
        total,
        rate,
        rate_avg,
        rate_min,
        rate_max,
        rate_std,
    }
}

/// The rate of a counter over each complete slice of `SLICE_NS` from its first sample: the
/// increase between the last values known at the slice's start and end.
pub(super) fn slice_rates(points: &[(u64, f64)]) -> Vec<f64> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    let at = |t: u64| {
        points
            .iter()
            .take_while(|p| p.0 <= t)
            .last()
            .unwrap_or(first)
            .1
    };
    let secs = SLICE_NS as f64 / 1e9;
    (0..)
        .map(|k| first.0 + k * SLICE_NS)
        .take_while(|start| start + SLICE_NS <= last.0)
        .map(|start| (at(start + SLICE_NS) - at(start)).max(0.0) / secs)
        .collect()
}

/// A histogram's observations over the run, and each bucket's increase (`None` when a bucket
/// went down: the server restarted).
fn histogram_stats<'a>(
    over_time: &[Obs<'a>],
) -> (HistogramStats, Option<OrderedMap<&'a str, u64>>) {
    let first = over_time.first().map_or(&[][..], |o| o.points.as_slice());
    let last = over_time.last().map_or(&[][..], |o| o.points.as_slice());
    let delta = |suffix: &str| match (value_of(first, suffix), value_of(last, suffix)) {
        (Some(a), Some(b)) => (b - a).max(0.0),
        _ => 0.0,
    };
    // Counters hold whole numbers: truncating only settles malformed input.
    let count = delta("_count") as u64;
    let sum = delta("_sum");
    let mut buckets = Some(OrderedMap::default());
    for (_, le, v) in last
        .iter()
        .filter(|(s, b, _)| *s == "_bucket" && b.is_some())
    {
        let before = first
            .iter()
            .find(|(s, b, _)| *s == "_bucket" && b == le)
            .map_or(0.0, |x| x.2);
        let increase = v - before;
        match (&mut buckets, le) {
            (Some(m), Some(le)) if increase >= 0.0 => {
                m.insert(*le, increase as u64);
            }
            _ => buckets = None,
        }
    }
    if count == 0 {
        return (HistogramStats::default(), buckets);
    }
    let secs = span_secs(over_time);
    let per_second = |x: f64| (secs > 0.0).then(|| x / secs);
    let stats = HistogramStats {
        count,
        count_rate: per_second(count as f64),
        sum: Some(sum),
        sum_rate: per_second(sum),
        avg: Some(sum / count as f64),
        estimates: buckets
            .as_ref()
            .and_then(|b| estimate_percentiles(over_time, b, sum, count)),
    };
    (stats, buckets)
}

/// The upper bound an `le` label stands for.
fn bucket_bound(le: &str) -> Option<f64> {
    match le {
        "+Inf" | "Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        b => b.parse().ok(),
    }
}

/// The percentiles the window's bucket increases estimate (see [`histogram_estimate`]), the
/// buckets' shapes learned from every scrape interval of the window.
fn estimate_percentiles(
    over_time: &[Obs<'_>],
    increases: &OrderedMap<&str, u64>,
    sum: f64,
    count: u64,
) -> Option<[f64; 9]> {
    let mut les: Vec<(f64, &str, f64)> = increases
        .iter()
        .filter_map(|(le, n)| Some((bucket_bound(le)?, *le, *n as f64)))
        .collect();
    les.sort_by(|a, b| a.0.total_cmp(&b.0));
    let scrapes: Vec<Scrape> = over_time
        .iter()
        .map(|o| Scrape {
            sum: value_of(&o.points, "_sum").unwrap_or(0.0),
            count: value_of(&o.points, "_count").unwrap_or(0.0),
            buckets: les
                .iter()
                .map(|(_, le, _)| {
                    o.points
                        .iter()
                        .find(|(s, b, _)| *s == "_bucket" && *b == Some(*le))
                        .map_or(0.0, |x| x.2)
                })
                .collect(),
        })
        .collect();
    let bounds: Vec<f64> = les.iter().map(|x| x.0).collect();
    let cumulative: Vec<f64> = les.iter().map(|x| x.2).collect();
    histogram_estimate::estimate(
        &bounds,
        &cumulative,
        &histogram_estimate::learn(&scrapes),
        sum,
        count,
    )
}

/// How the scrapes of one endpoint went.
fn endpoint_info(e: &EndpointScrapes) -> EndpointInfo<'_> {
    let snaps = &e.snapshots;
    let updates: Vec<u64> = snaps
        .iter()
        .enumerate()
        .filter(|(i, s)| *i == 0 || snaps[i - 1].families != s.families)
        .map(|(_, s)| s.unix_ns)
        .collect();
    let intervals: Vec<f64> = updates
        .windows(2)
        .map(|w| w[1].saturating_sub(w[0]) as f64 / 1e6)
        .collect();
    let mean = |v: &[f64]| {
        if v.is_empty() {
            0.0
        } else {
            finite(v.iter().sum::<f64>() / v.len() as f64).unwrap_or(0.0)
        }
    };
    let (first_update, last_update) = (
        updates.first().copied().unwrap_or(0),
        updates.last().copied().unwrap_or(0),
    );
    EndpointInfo {
        total_fetches: snaps.len() as u64 + e.failures,
        first_fetch_ns: snaps.first().map_or(0, |s| s.unix_ns),
        last_fetch_ns: snaps.last().map_or(0, |s| s.unix_ns),
        avg_fetch_latency_ms: mean(&e.fetch_latency_ms),
        unique_updates: updates.len() as u64,
        first_update_ns: first_update,
        last_update_ns: last_update,
        duration_seconds: last_update.saturating_sub(first_update) as f64 / 1e9,
        avg_update_interval_ms: mean(&intervals),
        median_update_interval_ms: (intervals.len() >= 2)
            .then(|| aiperf_stats::Summary::of(&intervals).map(|s| s.percentiles[4]))
            .flatten(),
        successful_fetches: snaps.len(),
        failed_fetches: e.failures,
        last_error: e.last_error.as_deref(),
    }
}

/// The `server_metrics_export.json` document.
pub fn export<'a>(
    scrapes: &'a [EndpointScrapes],
    benchmark_id: &'a str,
    start: &'a str,
    end: &'a str,
) -> ServerMetricsExport<'a> {
    let mut metrics: BTreeMap<&'a str, MetricDoc<'a>> = BTreeMap::new();
    for e in scrapes {
        let Some(last) = e.snapshots.last() else {
            continue;
        };
        for f in &last.families {
            let series = family_series(&f.name, f.kind, &e.url, &e.snapshots);
            let name = export_name(&f.name, f.kind);
            let description = f.help.as_deref().unwrap_or("");
            metrics
                .entry(name)
                .or_insert_with(|| MetricDoc {
                    kind: export_kind(f.kind),
                    description,
                    unit: super::units::infer(name, Some(description)),
                    series: Vec::new(),
                })
                .series
                .extend(series);
        }
    }
    for m in metrics.values_mut() {
        m.series
            .sort_by_cached_key(|s| (s.endpoint_url, labels_sort_key(&s.labels)));
    }
    let covered = || {
        scrapes
            .iter()
            .filter_map(|e| Some((e.snapshots.first()?, e.snapshots.last()?)))
    };
    let mut phase_time_ranges = OrderedMap::default();
    if let (Some(start_ns), Some(end_ns)) = (
        covered().map(|(a, _)| a.unix_ns).min(),
        covered().map(|(_, b)| b.unix_ns).max(),
    ) && start_ns < end_ns
    {
        phase_time_ranges.insert("profiling", TimeRange { start_ns, end_ns });
    }
    ServerMetricsExport {
        schema_version: "1.1",
        aiperf_version: env!("CARGO_PKG_VERSION"),
        benchmark_id,
        summary: ExportSummary {
            endpoints_configured: scrapes.iter().map(|e| e.url.as_str()).collect(),
            endpoints_successful: scrapes
                .iter()
                .filter(|e| !e.snapshots.is_empty())
                .map(|e| e.url.as_str())
                .collect(),
            start_time: start,
            end_time: end,
            endpoint_info: scrapes
                .iter()
                .map(|e| (e.url.as_str(), endpoint_info(e)))
                .collect(),
            phase_time_ranges,
        },
        metrics_phase: "profiling",
        metrics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::scrape::tests::scraped;
    use serde_json::json;

    fn body(running: f64, tokens: f64, count: f64, sum: f64, b1: f64) -> String {
        format!(
            "# HELP g Requests running.\n# TYPE g gauge\ng{{m=\"a\",engine=\"0\"}} {running}\n\
             # HELP c_tokens_total Tokens.\n# TYPE c_tokens_total counter\nc_tokens_total {tokens}\n\
             # TYPE h_seconds histogram\nh_seconds_bucket{{le=\"1\"}} {b1}\nh_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             h_seconds_sum {sum}\nh_seconds_count {count}\n"
        )
    }

    #[test]
    fn series_statistics_follow_the_metric_type() {
        let scrapes = scraped(&[
            body(1.0, 100.0, 10.0, 5.0, 4.0),
            body(3.0, 150.0, 14.0, 9.0, 6.0),
            body(3.0, 150.0, 14.0, 9.0, 6.0),
            body(5.0, 300.0, 20.0, 11.0, 9.0),
        ]);
        let doc = serde_json::to_value(export(&scrapes, "id", "s", "e")).unwrap();
        assert_eq!(doc["schema_version"], "1.1");
        assert_eq!(doc["metrics_phase"], "profiling");
        let g = &doc["metrics"]["g"];
        assert_eq!(
            (&g["type"], &g["description"]),
            (&json!("gauge"), &json!("Requests running."))
        );
        // Labels sorted by name; the baseline and final scrapes left out of a gauge.
        assert_eq!(g["series"][0]["labels"], json!({"engine": "0", "m": "a"}));
        assert_eq!(g["series"][0]["stats"]["avg"], json!(3.0));
        // A counter is exported without `_total`; its unit comes from the name.
        assert!(doc["metrics"]["c_tokens_total"].is_null());
        let c = &doc["metrics"]["c_tokens"];
        assert_eq!(c["unit"], "tokens");
        assert!(c["series"][0].get("labels").is_none());
        // 200 tokens over 3 s; per one-second slice: 50, 0, 150.
        assert_eq!(
            c["series"][0]["stats"],
            json!({"total": 200.0, "rate": 200.0 / 3.0, "rate_avg": 200.0 / 3.0,
                   "rate_min": 0.0, "rate_max": 150.0, "rate_std": 76.37626158259734})
        );
        let h = &doc["metrics"]["h_seconds"]["series"][0];
        assert_eq!(h["buckets"], json!({"1": 5, "+Inf": 10}));
        assert_eq!(h["stats"]["count"], json!(10));
        assert_eq!(h["stats"]["sum"], json!(6.0));
        assert_eq!(h["stats"]["count_rate"], json!(10.0 / 3.0));
        // No interval added observations to one bucket only: the five at or below 1 are
        // spread evenly (0.1, 0.3, …, 0.9). Their midpoint sum (2.5) leaves 3.5 for the five
        // above 1, too little for an average above the bound, so those are spread from 1 to 2.
        let p = |q: &str| h["stats"][format!("p{q}_estimate")].as_f64().unwrap();
        assert!((p("50") - 0.95).abs() < 1e-12, "{}", p("50"));
        assert!((p("10") - 0.28).abs() < 1e-12, "{}", p("10"));
        assert!((p("99") - 1.9775).abs() < 1e-12, "{}", p("99"));
        let info = &doc["summary"]["endpoint_info"]["http://x/metrics"];
        assert_eq!(
            (
                &info["total_fetches"],
                &info["successful_fetches"],
                &info["failed_fetches"]
            ),
            (&json!(5), &json!(4), &json!(1))
        );
        // The third scrape repeats the second: three updates, at 1 s, 2 s and 4 s.
        assert_eq!(info["unique_updates"], json!(3));
        assert_eq!(
            (&info["first_update_ns"], &info["last_update_ns"]),
            (&json!(1_000_000_000u64), &json!(4_000_000_000u64))
        );
        assert_eq!(info["duration_seconds"], json!(3.0));
        assert_eq!(info["avg_update_interval_ms"], json!(1500.0));
        assert_eq!(info["median_update_interval_ms"], json!(1500.0));
        assert_eq!(info["avg_fetch_latency_ms"], json!(2.0));
        assert_eq!(
            doc["summary"]["phase_time_ranges"]["profiling"],
            json!({"start_ns": 1_000_000_000u64, "end_ns": 4_000_000_000u64})
        );
    }

    #[test]
    fn a_histogram_without_observations_has_only_its_count_and_buckets() {
        let scrapes = scraped(&[body(0.0, 0.0, 3.0, 1.0, 3.0), body(0.0, 0.0, 3.0, 1.0, 3.0)]);
        let doc = serde_json::to_value(export(&scrapes, "id", "s", "e")).unwrap();
        let h = &doc["metrics"]["h_seconds"]["series"][0];
        assert_eq!(h["stats"], json!({"count": 0}));
        assert_eq!(h["buckets"], json!({"1": 0, "+Inf": 0}));
    }

    #[test]
    fn slice_rates_take_the_last_value_before_each_boundary() {
        // Slices [0,1) [1,2): the value known at each boundary is the last one before it.
        let points = [
            (0, 0.0),
            (500_000_000, 10.0),
            (1_500_000_000, 40.0),
            (2_200_000_000, 50.0),
        ];
        assert_eq!(slice_rates(&points), [10.0, 30.0]);
        assert!(slice_rates(&[(0, 1.0)]).is_empty());
    }
}
