//! Sending and measuring: the client and the collector thread, the connections opened ahead,
//! the shards' common clock, the warmup phase, then the profiling phase with the scrapers, the
//! live displays and the failed-request watcher around it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use anyhow::Context;

use super::RunOptions;
use super::prepare::Prepared;
use crate::client::{Client, ClientCounts};
use crate::collector::{Collected, CollectorConfig, Progress, RecordOrigin, collect};
use crate::export;
use crate::loadgen::{Interrupts, LoadContext, PhaseEnd, Shaping, run_phase};
use crate::record::{Clock, Phase};
use crate::settings::{ExportLevel, LoadMode, PhaseShape, ProfileConfig, UiMode};
use crate::shard::ShardInfo;
use crate::telemetry::scrape::{EndpointScrapes, OnScrape};

/// What the sending side produced.
pub(super) struct Measurement {
    /// The clock of the records' monotonic times.
    pub clock: Clock,
    pub collected: Collected,
    pub end: PhaseEnd,
    pub start_time: SystemTime,
    pub end_time: SystemTime,
    /// What the profiling phase cost, from its start until its last record was measured
    /// (the summary and the files afterwards are not part of it).
    pub phase_cost: crate::audit::PhaseCost,
    /// Why the run was stopped early (`--failed-request-threshold`).
    pub abort_reason: Option<String>,
    pub scrapes: Option<Vec<EndpointScrapes>>,
    pub gpu_scrapes: Option<Vec<EndpointScrapes>>,
    /// The network round-trip probes (`--network-latency-automatic`).
    pub network_probes: Option<Vec<crate::telemetry::network::Sample>>,
    pub shard_info: Option<ShardInfo>,
    pub client_counts: ClientCounts,
}

/// What the profiling phase produced.
struct Profiled {
    end: PhaseEnd,
    abort_reason: Option<String>,
    scrapes: Option<Vec<EndpointScrapes>>,
    gpu_scrapes: Option<Vec<EndpointScrapes>>,
}

