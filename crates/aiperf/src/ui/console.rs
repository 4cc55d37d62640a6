//! What a finished run prints: the tables, the failures, the client's self-audit and the
//! warnings (also written to `profile_export_console.txt`), then the files written.

use std::io::Write;
use std::path::Path;

use crate::audit::Audit;
use crate::collector::Collected;
use crate::export;
use crate::loadgen::PhaseEnd;
use crate::metrics::MetricResult;
use crate::settings::ExportLevel;

/// What the console shows of a run (also written to `profile_export_console.txt`): the
/// tables (the HTTP timing one with `show_trace_timing`), the failures, the client's
/// self-audit and its warnings.
pub fn run_text(
    metrics: &[MetricResult],
    gpus: Option<&[crate::telemetry::gpu::Endpoint]>,
    collected: &Collected,
    end: PhaseEnd,
    audit: &Audit,
    warnings: &[String],
    show_trace_timing: bool,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out);
    out.push_str(&super::table::console_table(metrics));
    if show_trace_timing {
        let _ = write!(out, "\n{}", super::table::http_trace_table(metrics));
    }
    out.push_str(&super::table::server_and_gpu_lines(metrics));
    if let Some(table) = super::table::power_efficiency_table(metrics) {
        let _ = write!(out, "\n{table}");
    }
    if let Some(table) = gpus.and_then(crate::telemetry::gpu::console_table) {
        let _ = write!(out, "\n{table}");
    }
    let ok = collected.columns.ok.len();
    let errors = collected.columns.errors();
    if errors > 0 {
        let _ = writeln!(out, "\n{errors} of {} requests failed:", ok + errors);
        for (e, n) in collected.errors.iter().take(10) {
            let code = e.code.map(|c| format!("{c} ")).unwrap_or_default();
            let _ = writeln!(out, "  {n} × {code}{}: {}", e.kind, e.message);
        }
    }
    if end.cancelled_in_flight {
        let _ = writeln!(out, "\nrequests still in flight were cancelled");
    }
    let _ = writeln!(out, "\n{}", audit.summary());
    for w in warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    if let Some(e) = &collected.write_error {
        let _ = writeln!(out, "\nwarning: {e}");
    }
    out
}

/// Prints a run's console text and the files it wrote.
pub fn report(level: ExportLevel, dir: &Path, console: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    write!(out, "{console}")?;
    writeln!(out)?;
    for path in export::listed_files(
        dir,
        level != ExportLevel::Summary,
        level == ExportLevel::Raw,
    ) {
        writeln!(out, "{}", path.display())?;
    }
    out.flush()?;
    Ok(())
}

/// One line on standard output.
pub fn line(text: &str) -> std::io::Result<()> {
    writeln!(std::io::stdout().lock(), "{text}")
}

/// Text on standard output, as it is (its own line breaks).
pub fn text(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Standard output for a stream of bytes (a log bundle, a plan document).
pub fn stdout() -> std::io::StdoutLock<'static> {
    std::io::stdout().lock()
}

/// A notice on standard error (what the user did was understood: Ctrl-C, a flag's hint).
pub fn notice(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
