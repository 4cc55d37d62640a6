//! `--gpu-telemetry FILE.csv` (DCGM fields read besides the standard ones, named as the Python
//! AIPerf names them, in every GPU export) and `--gpu-telemetry pynvml` (this machine's GPUs
//! through NVML).

use std::path::Path;

use serde_json::Value;

use crate::common::{assert_usage_error, profile, profile_ok, read_csv, stderr};

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

const METRICS_FILE: &str = "\
# DCGM field, Prometheus type, help message
DCGM_FI_DEV_SM_CLOCK,  gauge, SM clock frequency (in MHz).

DCGM_FI_DEV_FB_FREE, gauge, Frame buffer memory free (in MiB).
DCGM_FI_DEV_POWER_USAGE, gauge, Power draw (in W).
DCGM_FI_PROF_PIPE_TENSOR_ACTIVE, gauge, Ratio of cycles the tensor (HMMA) pipe is active.
";

#[test]
fn a_metrics_file_adds_its_fields_to_every_gpu_export() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("custom_gpu_metrics.csv");
    std::fs::write(&file, METRICS_FILE).unwrap();
    let dir = tmp.path().join("run");
    profile_ok(
        &dir,
        &[
            "--sim",
            "--streaming",
            "--concurrency",
            "4",
            "--request-count",
            "24",
            "--osl",
            "16",
            "--gpu-telemetry",
            file.to_str().unwrap(),
            "--gpu-telemetry-interval-ms",
            "50",
        ],
    );
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    let endpoints = summary["telemetry_data"]["endpoints"].as_object().unwrap();
    let (_, endpoint) = endpoints.iter().next().expect("the simulator's GPUs");
    let metrics = endpoint["gpus"]["gpu_0"]["metrics"].as_object().unwrap();
    let names: Vec<&str> = metrics.keys().map(String::as_str).collect();
    // The standard fields first, the file's after them in its order; its standard field
    // (power) stays as it was, and free memory takes the file's name, raw MiB.
    assert_eq!(names[0], "nvidia_power_usage");
    assert_eq!(
        &names[names.len() - 2..],
        ["nvidia_fb_free", "nvidia_pipe_tensor_active"],
        "{names:?}"
    );
    assert!(!names.contains(&"nvidia_memory_free"), "{names:?}");
    assert_eq!(metrics["nvidia_power_usage"]["unit"], "W");
    assert_eq!(metrics["nvidia_sm_clock"]["unit"], "MHz");
    assert_eq!(metrics["nvidia_fb_free"]["unit"], "MB");
    let free = metrics["nvidia_fb_free"]["avg"].as_f64().unwrap();
    assert!(free > 100.0 && free.fract() == 0.0, "{free}");
    let tensor = &metrics["nvidia_pipe_tensor_active"];
    assert_eq!(tensor["unit"], "count");
    let busy = tensor["max"].as_f64().unwrap();
    assert!(busy > 0.0 && busy <= 1.0, "{tensor}");
    assert!(tensor["p50"].is_number() && tensor["std"].is_number());

    // Each sample line carries the file's fields.
    let lines: Vec<Value> = std::fs::read_to_string(dir.join("gpu_telemetry_export.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() > 2);
    for l in &lines {
        let data = &l["telemetry_data"];
        assert!(data["nvidia_pipe_tensor_active"].is_number(), "{l}");
        assert!(data["nvidia_fb_free"].is_number(), "{l}");
        assert!(data.get("nvidia_memory_free").is_none(), "{l}");
    }

    let csv = read_csv(&dir.join("profile_export_aiperf.csv"));
    assert!(
        csv.contains(",nvidia,Ratio Of Cycles The Tensor (count),"),
        "{csv}"
    );
    assert!(
        csv.contains(",nvidia,Frame Buffer Memory Free (MB),"),
        "{csv}"
    );
    assert!(csv.contains(",nvidia,SM Clock Frequency (MHz),"), "{csv}");
    let console = std::fs::read_to_string(dir.join("profile_export_console.txt")).unwrap();
    assert!(
        console.contains("Ratio Of Cycles The Tensor (count)"),
        "{console}"
    );

    let config = &summary["aiperf_config"]["output"]["gpu_telemetry"];
    assert_eq!(config["metrics_file"], file.to_str().unwrap());
    assert_eq!(
        config["custom_fields"][3]["name"],
        "nvidia_pipe_tensor_active"
    );
    assert_eq!(
        summary["input_config"]["gpu_telemetry"]["metrics_file"],
        file.to_str().unwrap()
    );
}

/// A one-request run on the simulator with `--gpu-telemetry ARG`.
fn with(arg: &str) -> Vec<&str> {
    vec![
        "profile",
        "--sim",
        "--request-count",
        "1",
        "--gpu-telemetry",
        arg,
    ]
}

#[test]
fn a_bad_metrics_file_is_refused_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("bad.csv");
    std::fs::write(
        &file,
        "# fields\nDCGM_FI_DEV_SM_CLOCK, gauge, SM clock (in MHz).\nDCGM_FI_DEV_X, histogram, x\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    assert_usage_error(&with(f), &format!("{f}, line 3: metric type \"histogram\""));
    std::fs::write(&file, "DCGM_FI_DEV_SM_CLOCK gauge\n").unwrap();
    assert_usage_error(&with(f), "line 1: expected 3 comma-separated values, got 1");
    std::fs::write(&file, "SM_CLOCK, gauge, x\n").unwrap();
    assert_usage_error(&with(f), "should start with DCGM_FI_");
    let missing = tmp.path().join("missing.csv");
    assert_usage_error(
        &with(missing.to_str().unwrap()),
        "GPU metrics file not found",
    );
}

