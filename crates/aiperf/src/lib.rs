//! aiperf: benchmark LLM inference servers that speak the OpenAI API.
//!
//! [`run`] executes a parsed command line; `main.rs` is only a shell around it, so tests drive
//! the real program in-process.

pub mod audit;
pub mod bench;
pub mod cli;
pub mod client;
pub mod collector;
pub mod commands;
pub mod config;
pub mod dataset;
pub mod endpoints;
mod error;
pub mod export;
pub mod kube;
pub mod loadgen;
pub mod logfile;
pub mod logging;
pub mod merge;
pub mod metrics;
pub mod plot;
pub mod recipes;
pub mod record;
pub mod search;
pub mod settings;
pub mod shard;
pub mod speed_bench;
pub mod sweep;
pub mod telemetry;
pub mod tokenizer;
pub mod trace;
pub mod ui;

pub use error::{ExitStatus, UsageError, report_error};

/// Runs one `aiperf` command to completion.
pub async fn run(cli: cli::Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        cli::Command::Sim(args) => commands::sim::run(args).await,
        cli::Command::Recipes(args) => commands::recipes::run(&args),
        cli::Command::Plot(args) => commands::plot::run(args).await,
        cli::Command::Profile(args) => commands::profile::run(args, cli.argv).await,
        cli::Command::Kube(command) => commands::kube::run(command, &cli.argv).await,
        cli::Command::AnalyzeTrace(args) => commands::analyze_trace::run(&args),
        cli::Command::Synthesize(args) => commands::synthesize::run(&args),
        cli::Command::SpeedBenchReport(args) => commands::speed_bench_report::run(&args),
        cli::Command::Config(command) => commands::config::run(&command, cli.global.verbose > 0),
        cli::Command::Merge(args) => {
            merge::merge(&args.dirs, &args.output)?;
            Ok(ExitStatus::Success)
        }
    }
}
