//! `aiperf profile`: one benchmark run, end to end.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::profile::ProfileArgs;
use crate::client::Client;
use crate::collector::{Collected, CollectorConfig, Progress, collect};
use crate::config::{
    ExportLevel, InputConfig, LoadConfig, LoadMode, ProfileConfig, UiMode, resolve,
};
use crate::dataset::{self, Dataset};
use crate::export::{self, RunInfo};
use crate::loadgen::{Interrupts, LoadContext, PhaseEnd, run_phase};
use crate::metrics::{MetricResult, summarize};
use crate::record::{Clock, Phase};
use crate::tokenizer::Tokenizer;
use crate::{ExitStatus, UsageError};

/// Flags that may accompany `--plan`: the plan fixes everything else.
const PLAN_FLAGS: &[&str] = &[
    "--plan",
    "--cell",
    "--artifact-dir",
    "--output-artifact-dir",
    "--ui",
    "--ui-type",
    "--bundle-to-stdout",
    "--shards",
    "--shard-index",
    "--shard-clock",
    "--shard-start-at",
    "--verbose",
    "--log-level",
];

/// `aiperf profile --plan PLAN --cell N`: one run of a plan.
async fn run_plan_cell(args: &ProfileArgs, argv: &[String]) -> anyhow::Result<ExitStatus> {
    let d = &args.distributed;
    let (Some(plan), Some(cell)) = (&d.plan, d.cell) else {
        unreachable!("clap requires --plan and --cell together")
    };
    let after_profile = argv.iter().skip_while(|a| a.as_str() != "profile").skip(1);
    for arg in after_profile.filter(|a| a.starts_with('-')) {
        let flag = arg.split('=').next().unwrap_or(arg);
        let short_ok = matches!(flag, "-v" | "-vv" | "-vvv");
        if !PLAN_FLAGS.contains(&flag) && !short_ok {
            return Err(UsageError::new(format!(
                "{flag} cannot be combined with --plan: the plan fixes every benchmark setting \
                 (make a new plan with `aiperf kube plan` instead)"
            ))
            .into());
        }
    }
    let interrupts = Interrupts::default();
    let signals = tokio::spawn(watch_interrupts(interrupts.clone()));
    let shard = crate::config::resolve_shard(args)?;
    let sharded = shard.is_some();
    let result = crate::sweep::run_cell(
        plan,
        cell,
        args.output.artifact_dir.as_deref(),
        &interrupts,
        shard,
        args.output.ui.map(|u| match u {
            crate::cli::profile::UiArg::Simple => UiMode::Simple,
            crate::cli::profile::UiArg::None | crate::cli::profile::UiArg::Dashboard => {
                UiMode::None
            }
        }),
    )
    .await;
    signals.abort();
    let (mut status, dir) = result?;
    if interrupts.stop.is_cancelled() {
        status = ExitStatus::Interrupted;
    }
    if d.bundle_to_stdout {
        // Paths in the bundle are relative to the sweep's directory, or for a shard to the
        // directory holding every `shard_<i>`.
        let base = if sharded {
            dir.parent()
        } else {
            dir.ancestors()
                .find(|a| a.join(crate::sweep::PLAN_FILE).is_file())
        }
        .unwrap_or(&dir)
        .to_path_buf();
        crate::kube::bundle::write(&base, &dir, &mut std::io::stdout().lock())?;
    }
    Ok(status)
}

pub async fn run(args: Box<ProfileArgs>, argv: Vec<String>) -> anyhow::Result<ExitStatus> {
    if args.distributed.plan.is_some() {
        return run_plan_cell(&args, &argv).await;
    }
    let config = resolve(&args, &argv)?;
    check_file_limit(&config);
    let interrupts = Interrupts::default();
    let signals = tokio::spawn(watch_interrupts(interrupts.clone()));
    let recipe_plots = config
        .recipe
        .as_deref()
        .and_then(|r| crate::recipes::load(r).ok())
        .is_some_and(|r| r.auto_plot);
    let auto_plot = (args.output.auto_plot || recipe_plots) && !args.output.no_auto_plot;
    let result = if config.search.is_some() {
        crate::search::run(config, &interrupts).await
    } else if config.sweep.is_some() || config.multi_run.num_runs > 1 {
        crate::sweep::run(config, &interrupts).await
    } else {
        run_config(config, &interrupts, RunOptions::default())
            .await
            .map(|outcome| (outcome.status, outcome.artifact_dir))
    };
    signals.abort();
    let (mut status, dir) = result?;
    if interrupts.stop.is_cancelled() {
        status = ExitStatus::Interrupted;
    }
    if auto_plot && dir.is_dir() {
        match crate::plot::plot(&dir, None) {
            Ok(report) => writeln!(std::io::stdout().lock(), "{}", report.display())?,
            Err(e) => tracing::warn!("--auto-plot: {e:#}"),
        }
    }
    Ok(status)
}

