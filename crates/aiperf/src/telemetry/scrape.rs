//! Server metrics: scrape Prometheus endpoints during the profiling phase and summarize each
//! series (`server_metrics_export.{json,csv}`). A scrape that fails is counted, never fatal.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio_util::sync::CancellationToken;

use super::prometheus::{Family, Kind, parse};
use super::server_export::{
    EndpointInfo, ExportSummary, GaugeStats, MetricDoc, RawLine, SeriesDoc, SeriesStats,
    ServerMetricsExport, finite, labels_key,
};

/// One successful scrape.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub at: Instant,
    /// Wall-clock time of the request, in nanoseconds since the Unix epoch.
    pub unix_ns: u64,
    /// How long the endpoint took to answer.
    pub latency: Duration,
    pub families: Vec<Family>,
}

/// Everything scraped from one endpoint.
#[derive(Debug, Clone)]
pub struct EndpointScrapes {
    pub url: String,
    pub snapshots: Vec<Snapshot>,
    pub failures: u64,
    pub last_error: Option<String>,
    pub fetch_latency_ms: Vec<f64>,
}

/// Plain HTTP or HTTPS (public roots), like the benchmark client.
type ScrapeClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

fn scrape_client() -> Result<ScrapeClient, String> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    let tls = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(tls))
}

/// How long the last scrape, taken when the run stops, may take.
const FINAL_SCRAPE_TIMEOUT: Duration = Duration::from_secs(1);

/// Called with the families of every successful scrape (live displays).
pub type OnScrape = std::sync::Arc<dyn Fn(&[Family]) + Send + Sync>;

/// Scrapes `urls` every `interval` until `stop` fires, then once more so counters cover the
/// whole window. `ready` fires after the first round, the baseline taken before the load starts.
pub async fn scrape(
    urls: Vec<String>,
    interval: Duration,
    stop: CancellationToken,
    ready: tokio::sync::oneshot::Sender<()>,
    on_scrape: Option<OnScrape>,
) -> Vec<EndpointScrapes> {
    let mut out: Vec<EndpointScrapes> = urls
        .into_iter()
        .map(|url| EndpointScrapes {
            url,
            snapshots: Vec::new(),
            failures: 0,
            last_error: None,
            fetch_latency_ms: Vec::new(),
        })
        .collect();
    let client = match scrape_client() {
        Ok(c) => c,
        Err(error) => {
            for e in &mut out {
                e.failures += 1;
                e.last_error = Some(error.clone());
            }
            let _ = ready.send(());
            return out;
        }
    };
    for e in &mut out {
        scrape_once(&client, e, Duration::from_secs(2)).await;
    }
    let _ = ready.send(());
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    ticker.reset();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.cancelled() => break,
        }
        for e in &mut out {
            tokio::select! {
                () = scrape_once(&client, e, Duration::from_secs(2)) => {}
                () = stop.cancelled() => break,
            }
            if let (Some(f), Some(s)) = (&on_scrape, e.snapshots.last()) {
                f(&s.families);
            }
        }
    }
    for e in &mut out {
        scrape_once(&client, e, FINAL_SCRAPE_TIMEOUT).await;
    }
    out
}

/// Whether `url` answers with Prometheus text within `timeout` (for endpoints that are tried
/// by default and dropped quietly when nothing listens).
pub async fn reachable(url: &str, timeout: Duration) -> bool {
    let Ok(client) = scrape_client() else {
        return false;
    };
    matches!(fetch(&client, url, timeout).await, Ok(text) if parse(&text).is_ok())
}

async fn scrape_once(client: &ScrapeClient, e: &mut EndpointScrapes, timeout: Duration) {
    let started = Instant::now();
    let unix_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    match fetch(client, &e.url, timeout).await {
        Ok(text) => match parse(&text) {
            Ok(families) => {
                let latency = started.elapsed();
                e.fetch_latency_ms.push(latency.as_secs_f64() * 1e3);
                e.snapshots.push(Snapshot {
                    at: started,
                    unix_ns,
                    latency,
                    families,
                });
            }
            Err(err) => {
                e.failures += 1;
                e.last_error = Some(format!("not Prometheus text format: {err}"));
            }
        },
        Err(err) => {
            e.failures += 1;
            e.last_error = Some(err);
        }
    }
}

async fn fetch(client: &ScrapeClient, url: &str, timeout: Duration) -> Result<String, String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
    let fut = async {
        let response = client.get(uri).await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        String::from_utf8(body.to_vec()).map_err(|_| "the body is not UTF-8".to_owned())
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| format!("no answer within {} ms", timeout.as_millis()))?
}

