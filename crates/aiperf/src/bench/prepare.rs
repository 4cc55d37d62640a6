//! Before anything is sent: the tokenizer and the dataset, the load's stop condition, the
//! simulator when asked for, and the artifact directory with the files that describe the run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use super::RunOptions;
use crate::UsageError;
use crate::dataset::{self, Dataset};
use crate::endpoints::Endpoint;
use crate::export;
use crate::settings::{LoadConfig, LoadMode, ProfileConfig, StopCondition};
use crate::tokenizer::Tokenizer;

/// A run ready to send its first request.
pub(super) struct Prepared {
    pub config: ProfileConfig,
    /// What the endpoint's requests and responses look like (the type configured for the run).
    pub api: Arc<dyn Endpoint>,
    pub tokenizer: Arc<Tokenizer>,
    pub dataset: Arc<Dataset>,
    pub mode: LoadMode,
    /// When the profiling phase stops (this shard's share of it).
    pub stop: StopCondition,
    pub warmup: Option<StopCondition>,
    /// The built-in simulator, when the run benchmarks it; it lives as long as the run.
    pub sim: Option<aiperf_sim::SimServer>,
    pub artifact_dir: PathBuf,
    pub benchmark_id: String,
    /// `logs/aiperf.log`, open until the run's results are written.
    pub log: Option<crate::logfile::RunLog>,
    /// The configuration in the reference tool's shape.
    pub reference: export::ReferenceConfig,
}

pub(super) async fn prepare(
    mut config: ProfileConfig,
    options: &RunOptions,
) -> anyhow::Result<Prepared> {
    let api = crate::endpoints::configure(&config.endpoint)?;
    let (tokenizer, dataset) = load_dataset(&config, options.tokenizer.clone()).await?;
    let dataset = Arc::new(dataset);
    let mode = config.load.mode(dataset.has_timestamps());
    if config.load.fixed_schedule == Some(true) && !dataset.has_timestamps() {
        return Err(UsageError::new(
            "--fixed-schedule: every row of --input-file needs a `timestamp` (milliseconds)",
        )
        .into());
    }
    let mut stop = config.load.stop;
    if stop.requests.is_none() && stop.duration_secs.is_none() && stop.sessions.is_none() {
        stop.requests = Some(LoadConfig::default_request_count(
            mode,
            dataset.total_turns(),
        ));
    }
    // A shard runs its share of the requests (the concurrency is divided by the load generator).
    let mut warmup = config.load.warmup;
    if let Some(s) = &config.shard {
        stop.requests = stop.requests.map(|r| s.share(r));
        stop.sessions = stop.sessions.map(|r| s.share(r));
        if let Some(w) = warmup.as_mut() {
            w.requests = w.requests.map(|r| s.share(r));
        }
    }
    let sim = start_sim(&mut config).await?;

    let artifact_dir = config.artifact_dir(mode);
    create_dir(&artifact_dir)?;
    export::ExportNames::of(&config.output)
        .create_folder(&artifact_dir)
        .context("creating the folder of --profile-export-prefix")?;
    let log = open_log(&artifact_dir);
    let benchmark_id = uuid::Uuid::new_v4().simple().to_string();
    let inputs = export::inputs_json(&config, &*api, &dataset);
    export::write_atomic(
        &artifact_dir.join(export::INPUTS_JSON),
        &serde_json::to_vec_pretty(&inputs)?,
    )
    .with_context(|| format!("writing {}", export::INPUTS_JSON))?;
    let phases = export::ResolvedPhases {
        profiling: mode,
        stop,
        warmup: warmup.map(|w| (config.load.warmup_mode(mode), w)),
    };
    let reference = export::reference_config(&config, &phases, &artifact_dir);
    export::write_atomic(
        &artifact_dir.join(export::RUN_CONFIG_JSON),
        &serde_json::to_vec_pretty(&export::run_config_json(
            &config,
            &reference,
            options.identity.as_ref(),
            &benchmark_id,
            &artifact_dir,
        ))?,
    )?;
    Ok(Prepared {
        config,
        api,
        tokenizer,
        dataset,
        mode,
        stop,
        warmup,
        sim,
        artifact_dir,
        benchmark_id,
        log,
        reference,
    })
}

