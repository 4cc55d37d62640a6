//! GPU telemetry from DCGM exporter endpoints: per-GPU statistics (`telemetry_data` in
//! `profile_export_aiperf.json`, the GPU section of the CSV, a console table), the per-sample
//! `gpu_telemetry_export.jsonl`, and the power and energy the energy-efficiency metrics need.

use std::collections::BTreeMap;

use super::gpu_export::{
    CounterStats, EndpointDoc, EndpointError, FieldStats, FieldValues, GaugeField, GpuDoc, GpuLine,
    TelemetryData, TelemetrySummary,
};
pub use super::gpu_fields::{FIELDS, Field};
use super::prometheus::{Family, Kind};
use super::scrape::{EndpointScrapes, during_load};
use super::server_export::{GaugeStats, OrderedMap, finite};

/// The field a sample belongs to: the exporter's name, with or without the `_total` suffix
/// some exporters give counters.
fn field_of(fields: &[Field], sample_name: &str) -> Option<usize> {
    let base = sample_name.strip_suffix("_total").unwrap_or(sample_name);
    fields.iter().position(|f| f.dcgm == base)
}

/// One GPU's samples of one field over the run.
#[derive(Debug, Clone, Default)]
struct Series {
    /// (wall-clock ns, value in the field's unit).
    points: Vec<(u64, f64)>,
}

/// One GPU seen by one endpoint.
#[derive(Debug, Clone, Default)]
pub struct Gpu {
    pub index: String,
    pub uuid: String,
    pub name: String,
    pub hostname: String,
    /// Further labels the reference tool's records carry, when the exporter sets them.
    pub pci_bus_id: Option<String>,
    pub device: Option<String>,
    pub namespace: Option<String>,
    pub pod: Option<String>,
    series: BTreeMap<usize, Series>,
}

impl Gpu {
    /// The statistics of field `field` (`f`): gauges as a distribution, counters as their
    /// increase.
    fn stats(&self, field: usize, f: &Field) -> Option<FieldStats> {
        let s = self.series.get(&field)?;
        if f.counter {
            let first = s.points.first()?.1;
            let last = s.points.last()?.1;
            Some(FieldStats::Counter(CounterStats {
                unit: f.unit.to_string(),
                // A counter reset (exporter restart) would make the difference negative.
                avg: finite((last - first).max(0.0)),
            }))
        } else {
            let values: Vec<f64> = during_load(&s.points).iter().map(|p| p.1).collect();
            Some(FieldStats::Gauge(GaugeField {
                unit: f.unit.to_string(),
                stats: GaugeStats::of(&values),
            }))
        }
    }

    fn avg(&self, fields: &[Field], field: &str) -> Option<f64> {
        let i = fields.iter().position(|f| f.name == field)?;
        let points = during_load(&self.series.get(&i)?.points);
        (!points.is_empty()).then(|| points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64)
    }

    fn increase(&self, fields: &[Field], field: &str) -> Option<f64> {
        let i = fields.iter().position(|f| f.name == field)?;
        let s = self.series.get(&i)?;
        Some((s.points.last()?.1 - s.points.first()?.1).max(0.0))
    }
}

/// The GPUs of one endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    /// The fields read (a GPU's series are indexed by them).
    pub fields: std::sync::Arc<[Field]>,
    pub gpus: Vec<Gpu>,
    pub fetches: usize,
    pub failures: u64,
    pub last_error: Option<String>,
}

use super::server_export::endpoint_display as endpoint_key;

/// A GPU (without samples) as its DCGM labels identify it.
fn identity(labels: &[(String, String)]) -> Gpu {
    let found = |k: &str| labels.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let label = |k: &str| found(k).unwrap_or_default();
    Gpu {
        index: label("gpu"),
        uuid: label("UUID"),
        name: label("modelName"),
        hostname: label("Hostname"),
        pci_bus_id: found("pci_bus_id"),
        device: found("device"),
        namespace: found("namespace"),
        pod: found("pod"),
        series: BTreeMap::new(),
    }
}

