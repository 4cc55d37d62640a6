//! Where the results came from: the command and configuration that produced them, and what
//! wrote the report, so a report can be reproduced.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::read_json;

/// This build and machine, and when the report was written.
pub(super) fn environment() -> String {
    format!(
        "aiperf {} on {} {} ({} cores), report written {}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS,
        std::env::consts::ARCH,
        std::thread::available_parallelism().map_or(1, usize::from),
        crate::export::iso_time(std::time::SystemTime::now())
    )
}

/// The first `run_config.json` under `dir` (breadth first, sorted), a few levels deep.
pub(super) fn find_run_config(dir: &Path) -> Option<PathBuf> {
    find_file(dir, |d| Some(d.join("run_config.json")))
}

/// The first file `name_in(d)` names under `dir` (breadth first, sorted), a few levels deep.
fn find_file(dir: &Path, name_in: impl Fn(&Path) -> Option<PathBuf>) -> Option<PathBuf> {
    let mut level = vec![dir.to_path_buf()];
    for _ in 0..5 {
        let mut next = Vec::new();
        for d in &level {
            if let Some(candidate) = name_in(d)
                && candidate.is_file()
            {
                return Some(candidate);
            }
            if let Ok(entries) = std::fs::read_dir(d) {
                let mut dirs: Vec<PathBuf> = entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect();
                dirs.sort();
                next.extend(dirs);
            }
        }
        level = next;
    }
    None
}

/// Finds the command and configuration (in the reference tool's shape) that produced the
/// results: from a `run_config.json`, or from the summary of a single run, where the reference
/// tool writes no `run_config.json`.
pub(super) fn provenance(path: &Path) -> Option<(String, Value)> {
    if let Some(doc) = find_run_config(path).and_then(|p| read_json(&p)) {
        let command = [
            &doc["cli_command"],
            &doc["aiperf_config"]["cli_command"],
            &doc["cfg"]["cli_command"],
        ]
        .into_iter()
        .find_map(Value::as_str)
        .unwrap_or("")
        .to_owned();
        let cfg = doc.get("cfg").cloned().unwrap_or(doc);
        return Some((command, cfg));
    }
    let summary = read_json(&path.join(crate::export::ExportNames::in_dir(path).summary_json()))?;
    let command = summary["run_info"]["cli_command"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    Some((command, summary["input_config"].clone()))
}

/// What ran against what and when, from the first run summary under `path`: model,
/// endpoint, server and start time; empty when there is none.
pub(super) fn facts(path: &Path) -> Vec<(String, String)> {
    let Some(summary) = find_file(path, |d| {
        let p = d.join(crate::export::ExportNames::in_dir(d).summary_json());
        read_json(&p)
            .filter(|doc| doc["input_config"].is_object())
            .map(|_| p)
    })
    .and_then(|p| read_json(&p)) else {
        return Vec::new();
    };
    let cfg = &summary["input_config"];
    let urls: Vec<&str> = cfg["endpoint"]["urls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let started = summary["start_time"]
        .as_str()
        .map(|t| t.get(..19).unwrap_or(t).replace('T', " "));
    [
        ("model", models(cfg)),
        ("endpoint", endpoint(cfg)),
        ("server", (!urls.is_empty()).then(|| urls.join(", "))),
        ("started", started),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_owned(), v?)))
    .collect()
}

/// The models of an `input_config`, comma-separated; none without any.
fn models(cfg: &Value) -> Option<String> {
    let names: Vec<&str> = cfg["models"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["name"].as_str())
        .collect();
    (!names.is_empty()).then(|| names.join(", "))
}

/// The endpoint type of an `input_config`, with ", streaming" when it streamed.
fn endpoint(cfg: &Value) -> Option<String> {
    let t = cfg["endpoint"]["type"].as_str()?;
    Some(if cfg["endpoint"]["streaming"] == true {
        format!("{t}, streaming")
    } else {
        t.to_owned()
    })
}

/// What was benchmarked, from `input_config` of a summary (the reference tool's configuration
/// shape, as both tools write it): model, endpoint, load and lengths, one row each; empty
/// when the summary has none.
pub(super) fn setup_rows(summary: &Value) -> Vec<Vec<String>> {
    let cfg = &summary["input_config"];
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let profiling = cfg["phases"]
        .as_array()
        .and_then(|phases| phases.iter().find(|p| p["kind"] == "profiling"))
        .unwrap_or(&Value::Null);
    let prompts = &cfg["datasets"][0]["prompts"];
    [
        ("model", models(cfg)),
        ("endpoint", endpoint(cfg)),
        ("load", text(&profiling["type"])),
        ("concurrency", text(&profiling["concurrency"])),
        ("request rate", text(&profiling["rate"])),
        ("input tokens (mean)", text(&prompts["isl"]["mean"])),
        ("output tokens (mean)", text(&prompts["osl"]["mean"])),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some(vec![k.to_owned(), v?]))
    .collect()
}