/// Opens the run's log file and logs what runs (a log that cannot be opened is only a
/// warning: the measurements matter more).
fn open_log(dir: &Path) -> Option<crate::logfile::RunLog> {
    match crate::logfile::RunLog::open(dir) {
        Ok(log) => {
            tracing::info!(
                "aiperf {}: artifacts in {}",
                env!("CARGO_PKG_VERSION"),
                dir.display()
            );
            Some(log)
        }
        Err(e) => {
            tracing::warn!(
                "cannot write {}: {e}",
                dir.join(crate::logfile::LOG_FILE).display()
            );
            None
        }
    }
}

/// Starts the built-in simulator when the run asks for it and points the endpoint at it.
async fn start_sim(config: &mut ProfileConfig) -> anyhow::Result<Option<aiperf_sim::SimServer>> {
    let Some(target) = &config.sim else {
        return Ok(None);
    };
    let mut sim_config = aiperf_sim::presets::preset(&target.preset)
        .ok_or_else(|| UsageError::new(format!("--sim: unknown preset {:?}", target.preset)))?;
    sim_config.speedup = target.speedup;
    sim_config.served_models.clone_from(&config.models);
    let server = aiperf_sim::SimServer::start(sim_config)
        .await
        .context("starting the built-in simulator")?;
    config.endpoint.urls = vec![server.base_url()];
    tracing::info!(
        "simulator ({}) listening on {}",
        target.preset,
        server.base_url()
    );
    Ok(Some(server))
}

/// Loads the tokenizer and builds the dataset (CPU work, off the async threads).
pub async fn load_dataset(
    config: &ProfileConfig,
    tokenizer: Option<Arc<Tokenizer>>,
) -> anyhow::Result<(Arc<Tokenizer>, Dataset)> {
    let spec = config.tokenizer.clone();
    let hub = config.hub.clone();
    let input = config.input.clone();
    let options = config.dataset.clone();
    let media = config.media.clone();
    let seed = config.random_seed;
    tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let tokenizer = match tokenizer {
            Some(t) => t,
            None => Arc::new(Tokenizer::load(&spec, &hub)?),
        };
        let (mut conversations, sampling) = dataset::build(&tokenizer, &input, &options, seed)?;
        dataset::media::attach(&mut conversations, &media, seed)?;
        let bust = dataset::cache_bust::CacheBust::new(options.cache_bust, seed, tokenizer.clone());
        let dataset = Dataset::new(conversations, sampling, seed).with_cache_bust(bust);
        Ok((tokenizer, dataset))
    })
    .await
    .context("preparing the dataset")?
}

/// Creates the artifact directory, with an error naming the flag when it cannot be.
fn create_dir(dir: &Path) -> Result<(), UsageError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        UsageError::new(format!(
            "--artifact-dir: cannot create {}: {e}; choose a writable directory",
            dir.display()
        ))
    })?;
    let probe = dir.join(".aiperf-write-test");
    std::fs::write(&probe, b"").map_err(|e| {
        UsageError::new(format!(
            "--artifact-dir: cannot write in {}: {e}; choose a writable directory",
            dir.display()
        ))
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Raises the open-file limit to the hard limit (each connection is a file descriptor) and
/// warns when the load needs more than that.
pub fn raise_file_limit(config: &ProfileConfig) {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0);
    let connections = u64::from(config.load.concurrency.unwrap_or(1));
    // The client's sockets, the in-process simulator's, and some for files and the runtime.
    let needed = connections * if config.sim.is_some() { 2 } else { 1 } + 64;
    if limit > 0 && needed > limit {
        tracing::warn!(
            "--concurrency {connections} needs about {needed} open files but the limit is {limit}; \
             connections beyond it will fail (raise the hard limit, e.g. `ulimit -n {needed}`)"
        );
    } else {
        tracing::debug!("open-file limit {limit}");
    }
}