/// A unit inferred from the metric name's suffix, as the reference tool does.
fn unit(name: &str) -> &'static str {
    let n = name.trim_end_matches("_total");
    if n.ends_with("_seconds") {
        "seconds"
    } else if n.ends_with("_bytes") {
        "bytes"
    } else if n.ends_with("_tokens") || n.contains("tokens") {
        "tokens"
    } else if n.ends_with("_perc") || n.ends_with("_percent") || n.ends_with("_ratio") {
        "ratio"
    } else {
        ""
    }
}

/// The samples taken while the load ran: without the baseline scrape (before the first
/// request) and the final one (after the last), which counters need but which would show an
/// idle server in a gauge's statistics.
pub fn during_load<T>(samples: &[T]) -> &[T] {
    if samples.len() > 2 {
        &samples[1..samples.len() - 1]
    } else {
        samples
    }
}

/// One sample of one series in one scrape: (sample-name suffix, `le`/`quantile` bound, value).
type Point<'a> = (&'a str, Option<&'a str>, f64);

/// One series over time: the labels of its first sample, then its samples in each scrape.
type SeriesSamples<'a> = (&'a [(String, String)], Vec<Vec<Point<'a>>>);

/// The value of the sample with `suffix` and no bound.
fn value_of(snap: &[Point<'_>], suffix: &str) -> Option<f64> {
    snap.iter()
        .find(|(s, b, _)| *s == suffix && b.is_none())
        .map(|x| x.2)
}

/// Per-series statistics of one family over the snapshots of one endpoint.
fn family_series<'a>(
    name: &str,
    kind: Kind,
    url: &'a str,
    snaps: &'a [Snapshot],
) -> Vec<SeriesDoc<'a>> {
    let elapsed = match (snaps.first(), snaps.last()) {
        (Some(a), Some(b)) => b.at.duration_since(a.at).as_secs_f64(),
        _ => 0.0,
    };
    let mut series: BTreeMap<String, SeriesSamples<'a>> = BTreeMap::new();
    for snap in snaps {
        let Some(fam) = snap.families.iter().find(|f| f.name == name) else {
            continue;
        };
        let mut per_key: BTreeMap<String, Vec<Point<'a>>> = BTreeMap::new();
        for s in &fam.samples {
            let key = labels_key(
                &s.labels,
                if kind == Kind::Histogram {
                    "le"
                } else {
                    "quantile"
                },
            );
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
        for (key, samples) in per_key {
            if let Some(entry) = series.get_mut(&key) {
                entry.1.push(samples);
            }
        }
    }
    series
        .into_values()
        .map(|(labels, over_time)| SeriesDoc {
            endpoint_url: url,
            labels: labels
                .iter()
                .filter(|(k, _)| k != "le" && k != "quantile")
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            stats: series_stats(kind, &over_time, elapsed),
        })
        .collect()
}

