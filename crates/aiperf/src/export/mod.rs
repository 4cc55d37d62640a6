//! Artifacts in the reference tool's shapes, as typed documents: `profile_export_aiperf.json`
//! (schema 1.4, [`summary`]), `profile_export_aiperf.csv` ([`csv`]), `inputs.json` and
//! `run_config.json` ([`inputs`]), the configuration as the reference tool writes it
//! ([`reference_config`]), `outputs.json` ([`outputs`]); the file names every layer uses
//! ([`names`]).
//! Every file is written to a temporary name and renamed into place, so a reader never sees
//! half a file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

mod csv;
mod inputs;
mod names;
mod outputs;
pub mod reference_config;
mod reference_dataset;
mod reference_phases;
mod summary;
mod timeslices;

pub use self::csv::summary_csv;
pub use self::inputs::{inputs_json, run_config_json};
pub use self::names::{ExportNames, NETWORK_LATENCY_JSONL, OUTPUTS_JSON, prefix_base};
pub use self::outputs::{output_fragments, write_outputs_json};
pub use self::reference_config::{
    ReferenceConfig, ResolvedPhases, RunIdentity, Variation, reference_config,
};
pub use self::summary::{RunInfo, error_summary, summary_json};
pub use self::timeslices::{timeslices_csv, timeslices_json};

pub const SUMMARY_JSON: &str = "profile_export_aiperf.json";
pub const SUMMARY_CSV: &str = "profile_export_aiperf.csv";
pub const RECORDS_JSONL: &str = "profile_export.jsonl";
pub const RAW_JSONL: &str = "profile_export_raw.jsonl";
pub const INPUTS_JSON: &str = "inputs.json";
pub const RUN_CONFIG_JSON: &str = "run_config.json";
pub const TIMESLICES_JSON: &str = "profile_export_aiperf_timeslices.json";
pub const TIMESLICES_CSV: &str = "profile_export_aiperf_timeslices.csv";
pub const CONSOLE_TXT: &str = "profile_export_console.txt";
pub const SERVER_METRICS_JSON: &str = "server_metrics_export.json";
pub const SERVER_METRICS_CSV: &str = "server_metrics_export.csv";
pub const SERVER_METRICS_JSONL: &str = "server_metrics_export.jsonl";
pub const GPU_TELEMETRY_JSONL: &str = "gpu_telemetry_export.jsonl";

pub const SCHEMA_VERSION: &str = "1.4";
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

/// Writes a CSV document atomically with its rows ending in CRLF, as the reference tool's
/// CSV writer ends them (a line break inside a quoted field is kept as it is).
pub fn write_csv(path: &Path, text: &str) -> std::io::Result<()> {
    write_atomic(path, crlf(text).as_bytes())
}

fn crlf(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 32);
    let mut quoted = false;
    let mut prev = '\0';
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted && prev != '\r' => out.push('\r'),
            _ => {}
        }
        out.push(c);
        prev = c;
    }
    out
}

/// ISO 8601 UTC with microseconds, e.g. `2026-11-24T06:19:25.620316+00:00`.
pub fn iso_time(t: SystemTime) -> String {
    let s = humantime::format_rfc3339_micros(t).to_string();
    match s.strip_suffix('Z') {
        Some(base) => format!("{base}+00:00"),
        None => s,
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

/// Paths of a run's artifacts, in the order they are listed to the user (under the names its
/// `run_config.json` records).
pub fn listed_files(dir: &Path, records: bool, raw: bool) -> Vec<PathBuf> {
    ExportNames::in_dir(dir).listed(dir, records, raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_end_with_crlf_and_quoted_line_breaks_stay() {
        assert_eq!(crlf("a,b\n\nc,\"x\ny\"\n"), "a,b\r\n\r\nc,\"x\ny\"\r\n");
        assert_eq!(crlf("a\r\nb"), "a\r\nb");
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