/// Groups the samples of `fields` of every endpoint by GPU.
pub fn collect(scrapes: &[EndpointScrapes], fields: &[Field]) -> Vec<Endpoint> {
    let fields: std::sync::Arc<[Field]> = fields.into();
    scrapes
        .iter()
        .map(|e| {
            let mut gpus: BTreeMap<(u64, String), Gpu> = BTreeMap::new();
            for snap in &e.snapshots {
                for fam in &snap.families {
                    let Some(i) = field_of(&fields, &fam.name) else {
                        continue;
                    };
                    for s in fam.samples.iter().filter(|s| s.name == fam.name) {
                        let id = identity(&s.labels);
                        let key = (id.index.parse().unwrap_or(u64::MAX), id.uuid.clone());
                        gpus.entry(key)
                            .or_insert(id)
                            .series
                            .entry(i)
                            .or_default()
                            .points
                            .push((snap.unix_ns, s.value * fields[i].scale));
                    }
                }
            }
            let gpus: Vec<Gpu> = gpus.into_values().collect();
            Endpoint {
                url: e.url.clone(),
                fields: fields.clone(),
                gpus,
                fetches: e.snapshots.len(),
                failures: e.failures,
                last_error: e.last_error.clone(),
            }
        })
        .collect()
}

/// One GPU of `telemetry_data`: its identity and every field it reported.
fn gpu_doc<'a>(g: &'a Gpu, fields: &'a [Field]) -> GpuDoc<'a> {
    GpuDoc {
        gpu_index: g.index.parse::<u64>().ok(),
        gpu_name: &g.name,
        gpu_uuid: &g.uuid,
        platform: "nvidia",
        hostname: &g.hostname,
        metrics: (fields.iter().enumerate())
            .filter_map(|(i, f)| Some((&*f.name, g.stats(i, f)?)))
            .collect(),
    }
}

/// `telemetry_data` of `profile_export_aiperf.json`.
pub fn telemetry_data<'a>(
    endpoints: &'a [Endpoint],
    start: &'a str,
    end: &'a str,
) -> TelemetryData<'a> {
    let per_endpoint = endpoints
        .iter()
        .filter(|e| !e.gpus.is_empty())
        .map(|e| {
            let gpus = e
                .gpus
                .iter()
                .map(|g| (format!("gpu_{}", g.index), gpu_doc(g, &e.fields)))
                .collect();
            (endpoint_key(&e.url), EndpointDoc { url: &e.url, gpus })
        })
        .collect();
    let errors = endpoints
        .iter()
        .filter(|e| e.failures > 0)
        .map(|e| EndpointError {
            endpoint_url: &e.url,
            failed_fetches: e.failures,
            last_error: e.last_error.as_deref(),
        })
        .collect();
    TelemetryData {
        summary: TelemetrySummary {
            endpoints_configured: endpoints.iter().map(|e| e.url.as_str()).collect(),
            endpoints_successful: endpoints
                .iter()
                .filter(|e| e.fetches > 0)
                .map(|e| e.url.as_str())
                .collect(),
            start_time: start,
            end_time: end,
        },
        endpoints: per_endpoint,
        error_summary: errors,
    }
}

/// Two decimals, or six significant digits for small non-zero values (energy in MJ).
fn f2(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map(|x| {
            if x == 0.0 || x.abs() >= 1.0 {
                format!("{x:.2}")
            } else {
                let decimals = (5 - x.abs().log10().floor() as i32).clamp(2, 12) as usize;
                format!("{x:.decimals$}")
            }
        })
        .unwrap_or_default()
}

