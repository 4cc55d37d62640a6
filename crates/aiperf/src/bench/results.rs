//! After the last request: the summary and its derived figures, the server-metrics and GPU
//! telemetry exports, the client's self-audit and the warnings, every artifact file, the
//! console report, and how the run ended.

use anyhow::Context;

use super::measure::Measurement;
use super::prepare::Prepared;
use super::{RunOptions, RunOutcome};
use crate::ExitStatus;
use crate::collector::Collected;
use crate::endpoints::Endpoint;
use crate::export::{self, RunInfo};
use crate::loadgen::Interrupts;
use crate::metrics::{MetricResult, summarize};
use crate::settings::{LoadMode, ProfileConfig};
use crate::telemetry::scrape::EndpointScrapes;

pub(super) fn finish(
    run: Prepared,
    m: &Measurement,
    interrupts: &Interrupts,
    options: &RunOptions,
) -> anyhow::Result<RunOutcome> {
    let config = &run.config;
    let dir = &run.artifact_dir;
    let names = export::ExportNames::of(&config.output);
    let collected = &m.collected;
    let mut metrics = summarize(&collected.columns, &config.goodput);
    if matches!(run.mode, LoadMode::FixedSchedule { .. }) {
        metrics.extend(crate::metrics::replay_lag(&collected.columns));
    }
    let probes = m.network_probes.as_deref();
    let network_rtt_ms = crate::telemetry::network::round_trip_ms(
        &config.network_latency,
        probes.unwrap_or_default(),
    );
    metrics.extend(crate::metrics::network_adjusted(
        &collected.columns,
        network_rtt_ms,
    ));
    if let Some(samples) = probes {
        export::write_atomic(
            &dir.join(names.network_latency_jsonl()),
            &crate::telemetry::network::jsonl(samples),
        )?;
    }
    let audit = audit(&run, m, &metrics);
    let warnings: Vec<String> = audit
        .warnings
        .iter()
        .cloned()
        .chain(measurement_warnings(collected, config, &*run.api))
        .collect();
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let (start_iso, end_iso) = (export::iso_time(m.start_time), export::iso_time(m.end_time));
    if let Some(scrapes) = &m.scrapes {
        metrics.extend(write_server_metrics(
            scrapes,
            config,
            dir,
            &run.benchmark_id,
            (&start_iso, &end_iso),
        )?);
    }
    let gpu_fields =
        crate::telemetry::gpu_fields::catalogue(&config.output.gpu_telemetry.custom_fields);
    let gpus = (m.gpu_scrapes.as_deref()).map(|s| crate::telemetry::gpu::collect(s, &gpu_fields));
    // The summary, a layer below, holds `telemetry_data` as a JSON value.
    let telemetry_data = gpus.as_deref().map(|g| {
        serde_json::to_value(crate::telemetry::gpu::telemetry_data(
            g, &start_iso, &end_iso,
        ))
        .expect("telemetry data serializes")
    });
    if let (Some(gpus), Some(raw)) = (&gpus, &m.gpu_scrapes) {
        let (power, energy) = crate::telemetry::gpu::power_and_energy(gpus);
        let figures = run_figures(&metrics, config);
        metrics.extend(crate::telemetry::energy::efficiency(
            power, energy, &figures,
        ));
        write_gpu_telemetry(gpus, raw, &dir.join(names.gpu_telemetry_jsonl()))?;
    }
    let was_cancelled = interrupts.stop.is_cancelled();
    let info = RunInfo {
        benchmark_id: &run.benchmark_id,
        config,
        reference: &run.reference,
        identity: options.identity.as_ref(),
        was_cancelled,
        is_complete: !was_cancelled && !m.end.cancelled_in_flight && m.abort_reason.is_none(),
        errors: &collected.errors,
        start: m.start_time,
        end: m.end_time,
        audit: Some(&audit),
        abort_reason: m.abort_reason.clone(),
        telemetry: telemetry_data,
        shard: m
            .shard_info
            .as_ref()
            .map(|s| serde_json::to_value(s).expect("shard info serializes")),
    };
    let json = export::summary_json(&metrics, &info);
    export::write_atomic(
        &dir.join(names.summary_json()),
        &serde_json::to_vec_pretty(&json)?,
    )
    .with_context(|| format!("writing {}", names.summary_json()))?;
    if config.output.export_outputs_json {
        export::write_outputs_json(dir)
            .with_context(|| format!("writing {}", export::OUTPUTS_JSON))?;
    }
    if let Some(secs) = config.output.slice_duration_secs {
        let columns = &collected.columns;
        write_timeslices(columns, network_rtt_ms, config, m.clock, secs, &json, dir)?;
    }
    export::write_csv(
        &dir.join(names.summary_csv()),
        &(export::summary_csv(&metrics)
            + &gpus
                .as_deref()
                .map(crate::telemetry::gpu::csv_section)
                .unwrap_or_default()),
    )
    .with_context(|| format!("writing {}", names.summary_csv()))?;
    let console = crate::ui::console::run_text(
        &metrics,
        gpus.as_deref(),
        collected,
        m.end,
        &audit,
        &warnings,
        config.output.show_trace_timing,
    );
    export::write_atomic(&dir.join(names.console_txt()), console.as_bytes())
        .with_context(|| format!("writing {}", names.console_txt()))?;
    if !options.quiet {
        crate::ui::console::report(config.output.export_level, dir, &console)?;
        if let Some(reason) = &m.abort_reason {
            crate::ui::console::line(&format!("\n{reason}"))?;
        }
    }
    let (status, error) = ending(collected, m.abort_reason.as_deref());
    tracing::info!(
        "run finished ({status:?}{}); artifacts written to {}",
        error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default(),
        run.artifact_dir.display()
    );
    drop(run.log);
    Ok(RunOutcome {
        status,
        artifact_dir: run.artifact_dir,
        metrics,
        summary: json,
        was_cancelled,
        error,
    })
}