/// How a run is embedded in a larger plan (a sweep or repeated runs).
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    /// No console summary (the caller prints its own line per run).
    pub quiet: bool,
    /// A tokenizer already loaded for an earlier run of the same plan.
    pub tokenizer: Option<Arc<Tokenizer>>,
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

/// Raises the open-file limit to the hard limit (each connection is a file descriptor) and
/// warns when the load needs more than that.
fn check_file_limit(config: &ProfileConfig) {
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

/// First Ctrl-C: stop sending and drain; second: cancel everything in flight.
async fn watch_interrupts(interrupts: Interrupts) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    let _ = writeln!(
        std::io::stderr().lock(),
        "\nstopping: no new requests; waiting for those in flight (Ctrl-C again to cancel them)"
    );
    interrupts.stop.cancel();
    if tokio::signal::ctrl_c().await.is_ok() {
        let _ = writeln!(std::io::stderr().lock(), "cancelling requests in flight");
        interrupts.abort.cancel();
    }
}

/// Stops the run once failures pass `threshold` (a count, or a share of completed requests
/// when below 1); returns why.
/// Warnings about what undermines per-token figures: output lengths other than requested,
/// server counts that disagree with the client's tokenizer, missing `usage`, and streams
/// that arrived in one piece. Each is worded from what the run observed.
fn measurement_warnings(collected: &Collected, config: &ProfileConfig) -> Vec<String> {
    use crate::metrics::{
        OSL_MISMATCH_MAX_TOKENS, OSL_MISMATCH_PCT, USAGE_DIFF_THRESHOLD_PCT, osl_check,
        usage_discrepancies,
    };
    let cols = &collected.columns;
    let mut out = Vec::new();
    let threshold =
        format!("off by more than {OSL_MISMATCH_PCT} % or {OSL_MISMATCH_MAX_TOKENS} tokens");
    let check = osl_check(cols);
    let by_server = check.off - check.server_exact;
    if check.server_exact > 0 {
        out.push(format!(
            "{} of {} requests have an output length other than requested as this client counts \
             it with {} ({threshold}; see osl_mismatch_diff_pct), yet the server's own count \
             (usage) matches the request on each of them: the tokenizer is not the model's. \
             Pass the model's with --tokenizer (a Hugging Face id, a tokenizer.json, or \
             `server` to count with the server's /tokenize), or report the server's counts \
             with --use-server-token-count",
            check.server_exact,
            check.compared,
            config.tokenizer.display_name(),
        ));
    }
    if by_server > 0 {
        let asked = |key: &str| {
            config.endpoint.extra_inputs.get(key).is_some_and(|v| {
                !matches!(v, serde_json::Value::Bool(false) | serde_json::Value::Null)
            })
        };
        let advice = if asked("ignore_eos") || asked("min_tokens") {
            "although --extra-inputs asks it to ignore the end of sequence: the server may not \
             support ignore_eos/min_tokens, or the context window (prompt + --osl) is full"
        } else {
            "add --extra-inputs ignore_eos:true (or min_tokens:N) so it honours --osl"
        };
        out.push(format!(
            "{by_server} of {} requests generated an output length other than requested \
             ({threshold}; see osl_mismatch_diff_pct): the server stopped early or ran on, \
             {advice}",
            check.compared
        ));
    }
    let (compared, off) = usage_discrepancies(cols);
    if off > 0 {
        out.push(format!(
            "on {off} of {compared} requests the server's token counts (usage) differ from this \
             client's by more than {USAGE_DIFF_THRESHOLD_PCT} % (see usage_*_diff_pct): the \
             tokenizer may not be the model's (pass --tokenizer with the model's, or \
             --tokenizer server), or a chat template adds tokens (most visible on short \
             prompts); --use-server-token-count reports the server's counts"
        ));
    }
    if collected.without_usage > 0 {
        out.push(format!(
            "--use-server-token-count: {} of {} answers carried no usage, so their token counts \
             come from the tokenizer ({}); ask the server for usage (streamed answers need \
             stream_options.include_usage, which aiperf sends) or pass the model's tokenizer",
            collected.without_usage,
            cols.ok.len(),
            config.tokenizer.display_name(),
        ));
    }
    if collected.buffered > 0 {
        out.push(format!(
            "{} of {} streamed answers arrived all at once (every token within 1 ms): \
             something between the server and aiperf (a buffering proxy or gateway) held the \
             stream back, or the server does not stream, so their inter-token latency reads \
             about 0 and their time to first token is the whole request; turn buffering off \
             (e.g. nginx `proxy_buffering off`) to measure streaming",
            collected.buffered,
            cols.ok.len(),
        ));
    }
    out
}