/// The statistics of one series from its samples over time: a gauge's distribution while the
/// load ran, a counter's increase and rate, a histogram's or summary's observations.
fn series_stats<'a>(kind: Kind, over_time: &[Vec<Point<'a>>], elapsed: f64) -> SeriesStats<'a> {
    match kind {
        Kind::Gauge | Kind::Untyped => {
            let v: Vec<f64> = during_load(over_time)
                .iter()
                .filter_map(|s| value_of(s, ""))
                .collect();
            SeriesStats::Gauge(GaugeStats::of(&v))
        }
        Kind::Counter => {
            let v: Vec<f64> = over_time
                .iter()
                .filter_map(|s| value_of(s, "").or_else(|| value_of(s, "_total")))
                .collect();
            let total = match (v.first(), v.last()) {
                (Some(a), Some(b)) => (b - a).max(0.0),
                _ => 0.0,
            };
            let rate = if elapsed > 0.0 {
                finite(total / elapsed)
            } else {
                None
            };
            SeriesStats::Counter { total, rate }
        }
        Kind::Histogram | Kind::Summary => {
            let first = over_time.first().map_or(&[][..], Vec::as_slice);
            let last = over_time.last().map_or(&[][..], Vec::as_slice);
            let delta = |suffix: &str| match (value_of(first, suffix), value_of(last, suffix)) {
                (Some(a), Some(b)) => Some((b - a).max(0.0)),
                _ => None,
            };
            let count = delta("_count").unwrap_or(0.0);
            let sum = delta("_sum").unwrap_or(0.0);
            let avg = if count > 0.0 {
                finite(sum / count)
            } else {
                None
            };
            if kind == Kind::Histogram {
                let buckets = last
                    .iter()
                    .filter(|(s, b, _)| *s == "_bucket" && b.is_some())
                    .map(|(_, b, v)| {
                        let before = first
                            .iter()
                            .find(|(s, b2, _)| *s == "_bucket" && b2 == b)
                            .map_or(0.0, |x| x.2);
                        (b.unwrap_or_default(), (v - before).max(0.0))
                    })
                    .collect();
                SeriesStats::Histogram {
                    count,
                    sum: finite(sum),
                    avg,
                    buckets,
                }
            } else {
                let quantiles = last
                    .iter()
                    .filter(|(_, b, _)| b.is_some())
                    .map(|(_, b, v)| (b.unwrap_or_default(), finite(*v)))
                    .collect();
                SeriesStats::Summary {
                    count,
                    sum: finite(sum),
                    avg,
                    quantiles,
                }
            }
        }
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
            metrics
                .entry(&f.name)
                .or_insert_with(|| MetricDoc {
                    kind: f.kind.name(),
                    description: f.help.as_deref(),
                    unit: unit(&f.name),
                    series: Vec::new(),
                })
                .series
                .extend(series);
        }
    }
    let endpoint_info = scrapes
        .iter()
        .map(|e| {
            let n = e.snapshots.len();
            let interval = match (e.snapshots.first(), e.snapshots.last()) {
                (Some(a), Some(b)) if n > 1 => {
                    finite(b.at.duration_since(a.at).as_secs_f64() * 1e3 / (n - 1) as f64)
                }
                _ => None,
            };
            let latency = if e.fetch_latency_ms.is_empty() {
                None
            } else {
                finite(e.fetch_latency_ms.iter().sum::<f64>() / e.fetch_latency_ms.len() as f64)
            };
            let info = EndpointInfo {
                total_fetches: n as u64 + e.failures,
                successful_fetches: n,
                failed_fetches: e.failures,
                last_error: e.last_error.as_deref(),
                avg_fetch_latency_ms: latency,
                avg_update_interval_ms: interval,
            };
            (e.url.as_str(), info)
        })
        .collect();
    ServerMetricsExport {
        schema_version: "1.0",
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
            endpoint_info,
        },
        metrics,
    }
}

/// The server's key figures, per engine vocabulary: (tag, header, unit, scale, metric names
/// in order of preference). Series of one metric (engines, endpoints) are summed, except the
/// KV-cache usage, which is averaged.
const KEY_FIGURES: [(&str, &str, &str, f64, &[&str]); 3] = [
    (
        "server_running_requests",
        "Server Running Requests",
        "requests",
        1.0,
        &["vllm:num_requests_running", "sglang:num_running_reqs"],
    ),
    (
        "server_waiting_requests",
        "Server Waiting Requests",
        "requests",
        1.0,
        &["vllm:num_requests_waiting", "sglang:num_queue_reqs"],
    ),
    (
        "server_kv_cache_usage",
        "Server KV-Cache Usage",
        "%",
        100.0,
        &[
            "vllm:kv_cache_usage_perc",
            "vllm:gpu_cache_usage_perc",
            "sglang:token_usage",
        ],
    ),
];

/// The key figures in one scrape: (running, waiting, KV-cache use in percent).
pub fn live_figures(families: &[Family]) -> [Option<f64>; 3] {
    KEY_FIGURES.map(|(tag, _, _, scale, names)| {
        let fam = names
            .iter()
            .find_map(|n| families.iter().find(|f| f.name == *n))?;
        let values: Vec<f64> = fam.samples.iter().map(|s| s.value).collect();
        if values.is_empty() {
            return None;
        }
        let total: f64 = values.iter().sum();
        let v = if tag == "server_kv_cache_usage" {
            total / values.len() as f64
        } else {
            total
        };
        Some(v * scale)
    })
}

/// Time-averaged running and waiting requests and KV-cache use as the server reported them,
/// from the `server_metrics_export.json` document; figures the server does not export are left out.
pub fn key_figures(doc: &ServerMetricsExport<'_>) -> Vec<crate::metrics::MetricResult> {
    KEY_FIGURES
        .iter()
        .filter_map(|(tag, header, unit, scale, names)| {
            let series = names.iter().find_map(|n| {
                doc.metrics
                    .get(n)
                    .map(|m| &m.series)
                    .filter(|s| !s.is_empty())
            })?;
            let avgs: Vec<f64> = series.iter().filter_map(|s| s.stats.avg()).collect();
            if avgs.is_empty() {
                return None;
            }
            let total: f64 = avgs.iter().sum();
            let value = if *tag == "server_kv_cache_usage" {
                total / avgs.len() as f64
            } else {
                total
            };
            Some(crate::metrics::MetricResult {
                tag,
                header,
                unit,
                value: crate::metrics::Value::Scalar(value * scale),
            })
        })
        .collect()
}