/// The client's self-audit over the profiling phase.
fn audit(run: &Prepared, m: &Measurement, metrics: &[MetricResult]) -> crate::audit::Audit {
    let lag_p99 = metrics
        .iter()
        .find(|m| m.tag == "schedule_lag")
        .and_then(|m| match &m.value {
            crate::metrics::Value::Dist(d) => d.summary.percentile(99.0),
            crate::metrics::Value::Scalar(_) => None,
        });
    let cols = &m.collected.columns;
    let mut audit = crate::audit::audit(
        m.phase_cost,
        (cols.ok.len() + cols.errors()) as u64,
        run.config.sim.is_some(),
        match run.mode {
            LoadMode::Rate { rate, .. } => Some(rate),
            _ => None,
        },
        (cols.any_first_start_ns, cols.any_last_start_ns),
        (cols.first_scheduled_ns, cols.last_scheduled_ns),
        lag_p99,
    );
    audit.connections_opened = Some(m.client_counts.opened);
    audit.requests_resent = Some(m.collected.resent);
    audit
}

/// Writes `server_metrics_export.{json,csv}` (and the raw JSONL when asked) and returns the
/// key figures they add to the summary.
fn write_server_metrics(
    scrapes: &[EndpointScrapes],
    config: &ProfileConfig,
    dir: &std::path::Path,
    benchmark_id: &str,
    (start_iso, end_iso): (&str, &str),
) -> anyhow::Result<Vec<MetricResult>> {
    let doc = crate::telemetry::server_summary::export(scrapes, benchmark_id, start_iso, end_iso);
    let figures = crate::telemetry::scrape::key_figures(&doc);
    let names = export::ExportNames::of(&config.output);
    export::write_atomic(
        &dir.join(names.server_metrics_json()),
        &serde_json::to_vec_pretty(&doc)?,
    )?;
    // Its rows already end in CRLF and its `#` lines in LF, as the reference tool writes them.
    export::write_atomic(
        &dir.join(names.server_metrics_csv()),
        crate::telemetry::server_csv::export_csv(&doc).as_bytes(),
    )?;
    if config.output.server_metrics.jsonl {
        export::write_atomic(
            &dir.join(names.server_metrics_jsonl()),
            &crate::telemetry::scrape::export_jsonl(scrapes),
        )?;
    }
    log_unreachable("server metrics", scrapes);
    Ok(figures)
}