/// Aborts the run once more than `threshold` of the completed requests failed, judged from
/// `min_done` completed requests on (the reference tool's rule: the larger of the concurrency
/// and 10).
async fn watch_failures(
    threshold: f64,
    min_done: u64,
    progress: Arc<Progress>,
    interrupts: Interrupts,
) -> Option<String> {
    let base_done = progress.done.load(Ordering::Relaxed);
    let base_errors = progress.errors.load(Ordering::Relaxed);
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let done = progress.done.load(Ordering::Relaxed) - base_done;
        let errors = progress.errors.load(Ordering::Relaxed) - base_errors;
        if done >= min_done && errors as f64 > threshold * done as f64 {
            let reason = format!(
                "aborted: {errors} of {done} requests failed, reaching --failed-request-threshold {threshold}"
            );
            tracing::warn!("{reason}");
            interrupts.stop.cancel();
            interrupts.abort.cancel();
            return Some(reason);
        }
    }
}

/// The Prometheus endpoints to scrape: the target's `/metrics` plus `--server-metrics`.
fn server_metrics_urls(config: &ProfileConfig) -> Option<Vec<String>> {
    let sm = &config.output.server_metrics;
    if !sm.enabled {
        return None;
    }
    let mut urls: Vec<String> = config
        .endpoint
        .urls
        .iter()
        .map(|u| format!("{u}/metrics"))
        .collect();
    for u in &sm.urls {
        // A bare server address gets the conventional path; a URL with a path is used as given.
        let has_path = u
            .parse::<http::Uri>()
            .is_ok_and(|p| !matches!(p.path(), "" | "/"));
        let u = if has_path {
            u.clone()
        } else {
            format!("{u}/metrics")
        };
        if !urls.contains(&u) {
            urls.push(u);
        }
    }
    (!urls.is_empty()).then_some(urls)
}

/// The DCGM exporter endpoints to scrape: those given, the in-process simulator's, and the
/// default local exporter ports when they answer.
async fn gpu_telemetry_urls(
    config: &ProfileConfig,
    sim: Option<&aiperf_sim::SimServer>,
) -> Option<Vec<String>> {
    let g = &config.output.gpu_telemetry;
    if !g.enabled {
        return None;
    }
    let mut urls = g.urls.clone();
    if let Some(server) = sim {
        let url = format!("{}/dcgm/metrics", server.base_url());
        if !urls.contains(&url) {
            urls.push(url);
        }
    } else {
        for url in crate::config::GpuTelemetryConfig::DEFAULT_URLS {
            if !urls.iter().any(|u| u == url)
                && crate::telemetry::scrape::reachable(url, Duration::from_millis(500)).await
            {
                urls.push(url.to_owned());
            }
        }
    }
    (!urls.is_empty()).then_some(urls)
}

/// A scraper running in the background until `stop` is cancelled.
struct Scraper {
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<Vec<crate::telemetry::scrape::EndpointScrapes>>,
}