/// `server_metrics_export.csv`: one row per series and numeric statistic.
pub fn export_csv(doc: &ServerMetricsExport<'_>) -> String {
    let mut out = String::from("Metric,Type,Endpoint,Labels,Stat,Value\n");
    for (name, m) in &doc.metrics {
        for s in &m.series {
            let labels = s
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(";");
            for (stat, x) in s.stats.numbers() {
                out.push_str(&format!(
                    "{},{},{},{},{},{x}\n",
                    crate::export::csv_field(name),
                    m.kind,
                    crate::export::csv_field(s.endpoint_url),
                    crate::export::csv_field(&labels),
                    stat
                ));
            }
        }
    }
    out
}

/// `server_metrics_export.jsonl`: one line per scrape, runs of identical scrapes collapsed to
/// their first and last line.
pub fn export_jsonl(scrapes: &[EndpointScrapes]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in scrapes {
        let n = e.snapshots.len();
        for (i, snap) in e.snapshots.iter().enumerate() {
            let same_as = |j: usize| e.snapshots[j].families == snap.families;
            // Inside a run of identical scrapes: neither its first nor its last line.
            if i > 0 && i + 1 < n && same_as(i - 1) && same_as(i + 1) {
                continue;
            }
            let line = RawLine::new(&e.url, snap);
            // Serializing into memory cannot fail: every key is a string.
            let _ = serde_json::to_writer(&mut out, &line);
            out.push(b'\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::server_export::OrderedMap;
    use serde_json::{Value, json};

    /// A document of gauges, one series per average given.
    fn gauges<'a>(metrics: &[(&'a str, &[f64])]) -> ServerMetricsExport<'a> {
        let series = |avgs: &[f64]| {
            avgs.iter()
                .map(|a| SeriesDoc {
                    endpoint_url: "",
                    labels: OrderedMap::default(),
                    stats: SeriesStats::Gauge(GaugeStats::of(&[*a])),
                })
                .collect()
        };
        ServerMetricsExport {
            schema_version: "1.0",
            aiperf_version: "",
            benchmark_id: "",
            summary: ExportSummary {
                endpoints_configured: Vec::new(),
                endpoints_successful: Vec::new(),
                start_time: "",
                end_time: "",
                endpoint_info: OrderedMap::default(),
            },
            metrics: metrics
                .iter()
                .map(|(name, avgs)| {
                    let metric = MetricDoc {
                        kind: "gauge",
                        description: None,
                        unit: "",
                        series: series(avgs),
                    };
                    (*name, metric)
                })
                .collect(),
        }
    }

    fn snap(at: Instant, text: &str) -> Snapshot {
        Snapshot {
            at,
            unix_ns: 0,
            latency: Duration::ZERO,
            families: parse(text).unwrap(),
        }
    }

    #[test]
    fn live_figures_read_one_scrape() {
        let families = parse(
            "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{engine=\"0\"} 5\n\
             vllm:num_requests_running{engine=\"1\"} 7\n# TYPE vllm:kv_cache_usage_perc gauge\n\
             vllm:kv_cache_usage_perc 0.5\n",
        )
        .unwrap();
        assert_eq!(live_figures(&families), [Some(12.0), None, Some(50.0)]);
    }

    #[test]
    fn raw_lines_collapse_runs_of_identical_scrapes() {
        let t0 = Instant::now();
        let body = |v: u32| format!("# TYPE g gauge\ng {v}\n");
        let snapshots = [1, 2, 2, 2, 2, 3]
            .iter()
            .enumerate()
            .map(|(i, v)| snap(t0 + Duration::from_secs(i as u64), &body(*v)))
            .collect();
        let scrapes = [EndpointScrapes {
            url: "u".into(),
            snapshots,
            failures: 0,
            last_error: None,
            fetch_latency_ms: vec![],
        }];
        let raw = String::from_utf8(export_jsonl(&scrapes)).unwrap();
        let values: Vec<f64> = raw
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["metrics"]["g"][0]["value"]
                    .as_f64()
                    .unwrap()
            })
            .collect();
        assert_eq!(values, [1.0, 2.0, 2.0, 3.0]);
    }

    #[test]
    fn series_statistics_follow_the_metric_type() {
        let t0 = Instant::now();
        let body = |running: f64, tokens: f64, count: f64, sum: f64, b1: f64| {
            format!(
                "# TYPE g gauge\ng{{m=\"a\"}} {running}\n# TYPE c counter\nc_total {tokens}\n# TYPE h histogram\n\
                 h_bucket{{le=\"1\"}} {b1}\nh_bucket{{le=\"+Inf\"}} {count}\nh_sum {sum}\nh_count {count}\n"
            )
        };
        let scrapes = vec![EndpointScrapes {
            url: "http://x/metrics".into(),
            snapshots: vec![
                snap(t0, &body(1.0, 100.0, 10.0, 5.0, 4.0)),
                snap(
                    t0 + Duration::from_secs(1),
                    &body(3.0, 150.0, 14.0, 9.0, 6.0),
                ),
                snap(
                    t0 + Duration::from_secs(2),
                    &body(5.0, 300.0, 20.0, 11.0, 9.0),
                ),
            ],
            failures: 1,
            last_error: Some("HTTP 500".into()),
            fetch_latency_ms: vec![1.0, 2.0, 3.0],
        }];
        let typed = export(&scrapes, "id", "s", "e");
        let doc = serde_json::to_value(&typed).unwrap();
        let g = &doc["metrics"]["g"]["series"][0];
        assert_eq!(g["labels"], json!({"m": "a"}));
        // Gauges leave out the baseline (1) and final (5) scrapes: only the load counts.
        assert_eq!(
            (
                g["stats"]["avg"].as_f64(),
                g["stats"]["min"].as_f64(),
                g["stats"]["max"].as_f64(),
                g["stats"]["count"].as_u64()
            ),
            (Some(3.0), Some(3.0), Some(3.0), Some(1))
        );
        assert_eq!(during_load(&[1, 2, 3, 4]), [2, 3]);
        assert_eq!(during_load(&[1, 2]), [1, 2]);
        let c = &doc["metrics"]["c"]["series"][0]["stats"];
        assert_eq!(
            (c["total"].as_f64(), c["rate"].as_f64()),
            (Some(200.0), Some(100.0))
        );
        let h = &doc["metrics"]["h"]["series"][0]["stats"];
        assert_eq!(
            (h["count"].as_f64(), h["sum"].as_f64(), h["avg"].as_f64()),
            (Some(10.0), Some(6.0), Some(0.6))
        );
        assert_eq!(h["buckets"], json!({"1": 5.0, "+Inf": 10.0}));
        let info = &doc["summary"]["endpoint_info"]["http://x/metrics"];
        assert_eq!(
            (
                info["total_fetches"].as_u64(),
                info["failed_fetches"].as_u64()
            ),
            (Some(4), Some(1))
        );
        assert_eq!(info["avg_update_interval_ms"].as_f64(), Some(1000.0));
        let raw = String::from_utf8(export_jsonl(&scrapes)).unwrap();
        let lines: Vec<Value> = raw
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[2]["metrics"]["g"][0],
            json!({"labels": {"m": "a"}, "value": 5.0})
        );
        assert_eq!(
            lines[0]["metrics"]["h"][0],
            json!({"labels": {}, "histogram": {"1": 4.0, "+Inf": 10.0}, "sum": 5.0, "count": 10.0})
        );
        let figures = key_figures(&gauges(&[
            ("vllm:num_requests_running", &[3.0, 4.0]),
            ("vllm:gpu_cache_usage_perc", &[0.25, 0.75]),
            ("sglang:num_queue_reqs", &[2.0]),
        ]));
        let got: Vec<(&str, f64)> = figures
            .iter()
            .map(|m| match m.value {
                crate::metrics::Value::Scalar(v) => (m.tag, v),
                crate::metrics::Value::Dist(_) => (m.tag, f64::NAN),
            })
            .collect();
        assert_eq!(
            got,
            [
                ("server_running_requests", 7.0),
                ("server_waiting_requests", 2.0),
                ("server_kv_cache_usage", 50.0)
            ]
        );
        let csv = export_csv(&typed);
        assert!(csv.starts_with("Metric,Type,Endpoint,Labels,Stat,Value\n"));
        assert!(
            csv.contains("c,counter,http://x/metrics,,total,200\n"),
            "{csv}"
        );
    }
}