/// The GPU section appended to `profile_export_aiperf.csv` (after two blank lines), one row
/// per GPU and field, as the reference tool lays it out. A counter's increase over the run is
/// in the `avg` column, its other columns empty.
pub fn csv_section(endpoints: &[Endpoint]) -> String {
    use crate::export::csv_field;
    let stats = [
        "avg", "min", "max", "sum", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99",
        "std",
    ];
    let mut out = format!(
        "\n\nEndpoint,GPU_Index,GPU_Name,GPU_UUID,Platform,Metric,{},Hostname\n",
        stats.join(",")
    );
    let mut rows = 0;
    for e in endpoints {
        for g in &e.gpus {
            for (i, f) in e.fields.iter().enumerate() {
                let Some(s) = g.stats(i, f) else { continue };
                let mut row = vec![
                    csv_field(&endpoint_key(&e.url)),
                    csv_field(&g.index),
                    csv_field(&g.name),
                    csv_field(&g.uuid),
                    "nvidia".to_owned(),
                    csv_field(&format!("{} ({})", f.header, f.unit)),
                ];
                for stat in stats {
                    let v = match stat {
                        "sum" => s.get("avg").zip(s.get("count")).map(|(a, n)| a * n),
                        _ => s.get(stat),
                    };
                    row.push(f2(v));
                }
                row.push(csv_field(&g.hostname));
                out.push_str(&row.join(","));
                out.push('\n');
                rows += 1;
            }
        }
    }
    if rows == 0 {
        return String::new();
    }
    out
}

/// The per-sample `gpu_telemetry_export.jsonl` of `fields`: one record per GPU per scrape, in
/// the reference tool's record shape. A GPU without a numeric `gpu` label is left out, as the
/// reference tool leaves it out.
pub fn export_jsonl(scrapes: &[EndpointScrapes], fields: &[Field]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in scrapes {
        for snap in &e.snapshots {
            let mut per_gpu: BTreeMap<(u64, String), (Gpu, FieldValues<'_>)> = BTreeMap::new();
            for fam in &snap.families {
                let Some(i) = field_of(fields, &fam.name) else {
                    continue;
                };
                let f = &fields[i];
                for s in fam.samples.iter().filter(|s| s.name == fam.name) {
                    let id = identity(&s.labels);
                    let Ok(index) = id.index.parse::<u64>() else {
                        continue;
                    };
                    let values = &mut per_gpu
                        .entry((index, id.uuid.clone()))
                        .or_insert_with(|| (id, OrderedMap::default()))
                        .1;
                    if let Some(v) = finite(s.value * f.scale) {
                        values.insert(&*f.name, v);
                    }
                }
            }
            for ((index, _), (g, values)) in &per_gpu {
                let line = GpuLine {
                    gpu_index: *index,
                    gpu_uuid: &g.uuid,
                    gpu_model_name: &g.name,
                    pci_bus_id: g.pci_bus_id.as_deref(),
                    device: g.device.as_deref(),
                    hostname: Some(g.hostname.as_str()).filter(|h| !h.is_empty()),
                    namespace: g.namespace.as_deref(),
                    pod_name: g.pod.as_deref(),
                    platform: "nvidia",
                    timestamp_ns: snap.unix_ns,
                    telemetry_source_url: &e.url,
                    telemetry_data: values,
                };
                // Serializing into memory cannot fail: every key is a string.
                let _ = serde_json::to_writer(&mut out, &line);
                out.push(b'\n');
            }
        }
    }
    out
}

/// What the GPUs drew over the run, summed over every GPU: the power draw (each GPU's average
/// while the load ran) and the energy (each energy counter's increase, in joules). `None`
/// where no GPU reported the field.
pub fn power_and_energy(endpoints: &[Endpoint]) -> (Option<f64>, Option<f64>) {
    let gpus = || {
        endpoints
            .iter()
            .flat_map(|e| e.gpus.iter().map(|g| (g, &e.fields[..])))
    };
    let sum = |f: &dyn Fn(&Gpu, &[Field]) -> Option<f64>| {
        let v: Vec<f64> = gpus().filter_map(|(g, fields)| f(g, fields)).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>())
    };
    let power = sum(&|g, f| g.avg(f, "nvidia_power_usage"));
    let energy_j = sum(&|g, f| g.increase(f, "nvidia_energy_consumption")).map(|mj| mj * 1e6);
    (power, energy_j)
}