impl Scraper {
    /// Starts scraping and returns once the baseline scrape is taken.
    async fn start(
        urls: Vec<String>,
        interval_ms: f64,
        on_scrape: Option<crate::telemetry::scrape::OnScrape>,
    ) -> Self {
        let stop = tokio_util::sync::CancellationToken::new();
        let interval = Duration::from_secs_f64(interval_ms / 1e3);
        let (ready, baseline) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(crate::telemetry::scrape::scrape(
            urls,
            interval,
            stop.clone(),
            ready,
            on_scrape,
        ));
        let _ = baseline.await;
        Self { stop, task }
    }

    async fn finish(self) -> Option<Vec<crate::telemetry::scrape::EndpointScrapes>> {
        self.stop.cancel();
        self.task.await.ok()
    }
}

/// Logs the endpoints that never answered (never fatal).
fn log_unreachable(what: &str, scrapes: &[crate::telemetry::scrape::EndpointScrapes]) {
    for e in scrapes.iter().filter(|e| e.snapshots.is_empty()) {
        tracing::info!(
            "{what}: no scrape of {} succeeded ({} failed{})",
            e.url,
            e.failures,
            e.last_error
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        );
    }
}

fn scalar(metrics: &[MetricResult], tag: &str) -> Option<f64> {
    metrics
        .iter()
        .find(|m| m.tag == tag)
        .and_then(|m| match m.value {
            crate::metrics::Value::Scalar(v) => Some(v),
            crate::metrics::Value::Dist(_) => None,
        })
}

