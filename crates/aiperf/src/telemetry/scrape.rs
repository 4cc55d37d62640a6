//! Server metrics: scrape Prometheus endpoints during the profiling phase and summarize each
//! series (`server_metrics_export.{json,csv}`). A scrape that fails is counted, never fatal.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio_util::sync::CancellationToken;

use super::prometheus::{Family, parse};
use super::server_export::{RawLine, ServerMetricsExport};

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
    if url == super::nvml::SOURCE {
        return super::nvml::exposition(timeout).await;
    }
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
pub(super) mod tests {
    use super::*;
    use serde_json::Value;

    pub(in crate::telemetry) fn snap(at: Instant, unix_ns: u64, text: &str) -> Snapshot {
        Snapshot {
            at,
            unix_ns,
            latency: Duration::ZERO,
            families: parse(text).unwrap(),
        }
    }

    /// One endpoint scraped once a second, one body per scrape.
    pub(in crate::telemetry) fn scraped(bodies: &[String]) -> Vec<EndpointScrapes> {
        let t0 = Instant::now();
        vec![EndpointScrapes {
            url: "http://x/metrics".into(),
            snapshots: bodies
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    snap(
                        t0 + Duration::from_secs(i as u64),
                        (i as u64 + 1) * 1_000_000_000,
                        b,
                    )
                })
                .collect(),
            failures: 1,
            last_error: Some("HTTP 500".into()),
            fetch_latency_ms: vec![1.0, 2.0, 3.0],
        }]
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
    fn key_figures_average_over_the_load() {
        // Baseline and final scrapes show an idle server; the middle one the load.
        let body = |running: [u32; 2], waiting: u32, kv: [f64; 2]| {
            format!(
                "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{{engine=\"0\"}} {}\n\
                 vllm:num_requests_running{{engine=\"1\"}} {}\n# TYPE sglang:num_queue_reqs gauge\n\
                 sglang:num_queue_reqs {waiting}\n# TYPE vllm:gpu_cache_usage_perc gauge\n\
                 vllm:gpu_cache_usage_perc{{engine=\"0\"}} {}\nvllm:gpu_cache_usage_perc{{engine=\"1\"}} {}\n",
                running[0], running[1], kv[0], kv[1]
            )
        };
        let idle = body([0, 0], 0, [0.0, 0.0]);
        let scrapes = scraped(&[idle.clone(), body([3, 4], 2, [0.25, 0.75]), idle]);
        let doc = crate::telemetry::server_summary::export(&scrapes, "id", "s", "e");
        let got: Vec<(&str, f64)> = key_figures(&doc).iter().map(|m| (m.tag, m.avg())).collect();
        assert_eq!(
            got,
            [
                ("server_running_requests", 7.0),
                ("server_waiting_requests", 2.0),
                ("server_kv_cache_usage", 50.0)
            ]
        );
    }

    #[test]
    fn raw_lines_collapse_runs_of_identical_scrapes() {
        let body = |v: u32| format!("# TYPE g gauge\ng {v}\n");
        let scrapes = scraped(&[1, 2, 2, 2, 2, 3].map(body));
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
}