/// The console table "GPU Telemetry Summary": the main fields of every GPU.
pub fn console_table(endpoints: &[Endpoint]) -> Option<String> {
    use comfy_table::{CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
    let main = [
        "nvidia_power_usage",
        "nvidia_gpu_utilization",
        "nvidia_memory_used",
        "nvidia_temperature",
    ];
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(["GPU", "Metric", "avg", "min", "max", "p50", "p99"]);
    let mut rows = 0;
    for e in endpoints {
        for g in &e.gpus {
            let who = format!("{} #{} ({})", endpoint_key(&e.url), g.index, g.name);
            // The main fields, and those a metrics file asked for.
            let asked = (e.fields.iter())
                .filter(|f| !FIELDS.iter().any(|d| d.dcgm == f.dcgm))
                .map(|f| &*f.name);
            for name in main.into_iter().chain(asked) {
                let Some(i) = e.fields.iter().position(|f| f.name == name) else {
                    continue;
                };
                let f = &e.fields[i];
                let Some(s) = g.stats(i, f) else { continue };
                let mut row = vec![who.clone(), format!("{} ({})", f.header, f.unit)];
                for k in ["avg", "min", "max", "p50", "p99"] {
                    row.push(f2(s.get(k)));
                }
                table.add_row(row);
                rows += 1;
            }
        }
    }
    if rows == 0 {
        return None;
    }
    for (i, column) in table.column_iter_mut().enumerate() {
        if i > 1 {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    let body = table.to_string();
    let width = body.lines().next().map_or(0, |l| l.chars().count());
    Some(format!(
        "{:^width$}\n{body}\n",
        "aiperf | GPU Telemetry Summary"
    ))
}

/// Total power draw of the GPUs in one DCGM scrape, in watts.
pub fn live_power(families: &[Family]) -> Option<f64> {
    let f = families.iter().find(|f| f.name == FIELDS[0].dcgm)?;
    (!f.samples.is_empty()).then(|| f.samples.iter().map(|s| s.value).sum())
}

/// Whether a scrape looks like a DCGM exporter's (at least one known field).
pub fn is_dcgm(families: &[Family]) -> bool {
    families
        .iter()
        .any(|f| f.kind != Kind::Histogram && FIELDS.iter().any(|x| x.dcgm == f.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::prometheus::parse;
    use crate::telemetry::scrape::Snapshot;
    use serde_json::{Value, json};
    use std::time::{Duration, Instant};

    fn dcgm(power: [f64; 2], energy_mj: [f64; 2]) -> String {
        let mut s = String::from(
            "# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).\n# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n",
        );
        for (i, w) in power.iter().enumerate() {
            s.push_str(&format!(
                "DCGM_FI_DEV_POWER_USAGE{{gpu=\"{i}\",UUID=\"GPU-{i}\",modelName=\"H100\",Hostname=\"n1\"}} {w}\n"
            ));
        }
        s.push_str("# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\n");
        for (i, e) in energy_mj.iter().enumerate() {
            s.push_str(&format!(
                "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{gpu=\"{i}\",UUID=\"GPU-{i}\",modelName=\"H100\",Hostname=\"n1\"}} {e}\n"
            ));
        }
        s.push_str("# TYPE DCGM_FI_DEV_FB_USED gauge\nDCGM_FI_DEV_FB_USED{gpu=\"0\",UUID=\"GPU-0\"} 1000\n");
        s
    }

    fn scrapes(texts: &[String]) -> Vec<EndpointScrapes> {
        let t0 = Instant::now();
        vec![EndpointScrapes {
            url: "http://node1:9400/metrics".into(),
            snapshots: texts
                .iter()
                .enumerate()
                .map(|(i, t)| Snapshot {
                    at: t0 + Duration::from_secs(i as u64),
                    unix_ns: i as u64 * 1_000_000_000,
                    latency: Duration::ZERO,
                    families: parse(t).unwrap(),
                })
                .collect(),
            failures: 2,
            last_error: Some("HTTP 503".into()),
            fetch_latency_ms: vec![],
        }]
    }

    #[test]
    fn per_gpu_statistics_and_counter_increase() {
        let s = scrapes(&[
            dcgm([100.0, 200.0], [1e9, 2e9]),
            dcgm([300.0, 400.0], [1.0003e9, 2.0004e9]),
        ]);
        assert!(is_dcgm(&s[0].snapshots[0].families));
        assert_eq!(live_power(&s[0].snapshots[1].families), Some(700.0));
        let endpoints = collect(&s, FIELDS);
        assert_eq!(endpoints[0].gpus.len(), 2);
        let doc = serde_json::to_value(telemetry_data(&endpoints, "a", "b")).unwrap();
        let gpu1 = &doc["endpoints"]["node1:9400"]["gpus"]["gpu_1"];
        assert_eq!(gpu1["gpu_uuid"], "GPU-1");
        assert_eq!(gpu1["hostname"], "n1");
        assert_eq!(gpu1["metrics"]["nvidia_power_usage"]["avg"], json!(300.0));
        assert_eq!(gpu1["metrics"]["nvidia_power_usage"]["unit"], "W");
        // 400,000 mJ = 400 J = 0.0004 MJ.
        let total = gpu1["metrics"]["nvidia_energy_consumption"]["avg"]
            .as_f64()
            .unwrap();
        assert!((total - 4e-4).abs() < 1e-12, "{total}");
        let mem = doc["endpoints"]["node1:9400"]["gpus"]["gpu_0"]["metrics"]["nvidia_memory_used"]
            ["avg"]
            .as_f64()
            .unwrap();
        assert!((mem - 1.048_576).abs() < 1e-9);
        assert_eq!(doc["error_summary"][0]["failed_fetches"], 2);

        let (power, energy) = power_and_energy(&endpoints);
        assert_eq!(power, Some(200.0 + 300.0));
        assert!((energy.unwrap() - 700.0).abs() < 1e-6, "{energy:?}");

        let csv = csv_section(&endpoints);
        assert!(
            csv.contains(",NVIDIA Energy Consumption (MJ),0.000400000,,,"),
            "{csv}"
        );
        assert!(csv.starts_with("\n\nEndpoint,GPU_Index,GPU_Name,GPU_UUID,Platform,Metric,avg,"));
        assert!(
            csv.contains(
                "node1:9400,1,H100,GPU-1,nvidia,NVIDIA GPU Power Usage (W),300.00,200.00,400.00,600.00,"
            ),
            "{csv}"
        );
        let table = console_table(&endpoints).unwrap();
        assert!(table.contains("GPU Power Usage (W)"));

        let raw = String::from_utf8(export_jsonl(&s, FIELDS)).unwrap();
        let lines: Vec<Value> = raw
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[3]["gpu_uuid"], "GPU-1");
        assert_eq!(lines[3]["gpu_model_name"], "H100");
        assert_eq!(lines[3]["hostname"], "n1");
        assert_eq!(lines[3]["platform"], "nvidia");
        assert_eq!(
            lines[3]["telemetry_source_url"],
            "http://node1:9400/metrics"
        );
        assert_eq!(
            lines[3]["telemetry_data"]["nvidia_power_usage"],
            json!(400.0)
        );
        // Labels the exporter did not set are left out.
        assert!(lines[3].get("pci_bus_id").is_none());
    }

    #[test]
    fn nothing_scraped_means_no_section_and_no_power() {
        let endpoints = collect(&scrapes(&[]), FIELDS);
        assert!(csv_section(&endpoints).is_empty());
        assert_eq!(power_and_energy(&endpoints), (None, None));
        assert!(console_table(&endpoints).is_none());
        let doc = serde_json::to_value(telemetry_data(&endpoints, "a", "b")).unwrap();
        assert_eq!(doc["summary"]["endpoints_successful"], json!([]));
        assert_eq!(doc["endpoints"], json!({}));
    }
}