pub(super) async fn measure(
    run: &mut Prepared,
    interrupts: &Interrupts,
    options: &RunOptions,
) -> anyhow::Result<Measurement> {
    let config = &run.config;
    let clock = Clock::new();
    let client = Client::new(&config.endpoint, clock, config.output.export_http_trace)
        .context("building the HTTP client")?
        .with_session_header(config.server_control.session_header.as_deref())?;
    let timer =
        Arc::new(aiperf_shared::timer::PreciseTimer::new().context("starting the timer thread")?);
    let progress = Arc::new(Progress::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let collector_config = collector_config(run, clock, progress.clone());
    let collector = std::thread::Builder::new()
        .name("aiperf-collector".into())
        .spawn(move || collect(&collector_config, &rx))
        .context("starting the collector thread")?;
    let ctx = Arc::new(LoadContext {
        first_bodies: LoadContext::first_bodies(
            &run.dataset,
            &config.endpoint,
            &*run.api,
            &config.models,
        ),
        api: run.api.clone(),
        client,
        dataset: run.dataset.clone(),
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
        polling: config.polling,
    });
    super::server_control::reset_kv_cache(config).await?;
    preconnect(config, run.mode, &ctx).await;
    let grace = Duration::try_from_secs_f64(config.load.grace_period_secs).unwrap_or(Duration::MAX);
    let start_time = SystemTime::now();
    tracing::info!(
        "benchmarking {} at {} with {} into {}",
        config.models.join(", "),
        config.endpoint.urls.join(", "),
        run.mode,
        run.artifact_dir.display()
    );
    let (mut shard_info, clock_server) = sync_shard_clocks(config).await?;
    if let Some(warmup) = run.warmup {
        let bar = crate::ui::progress_bar(config.ui, warmup.requests, "warmup");
        let ticker = crate::ui::tick(bar.clone(), progress.clone(), true);
        let warmup_mode = config.load.warmup_mode(run.mode);
        // Without --warmup-grace-period a timed warmup waits for all its answers.
        let warmup_grace = (config.load.warmup_grace_secs)
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .unwrap_or(Duration::MAX);
        let shaping = Shaping {
            shape: shard_shape(config, &config.load.warmup_shape),
            turn_delay_cap_secs: config.load.turn_delay_cap_secs,
            ..Shaping::default()
        };
        let end = run_phase(
            &ctx,
            Phase::Warmup,
            warmup_mode,
            warmup,
            warmup_grace,
            interrupts,
            &shaping,
        )
        .await;
        ticker.abort();
        bar.finish_and_clear();
        tracing::info!("warmup done: {} requests", end.sent);
    }
    let stopwatch = crate::audit::Stopwatch::start();
    let gpu_urls = gpu_telemetry_urls(config, run.sim.as_ref()).await;
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
    let prober =
        crate::telemetry::network::Prober::start(&config.network_latency, &config.endpoint.urls);
    let profiled = if interrupts.stop.is_cancelled() {
        Profiled {
            end: PhaseEnd {
                sent: 0,
                cancelled_in_flight: false,
            },
            abort_reason: None,
            scrapes: None,
            gpu_scrapes: None,
        }
    } else {
        let profiler = super::server_control::Profiler::start(config).await?;
        let profiled = profile(run, &ctx, &progress, gpu_urls, grace, interrupts, options).await;
        if let Some(p) = profiler {
            p.stop().await;
        }
        profiled
    };
    let end_time = SystemTime::now();
    let network_probes = match prober {
        Some(p) => Some(p.finish().await),
        None => None,
    };
    if let Some(server) = clock_server {
        server.abort();
    }
    let client_counts = ctx.client.counts();
    drop(ctx);
    let collected: Collected = tokio::task::spawn_blocking(move || collector.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the collector thread panicked"))?;
    let phase_cost = stopwatch.stop();
    if let Some(server) = run.sim.take() {
        let _ = server.shutdown().await;
    }
    Ok(Measurement {
        clock,
        collected,
        end: profiled.end,
        start_time,
        end_time,
        phase_cost,
        abort_reason: profiled.abort_reason,
        scrapes: profiled.scrapes,
        gpu_scrapes: profiled.gpu_scrapes,
        network_probes,
        shard_info,
        client_counts,
    })
}

fn collector_config(run: &Prepared, clock: Clock, progress: Arc<Progress>) -> CollectorConfig {
    let config = &run.config;
    let level = config.output.export_level;
    let dir = &run.artifact_dir;
    CollectorConfig {
        tokenizer: run.tokenizer.clone(),
        dataset: run.dataset.clone(),
        streaming: config.endpoint.streaming,
        api: run.api.clone(),
        timeout_secs: config.endpoint.timeout_secs,
        use_server_token_count: config.endpoint.use_server_token_count,
        open_loop: !matches!(run.mode, LoadMode::Concurrency { .. }),
        clock,
        records_path: (level != ExportLevel::Summary)
            .then(|| dir.join(export::ExportNames::of(&config.output).records_jsonl())),
        raw_path: (level == ExportLevel::Raw)
            .then(|| dir.join(export::ExportNames::of(&config.output).raw_jsonl())),
        outputs_path: config.output.export_outputs_json.then(|| {
            let origin = config.shard.as_ref().map_or(0, |s| s.index);
            export::output_fragments(dir, origin)
        }),
        http_trace: config.output.export_http_trace,
        progress,
        process: RecordOrigin::new(config.shard.as_ref().map(|s| s.index), run.warmup.is_some()),
        per_chunk_usage: config.server_control.per_chunk_usage,
    }
}

/// A phase's shape as this process runs it: a shard gates its share of the prefill slots.
fn shard_shape(config: &ProfileConfig, shape: &PhaseShape) -> PhaseShape {
    let mut shape = shape.clone();
    if let (Some(s), Some(n)) = (&config.shard, shape.prefill_concurrency) {
        let share = s.share(u64::from(n)).max(1);
        shape.prefill_concurrency = Some(u32::try_from(share).unwrap_or(n));
    }
    shape
}

/// Opens the connections the load needs before measuring (`--connection-warmup`).
async fn preconnect(config: &ProfileConfig, mode: LoadMode, ctx: &LoadContext) {
    if !config.endpoint.connection_warmup {
        return;
    }
    if let Some(n) = mode.session_limit() {
        let n = config
            .shard
            .as_ref()
            .map_or(u64::from(n), |s| s.share(u64::from(n)));
        ctx.client.preconnect(n as usize).await;
    }
}

/// Shards: shard 0 serves its clock, the others measure their offset from it.
async fn sync_shard_clocks(
    config: &ProfileConfig,
) -> anyhow::Result<(Option<ShardInfo>, Option<tokio::task::JoinHandle<()>>)> {
    let Some(s) = &config.shard else {
        return Ok((None, None));
    };
    let mut info = ShardInfo {
        index: s.index,
        count: s.count,
        start_at: s.start_at,
        ..ShardInfo::default()
    };
    let Some(addr) = &s.clock else {
        return Ok((Some(info), None));
    };
    if s.index == 0 {
        let server = crate::shard::serve_clock(addr).await?;
        return Ok((Some(info), Some(server)));
    }
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
    Ok((Some(info), None))
}

/// The profiling phase, with everything that runs beside it.
async fn profile(
    run: &Prepared,
    ctx: &Arc<LoadContext>,
    progress: &Arc<Progress>,
    gpu_urls: Option<Vec<String>>,
    grace: Duration,
    interrupts: &Interrupts,
    options: &RunOptions,
) -> Profiled {
    let config = &run.config;
    let bar = crate::ui::progress_bar(config.ui, run.stop.requests, "profiling");
    let ticker = crate::ui::tick(bar.clone(), progress.clone(), false);
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
                "aiperf: {} at {} ({})",
                config.models.join(", "),
                config.endpoint.urls.join(", "),
                run.mode
            );
            crate::ui::dashboard::Dashboard::start(
                title,
                progress.clone(),
                run.stop.requests,
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
    let (server_live, gpu_live) = live_readings(dashboard.is_some(), progress);
    let scraper = match server_metrics_urls(config) {
        Some(urls) => {
            Some(Scraper::start(urls, config.output.server_metrics.interval_ms, server_live).await)
        }
        None => None,
    };
    let gpu_scraper = match gpu_urls {
        Some(urls) => {
            Some(Scraper::start(urls, config.output.gpu_telemetry.interval_ms, gpu_live).await)
        }
        None => None,
    };
    let shaping = Shaping {
        shape: shard_shape(config, &config.load.shape),
        window: config.load.replay_window,
        turn_delay_cap_secs: config.load.turn_delay_cap_secs,
    };
    let end = run_phase(
        ctx,
        Phase::Profiling,
        run.mode,
        run.stop,
        grace,
        &run_interrupts,
        &shaping,
    )
    .await;
    let scrapes = match scraper {
        Some(s) => s.finish().await,
        None => None,
    };
    let gpu_scrapes = match gpu_scraper {
        Some(s) => s.finish().await,
        None => None,
    };
    if let Some(d) = dashboard {
        d.finish();
    }
    let mut abort_reason = None;
    if let Some(w) = watcher {
        w.abort();
        abort_reason = w.await.ok().flatten();
    }
    ticker.abort();
    bar.finish_and_clear();
    Profiled {
        end,
        abort_reason,
        scrapes,
        gpu_scrapes,
    }
}

/// Callbacks that copy the latest server and GPU readings into the live display's state.
fn live_readings(live: bool, progress: &Arc<Progress>) -> (Option<OnScrape>, Option<OnScrape>) {
    if !live {
        return (None, None);
    }
    let p = progress.clone();
    let server: OnScrape = Arc::new(move |families: &[crate::telemetry::prometheus::Family]| {
        let [running, waiting, kv] = crate::telemetry::scrape::live_figures(families);
        if let Ok(mut s) = p.server.lock() {
            (s.running, s.waiting, s.kv_cache) = (running, waiting, kv);
        }
    });
    let p = progress.clone();
    let gpu: OnScrape = Arc::new(move |families: &[crate::telemetry::prometheus::Family]| {
        if let Ok(mut s) = p.server.lock() {
            s.gpu_power = crate::telemetry::gpu::live_power(families);
        }
    });
    (Some(server), Some(gpu))
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
    if g.collector == crate::settings::GpuCollector::Nvml {
        return Some(vec![crate::telemetry::nvml::SOURCE.to_owned()]);
    }
    let mut urls = g.urls.clone();
    if let Some(server) = sim {
        let url = format!("{}/dcgm/metrics", server.base_url());
        if !urls.contains(&url) {
            urls.push(url);
        }
    } else {
        for url in crate::settings::GpuTelemetryConfig::DEFAULT_URLS {
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
    task: tokio::task::JoinHandle<Vec<EndpointScrapes>>,
}

impl Scraper {
    /// Starts scraping and returns once the baseline scrape is taken.
    async fn start(urls: Vec<String>, interval_ms: f64, on_scrape: Option<OnScrape>) -> Self {
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

    async fn finish(self) -> Option<Vec<EndpointScrapes>> {
        self.stop.cancel();
        self.task.await.ok()
    }
}
