//! `aiperf speed-bench-report`: flags.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// What the report writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The CSV file only.
    Csv,
    /// The table on the terminal only.
    Table,
    /// Both.
    Both,
}

/// The figure of each cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricArg {
    /// Mean tokens per verification step, the bonus token included.
    #[value(name = "accept_length", alias = "accept-length")]
    AcceptLength,
    /// Accepted draft tokens over drafted tokens.
    #[value(name = "accept_rate", alias = "accept-rate")]
    AcceptRate,
    /// Output token throughput (tokens/sec).
    Throughput,
}

#[derive(Debug, Args)]
pub struct SpeedBenchReportArgs {
    /// Run directories, or parent directories holding run subdirectories (one `aiperf
    /// profile` per SPEED-Bench category).
    #[arg(value_name = "PATHS", required_unless_present_any = ["paths_flag", "empty_paths"])]
    pub paths: Vec<PathBuf>,

    /// PATHS as a flag.
    #[arg(long = "paths", id = "paths_flag", value_name = "PATHS", num_args = 1..)]
    pub paths_flag: Vec<PathBuf>,

    /// Give an empty list of paths.
    #[arg(long, hide = true)]
    pub empty_paths: bool,

    /// Output CSV file path.
    #[arg(long, default_value = "speed_bench_report.csv")]
    pub output: PathBuf,

    /// Output format: csv, table or both.
    #[arg(long, value_enum, default_value_t = Format::Both)]
    pub format: Format,

    /// Which metric to report: accept_length, accept_rate or throughput.
    #[arg(long, value_enum, default_value_t = MetricArg::AcceptLength)]
    pub metric: MetricArg,
}

impl SpeedBenchReportArgs {
    /// Every path given, by position or flag.
    pub fn all_paths(&self) -> Vec<PathBuf> {
        self.paths.iter().chain(&self.paths_flag).cloned().collect()
    }
}