/// Writes `gpu_telemetry_export.jsonl` (at `path`) and says which endpoints were no DCGM
/// exporter.
fn write_gpu_telemetry(
    gpus: &[crate::telemetry::gpu::Endpoint],
    raw: &[EndpointScrapes],
    path: &std::path::Path,
) -> anyhow::Result<()> {
    if gpus.iter().any(|e| !e.gpus.is_empty()) {
        export::write_atomic(
            path,
            &crate::telemetry::gpu::export_jsonl(raw, &gpus[0].fields),
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
    Ok(())
}

/// The exit status and, for a failed run, why in one line.
fn ending(collected: &Collected, abort_reason: Option<&str>) -> (ExitStatus, Option<String>) {
    if let Some(reason) = abort_reason {
        return (ExitStatus::Failure, Some(reason.to_owned()));
    }
    if !collected.columns.ok.is_empty() {
        return (ExitStatus::Success, None);
    }
    let errors = collected.columns.errors();
    let error = match collected.errors.first() {
        Some((e, n)) => format!(
            "all {errors} requests failed ({n} × {}: {})",
            e.kind, e.message
        ),
        None => "no request was sent".to_owned(),
    };
    (ExitStatus::Failure, Some(error))
}

/// Warnings about what undermines per-token figures: output lengths other than requested,
/// server counts that disagree with the client's tokenizer, missing `usage`, and streams
/// that arrived in one piece. Each is worded from what the run observed.
fn measurement_warnings(
    collected: &Collected,
    config: &ProfileConfig,
    api: &dyn Endpoint,
) -> Vec<String> {
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
            api.exact_length_hint()
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
             come from the tokenizer ({}); {}, or pass the model's tokenizer",
            collected.without_usage,
            cols.ok.len(),
            config.tokenizer.display_name(),
            api.usage_hint(),
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

/// Logs the endpoints that never answered (never fatal).
fn log_unreachable(what: &str, scrapes: &[EndpointScrapes]) {
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

/// The run's figures the GPU energy metrics are measured against.
fn run_figures(
    metrics: &[MetricResult],
    config: &ProfileConfig,
) -> crate::telemetry::energy::RunFigures {
    let avg = |tag: &str| metrics.iter().find(|m| m.tag == tag).map(MetricResult::avg);
    crate::telemetry::energy::RunFigures {
        request_count: avg("request_count"),
        total_isl: avg("total_isl"),
        total_osl: avg("total_osl"),
        request_latency_ms: avg("request_latency"),
        request_throughput: avg("request_throughput"),
        output_token_throughput: avg("output_token_throughput"),
        goodput: avg("goodput"),
        duration_s: avg("benchmark_duration"),
        concurrency: config.load.concurrency,
    }
}

/// `--slice-duration`: the time slices' JSON and CSV (nothing when no request was measured).
fn write_timeslices(
    columns: &crate::metrics::Columns,
    network_rtt_ms: Option<f64>,
    config: &crate::settings::ProfileConfig,
    clock: crate::record::Clock,
    secs: f64,
    summary: &serde_json::Value,
    dir: &std::path::Path,
) -> anyhow::Result<()> {
    let slice_ns = (secs * 1e9).round() as u64;
    let slices = crate::metrics::timeslices(columns, &config.goodput, slice_ns, network_rtt_ms);
    if slices.is_empty() {
        return Ok(());
    }
    let doc = export::timeslices_json(&slices, clock, summary.get("input_config"));
    let names = export::ExportNames::of(&config.output);
    export::write_atomic(
        &dir.join(names.timeslices_json()),
        &serde_json::to_vec_pretty(&doc)?,
    )
    .with_context(|| format!("writing {}", names.timeslices_json()))?;
    export::write_csv(
        &dir.join(names.timeslices_csv()),
        &export::timeslices_csv(&slices, clock),
    )
    .with_context(|| format!("writing {}", names.timeslices_csv()))?;
    Ok(())
}
