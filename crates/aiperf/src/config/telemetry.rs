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
    for v in given {
        match v.as_str() {
            "dashboard" => {}
            "pynvml" | "amdsmi" => {
                return Err(UsageError::new(format!(
                    "--gpu-telemetry {v}: only DCGM exporter endpoints are supported; run \
                     nvidia's dcgm-exporter next to the server and pass its URL, e.g. \
                     --gpu-telemetry http://localhost:9400/metrics"
                )));
            }
            _ if v.ends_with(".csv") => {
                return Err(UsageError::new(format!(
                    "--gpu-telemetry {v}: custom DCGM field files are not supported; the \
                     standard fields (power, energy, utilisation, memory, temperature, clocks) \
                     are always read"
                )));
            }
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
    Ok(crate::settings::GpuTelemetryConfig {
        enabled: !o.no_gpu_telemetry,
        urls,
        interval_ms: interval,
    })
}
