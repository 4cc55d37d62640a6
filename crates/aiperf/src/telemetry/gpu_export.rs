//! The GPU telemetry documents as typed data: `telemetry_data` of `profile_export_aiperf.json`
//! and the lines of `gpu_telemetry_export.jsonl`.

use serde::Serialize;

use super::server_export::{GaugeStats, OrderedMap, finite};

/// `telemetry_data`: the endpoints scraped, each GPU's statistics, and the failed scrapes.
#[derive(Debug, Serialize)]
pub struct TelemetryData<'a> {
    pub summary: TelemetrySummary<'a>,
    /// The endpoint as the reference tool displays it (`host:port/path` without `/metrics`) →
    /// the GPUs that endpoint reported.
    pub endpoints: OrderedMap<String, EndpointDoc<'a>>,
    pub error_summary: Vec<EndpointError<'a>>,
}

#[derive(Debug, Serialize)]
pub struct TelemetrySummary<'a> {
    pub endpoints_configured: Vec<&'a str>,
    pub endpoints_successful: Vec<&'a str>,
    pub start_time: &'a str,
    pub end_time: &'a str,
}

#[derive(Debug, Serialize)]
pub struct EndpointDoc<'a> {
    pub url: &'a str,
    /// `gpu_<index>` → the GPU.
    pub gpus: OrderedMap<String, GpuDoc<'a>>,
}

#[derive(Debug, Serialize)]
pub struct GpuDoc<'a> {
    pub gpu_index: Option<u64>,
    pub gpu_name: &'a str,
    pub gpu_uuid: &'a str,
    pub platform: &'static str,
    pub hostname: &'a str,
    /// Field name → its statistics.
    pub metrics: OrderedMap<&'a str, FieldStats>,
}

/// An endpoint whose scrapes failed.
#[derive(Debug, Serialize)]
pub struct EndpointError<'a> {
    pub endpoint_url: &'a str,
    pub failed_fetches: u64,
    pub last_error: Option<&'a str>,
}

/// One GPU's statistics of one field.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum FieldStats {
    Counter(CounterStats),
    Gauge(GaugeField),
}

/// A counter: its increase over the run, under `avg` as the reference tool writes it.
#[derive(Debug, Clone, Serialize)]
pub struct CounterStats {
    pub unit: String,
    pub avg: Option<f64>,
}

/// A gauge: its distribution while the load ran.
#[derive(Debug, Clone, Serialize)]
pub struct GaugeField {
    pub unit: String,
    #[serde(flatten)]
    pub stats: GaugeStats,
}

impl FieldStats {
    /// One statistic by its key (`avg`, `p50`, …), when it is a number; a counter has only
    /// `avg`, its increase.
    pub fn get(&self, key: &str) -> Option<f64> {
        match self {
            Self::Counter(c) => c.avg.and_then(finite).filter(|_| key == "avg"),
            Self::Gauge(g) => g.stats.get(key),
        }
    }
}

/// One line of `gpu_telemetry_export.jsonl`: one GPU in one scrape, in the reference tool's
/// record shape (its identity, the source, then `telemetry_data`); absent labels are left out.
#[derive(Debug, Serialize)]
pub struct GpuLine<'a> {
    pub gpu_index: u64,
    pub gpu_uuid: &'a str,
    pub gpu_model_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pci_bus_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<&'a str>,
    pub platform: &'static str,
    pub timestamp_ns: u64,
    pub telemetry_source_url: &'a str,
    pub telemetry_data: &'a FieldValues<'a>,
}

/// Field name → its value in one scrape, in the order the scrape lists the fields; values
/// that are not finite are left out.
pub type FieldValues<'a> = OrderedMap<&'a str, f64>;