/// Without an NVIDIA driver (as here) NVML cannot load: a usage error that says so. Where one
/// is installed, the run reads the GPUs through it.
#[test]
fn pynvml_reads_the_local_gpus_or_says_why_not() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let args = ["--sim", "--request-count", "2", "--gpu-telemetry", "pynvml"];
    let output = profile(&dir, &args);
    let err = stderr(&output);
    match output.status.code() {
        Some(2) => {
            assert!(
                err.contains("--gpu-telemetry pynvml: NVML library not found")
                    || err.contains("--gpu-telemetry pynvml: NVML could not start")
                    || err.contains("--gpu-telemetry pynvml: NVML sees no GPU"),
                "{err}"
            );
            assert!(err.contains("DCGM exporter"), "{err}");
            assert!(!err.contains("panicked"), "{err}");
        }
        Some(0) => {
            let first = std::fs::read_to_string(dir.join("gpu_telemetry_export.jsonl")).unwrap();
            let line: Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
            assert_eq!(line["telemetry_source_url"], "pynvml://localhost");
        }
        other => panic!("exit {other:?}: {err}"),
    }
    assert_usage_error(
        &[
            "profile",
            "--sim",
            "--request-count",
            "1",
            "--gpu-telemetry",
            "PyNVML",
            "localhost:9400",
        ],
        "--gpu-telemetry pynvml cannot be combined with DCGM exporter URLs",
    );
    assert_usage_error(
        &["profile", "--sim", "--gpu-telemetry", "amdsmi"],
        "--gpu-telemetry amdsmi: AMD GPUs are not supported",
    );
}

/// In a config file, `gpu_telemetry.metrics_file` is the same DCGM metric CSV.
#[test]
fn a_config_files_metrics_file_adds_its_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("custom_gpu_metrics.csv");
    std::fs::write(&file, METRICS_FILE).unwrap();
    let config = tmp.path().join("bench.yaml");
    std::fs::write(
        &config,
        format!(
            "schemaVersion: \"2.0\"\nbenchmark:\n  model: m\n  gpuTelemetry:\n    \
             metricsFile: {}\n  phases:\n    type: concurrency\n    concurrency: 2\n    \
             requests: 8\n",
            file.display()
        ),
    )
    .unwrap();
    let dir = tmp.path().join("run");
    profile_ok(
        &dir,
        &[
            "--config",
            config.to_str().unwrap(),
            "--sim",
            "--gpu-telemetry-interval-ms",
            "50",
        ],
    );
    let summary = read_json(&dir.join("profile_export_aiperf.json"));
    let endpoints = summary["telemetry_data"]["endpoints"].as_object().unwrap();
    let (_, endpoint) = endpoints.iter().next().expect("the simulator's GPUs");
    let metrics = endpoint["gpus"]["gpu_0"]["metrics"].as_object().unwrap();
    assert!(
        metrics.contains_key("nvidia_pipe_tensor_active"),
        "{metrics:?}"
    );
}
