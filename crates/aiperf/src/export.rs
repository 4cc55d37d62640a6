//! Artifacts in the reference tool's shapes: `profile_export_aiperf.json` (schema 1.1),
//! `profile_export_aiperf.csv`, `inputs.json`, `run_config.json`, and the console table.
//! Every file is written to a temporary name and renamed into place, so a reader never sees
//! half a file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use crate::dataset::Dataset;
use crate::endpoints::Endpoint;
use crate::metrics::{CONSOLE_ORDER, MetricResult, Value as MValue};
use crate::record::ErrorDetails;
use crate::settings::ProfileConfig;

pub const SUMMARY_JSON: &str = "profile_export_aiperf.json";
pub const SUMMARY_CSV: &str = "profile_export_aiperf.csv";
pub const RECORDS_JSONL: &str = "profile_export.jsonl";
pub const RAW_JSONL: &str = "profile_export_raw.jsonl";
pub const INPUTS_JSON: &str = "inputs.json";
pub const RUN_CONFIG_JSON: &str = "run_config.json";
pub const CONSOLE_TXT: &str = "profile_export_console.txt";
pub const SERVER_METRICS_JSON: &str = "server_metrics_export.json";
pub const SERVER_METRICS_CSV: &str = "server_metrics_export.csv";
pub const SERVER_METRICS_JSONL: &str = "server_metrics_export.jsonl";
pub const GPU_TELEMETRY_JSONL: &str = "gpu_telemetry_export.jsonl";

pub const SCHEMA_VERSION: &str = "1.1";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Everything the summary files say about a run besides the metrics.
#[derive(Debug)]
pub struct RunInfo<'a> {
    pub benchmark_id: &'a str,
    pub config: &'a ProfileConfig,
    pub was_cancelled: bool,
    pub is_complete: bool,
    pub errors: &'a [(ErrorDetails, u64)],
    pub start: SystemTime,
    pub end: SystemTime,
    /// The client's self-audit (`client_audit`).
    pub audit: Option<Value>,
    /// Why the run was stopped early (`--failed-request-threshold`).
    pub abort_reason: Option<String>,
    /// `telemetry_data`, when GPU telemetry was collected.
    pub telemetry: Option<Value>,
    /// `shard`: this run is one shard of a benchmark (`--shards`).
    pub shard: Option<Value>,
}

/// ISO 8601 UTC with microseconds, e.g. `2026-11-24T06:19:25.620316+00:00`.
pub fn iso_time(t: SystemTime) -> String {
    let s = humantime::format_rfc3339_micros(t).to_string();
    match s.strip_suffix('Z') {
        Some(base) => format!("{base}+00:00"),
        None => s,
    }
}

fn finite(v: f64) -> Option<Value> {
    v.is_finite().then(|| json!(v))
}

/// A number for a JSON document: non-finite values are written as `null`.
pub fn json_number(v: f64) -> Value {
    finite(v).unwrap_or(Value::Null)
}

/// The stat block of one metric, keys in the reference order.
fn metric_block(m: &MetricResult) -> Value {
    let mut o = Map::new();
    o.insert("unit".into(), json!(m.unit));
    match &m.value {
        MValue::Scalar(v) => {
            if let Some(v) = finite(*v) {
                o.insert("avg".into(), v);
            }
        }
        MValue::Dist(d) => {
            let s = &d.summary;
            let mut put = |k: &str, v: f64| {
                if let Some(v) = finite(v) {
                    o.insert(k.into(), v);
                }
            };
            put("avg", s.mean);
            for (p, v) in aiperf_stats::REPORTED_PERCENTILES.iter().zip(s.percentiles) {
                put(&format!("p{p}"), v);
            }
            put("min", s.min);
            put("max", s.max);
            put("std", s.std);
            put("count", s.count as f64);
            put("sum", s.sum);
            for (k, v) in &d.adjusted {
                if let Some(v) = v {
                    put(k, *v);
                }
            }
            if let Some(c) = o.get_mut("count") {
                *c = json!(s.count);
            }
        }
    }
    Value::Object(o)
}

/// Tags written before the run information, in this order, as the reference tool does.
const DECLARED: &[&str] = &[
    "request_throughput",
    "request_latency",
    "request_count",
    "time_to_first_token",
    "time_to_second_token",
    "inter_token_latency",
    "output_token_throughput",
    "output_token_throughput_per_user",
    "output_sequence_length",
    "input_sequence_length",
    "goodput",
    "good_request_count",
    "output_token_count",
    "reasoning_token_count",
    "min_request_timestamp",
    "max_response_timestamp",
    "inter_chunk_latency",
    "total_output_tokens",
    "total_reasoning_tokens",
    "benchmark_duration",
    "total_isl",
    "total_osl",
    "error_request_count",
    "error_isl",
    "total_error_isl",
];

