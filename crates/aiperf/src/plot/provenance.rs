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
fn find_run_config(dir: &Path) -> Option<PathBuf> {
    let mut level = vec![dir.to_path_buf()];
    for _ in 0..5 {
        let mut next = Vec::new();
        for d in &level {
            let candidate = d.join("run_config.json");
            if candidate.is_file() {
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

/// Finds the command and configuration that produced the results.
pub(super) fn provenance(path: &Path) -> Option<(String, Value)> {
    let doc = read_json(&find_run_config(path)?)?;
    let cfg = doc.get("cfg").cloned().unwrap_or(doc);
    let command = cfg["cli_command"].as_str().unwrap_or("").to_owned();
    Some((command, cfg))
}