/// Loads the tokenizer and builds the dataset (CPU work, off the async threads).
pub async fn prepare(
    config: &ProfileConfig,
    tokenizer: Option<Arc<Tokenizer>>,
) -> anyhow::Result<(Arc<Tokenizer>, Dataset)> {
    let spec = config.tokenizer.clone();
    let input = config.input.clone();
    let seed = config.random_seed;
    tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let tokenizer = match tokenizer {
            Some(t) => t,
            None => Arc::new(Tokenizer::load(&spec)?),
        };
        let (conversations, sampling) = match &input {
            InputConfig::Synthetic {
                entries,
                isl,
                osl,
                sampling,
                batch,
                sessions,
                prefixes,
            } => (
                dataset::synthetic(
                    &tokenizer, *entries, *isl, *osl, *batch, *sessions, *prefixes, seed,
                ),
                *sampling,
            ),
            InputConfig::File {
                path,
                kind,
                osl,
                sampling,
                block_tokens,
            } => (
                dataset::load_file(path, *kind, &tokenizer, *osl, *block_tokens, seed)?,
                *sampling,
            ),
        };
        Ok((tokenizer, Dataset::new(conversations, sampling, seed)))
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

/// Runs one benchmark described by `config` and writes its artifacts.
pub async fn run_config(
    mut config: ProfileConfig,
    interrupts: &Interrupts,
    options: RunOptions,
) -> anyhow::Result<RunOutcome> {
    let (tokenizer, dataset) = prepare(&config, options.tokenizer.clone()).await?;
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

    // The simulator, when asked for, lives as long as this run.
    let sim = match &config.sim {
        Some(target) => {
            let mut sim_config = aiperf_sim::presets::preset(&target.preset).ok_or_else(|| {
                UsageError::new(format!("--sim: unknown preset {:?}", target.preset))
            })?;
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
            Some(server)
        }
        None => None,
    };

    let artifact_dir = config.artifact_dir(mode);
    create_dir(&artifact_dir)?;
    let benchmark_id = uuid::Uuid::new_v4().simple().to_string();
    let inputs = export::inputs_json(&config, &dataset);
    export::write_atomic(
        &artifact_dir.join(export::INPUTS_JSON),
        &serde_json::to_vec_pretty(&inputs)?,
    )
    .with_context(|| format!("writing {}", export::INPUTS_JSON))?;
    export::write_atomic(
        &artifact_dir.join(export::RUN_CONFIG_JSON),
        &serde_json::to_vec_pretty(&export::run_config_json(
            &config,
            &benchmark_id,
            &artifact_dir,
        ))?,
    )?;

    let clock = Clock::new();
    let client = Client::new(&config.endpoint, clock).context("building the HTTP client")?;
    let timer =
        Arc::new(aiperf_shared::timer::PreciseTimer::new().context("starting the timer thread")?);
    let progress = Arc::new(Progress::default());
    let level = config.output.export_level;
    let collector_config = CollectorConfig {
        tokenizer,
        dataset: dataset.clone(),
        streaming: config.endpoint.streaming,
        embeddings: config.endpoint.kind == crate::config::EndpointType::Embeddings,
        timeout_secs: config.endpoint.timeout_secs,
        use_server_token_count: config.endpoint.use_server_token_count,
        open_loop: !matches!(mode, LoadMode::Concurrency { .. }),
        clock,
        records_path: (level != ExportLevel::Summary)
            .then(|| artifact_dir.join(export::RECORDS_JSONL)),
        raw_path: (level == ExportLevel::Raw).then(|| artifact_dir.join(export::RAW_JSONL)),
        progress: progress.clone(),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let collector = std::thread::Builder::new()
        .name("aiperf-collector".into())
        .spawn(move || collect(&collector_config, &rx))
        .context("starting the collector thread")?;

    let ctx = Arc::new(LoadContext {
        first_bodies: LoadContext::first_bodies(&dataset, &config.endpoint, &config.models),
        client,
        dataset: dataset.clone(),
        endpoint: config.endpoint.clone(),
        models: config.models.clone(),
        model_selection: config.model_selection,
        seed: config.random_seed,
        clock,
        timer,
        records: tx,
        ids: crate::loadgen::IdSource::default(),
        shard: config.shard.clone(),
        cancellation: config.load.cancellation,
    });
    if config.endpoint.connection_warmup {
        let connections = match mode {
            LoadMode::Concurrency { concurrency } => Some(concurrency),
            LoadMode::Rate {
                max_concurrency, ..
            }
            | LoadMode::FixedSchedule { max_concurrency } => max_concurrency,
        };
        if let Some(n) = connections {
            let n = config
                .shard
                .as_ref()
                .map_or(u64::from(n), |s| s.share(u64::from(n)));
            ctx.client.preconnect(n as usize).await;
        }
    }
    let grace = Duration::try_from_secs_f64(config.load.grace_period_secs).unwrap_or(Duration::MAX);
    let start_time = SystemTime::now();
    tracing::info!(
        "benchmarking {} at {} with {} into {}",
        config.models.join(", "),
        config.endpoint.urls.join(", "),
        mode,
        artifact_dir.display()
    );

    // Shards: shard 0 serves its clock, the others measure their offset from it.
    let mut shard_info = config.shard.as_ref().map(|s| crate::shard::ShardInfo {
        index: s.index,
        count: s.count,
        start_at: s.start_at,
        ..crate::shard::ShardInfo::default()
    });
    let mut clock_server = None;
    if let (Some(s), Some(info)) = (&config.shard, shard_info.as_mut())
        && let Some(addr) = &s.clock
    {
        if s.index == 0 {
            clock_server = Some(crate::shard::serve_clock(addr).await?);
        } else {
            // Wait for shard 0 at least until the common start (and a minute beyond it).
            let until_start = s.start_at.map_or(0.0, |t| {
                t - SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64())
            });
            let patience = Duration::from_secs_f64((until_start + 60.0).clamp(300.0, 86_400.0));
            let (offset, rtt) = crate::shard::measure_offset(addr, 16, patience).await?;
            tracing::info!(
                "shard {}: clock offset from shard 0 {:.3} ms (± {:.3} ms)",
                s.index,
                offset as f64 / 1e6,
                rtt as f64 / 2e6
            );
            info.clock_offset_ns = offset;
            info.clock_rtt_ns = Some(rtt);
        }
    }
    if let Some(warmup) = warmup {
        let bar = progress_bar(config.ui, warmup.requests, "warmup");
        let ticker = tick(bar.clone(), progress.clone(), true);
        let warmup_mode = config.load.warmup_mode(mode);
        let end = run_phase(&ctx, Phase::Warmup, warmup_mode, warmup, grace, interrupts).await;
        ticker.abort();
        bar.finish_and_clear();
        tracing::info!("warmup done: {} requests", end.sent);
    }
    let mut end = PhaseEnd {
        sent: 0,
        cancelled_in_flight: false,
    };
    let stopwatch = crate::audit::Stopwatch::start();
    let mut abort_reason: Option<String> = None;
    let mut scrapes: Option<Vec<crate::telemetry::scrape::EndpointScrapes>> = None;
    let mut gpu_scrapes: Option<Vec<crate::telemetry::scrape::EndpointScrapes>> = None;
    let gpu_urls = gpu_telemetry_urls(&config, sim.as_ref()).await;
    if let Some(info) = shard_info.as_mut()
        && let Some(start_at) = info.start_at
    {
        let lag = crate::shard::wait_until(start_at, info.clock_offset_ns).await;
        if lag > 1000.0 {
            tracing::warn!(
                "shard {}: started {lag:.0} ms after the common start",
                info.index
            );
        }
        info.start_lag_ms = Some(lag);
    }
    if !interrupts.stop.is_cancelled() {
        let bar = progress_bar(config.ui, stop.requests, "profiling");
        let ticker = tick(bar.clone(), progress.clone(), false);
        // The run's own stop signals: the user's, plus the failed-request threshold.
        let run_interrupts = Interrupts {
            stop: interrupts.stop.child_token(),
            abort: interrupts.abort.child_token(),
        };
        let watcher = config.load.failed_request_threshold.map(|threshold| {
            let min_done = u64::from(config.load.concurrency.unwrap_or(1)).max(10);
            tokio::spawn(watch_failures(
                threshold,
                min_done,
                progress.clone(),
                run_interrupts.clone(),
            ))
        });
        let dashboard = (config.ui == UiMode::Dashboard && !options.quiet)
            .then(|| {
                let title = format!(
                    "aiperf: {} at {} ({mode})",
                    config.models.join(", "),
                    config.endpoint.urls.join(", ")
                );
                crate::dashboard::Dashboard::start(
                    title,
                    progress.clone(),
                    stop.requests,
                    interrupts.clone(),
                )
            })
            .and_then(|started| {
                started
                    .map_err(|e| {
                        tracing::warn!(
                            "--ui dashboard: cannot take over this terminal ({e}); going on \
                             without the dashboard (use --ui simple or none)"
                        );
                    })
                    .ok()
            });
        // The dashboard shows the latest server and GPU readings.
        let live = dashboard.is_some();
        let server_live: Option<crate::telemetry::scrape::OnScrape> = live.then(|| {
            let progress = progress.clone();
            Arc::new(move |families: &[crate::telemetry::prometheus::Family]| {
                let [running, waiting, kv] = crate::telemetry::scrape::live_figures(families);
                if let Ok(mut s) = progress.server.lock() {
                    (s.running, s.waiting, s.kv_cache) = (running, waiting, kv);
                }
            }) as crate::telemetry::scrape::OnScrape
        });
        let gpu_live: Option<crate::telemetry::scrape::OnScrape> = live.then(|| {
            let progress = progress.clone();
            Arc::new(move |families: &[crate::telemetry::prometheus::Family]| {
                if let Ok(mut s) = progress.server.lock() {
                    s.gpu_power = crate::telemetry::gpu::live_power(families);
                }
            }) as crate::telemetry::scrape::OnScrape
        });
        let scraper = match server_metrics_urls(&config) {
            Some(urls) => Some(
                Scraper::start(urls, config.output.server_metrics.interval_ms, server_live).await,
            ),
            None => None,
        };
        let gpu_scraper = match gpu_urls {
            Some(urls) => {
                Some(Scraper::start(urls, config.output.gpu_telemetry.interval_ms, gpu_live).await)
            }
            None => None,
        };
        end = run_phase(&ctx, Phase::Profiling, mode, stop, grace, &run_interrupts).await;
        if let Some(s) = scraper {
            scrapes = s.finish().await;
        }
        if let Some(s) = gpu_scraper {
            gpu_scrapes = s.finish().await;
        }
        if let Some(d) = dashboard {
            d.finish();
        }
        if let Some(w) = watcher {
            w.abort();
            abort_reason = w.await.ok().flatten();
        }
        ticker.abort();
        bar.finish_and_clear();
    }
    let end_time = SystemTime::now();
    if let Some(server) = clock_server {
        server.abort();
    }
    let client_counts = ctx.client.counts();
    drop(ctx);
    let collected: Collected = tokio::task::spawn_blocking(move || collector.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the collector thread panicked"))?;
    if let Some(server) = sim {
        let _ = server.shutdown().await;
    }

    let mut metrics = summarize(&collected.columns, &config.goodput);
    if matches!(mode, LoadMode::FixedSchedule { .. }) {
        metrics.extend(crate::metrics::replay_lag(&collected.columns));
    }
    let lag_p99 = metrics
        .iter()
        .find(|m| m.tag == "schedule_lag")
        .and_then(|m| match &m.value {
            crate::metrics::Value::Dist(d) => d.summary.percentile(99.0),
            crate::metrics::Value::Scalar(_) => None,
        });
    let cols = &collected.columns;
    let mut audit = crate::audit::audit(
        stopwatch,
        (cols.ok.len() + cols.errors()) as u64,
        config.sim.is_some(),
        match mode {
            LoadMode::Rate { rate, .. } => Some(rate),
            _ => None,
        },
        (cols.any_first_start_ns, cols.any_last_start_ns),
        (cols.first_scheduled_ns, cols.last_scheduled_ns),
        lag_p99,
    );
    audit.connections_opened = Some(client_counts.opened);
    audit.requests_resent = Some(collected.resent);
    let warnings: Vec<String> = audit
        .warnings
        .iter()
        .cloned()
        .chain(measurement_warnings(&collected, &config))
        .collect();
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let (start_iso, end_iso) = (export::iso_time(start_time), export::iso_time(end_time));
    if let Some(scrapes) = &scrapes {
        let doc = crate::telemetry::scrape::export(scrapes, &benchmark_id, &start_iso, &end_iso);
        metrics.extend(crate::telemetry::scrape::key_figures(&doc));
        export::write_atomic(
            &artifact_dir.join(export::SERVER_METRICS_JSON),
            &serde_json::to_vec_pretty(&doc)?,
        )?;
        export::write_atomic(
            &artifact_dir.join(export::SERVER_METRICS_CSV),
            crate::telemetry::scrape::export_csv(&doc).as_bytes(),
        )?;
        if config.output.server_metrics.jsonl {
            export::write_atomic(
                &artifact_dir.join(export::SERVER_METRICS_JSONL),
                &crate::telemetry::scrape::export_jsonl(scrapes),
            )?;
        }
        log_unreachable("server metrics", scrapes);
    }
    let gpus = gpu_scrapes.as_deref().map(crate::telemetry::gpu::collect);
    let telemetry_data = gpus
        .as_deref()
        .map(|g| crate::telemetry::gpu::telemetry_data(g, &start_iso, &end_iso));
    if let (Some(gpus), Some(raw)) = (&gpus, &gpu_scrapes) {
        let efficiency = crate::telemetry::gpu::efficiency(
            gpus,
            scalar(&metrics, "total_osl"),
            scalar(&metrics, "output_token_throughput"),
        );
        metrics.extend(efficiency);
        if gpus.iter().any(|e| !e.gpus.is_empty()) {
            export::write_atomic(
                &artifact_dir.join(export::GPU_TELEMETRY_JSONL),
                &crate::telemetry::gpu::export_jsonl(raw),
            )?;
        }
        for e in raw.iter().filter(|e| {
            !e.snapshots.is_empty()
                && !e
                    .snapshots
                    .iter()
                    .any(|s| crate::telemetry::gpu::is_dcgm(&s.families))
        }) {
            tracing::warn!(
                "GPU telemetry: {} answers but exposes no DCGM_FI_* fields; is it a DCGM exporter?",
                e.url
            );
        }
        log_unreachable("GPU telemetry", raw);
    }
    let was_cancelled = interrupts.stop.is_cancelled();
    let info = RunInfo {
        benchmark_id: &benchmark_id,
        config: &config,
        was_cancelled,
        is_complete: !was_cancelled && !end.cancelled_in_flight && abort_reason.is_none(),
        errors: &collected.errors,
        start: start_time,
        end: end_time,
        audit: Some(audit.to_json()),
        abort_reason: abort_reason.clone(),
        telemetry: telemetry_data,
        shard: shard_info
            .as_ref()
            .map(|s| serde_json::to_value(s).expect("shard info serializes")),
    };
    let json = export::summary_json(&metrics, &info);
    export::write_atomic(
        &artifact_dir.join(export::SUMMARY_JSON),
        &serde_json::to_vec_pretty(&json)?,
    )
    .with_context(|| format!("writing {}", export::SUMMARY_JSON))?;
    export::write_atomic(
        &artifact_dir.join(export::SUMMARY_CSV),
        (export::summary_csv(&metrics)
            + &gpus
                .as_deref()
                .map(crate::telemetry::gpu::csv_section)
                .unwrap_or_default())
            .as_bytes(),
    )
    .with_context(|| format!("writing {}", export::SUMMARY_CSV))?;
    let console = console_text(
        &metrics,
        gpus.as_deref(),
        &collected,
        end,
        &audit,
        &warnings,
    );
    export::write_atomic(&artifact_dir.join(export::CONSOLE_TXT), console.as_bytes())
        .with_context(|| format!("writing {}", export::CONSOLE_TXT))?;
    if !options.quiet {
        report(&config, &artifact_dir, &console)?;
        if let Some(reason) = &abort_reason {
            writeln!(std::io::stdout().lock(), "\n{reason}")?;
        }
    }
    let ok = collected.columns.ok.len();
    let (status, error) = if let Some(reason) = &abort_reason {
        (ExitStatus::Failure, Some(reason.clone()))
    } else if ok == 0 {
        let errors = collected.columns.errors();
        let error = match collected.errors.first() {
            Some((e, n)) => format!(
                "all {errors} requests failed ({n} × {}: {})",
                e.kind, e.message
            ),
            None => "no request was sent".to_owned(),
        };
        (ExitStatus::Failure, Some(error))
    } else {
        (ExitStatus::Success, None)
    };
    Ok(RunOutcome {
        status,
        artifact_dir,
        metrics,
        summary: json,
        was_cancelled,
        error,
    })
}

/// What the console shows of a run (also written to `profile_export_console.txt`): the
/// tables, the failures, the client's self-audit and its warnings.
fn console_text(
    metrics: &[MetricResult],
    gpus: Option<&[crate::telemetry::gpu::Endpoint]>,
    collected: &Collected,
    end: PhaseEnd,
    audit: &crate::audit::Audit,
    warnings: &[String],
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out);
    out.push_str(&export::console_table(metrics));
    out.push_str(&export::server_and_gpu_lines(metrics));
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

fn report(config: &ProfileConfig, dir: &Path, console: &str) -> anyhow::Result<()> {
    let level = config.output.export_level;
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

fn progress_bar(ui: UiMode, total: Option<u64>, phase: &str) -> ProgressBar {
    let target = match ui {
        UiMode::Simple => ProgressDrawTarget::stderr(),
        UiMode::None | UiMode::Dashboard => ProgressDrawTarget::hidden(),
    };
    let bar = ProgressBar::with_draw_target(total, target);
    let template = if total.is_some() {
        "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec}, ETA {eta}) {msg}"
    } else {
        "{prefix} [{elapsed_precise}] {spinner} {pos} requests ({per_sec}) {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_prefix(phase.to_owned());
    bar
}

/// Copies the collector's counters into the bar a few times a second; when no bar is drawn
/// (`--ui none`, or stderr is not a terminal), logs a progress line every ten seconds instead.
fn tick(bar: ProgressBar, progress: Arc<Progress>, warmup: bool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let phase = if warmup { "warmup" } else { "profiling" };
        let base = progress.done.load(Ordering::Relaxed);
        let mut last_log = std::time::Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let done = if warmup {
                progress.warmup_done.load(Ordering::Relaxed)
            } else {
                progress.done.load(Ordering::Relaxed) - base
            };
            let errors = progress.errors.load(Ordering::Relaxed);
            bar.set_position(done);
            if errors > 0 && !warmup {
                bar.set_message(format!("{errors} errors"));
            }
            if bar.is_hidden() && last_log.elapsed() >= Duration::from_secs(10) {
                last_log = std::time::Instant::now();
                let total = bar.length().map(|t| format!("/{t}")).unwrap_or_default();
                tracing::info!("{phase}: {done}{total} requests done, {errors} errors");
            }
        }
    })
}
