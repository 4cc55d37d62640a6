//! GPU telemetry from this machine's GPUs through the NVIDIA Management Library
//! (`--gpu-telemetry pynvml`). `libnvidia-ml.so.1`, which comes with the NVIDIA driver, is
//! loaded at run time; nothing of CUDA is needed to build. Each reading is rendered as a DCGM
//! exporter would expose it, under the source `pynvml://localhost`, so the scraper and every
//! GPU export treat it like any DCGM endpoint. The fields and units are those the Python
//! AIPerf reads through pynvml.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::Duration;

use nvml_wrapper::Nvml;
use nvml_wrapper::enum_wrappers::device::{PerformancePolicy, TemperatureSensor};
use nvml_wrapper::error::NvmlError;

/// The source of NVML readings, where DCGM readings have an endpoint URL (the Python
/// AIPerf's name for it).
pub const SOURCE: &str = "pynvml://localhost";

/// The library, loaded once for the process (NVML itself is process-wide).
static NVML: OnceLock<Result<Nvml, String>> = OnceLock::new();

fn nvml() -> Result<&'static Nvml, String> {
    NVML.get_or_init(|| Nvml::init().map_err(describe))
        .as_ref()
        .map_err(Clone::clone)
}

/// Why NVML cannot be used, in words.
fn describe(e: NvmlError) -> String {
    match e {
        NvmlError::LibloadingError(e) => format!("NVML library not found: {e}"),
        NvmlError::FailedToLoadSymbol(s) => {
            format!("NVML library not usable (it lacks {s}); update the NVIDIA driver")
        }
        other => format!("NVML could not start: {other}"),
    }
}

/// Whether NVML loads and sees a GPU: the number of GPUs, or why not.
pub fn check() -> Result<u32, String> {
    let count = nvml()?
        .device_count()
        .map_err(|e| format!("NVML cannot count the GPUs: {e}"))?;
    if count == 0 {
        return Err("NVML sees no GPU on this machine".to_owned());
    }
    Ok(count)
}

/// One reading of every GPU, as DCGM exporter text; NVML's calls block, so they run off the
/// async threads.
pub async fn exposition(timeout: Duration) -> Result<String, String> {
    let read = tokio::task::spawn_blocking(read);
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(text)) => text,
        Ok(Err(e)) => Err(format!("NVML reading failed: {e}")),
        Err(_) => Err(format!(
            "NVML gave no reading within {} ms",
            timeout.as_millis()
        )),
    }
}

/// The DCGM fields of one reading, in the order the Python AIPerf lists them, with the value
/// in DCGM's unit (the standard field scales then apply).
const FIELDS: [&str; 10] = [
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_MEM_COPY_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_DEC_UTIL",
    "DCGM_FI_DEV_ENC_UTIL",
    "DCGM_FI_PROF_SM_ACTIVE",
    "DCGM_FI_DEV_POWER_VIOLATION",
];

/// One GPU: its labels and the value of each of [`FIELDS`] it gave.
struct Reading {
    labels: String,
    values: [Option<f64>; FIELDS.len()],
}

fn read() -> Result<String, String> {
    let nvml = nvml()?;
    let count = nvml.device_count().map_err(|e| e.to_string())?;
    let gpus: Vec<Reading> = (0..count)
        .filter_map(|i| nvml.device_by_index(i).ok().map(|d| reading(i, &d)))
        .collect();
    Ok(render(&gpus))
}