/// `error_summary`: distinct errors with their counts, most frequent first.
pub fn error_summary(errors: &[(ErrorDetails, u64)]) -> Value {
    Value::Array(
        errors
            .iter()
            .map(|(e, n)| json!({"error_details": e.to_json(), "count": n}))
            .collect(),
    )
}

/// The `profile_export_aiperf.json` document.
pub fn summary_json(metrics: &[MetricResult], info: &RunInfo<'_>) -> Value {
    let mut o = Map::new();
    o.insert("schema_version".into(), json!(SCHEMA_VERSION));
    o.insert("aiperf_version".into(), json!(VERSION));
    o.insert("benchmark_id".into(), json!(info.benchmark_id));
    for tag in DECLARED {
        if let Some(m) = metrics.iter().find(|m| m.tag == *tag) {
            o.insert(m.tag.into(), metric_block(m));
        }
    }
    o.insert(
        "input_config".into(),
        serde_json::to_value(info.config).expect("configs serialize"),
    );
    o.insert(
        "run_info".into(),
        json!({
            "benchmark_id": info.benchmark_id,
            "cli_command": info.config.cli_command,
            "random_seed": info.config.random_seed,
        }),
    );
    o.insert("was_cancelled".into(), json!(info.was_cancelled));
    o.insert("is_complete".into(), json!(info.is_complete));
    o.insert("error_summary".into(), error_summary(info.errors));
    o.insert("start_time".into(), json!(iso_time(info.start)));
    o.insert("end_time".into(), json!(iso_time(info.end)));
    if let Some(a) = &info.audit {
        o.insert("client_audit".into(), a.clone());
    }
    if let Some(r) = &info.abort_reason {
        o.insert("abort_reason".into(), json!(r));
    }
    if let Some(t) = &info.telemetry {
        o.insert("telemetry_data".into(), t.clone());
    }
    if let Some(s) = &info.shard {
        o.insert("shard".into(), s.clone());
    }
    for m in metrics.iter().filter(|m| !DECLARED.contains(&m.tag)) {
        o.insert(m.tag.into(), metric_block(m));
    }
    Value::Object(o)
}

fn csv_name(m: &MetricResult) -> String {
    match m.unit {
        "requests" | "count" => m.header.to_owned(),
        unit => format!("{} ({unit})", m.header),
    }
}

/// Quotes a CSV field when it needs it.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn f2(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        String::new()
    }
}

/// The two-section `profile_export_aiperf.csv`.
pub fn summary_csv(metrics: &[MetricResult]) -> String {
    let mut dists: Vec<(String, &MetricResult)> = Vec::new();
    let mut scalars: Vec<(String, f64)> = Vec::new();
    for m in metrics {
        match &m.value {
            MValue::Dist(_) => dists.push((csv_name(m), m)),
            MValue::Scalar(v) => scalars.push((csv_name(m), *v)),
        }
    }
    dists.sort_by(|a, b| a.0.cmp(&b.0));
    scalars.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::from("Metric,avg,min,max,sum,p1,p5,p10,p25,p50,p75,p90,p95,p99,std\n");
    for (name, m) in &dists {
        let MValue::Dist(d) = &m.value else { continue };
        let s = &d.summary;
        let mut row = vec![csv_field(name), f2(s.mean), f2(s.min), f2(s.max), f2(s.sum)];
        row.extend(s.percentiles.iter().map(|p| f2(*p)));
        row.push(f2(s.std));
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out.push_str("\nMetric,Value\n");
    for (name, v) in &scalars {
        out.push_str(&format!("{},{}\n", csv_field(name), f2(*v)));
    }
    out
}

/// `inputs.json`: the exact body of every turn, per conversation.
pub fn inputs_json(config: &ProfileConfig, api: &dyn Endpoint, dataset: &Dataset) -> Value {
    let data: Vec<Value> = dataset
        .conversations
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let model = &config.models[i % config.models.len()];
            let payloads: Vec<Value> = c
                .turns
                .iter()
                .map(|t| Value::Object(api.body(&config.endpoint, model, t, &[])))
                .collect();
            json!({"session_id": c.id, "payloads": payloads})
        })
        .collect();
    json!({ "data": data })
}

/// `run_config.json`: the resolved configuration (secrets redacted) and the run's identity.
pub fn run_config_json(config: &ProfileConfig, benchmark_id: &str, artifact_dir: &Path) -> Value {
    json!({
        "benchmark_id": benchmark_id,
        "aiperf_version": VERSION,
        "artifact_dir": artifact_dir,
        "cfg": config,
    })
}

