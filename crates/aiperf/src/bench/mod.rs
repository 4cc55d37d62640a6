//! Run one benchmark: what every plan (a single run, a sweep cell, a trial, a search
//! iteration, a Kubernetes pod) executes, in three phases:
//!
//! 1. [`prepare`]: tokenizer and dataset, the simulator when asked for, the artifact directory
//!    with `inputs.json` and `run_config.json`;
//! 2. [`measure`]: the client, the collector thread, the warmup and profiling phases with the
//!    server-metrics and GPU scrapers and the live displays;
//! 3. [`results`]: the summary, telemetry exports, the client's self-audit and the warnings,
//!    every artifact file, and how the run ended.

mod measure;
mod prepare;
mod results;
mod server_control;

use std::path::PathBuf;
use std::sync::Arc;

pub use prepare::{load_dataset, raise_file_limit};

use crate::ExitStatus;
use crate::loadgen::Interrupts;
use crate::metrics::MetricResult;
use crate::settings::ProfileConfig;
use crate::tokenizer::Tokenizer;

/// How a run is embedded in a larger plan (a sweep or repeated runs).
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    /// No console summary (the caller prints its own line per run).
    pub quiet: bool,
    /// A tokenizer already loaded for an earlier run of the same plan.
    pub tokenizer: Option<Arc<Tokenizer>>,
    /// The run's place in its plan (`run_config.json`, `run_info`).
    pub identity: Option<crate::export::RunIdentity>,
}

/// What a finished run reports back.
#[derive(Debug)]
pub struct RunOutcome {
    pub status: ExitStatus,
    pub artifact_dir: PathBuf,
    pub metrics: Vec<MetricResult>,
    /// The `profile_export_aiperf.json` document.
    pub summary: serde_json::Value,
    pub was_cancelled: bool,
    /// Why the run counts as failed (every request failed), in one line.
    pub error: Option<String>,
}

/// Runs one benchmark described by `config` and writes its artifacts.
pub async fn run(
    config: ProfileConfig,
    interrupts: &Interrupts,
    options: RunOptions,
) -> anyhow::Result<RunOutcome> {
    server_control::wait_for_model(&config).await?;
    let mut prepared = prepare::prepare(config, &options).await?;
    let measured = measure::measure(&mut prepared, interrupts, &options).await?;
    results::finish(prepared, &measured, interrupts, &options)
}
