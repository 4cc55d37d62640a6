//! `outputs.json` (`--export-outputs-json`): every profiled request's generated text with its
//! ids, times and paired metrics, in the Python AIPerf's shape (schema 1.0), ordered by session
//! and turn. The collector writes one fragment line per request under `output_fragments/`;
//! they are gathered here when the run ends and removed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{OUTPUTS_JSON, write_atomic};

/// Where the collector of process `origin` (a shard's index, 0 otherwise) writes its lines.
pub fn output_fragments(dir: &Path, origin: u32) -> PathBuf {
    let folder = dir.join(FRAGMENTS);
    // A failure shows when the collector opens the file.
    let _ = std::fs::create_dir_all(&folder);
    folder.join(format!("output_fragments_record_processor_{origin}.jsonl"))
}

const FRAGMENTS: &str = "output_fragments";

/// The `outputs.json` document.
#[derive(Debug, Serialize)]
struct Outputs {
    schema_version: &'static str,
    data: Vec<OutputEntry>,
}

/// One request, as a fragment line holds it and `outputs.json` lists it.
#[derive(Debug, Serialize, Deserialize)]
struct OutputEntry {
    session_num: u64,
    conversation_id: Option<String>,
    turn_index: Option<u64>,
    x_request_id: Option<String>,
    request_start_ns: Option<u64>,
    request_end_ns: Option<u64>,
    #[serde(default)]
    metrics: Map<String, Value>,
    response_text: Option<String>,
}

/// Gathers the fragment lines of `dir` into `outputs.json` and removes them; returns how many
/// requests it lists (`None` when there were no fragments). A line cut short by a crash is
/// skipped with a warning.
pub fn write_outputs_json(dir: &Path) -> std::io::Result<Option<usize>> {
    let folder = dir.join(FRAGMENTS);
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Ok(None);
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with("output_fragments_") && n.ends_with(".jsonl")
            })
        })
        .collect();
    files.sort();
    let mut data = Vec::new();
    for file in &files {
        for line in std::fs::read_to_string(file)?.lines() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<OutputEntry>(line) {
                Ok(entry) => data.push(entry),
                Err(e) => tracing::warn!(
                    "{OUTPUTS_JSON}: skipping an unreadable line of {}: {e}",
                    file.display()
                ),
            }
        }
    }
    data.sort_by_key(|e| (e.session_num, e.turn_index.unwrap_or(0)));
    let n = data.len();
    let doc = Outputs {
        schema_version: "1.0",
        data,
    };
    write_atomic(
        &dir.join(OUTPUTS_JSON),
        &serde_json::to_vec_pretty(&doc).map_err(std::io::Error::other)?,
    )?;
    for file in &files {
        let _ = std::fs::remove_file(file);
    }
    let _ = std::fs::remove_dir(&folder);
    Ok(Some(n))
}
