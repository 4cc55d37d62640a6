//! The effect of `profile` options that the Python AIPerf also has, each checked end to end on
//! the simulator from what the run wrote: request bodies (`inputs.json`, the raw export),
//! per-request timings (`profile_export.jsonl`), `run_config.json`, aggregates, and the
//! simulator's own record of the requests it served. Options that do not apply here are
//! checked to say so.

mod endpoint;
mod media;
mod multi_run;
mod not_applicable;
mod sessions;
mod warmup;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use crate::common::{aiperf, interrupt, read_lines};

pub(crate) fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The records of a run: its `profile_export.jsonl`.
pub(crate) fn records(dir: &Path) -> Vec<Value> {
    read_lines(&dir.join("profile_export.jsonl"))
}

/// A record's metric value.
pub(crate) fn metric(r: &Value, tag: &str) -> f64 {
    r["metrics"][tag]["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("no {tag} in {r}"))
}

/// A record's timestamp field (wall nanoseconds).
pub(crate) fn ns(r: &Value, field: &str) -> f64 {
    r["metadata"][field].as_f64().unwrap()
}

/// Every payload of `inputs.json`, session after session.
pub(crate) fn payloads(dir: &Path) -> Vec<Value> {
    let inputs = read_json(&dir.join("inputs.json"));
    (inputs["data"].as_array().unwrap().iter())
        .flat_map(|s| s["payloads"].as_array().unwrap().clone())
        .collect()
}

/// The phases of `run_config.json`.
pub(crate) fn phases(dir: &Path) -> Vec<Value> {
    read_json(&dir.join("run_config.json"))["cfg"]["phases"]
        .as_array()
        .unwrap()
        .clone()
}

/// A stand-alone simulator recording every request it serves (`aiperf sim
/// --record-requests`), for what the in-process one does not show: warmup requests, the model
/// each request named.
pub(crate) struct RecordingSim {
    child: std::process::Child,
    pub(crate) url: String,
}

impl RecordingSim {
    pub(crate) fn start(records: &Path, speedup: &str) -> Self {
        let mut child = aiperf()
            .args(["sim", "--port", "0", "--speedup", speedup, "--model", "m"])
            .arg("--record-requests")
            .arg(records)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let banner = lines.next().unwrap().unwrap();
        let url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {banner:?}"))
            .to_owned();
        Self { child, url }
    }

    /// Stops the simulator; its record file is complete once this returns.
    pub(crate) fn stop(mut self) {
        interrupt(self.child.id());
        let _ = self.child.wait();
    }
}

/// The sorted gaps between consecutive values, in seconds (values in nanoseconds).
pub(crate) fn gaps_s(mut times: Vec<f64>) -> Vec<f64> {
    times.sort_by(f64::total_cmp);
    times.windows(2).map(|w| (w[1] - w[0]) / 1e9).collect()
}
