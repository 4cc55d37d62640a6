//! The commands beside `profile`: `analyze-trace`, `synthesize` and `speed-bench-report`, run
//! as users run them, checked against numbers worked out by hand and, where an interpreter
//! with the Python AIPerf is available (`AIPERF_TEST_PYTHON`), against its own output.

mod analyze_trace;
mod speed_bench;
mod synthesize;

use std::path::Path;

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The one run directory `synthesize` made under `parent`.
fn run_dir(parent: &Path) -> std::path::PathBuf {
    let dirs: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}
