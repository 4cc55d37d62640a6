//! `aiperf synthesize agentic-code`: multi-turn coding-agent sessions written as a mooncake
//! trace, in a run directory of its own, with the Python AIPerf's files:
//!
//! * `dataset.jsonl`: one row per turn. A row's `input_length` is the tokens the turn adds,
//!   its `hash_ids` one block id per `block_size` tokens of them; the first turn of a session
//!   has `timestamp` (0), `group_id` (and `is_restart` when it continues a split session),
//!   later turns their `delay` (ms).
//! * `manifest.json`: the seed, the session count and the full config (`--config` takes it
//!   back to draw the same sessions again).
//! * `quality.json` and `comparison.txt`: the drawn distributions against their targets.
//! * `cache_structure.json`: the first 50 sessions' blocks by cache layer.
//! * `report.html`, `cache_explorer.html`, `simulation.html`: self-contained pages.
//!
//! Draws come from NumPy's generator in the Python AIPerf's order, so a seed and a config give
//! the same `dataset.jsonl`, `manifest.json`, `quality.json`, `cache_structure.json` and
//! `comparison.txt` as the Python AIPerf.

pub mod config;
mod html;
pub mod prefix;
pub mod quality;
pub mod rng;
pub mod sessions;
pub mod structure;
mod ziggurat;

use std::path::{Path, PathBuf};

use serde::Serialize;

use self::config::SessionConfig;
use self::sessions::{Session, Synthesizer};
use crate::UsageError;
use crate::export::write_atomic;
use crate::trace::numeric;

/// What to synthesize.
#[derive(Debug, Clone)]
pub struct Options {
    pub num_sessions: u64,
    /// The parent of the run directory.
    pub output: PathBuf,
    /// A bundled config's name or a config (or manifest) file.
    pub config: Option<String>,
    pub seed: u64,
    pub max_isl: Option<u64>,
    pub max_osl: Option<u64>,
    /// The UTC time in the run directory's name, `YYYYmmdd-HHMMSS`.
    pub timestamp: String,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub run_dir: PathBuf,
    pub sessions: usize,
    pub turns: usize,
    /// Rows of `dataset.jsonl` read back as a mooncake trace.
    pub rows: usize,
    pub dataset: PathBuf,
    pub manifest: PathBuf,
    pub quality: PathBuf,
    pub report: PathBuf,
    pub cache_explorer: PathBuf,
    pub simulation: PathBuf,
    pub comparison: String,
}

#[derive(Serialize)]
struct Manifest<'a> {
    seed: u64,
    num_sessions: usize,
    config_name: &'a str,
    generation_params: &'a SessionConfig,
}

/// One row of `dataset.jsonl`.
#[derive(Serialize)]
struct Row<'a> {
    session_id: &'a str,
    input_length: u64,
    output_length: u64,
    hash_ids: &'a [u64],
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_restart: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay: Option<f64>,
}

/// Draws the sessions and writes the run directory.
pub fn synthesize(opts: &Options) -> anyhow::Result<Outcome> {
    if opts.num_sessions == 0 {
        return Err(UsageError::new("--num-sessions: give at least 1 session").into());
    }
    let (config, name) = match &opts.config {
        Some(c) => {
            let loaded = config::load(c).map_err(|e| UsageError::new(format!("--config: {e}")))?;
            let path = Path::new(c);
            let name = match path.file_stem() {
                Some(stem) if path.is_file() => stem.to_string_lossy().into_owned(),
                _ => c.clone(),
            };
            (loaded, name)
        }
        None => (SessionConfig::defaults(), "default".to_owned()),
    };
    let config = config
        .with_limits(opts.max_isl, opts.max_osl)
        .map_err(|e| UsageError::new(format!("--max-isl/--max-osl: {e}")))?;
    let run_dir = opts.output.join(format!(
        "{name}_{}s_seed{}_{}",
        opts.num_sessions, opts.seed, opts.timestamp
    ));
    let mut synth = Synthesizer::new(&config, opts.seed)
        .map_err(|e| UsageError::new(format!("--config: {e}")))?;
    let sessions = synth
        .sessions(opts.num_sessions)
        .map_err(|e| UsageError::new(format!("--config: {e}")))?;
    std::fs::create_dir_all(&run_dir)?;
    let write = |file: &str, bytes: &[u8]| -> anyhow::Result<PathBuf> {
        let path = run_dir.join(file);
        write_atomic(&path, bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    };
    let dataset = write("dataset.jsonl", &jsonl(&sessions, config.block_size)?)?;
    let manifest = Manifest {
        seed: opts.seed,
        num_sessions: sessions.len(),
        config_name: &name,
        generation_params: &config,
    };
    let manifest = write("manifest.json", &serde_json::to_vec_pretty(&manifest)?)?;
    let report = quality::quality_report(&sessions, &config);
    let quality = write("quality.json", &serde_json::to_vec_pretty(&report)?)?;
    let structure = structure::cache_structure(&sessions, synth.prefix(), config.block_size);
    write(
        "cache_structure.json",
        &serde_json::to_vec_pretty(&structure)?,
    )?;
    let cache_explorer = write(
        "cache_explorer.html",
        html::cache_explorer(&structure).as_bytes(),
    )?;
    let figures = structure::figures(&sessions, config.block_size);
    let report_page = write(
        "report.html",
        html::dashboard(&figures, &sessions).as_bytes(),
    )?;
    let durations = numeric::sorted(&figures.session_duration_min);
    let duration = (!durations.is_empty()).then(|| {
        (
            numeric::mean(&figures.session_duration_min),
            numeric::median(&durations),
        )
    });
    let comparison = quality::comparison_text(&report, duration);
    write("comparison.txt", comparison.as_bytes())?;
    let rows = crate::trace::analyze::read_trace(&dataset)?.len();
    let simulation = write(
        "simulation.html",
        html::simulation(&sessions, &config).as_bytes(),
    )?;
    Ok(Outcome {
        run_dir,
        sessions: sessions.len(),
        turns: sessions.iter().map(|s| s.turns.len()).sum(),
        rows,
        dataset,
        manifest,
        quality,
        report: report_page,
        cache_explorer,
        simulation,
        comparison,
    })
}

/// `dataset.jsonl`: the first turn of a session carries the synthesizer's block ids (shared
/// prefix included); each later turn gets fresh ids for the blocks it adds, numbered on from
/// the highest id written so far.
fn jsonl(sessions: &[Session], block_size: u64) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut next_id = 0u64;
    for s in sessions {
        for t in &s.turns {
            let fresh: Vec<u64>;
            let ids: &[u64] = if t.index == 0 {
                if let Some(max) = t.hash_ids.iter().max() {
                    next_id = next_id.max(max + 1);
                }
                &t.hash_ids
            } else {
                let blocks = t.new_tokens.div_ceil(block_size);
                fresh = (next_id..next_id + blocks).collect();
                next_id += blocks;
                &fresh
            };
            let first = t.index == 0;
            let row = Row {
                session_id: &s.id,
                input_length: t.new_tokens,
                output_length: t.output_length,
                hash_ids: ids,
                timestamp: first.then(|| numeric::round_to(t.timestamp_ms, 1)),
                group_id: first.then_some(s.group),
                is_restart: (first && s.restart_continuation).then_some(true),
                delay: (!first).then(|| numeric::round_to(t.delay_ms, 1)),
            };
            serde_json::to_writer(&mut out, &row)?;
            out.push(b'\n');
        }
    }
    Ok(out)
}
