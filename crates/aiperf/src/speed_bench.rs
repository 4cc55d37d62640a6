//! `aiperf speed-bench-report`: the SPEED-Bench matrix (model × category) of speculative
//! decoding from the run directories of one `aiperf profile` per category, as the Python
//! AIPerf assembles it.
//!
//! A run's category comes from its dataset (`input_config.datasets[].format` of a
//! `speed_bench_<category>` file, or `.dataset` of a `spec_al_<benchmark>` public dataset),
//! its model from `input_config.models.items`. The acceptance length and rate come from the
//! server's metrics (`server_metrics_export.json`): SGLang's and TensorRT-LLM's gauges, or
//! vLLM's counters (`accepted / drafts + 1`, `accepted / draft tokens`); the throughput is the
//! run's `output_token_throughput`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::UsageError;
use crate::export::{ExportNames, SERVER_METRICS_JSON, SUMMARY_JSON};

/// The figure the matrix shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Tokens per verification step, the bonus token included.
    AcceptLength,
    /// Accepted over drafted tokens.
    AcceptRate,
    /// Output tokens per second.
    Throughput,
}

impl Metric {
    /// The table's title.
    pub fn title(self) -> &'static str {
        match self {
            Self::AcceptLength => "Acceptance Length Report",
            Self::AcceptRate => "Acceptance Rate Report",
            Self::Throughput => "Throughput Report (tokens/sec)",
        }
    }
}

const QUALITATIVE: [&str; 11] = [
    "coding",
    "humanities",
    "math",
    "multilingual",
    "qa",
    "rag",
    "reasoning",
    "roleplay",
    "stem",
    "summarization",
    "writing",
];
const THROUGHPUT_TIERS: [&str; 3] = ["low_entropy", "mixed", "high_entropy"];
/// The acceptance-length benchmarks, math before chat before code.
const SPEC_AL: [&str; 5] = ["gsm8k", "math500", "mtbench", "humaneval", "mbpp"];
/// Dataset names that mark a run's category (the rest of the name).
const CATEGORY_PREFIXES: [&str; 2] = ["speed_bench_", "spec_al_"];

const ACCEPT_LENGTH_GAUGES: [&str; 3] = [
    "sglang:spec_accept_length",
    "vllm:spec_decode_mean_accepted_length",
    "trtllm:spec_accept_length",
];
const ACCEPT_RATE_GAUGES: [&str; 3] = [
    "sglang:spec_accept_rate",
    "vllm:spec_decode_draft_acceptance_rate",
    "trtllm:spec_accept_rate",
];

/// Model → category → value (`None`: the run had no value).
pub type Matrix = BTreeMap<String, BTreeMap<String, Option<f64>>>;

/// The assembled report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub run_dirs: Vec<PathBuf>,
    pub matrix: Matrix,
    pub columns: Vec<String>,
    /// What was skipped, and why.
    pub warnings: Vec<String>,
}

impl Report {
    /// The rows: model, a cell per column and the overall mean (`missing` for no value).
    pub fn rows(&self, missing: &str) -> Vec<Vec<String>> {
        let cell = |v: Option<f64>| v.map_or(missing.to_owned(), |v| format!("{v:.2}"));
        self.matrix
            .iter()
            .map(|(model, values)| {
                let mut row = vec![model.clone()];
                let mut present = Vec::new();
                for column in &self.columns {
                    let v = values.get(column).copied().flatten();
                    present.extend(v);
                    row.push(cell(v));
                }
                row.push(cell(
                    (!present.is_empty()).then(|| crate::trace::numeric::exact_mean(&present)),
                ));
                row
            })
            .collect()
    }

    /// The header: Model, the columns, Overall.
    pub fn header(&self) -> Vec<String> {
        let mut h = vec!["Model".to_owned()];
        h.extend(self.columns.iter().cloned());
        h.push("Overall".to_owned());
        h
    }

    /// The matrix as CSV (RFC 4180 quoting, CRLF line ends, as Python's `csv` writes it).
    pub fn csv(&self) -> String {
        let mut out = String::new();
        let quote = |f: &str| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.to_owned()
            }
        };
        for row in std::iter::once(self.header()).chain(self.rows("")) {
            let fields: Vec<String> = row.iter().map(|f| quote(f)).collect();
            let _ = write!(out, "{}\r\n", fields.join(","));
        }
        out
    }
}

