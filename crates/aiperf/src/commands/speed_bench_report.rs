//! `aiperf speed-bench-report`: the SPEED-Bench matrix of a set of runs, printed and written as
//! CSV.

use anyhow::Context as _;

use crate::ExitStatus;
use crate::cli::speed_bench_report::{Format, MetricArg, SpeedBenchReportArgs};
use crate::speed_bench::{Metric, report};
use crate::ui::console;

pub fn run(args: &SpeedBenchReportArgs) -> anyhow::Result<ExitStatus> {
    let metric = match args.metric {
        MetricArg::AcceptLength => Metric::AcceptLength,
        MetricArg::AcceptRate => Metric::AcceptRate,
        MetricArg::Throughput => Metric::Throughput,
    };
    let report = report(&args.all_paths(), metric)?;
    console::line(&format!("Found {} run directories.", report.run_dirs.len()))?;
    for w in &report.warnings {
        console::notice(&format!("warning: {w}"));
    }
    if matches!(args.format, Format::Table | Format::Both) {
        let header = report.header();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        console::text(&crate::ui::reports::titled_table(
            metric.title(),
            &header,
            &report.rows("-"),
            &[0],
        ))?;
    }
    if matches!(args.format, Format::Csv | Format::Both) {
        let path = &args.output;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("--output: cannot create {}", dir.display()))?;
        }
        crate::export::write_atomic(path, report.csv().as_bytes())
            .with_context(|| format!("--output: cannot write {}", path.display()))?;
        console::line(&format!("CSV written to {}", path.display()))?;
    }
    Ok(ExitStatus::Success)
}
