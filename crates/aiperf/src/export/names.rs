//! The names of a run's export files: the standard ones (`profile_export_aiperf.json`, ...), or
//! all of them derived from one base (`--profile-export-prefix foo`: `foo.json`, `foo.csv`,
//! `foo.jsonl`, `foo_raw.jsonl`, `foo_timeslices.json`, `foo_server_metrics.json`, ...), as the
//! Python AIPerf names them. Writers take the names from the run's settings; readers of a
//! results directory find them in its `run_config.json` ([`ExportNames::in_dir`]).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{
    CONSOLE_TXT, GPU_TELEMETRY_JSONL, RAW_JSONL, RECORDS_JSONL, RUN_CONFIG_JSON,
    SERVER_METRICS_CSV, SERVER_METRICS_JSON, SERVER_METRICS_JSONL, SUMMARY_CSV, SUMMARY_JSON,
    TIMESLICES_CSV, TIMESLICES_JSON,
};
use crate::settings::OutputConfig;

/// The standard name of the per-request network-latency probe export.
pub const NETWORK_LATENCY_JSONL: &str = "profile_export_network_latency.jsonl";

/// Endings a prefix may carry that are dropped from it, longest first, so that
/// `--profile-export-prefix foo_raw.jsonl` names the same files as `foo`. Only the first that
/// matches is dropped.
const STRIPPED_SUFFIXES: [&str; 14] = [
    "_server_metrics.parquet",
    "_server_metrics.jsonl",
    "_server_metrics.json",
    "_server_metrics.csv",
    "_network_latency.jsonl",
    "_gpu_telemetry.jsonl",
    "_timeslices.csv",
    "_timeslices.json",
    "_console.txt",
    "_raw.jsonl",
    ".parquet",
    ".csv",
    ".json",
    ".jsonl",
];

/// The base every export file is named after, from a `--profile-export-prefix` value (already
/// reduced to a file name when it was an absolute path): its known export ending dropped.
pub fn prefix_base(prefix: &str) -> &str {
    STRIPPED_SUFFIXES
        .iter()
        .find_map(|s| prefix.strip_suffix(s))
        .unwrap_or(prefix)
}

/// A run's export file names, relative to its artifact directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportNames {
    /// `None`: the standard names.
    base: Option<String>,
}

impl ExportNames {
    /// The names for a `--profile-export-prefix` value (`None`: the standard names).
    pub fn new(prefix: Option<&str>) -> Self {
        Self {
            base: prefix.map(|p| prefix_base(p).to_owned()),
        }
    }

    /// The names a run with these settings writes.
    pub fn of(output: &OutputConfig) -> Self {
        Self::new(output.export_prefix.as_deref())
    }

    /// The names the run in `dir` wrote: the prefix its `run_config.json` records (this tool's
    /// settings or the Python AIPerf's `cfg.artifacts.prefix`); without one, the standard
    /// names, or, when there is no standard summary, the base of a `<base>.json` summary that
    /// has its `<base>.csv` beside it.
    pub fn in_dir(dir: &Path) -> Self {
        let recorded = std::fs::read_to_string(dir.join(RUN_CONFIG_JSON))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|doc| {
                [
                    &doc["aiperf_config"]["output"]["export_prefix"],
                    &doc["cfg"]["artifacts"]["prefix"],
                ]
                .into_iter()
                .find_map(|v| v.as_str().map(str::to_owned))
            });
        if let Some(prefix) = recorded {
            return Self::new(Some(&prefix));
        }
        if dir.join(SUMMARY_JSON).is_file() {
            return Self::default();
        }
        Self::detect(dir).unwrap_or_default()
    }

    /// A summary under another name: `<base>.json` holding a summary document (its
    /// `records` or `schema_version`), with `<base>.csv` beside it.
    fn detect(dir: &Path) -> Option<Self> {
        let mut found: Vec<String> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let base = name.strip_suffix(".json")?.to_owned();
                let known = [RUN_CONFIG_JSON, super::INPUTS_JSON, OUTPUTS_JSON];
                (!known.contains(&name.as_str())
                    && !base.ends_with("_timeslices")
                    && !base.ends_with("_server_metrics")
                    && dir.join(format!("{base}.csv")).is_file())
                .then_some(base)
            })
            .filter(|base| {
                std::fs::read_to_string(dir.join(format!("{base}.json")))
                    .ok()
                    .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                    .is_some_and(|d| {
                        d.get("records").is_some() || d.get("schema_version").is_some()
                    })
            })
            .collect();
        found.sort();
        (found.len() == 1).then(|| Self { base: found.pop() })
    }

    /// The prefix's base, `None` for the standard names.
    pub fn base(&self) -> Option<&str> {
        self.base.as_deref()
    }

    fn name(&self, suffix: &str, standard: &str) -> String {
        match &self.base {
            Some(base) => format!("{base}{suffix}"),
            None => standard.to_owned(),
        }
    }

    pub fn summary_json(&self) -> String {
        self.name(".json", SUMMARY_JSON)
    }

    pub fn summary_csv(&self) -> String {
        self.name(".csv", SUMMARY_CSV)
    }

    pub fn records_jsonl(&self) -> String {
        self.name(".jsonl", RECORDS_JSONL)
    }

    pub fn raw_jsonl(&self) -> String {
        self.name("_raw.jsonl", RAW_JSONL)
    }

    pub fn timeslices_json(&self) -> String {
        self.name("_timeslices.json", TIMESLICES_JSON)
    }

    pub fn timeslices_csv(&self) -> String {
        self.name("_timeslices.csv", TIMESLICES_CSV)
    }

    pub fn console_txt(&self) -> String {
        self.name("_console.txt", CONSOLE_TXT)
    }

    pub fn gpu_telemetry_jsonl(&self) -> String {
        self.name("_gpu_telemetry.jsonl", GPU_TELEMETRY_JSONL)
    }

    pub fn server_metrics_json(&self) -> String {
        self.name("_server_metrics.json", SERVER_METRICS_JSON)
    }

    pub fn server_metrics_csv(&self) -> String {
        self.name("_server_metrics.csv", SERVER_METRICS_CSV)
    }

    pub fn server_metrics_jsonl(&self) -> String {
        self.name("_server_metrics.jsonl", SERVER_METRICS_JSONL)
    }

    pub fn network_latency_jsonl(&self) -> String {
        self.name("_network_latency.jsonl", NETWORK_LATENCY_JSONL)
    }

    /// Creates the folder a prefix with a relative folder in it (`sub/foo`) writes into.
    pub fn create_folder(&self, dir: &Path) -> std::io::Result<()> {
        match Path::new(&self.summary_json()).parent() {
            Some(p) if !p.as_os_str().is_empty() => std::fs::create_dir_all(dir.join(p)),
            _ => Ok(()),
        }
    }

    /// Paths of a run's artifacts, in the order they are listed to the user: the summary, the
    /// records asked for, the run's description, then whichever optional exports exist.
    pub fn listed(&self, dir: &Path, records: bool, raw: bool) -> Vec<PathBuf> {
        let mut files = vec![dir.join(self.summary_json()), dir.join(self.summary_csv())];
        if records {
            files.push(dir.join(self.records_jsonl()));
        }
        if raw {
            files.push(dir.join(self.raw_jsonl()));
        }
        files.push(dir.join(super::INPUTS_JSON));
        files.push(dir.join(RUN_CONFIG_JSON));
        files.push(dir.join(self.console_txt()));
        for f in [
            self.timeslices_json(),
            self.timeslices_csv(),
            self.server_metrics_json(),
            self.server_metrics_csv(),
            self.server_metrics_jsonl(),
            self.gpu_telemetry_jsonl(),
            self.network_latency_jsonl(),
            OUTPUTS_JSON.to_owned(),
        ] {
            if dir.join(&f).is_file() {
                files.push(dir.join(f));
            }
        }
        files
    }
}

