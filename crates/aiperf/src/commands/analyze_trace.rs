//! `aiperf analyze-trace`: a mooncake trace's length distributions and prefix sharing, printed
//! and, with an output file, written as JSON.

use anyhow::Context as _;

use crate::cli::analyze_trace::AnalyzeTraceArgs;
use crate::trace::analyze::{STAT_COLUMNS, analyze, read_trace};
use crate::{ExitStatus, UsageError};

pub fn run(args: &AnalyzeTraceArgs) -> anyhow::Result<ExitStatus> {
    let Some(input) = args.input() else {
        return Err(UsageError::new("INPUT-FILE: give the mooncake trace to analyze").into());
    };
    if !input.is_file() {
        return Err(UsageError::new(format!(
            "INPUT-FILE: input file not found: {}; give the path of a mooncake trace (JSON lines)",
            input.display()
        ))
        .into());
    }
    let requests = read_trace(input)?;
    let stats = analyze(&requests, i64::from(args.block_size()));
    let text = crate::ui::reports::trace_analysis(
        &[
            ("Total requests", stats.total_requests),
            ("Unique prefixes", stats.unique_prefixes),
            ("Prefix groups", stats.num_prefix_groups),
        ],
        &STAT_COLUMNS,
        &stats.table_rows(),
    );
    crate::ui::console::text(&text)?;
    if let Some(path) = args.output() {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("OUTPUT-FILE: cannot create {}", dir.display()))?;
        }
        let json = serde_json::to_string_pretty(&stats)?;
        crate::export::write_atomic(path, json.as_bytes())
            .with_context(|| format!("OUTPUT-FILE: cannot write {}", path.display()))?;
        crate::ui::console::line(&format!("\nAnalysis report saved to {}", path.display()))?;
    }
    Ok(ExitStatus::Success)
}