/// Finds the run directories in `paths` (each a run, or a directory of runs) and assembles
/// the matrix of `metric`.
pub fn report(paths: &[PathBuf], metric: Metric) -> Result<Report, anyhow::Error> {
    let mut warnings = Vec::new();
    let run_dirs = find_run_dirs(paths, &mut warnings);
    if run_dirs.is_empty() {
        return Err(UsageError::new(format!(
            "PATHS: no aiperf run directories found (none of {} holds {SUMMARY_JSON}, nor do \
             their subdirectories); give the artifact directories of aiperf profile runs",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    let mut matrix = Matrix::new();
    for dir in &run_dirs {
        let names = ExportNames::in_dir(dir);
        let Some(profile) = read_json(&dir.join(names.summary_json()), &mut warnings) else {
            warnings.push(format!("no {SUMMARY_JSON} in {}, skipping", dir.display()));
            continue;
        };
        let Some(category) = category(&profile) else {
            warnings.push(format!(
                "cannot determine category from {}, skipping",
                dir.display()
            ));
            continue;
        };
        let value = match metric {
            Metric::Throughput => profile
                .get("output_token_throughput")
                .and_then(|m| m.get("avg"))
                .and_then(Value::as_f64),
            Metric::AcceptLength | Metric::AcceptRate => {
                match read_json(&dir.join(names.server_metrics_json()), &mut warnings) {
                    Some(server) if metric == Metric::AcceptLength => accept_length(&server),
                    Some(server) => accept_rate(&server),
                    None => {
                        warnings.push(format!("no {SERVER_METRICS_JSON} in {}", dir.display()));
                        None
                    }
                }
            }
        };
        matrix
            .entry(model(&profile))
            .or_default()
            .insert(category, value.filter(|v| !v.is_nan()));
    }
    if !matrix
        .values()
        .flat_map(|m| m.values())
        .any(Option::is_some)
    {
        return Err(anyhow::anyhow!(
            "no SPEED-Bench results extracted from {} run directories (a run needs a \
             speed_bench_* or spec_al_* dataset and, for acceptance, the server's \
             speculative-decoding metrics)",
            run_dirs.len()
        ));
    }
    let columns = columns(&matrix);
    Ok(Report {
        run_dirs,
        matrix,
        columns,
        warnings,
    })
}

fn find_run_dirs(paths: &[PathBuf], warnings: &mut Vec<String>) -> Vec<PathBuf> {
    let mut runs = Vec::new();
    for p in paths {
        if !p.is_dir() {
            warnings.push(format!("{} is not a directory, skipping", p.display()));
            continue;
        }
        if has_summary(p) {
            runs.push(p.clone());
            continue;
        }
        let mut children: Vec<PathBuf> = std::fs::read_dir(p)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        children.sort();
        runs.extend(
            children
                .into_iter()
                .filter(|c| c.is_dir() && has_summary(c)),
        );
    }
    runs
}

/// A run directory: its summary exists (under the names its `run_config.json` records).
fn has_summary(dir: &Path) -> bool {
    dir.join(ExportNames::in_dir(dir).summary_json()).exists()
}

fn read_json(path: &Path, warnings: &mut Vec<String>) -> Option<Value> {
    if !path.exists() {
        return None;
    }
    let parsed = std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()));
    match parsed {
        Ok(v) => Some(v),
        Err(e) => {
            warnings.push(format!("failed to read {}: {e}", path.display()));
            None
        }
    }
}

/// The category of a run: its first dataset named `speed_bench_*` or `spec_al_*`, without
/// the prefix.
fn category(profile: &Value) -> Option<String> {
    let datasets = profile.get("input_config")?.get("datasets")?.as_array()?;
    datasets.iter().find_map(|d| {
        let name = d
            .get("format")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| d.get("dataset").and_then(Value::as_str))?;
        CATEGORY_PREFIXES
            .iter()
            .find_map(|p| name.strip_prefix(p))
            .map(str::to_owned)
    })
}

/// The run's model: the first named in `input_config.models.items`, or `unknown`.
fn model(profile: &Value) -> String {
    profile
        .get("input_config")
        .and_then(|c| c.get("models"))
        .and_then(|m| m.get("items"))
        .and_then(Value::as_array)
        .and_then(|items| {
            items.iter().find_map(|i| {
                i.get("name")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            })
        })
        .unwrap_or("unknown")
        .to_owned()
}

/// A statistic of a metric's first series.
fn stat(server: &Value, name: &str, key: &str) -> Option<f64> {
    server
        .get("metrics")?
        .get(name)?
        .get("series")?
        .as_array()?
        .first()?
        .get("stats")?
        .get(key)?
        .as_f64()
}

fn accept_length(server: &Value) -> Option<f64> {
    if let Some(v) = ACCEPT_LENGTH_GAUGES
        .iter()
        .find_map(|n| stat(server, n, "avg"))
    {
        return Some(v);
    }
    let accepted = stat(server, "vllm:spec_decode_num_accepted_tokens", "total");
    let drafts = stat(server, "vllm:spec_decode_num_drafts", "total");
    if let (Some(a), Some(d)) = (accepted, drafts)
        && d > 0.0
    {
        return Some(a / d + 1.0);
    }
    // An engine not known by name: a metric naming spec, accept and length.
    let metrics = server.get("metrics")?.as_object()?;
    metrics.keys().find_map(|name| {
        let lower = name.to_lowercase();
        (lower.contains("spec") && lower.contains("accept") && lower.contains("length"))
            .then(|| stat(server, name, "avg"))
            .flatten()
    })
}

fn accept_rate(server: &Value) -> Option<f64> {
    if let Some(v) = ACCEPT_RATE_GAUGES
        .iter()
        .find_map(|n| stat(server, n, "avg"))
    {
        return Some(v);
    }
    let accepted = stat(server, "vllm:spec_decode_num_accepted_tokens", "total")?;
    let drafted = stat(server, "vllm:spec_decode_num_draft_tokens", "total")?;
    (drafted > 0.0).then(|| accepted / drafted)
}

/// The columns: SPEED-Bench's qualitative categories, its throughput tiers or the
/// acceptance-length benchmarks in their own order when the runs hold only those; otherwise
/// every category, sorted.
fn columns(matrix: &Matrix) -> Vec<String> {
    let all: std::collections::BTreeSet<&str> = matrix
        .values()
        .flat_map(|m| m.keys().map(String::as_str))
        .collect();
    for known in [&QUALITATIVE[..], &THROUGHPUT_TIERS[..], &SPEC_AL[..]] {
        if all.iter().all(|c| known.contains(c)) {
            return known
                .iter()
                .filter(|c| all.contains(*c))
                .map(|c| (*c).to_owned())
                .collect();
        }
    }
    all.into_iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn categories_come_from_file_formats_or_public_datasets() {
        let file = json!({"input_config": {"datasets": [{"type": "file", "format": "speed_bench_coding"}]}});
        assert_eq!(category(&file).as_deref(), Some("coding"));
        let public =
            json!({"input_config": {"datasets": [{"type": "public", "dataset": "spec_al_gsm8k"}]}});
        assert_eq!(category(&public).as_deref(), Some("gsm8k"));
        assert_eq!(category(&json!({"input_config": {}})), None);
        assert_eq!(model(&json!({})), "unknown");
    }

    #[test]
    fn vllm_counters_give_length_and_rate() {
        let counter = |total: f64| json!({"series": [{"stats": {"total": total}}]});
        let server = json!({"metrics": {
            "vllm:spec_decode_num_accepted_tokens": counter(150.0),
            "vllm:spec_decode_num_drafts": counter(100.0),
            "vllm:spec_decode_num_draft_tokens": counter(300.0),
        }});
        assert_eq!(accept_length(&server), Some(2.5));
        assert_eq!(accept_rate(&server), Some(0.5));
        let sglang = json!({"metrics": {"sglang:spec_accept_length": {"series": [{"stats": {"avg": 3.1}}]}}});
        assert_eq!(accept_length(&sglang), Some(3.1));
        assert_eq!(accept_rate(&sglang), None);
    }

    #[test]
    fn known_category_sets_keep_their_order() {
        let mut m = Matrix::new();
        m.entry("a".into())
            .or_default()
            .insert("mbpp".into(), Some(1.0));
        m.entry("a".into())
            .or_default()
            .insert("gsm8k".into(), Some(3.0));
        assert_eq!(columns(&m), ["gsm8k", "mbpp"]);
        m.entry("b".into()).or_default().insert("zeta".into(), None);
        assert_eq!(columns(&m), ["gsm8k", "mbpp", "zeta"]);
        let r = Report {
            run_dirs: vec![],
            columns: columns(&m),
            matrix: m,
            warnings: vec![],
        };
        assert_eq!(
            r.csv(),
            "Model,gsm8k,mbpp,zeta,Overall\r\na,3.00,1.00,,2.00\r\nb,,,,\r\n"
        );
    }
}