/// `--export-outputs-json`: every request's generated text; never renamed by a prefix.
pub const OUTPUTS_JSON: &str = "outputs.json";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_names_without_a_prefix() {
        let n = ExportNames::new(None);
        assert_eq!(n.summary_json(), "profile_export_aiperf.json");
        assert_eq!(n.summary_csv(), "profile_export_aiperf.csv");
        assert_eq!(n.records_jsonl(), "profile_export.jsonl");
        assert_eq!(n.raw_jsonl(), "profile_export_raw.jsonl");
        assert_eq!(n.timeslices_csv(), "profile_export_aiperf_timeslices.csv");
        assert_eq!(n.gpu_telemetry_jsonl(), "gpu_telemetry_export.jsonl");
        assert_eq!(n.server_metrics_jsonl(), "server_metrics_export.jsonl");
        assert_eq!(n.console_txt(), "profile_export_console.txt");
    }

    #[test]
    fn every_name_derives_from_the_prefix() {
        let n = ExportNames::new(Some("foo"));
        assert_eq!(
            [
                n.summary_json(),
                n.summary_csv(),
                n.records_jsonl(),
                n.raw_jsonl(),
                n.timeslices_json(),
                n.timeslices_csv(),
                n.console_txt(),
                n.gpu_telemetry_jsonl(),
                n.server_metrics_json(),
                n.server_metrics_csv(),
                n.server_metrics_jsonl(),
                n.network_latency_jsonl(),
            ],
            [
                "foo.json",
                "foo.csv",
                "foo.jsonl",
                "foo_raw.jsonl",
                "foo_timeslices.json",
                "foo_timeslices.csv",
                "foo_console.txt",
                "foo_gpu_telemetry.jsonl",
                "foo_server_metrics.json",
                "foo_server_metrics.csv",
                "foo_server_metrics.jsonl",
                "foo_network_latency.jsonl",
            ]
        );
    }

    #[test]
    fn one_known_ending_is_dropped_from_the_prefix() {
        for (given, base) in [
            ("foo_raw.jsonl", "foo"),
            ("foo_server_metrics.parquet", "foo"),
            ("foo.jsonl", "foo"),
            ("foo.json", "foo"),
            ("foo_timeslices.csv", "foo"),
            ("foo.csv.json", "foo.csv"),
            ("foo.txt", "foo.txt"),
            ("run_a", "run_a"),
        ] {
            assert_eq!(prefix_base(given), base, "{given}");
        }
    }

    #[test]
    fn a_directory_tells_its_names() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert_eq!(ExportNames::in_dir(dir), ExportNames::default());
        // A summary under another name, without run_config.json.
        std::fs::write(dir.join("bench.json"), br#"{"schema_version": "1.4"}"#).unwrap();
        std::fs::write(dir.join("bench.csv"), b"").unwrap();
        std::fs::write(dir.join("inputs.json"), b"{}").unwrap();
        assert_eq!(ExportNames::in_dir(dir).base(), Some("bench"));
        // run_config.json, as this tool or the Python AIPerf writes it, decides.
        std::fs::write(
            dir.join(RUN_CONFIG_JSON),
            br#"{"cfg": {"artifacts": {"prefix": "other_raw.jsonl"}}}"#,
        )
        .unwrap();
        assert_eq!(ExportNames::in_dir(dir).base(), Some("other"));
        std::fs::write(
            dir.join(RUN_CONFIG_JSON),
            br#"{"aiperf_config": {"output": {"export_prefix": "mine"}}}"#,
        )
        .unwrap();
        assert_eq!(ExportNames::in_dir(dir).summary_json(), "mine.json");
    }
}