fn reading(index: u32, d: &nvml_wrapper::Device<'_>) -> Reading {
    let uuid = d.uuid().unwrap_or_else(|_| format!("GPU-unknown-{index}"));
    let name = d.name().unwrap_or_else(|_| "Unknown GPU".to_owned());
    let mut labels = format!(
        "gpu=\"{index}\",UUID=\"{}\",modelName=\"{}\",Hostname=\"localhost\",device=\"nvidia{index}\"",
        escape(&uuid),
        escape(&name)
    );
    if let Ok(pci) = d.pci_info() {
        let _ = write!(labels, ",pci_bus_id=\"{}\"", escape(&pci.bus_id));
    }
    let utilization = d.utilization_rates().ok();
    // Per-process SM use, summed and capped, as the Python AIPerf falls back to it.
    let sm = d.process_utilization_stats(None).ok().map(|samples| {
        let sum: f64 = samples.iter().map(|s| f64::from(s.sm_util)).sum();
        sum.min(100.0) / 100.0
    });
    let values = [
        // mW → W.
        d.power_usage().ok().map(|mw| f64::from(mw) / 1e3),
        // mJ, as DCGM counts it.
        d.total_energy_consumption().ok().map(|mj| mj as f64),
        utilization.as_ref().map(|u| f64::from(u.gpu)),
        utilization.as_ref().map(|u| f64::from(u.memory)),
        // Bytes → MiB, as DCGM counts it.
        d.memory_info().ok().map(|m| m.used as f64 / 1_048_576.0),
        d.temperature(TemperatureSensor::Gpu).ok().map(f64::from),
        d.decoder_utilization()
            .ok()
            .map(|u| f64::from(u.utilization)),
        d.encoder_utilization()
            .ok()
            .map(|u| f64::from(u.utilization)),
        // A ratio, as DCGM gives it.
        sm,
        // Nanoseconds of power throttling.
        d.violation_status(PerformancePolicy::Power)
            .ok()
            .map(|v| v.violation_time as f64),
    ];
    Reading { labels, values }
}

/// Prometheus text: each field a family, one sample per GPU that gave it.
fn render(gpus: &[Reading]) -> String {
    let mut out = String::new();
    for (i, name) in FIELDS.iter().enumerate() {
        let kind = if matches!(i, 1 | 9) {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for g in gpus {
            if let Some(v) = g.values[i].filter(|v| v.is_finite()) {
                let _ = writeln!(out, "{name}{{{}}} {v}", g.labels);
            }
        }
    }
    out
}

/// A label value as Prometheus text quotes it.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::gpu::{FIELDS as GPU_FIELDS, collect, export_jsonl};
    use crate::telemetry::scrape::{EndpointScrapes, Snapshot};

    #[test]
    fn a_reading_reads_as_a_dcgm_scrape() {
        let mut values = [None; FIELDS.len()];
        values[0] = Some(250.5);
        values[1] = Some(1e9);
        values[4] = Some(1000.0);
        values[8] = Some(0.42);
        let gpu = Reading {
            labels: format!(
                "gpu=\"0\",UUID=\"GPU-1\",modelName=\"{}\",Hostname=\"localhost\",device=\"nvidia0\"",
                escape("H100 \"SXM\"")
            ),
            values,
        };
        let text = render(&[gpu]);
        let families = crate::telemetry::prometheus::parse(&text).unwrap();
        let scrapes = vec![EndpointScrapes {
            url: SOURCE.into(),
            snapshots: vec![Snapshot {
                at: std::time::Instant::now(),
                unix_ns: 1,
                latency: Duration::ZERO,
                families,
            }],
            failures: 0,
            last_error: None,
            fetch_latency_ms: vec![],
        }];
        let line: serde_json::Value =
            serde_json::from_slice(&export_jsonl(&scrapes, GPU_FIELDS)).unwrap();
        assert_eq!(line["telemetry_source_url"], SOURCE);
        assert_eq!(line["gpu_model_name"], "H100 \"SXM\"");
        assert_eq!(line["hostname"], "localhost");
        assert_eq!(line["device"], "nvidia0");
        let data = &line["telemetry_data"];
        assert_eq!(data["nvidia_power_usage"], 250.5);
        assert!((data["nvidia_energy_consumption"].as_f64().unwrap() - 1.0).abs() < 1e-12);
        // 1000 MiB = 1.048576 GB, as the Python AIPerf's bytes × 1e-9.
        assert!((data["nvidia_memory_used"].as_f64().unwrap() - 1.048_576).abs() < 1e-9);
        assert!((data["nvidia_sm_utilization"].as_f64().unwrap() - 42.0).abs() < 1e-9);
        assert!(data.get("nvidia_gpu_utilization").is_none());
        assert_eq!(collect(&scrapes, GPU_FIELDS)[0].gpus.len(), 1);
    }

    #[test]
    fn without_the_library_it_says_so() {
        // This machine may or may not have an NVIDIA driver; either way the answer is clear.
        match check() {
            Ok(n) => assert!(n > 0),
            Err(e) => assert!(
                e.starts_with("NVML library not found")
                    || e.starts_with("NVML could not start")
                    || e.starts_with("NVML sees no GPU"),
                "{e}"
            ),
        }
    }
}