/// Formats with thousands separators and two decimals, as the reference console does.
fn grouped(v: f64) -> String {
    if !v.is_finite() {
        return "N/A".into();
    }
    let s = format!("{:.2}", v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, "00"));
    let mut g = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            g.push(',');
        }
        g.push(c);
    }
    format!("{}{g}.{frac}", if v < 0.0 { "-" } else { "" })
}

/// The console summary table.
pub fn console_table(metrics: &[MetricResult]) -> String {
    use comfy_table::{CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(["Metric", "avg", "min", "max", "p99", "p90", "p50", "std"]);
    let generated = metrics.iter().any(|m| m.tag == "output_token_throughput");
    for tag in CONSOLE_ORDER {
        if *tag == "input_token_throughput" && generated {
            continue;
        }
        let Some(m) = metrics.iter().find(|m| m.tag == *tag) else {
            continue;
        };
        let name = format!("{} ({})", m.header, m.unit);
        let row: Vec<String> = match &m.value {
            MValue::Dist(d) => {
                let s = &d.summary;
                let p = |q: f64| s.percentile(q).map_or("N/A".into(), grouped);
                vec![
                    name,
                    grouped(s.mean),
                    grouped(s.min),
                    grouped(s.max),
                    p(99.0),
                    p(90.0),
                    p(50.0),
                    grouped(s.std),
                ]
            }
            MValue::Scalar(v) => {
                let mut r = vec![name, grouped(*v)];
                r.extend(std::iter::repeat_n("N/A".to_owned(), 6));
                r
            }
        };
        table.add_row(row);
    }
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_cell_alignment(CellAlignment::Right);
        let _ = i;
    }
    let body = table.to_string();
    let width = body.lines().next().map_or(0, |l| l.chars().count());
    format!("{:^width$}\n{body}\n", "aiperf | LLM Metrics")
}

/// What the server and its GPUs reported, one line each (empty when nothing was collected).
pub fn server_and_gpu_lines(metrics: &[MetricResult]) -> String {
    let mut out = String::new();
    for m in metrics
        .iter()
        .filter(|m| m.tag.starts_with("server_") || m.tag.starts_with("nvidia_"))
    {
        if let MValue::Scalar(v) = m.value {
            out.push_str(&format!("{:<34} {:>12} {}\n", m.header, grouped(v), m.unit));
        }
    }
    if out.is_empty() {
        out
    } else {
        format!("\nServer and GPU telemetry\n{out}")
    }
}

/// Paths of a run's artifacts, in the order they are listed to the user.
pub fn listed_files(dir: &Path, records: bool, raw: bool) -> Vec<PathBuf> {
    let mut files = vec![dir.join(SUMMARY_JSON), dir.join(SUMMARY_CSV)];
    if records {
        files.push(dir.join(RECORDS_JSONL));
    }
    if raw {
        files.push(dir.join(RAW_JSONL));
    }
    files.push(dir.join(INPUTS_JSON));
    files.push(dir.join(RUN_CONFIG_JSON));
    files.push(dir.join(CONSOLE_TXT));
    for f in [
        SERVER_METRICS_JSON,
        SERVER_METRICS_CSV,
        SERVER_METRICS_JSONL,
        GPU_TELEMETRY_JSONL,
    ] {
        if dir.join(f).is_file() {
            files.push(dir.join(f));
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_like_the_reference_console() {
        assert_eq!(grouped(1297.254), "1,297.25");
        assert_eq!(grouped(0.0), "0.00");
        assert_eq!(grouped(1_234_567.0), "1,234,567.00");
        assert_eq!(grouped(-1234.5), "-1,234.50");
        assert_eq!(grouped(f64::NAN), "N/A");
    }

    /// Artifacts read back (kube collect, merge, resumed sweeps) are written again with the
    /// very same numbers: parsing is exact, not best-effort. That takes serde_json's
    /// `float_roundtrip` feature, set in the workspace (without it 2613.2799701563426 reads
    /// back as 2613.279970156342). Test builds may also get it from a dev-dependency, which is
    /// why the release binary once lost digits that the tests never did.
    #[test]
    fn numbers_survive_a_read_back_exactly() {
        let text = "[2613.2799701563426,0.1,1e-7,123456789.12345679,0.30000000000000004,\
                    1.7976931348623157e+308,5e-324,33.33333333333333]";
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), text);
        let mut x = 0.123_456_789_f64;
        for _ in 0..10_000 {
            x = (x * 7.131_f64).fract() * 1e4;
            let back: f64 = serde_json::from_str(&serde_json::to_string(&x).unwrap()).unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{x}");
        }
    }

    #[test]
    fn atomic_writes_leave_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"{}").unwrap();
        write_atomic(&path, b"[1]").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"[1]");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn iso_times_are_utc_with_microseconds() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_micros(1_795_501_165_623_606);
        assert_eq!(iso_time(t), "2026-11-24T06:19:25.623606+00:00");
    }
}
