//! aiperf: benchmark LLM inference servers that speak the OpenAI API.
//!
//! [`run`] executes a parsed command line; `main.rs` is only a shell around it, so tests drive
//! the real program in-process.

pub mod cli;
mod commands;
mod error;
pub mod logging;

pub use error::{ExitStatus, UsageError, report_error};

/// Runs one `aiperf` command to completion.
pub async fn run(cli: cli::Cli) -> anyhow::Result<ExitStatus> {
    match cli.command {
        cli::Command::Sim(args) => commands::sim::run(args).await,
    }
}
