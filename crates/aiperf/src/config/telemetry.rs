//! Server metrics and GPU telemetry: which endpoints are scraped, and how often.

use super::endpoint::normalize_url;
use crate::UsageError;
use crate::cli::profile::ProfileArgs;

pub(super) fn resolve_server_metrics(
    args: &ProfileArgs,
) -> Result<crate::settings::ServerMetricsConfig, UsageError> {
    let o = &args.output;
    let interval = o.server_metrics_interval_ms;
    if !(interval.is_finite() && interval >= 1.0) {
        return Err(UsageError::new(format!(
            "--server-metrics-interval-ms must be at least 1 millisecond, got {interval}"
        )));
    }
    let urls = o
        .server_metrics
        .iter()
        .map(|u| {
            normalize_url(u).map_err(|e| UsageError::new(e.0.replace("--url", "--server-metrics")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut jsonl = false;
    for f in &o.server_metrics_formats {
        match f.trim().to_ascii_lowercase().as_str() {
            "json" | "csv" => {}
            "jsonl" => jsonl = true,
            other => {
                return Err(UsageError::new(format!(
                    "--server-metrics-formats: unknown format {other:?}; use json, csv or jsonl \
                     (json and csv are always written)"
                )));
            }
        }
    }
    Ok(crate::settings::ServerMetricsConfig {
        enabled: !o.no_server_metrics,
        urls,
        interval_ms: interval,
        jsonl,
    })
}

pub(super) fn resolve_gpu_telemetry(
    args: &ProfileArgs,
) -> Result<crate::settings::GpuTelemetryConfig, UsageError> {
    use crate::settings::GpuCollector;
    let o = &args.output;
    let interval = o.gpu_telemetry_interval_ms;
    if !(interval.is_finite() && interval >= 1.0) {
        return Err(UsageError::new(format!(
            "--gpu-telemetry-interval-ms must be at least 1 millisecond, got {interval}"
        )));
    }
    let given = o.gpu_telemetry.as_deref().unwrap_or_default();
    if o.no_gpu_telemetry && !given.is_empty() {
        return Err(UsageError::new(
            "--no-gpu-telemetry contradicts --gpu-telemetry URLs; drop one of them",
        ));
    }
    let mut urls = Vec::new();
    let mut metrics_file = None;
    let mut collector = GpuCollector::Dcgm;
    for v in given {
        let lowered = v.to_ascii_lowercase();
        match lowered.as_str() {
            "dashboard" => {}
            "pynvml" => collector = GpuCollector::Nvml,
            "amdsmi" => {
                return Err(UsageError::new(
                    "--gpu-telemetry amdsmi: AMD GPUs are not supported; use pynvml for this \
                     machine's NVIDIA GPUs, or a DCGM exporter's URL, e.g. \
                     --gpu-telemetry http://localhost:9400/metrics",
                ));
            }
            _ if v.ends_with(".csv") => metrics_file = Some(std::path::PathBuf::from(v)),
            _ => {
                let url = normalize_url(v)
                    .map_err(|e| UsageError::new(e.0.replace("--url", "--gpu-telemetry")))?;
                // A bare exporter address gets the conventional path.
                let has_path = url
                    .parse::<http::Uri>()
                    .is_ok_and(|u| !matches!(u.path(), "" | "/"));
                let url = if has_path {
                    url
                } else {
                    format!("{url}/metrics")
                };
                if !urls.contains(&url) {
                    urls.push(url);
                }
            }
        }
    }
    let custom_fields = match &metrics_file {
        Some(path) => crate::telemetry::dcgm_csv::read(path).map_err(UsageError::new)?,
        None => Vec::new(),
    };
    if collector == GpuCollector::Nvml {
        check_nvml(&urls, &args.endpoint.urls)?;
    }
    Ok(crate::settings::GpuTelemetryConfig {
        enabled: !o.no_gpu_telemetry,
        urls,
        interval_ms: interval,
        metrics_file,
        custom_fields,
        collector,
    })
}

/// `--gpu-telemetry pynvml`: this machine's GPUs, so no DCGM URLs, and NVML must load.
fn check_nvml(dcgm_urls: &[String], server_urls: &[String]) -> Result<(), UsageError> {
    if !dcgm_urls.is_empty() {
        return Err(UsageError::new(
            "--gpu-telemetry pynvml cannot be combined with DCGM exporter URLs: use pynvml for \
             this machine's GPUs or the URLs of DCGM exporters, not both",
        ));
    }
    crate::telemetry::nvml::check().map_err(|e| {
        UsageError::new(format!(
            "--gpu-telemetry pynvml: {e}; NVML (libnvidia-ml.so.1) comes with the NVIDIA driver: \
             run where the GPUs and their driver are, or read the GPUs through a DCGM exporter's \
             URL instead"
        ))
    })?;
    let remote: Vec<&String> = (server_urls.iter()).filter(|u| !is_local(u)).collect();
    if !remote.is_empty() {
        tracing::warn!(
            "--gpu-telemetry pynvml reads this machine's GPUs only, but the server is at {}; \
             if it runs elsewhere, read its GPUs through a DCGM exporter there instead",
            remote
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// Whether a server URL names this machine.
fn is_local(url: &str) -> bool {
    let with_scheme = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    with_scheme.parse::<http::Uri>().is_ok_and(|u| {
        matches!(
            u.host().map(str::to_ascii_lowercase).as_deref(),
            Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
        )
    })
}
