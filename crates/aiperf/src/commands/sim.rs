//! `aiperf sim`: resolve the flags into a simulator configuration and serve until Ctrl-C.

use std::net::SocketAddr;
use std::time::Duration;

use aiperf_sim::presets::{PRESETS, preset};
use aiperf_sim::{Server, SimConfig, SimError, Timing};
use anyhow::Context;

use crate::cli::sim::SimArgs;
use crate::{ExitStatus, UsageError};

pub async fn run(args: Box<SimArgs>) -> anyhow::Result<ExitStatus> {
    let config = resolve(&args)?;
    if args.print_config {
        let text = serde_json::to_string_pretty(&config)?;
        crate::ui::console::line(&text)?;
        return Ok(ExitStatus::Success);
    }
    // Every client connection is a file descriptor: allow as many as the hard limit does.
    if let Ok(limit) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::debug!("open-file limit {limit}");
    }
    let addr = SocketAddr::new(args.host, args.port);
    let summary = describe(&args.preset, &config);
    let server = tokio::task::spawn_blocking(move || Server::new(config))
        .await
        .context("starting the simulator")?
        .map_err(usage_or_other)?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        UsageError::new(format!(
            "--port: cannot listen on {addr}: {e} (choose another --port, or 0 for any free port)"
        ))
    })?;
    let bound = listener.local_addr()?;
    // One write, and never fatal: a server whose output is no longer read (a script that read
    // the address and closed the pipe) goes on serving.
    let _ = crate::ui::console::text(&format!(
        "aiperf sim: serving {summary} on http://{bound}\npress Ctrl-C to stop\n"
    ));
    server
        .run(listener, shutdown_signal())
        .await
        .map_err(usage_or_other)?;
    tracing::info!("simulator stopped");
    Ok(ExitStatus::Success)
}

/// Completes on the first Ctrl-C or SIGTERM; a second Ctrl-C ends the process at once.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    crate::ui::console::notice(
        "stopping: letting in-flight requests finish (Ctrl-C again to quit now)",
    );
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}

fn usage_or_other(e: SimError) -> anyhow::Error {
    match e {
        SimError::Config(_) | SimError::Record { .. } => UsageError::new(e.to_string()).into(),
        other => other.into(),
    }
}

fn describe(preset: &str, config: &SimConfig) -> String {
    format!(
        "{} (preset {preset}, speedup {})",
        config.served_models.join(", "),
        config.speedup
    )
}

/// The preset named by `--preset`, with every flag that was given applied on top.
fn resolve(args: &SimArgs) -> Result<SimConfig, UsageError> {
    let mut config = preset(&args.preset)
        .ok_or_else(|| UsageError::new(format!("--preset: unknown preset {:?}", args.preset)))?;
    if !args.models.is_empty() {
        config.served_models.clone_from(&args.models);
    }
    set(&mut config.speedup, args.speedup);
    set(&mut config.max_model_len, args.max_model_len);
    set(&mut config.seed, args.seed);
    set(&mut config.tokenizer, args.tokenizer);
    if let Some(path) = &args.record_requests {
        config.record_requests = Some(path.clone());
    }
    if let Some(secs) = args.shutdown_grace_seconds {
        config.shutdown_grace = seconds("--shutdown-grace-seconds", secs * 1e3)?;
    }

    let out = &args.output;
    set(&mut config.output.mean_tokens, out.output_tokens_mean);
    set(&mut config.output.stddev_tokens, out.output_tokens_stddev);
    set(&mut config.output.reasoning_ratio, out.reasoning_ratio);
    config.spec_decode = spec_decode(config.spec_decode, out)?;

    let g = &args.gpus;
    set(&mut config.gpus.count, g.dcgm_num_gpus);
    if let Some(name) = &g.dcgm_gpu_name {
        config.gpus.name.clone_from(name);
    }
    set(&mut config.gpus.idle_watts, g.gpu_idle_watts);
    set(&mut config.gpus.max_watts, g.gpu_max_watts);

    let f = &args.faults;
    let faults = &mut config.faults;
    set(&mut faults.error_rate, f.error_rate);
    if !f.error_status.is_empty() {
        faults.error_statuses.clone_from(&f.error_status);
    }
    set(&mut faults.retry_after_secs, f.retry_after_secs);
    set(&mut faults.disconnect_rate, f.disconnect_rate);
    set(&mut faults.malformed_rate, f.malformed_rate);
    set(&mut faults.stall_rate, f.stall_rate);
    if let Some(ms) = f.stall_ms {
        faults.stall = seconds("--stall-ms", ms)?;
    }

    let e = &args.engine;
    let engine_flags = [
        ("--max-num-seqs", e.max_num_seqs.is_some()),
        (
            "--max-num-batched-tokens",
            e.max_num_batched_tokens.is_some(),
        ),
        ("--block-size", e.block_size.is_some()),
        ("--num-kv-blocks", e.num_kv_blocks.is_some()),
        ("--step-base-ms", e.step_base_ms.is_some()),
        ("--prefill-ms-per-token", e.prefill_ms_per_token.is_some()),
        (
            "--prefill-ms-per-token-sq",
            e.prefill_ms_per_token_sq.is_some(),
        ),
        ("--decode-ms-per-seq", e.decode_ms_per_seq.is_some()),
        ("--kv-ms-per-token", e.kv_ms_per_token.is_some()),
        ("--step-jitter-cv", e.step_jitter_cv.is_some()),
    ];
    let fixed_flags = [
        ("--ttft-ms", args.fixed.ttft_ms.is_some()),
        ("--itl-ms", args.fixed.itl_ms.is_some()),
    ];
    match &mut config.timing {
        Timing::Engine(params) => {
            reject_flags(
                &fixed_flags,
                &args.preset,
                "the fixed preset (--preset fixed)",
            )?;
            set(&mut params.max_num_seqs, e.max_num_seqs);
            set(&mut params.max_num_batched_tokens, e.max_num_batched_tokens);
            set(&mut params.block_size, e.block_size);
            set(&mut params.num_kv_blocks, e.num_kv_blocks);
            set(&mut params.cost.base_ms, e.step_base_ms);
            set(
                &mut params.cost.prefill_ms_per_token,
                e.prefill_ms_per_token,
            );
            set(
                &mut params.cost.prefill_ms_per_token_sq,
                e.prefill_ms_per_token_sq,
            );
            set(&mut params.cost.decode_ms_per_seq, e.decode_ms_per_seq);
            set(&mut params.cost.kv_ms_per_token, e.kv_ms_per_token);
            set(&mut params.jitter_cv, e.step_jitter_cv);
        }
        Timing::Fixed { ttft, itl } => {
            reject_flags(&engine_flags, &args.preset, &engine_presets())?;
            if let Some(ms) = args.fixed.ttft_ms {
                *ttft = seconds("--ttft-ms", ms)?;
            }
            if let Some(ms) = args.fixed.itl_ms {
                *itl = seconds("--itl-ms", ms)?;
            }
        }
        Timing::Zero => {
            reject_flags(&engine_flags, &args.preset, &engine_presets())?;
            reject_flags(
                &fixed_flags,
                &args.preset,
                "the fixed preset (--preset fixed)",
            )?;
        }
    }
    config
        .validate()
        .map_err(|e| UsageError::new(e.to_string()))?;
    Ok(config)
}

/// The preset's speculative decoding with `--spec-decode-tokens` and
/// `--spec-decode-acceptance` applied.
fn spec_decode(
    preset: Option<aiperf_sim::SpecDecodeConfig>,
    out: &crate::cli::sim::OutputArgs,
) -> Result<Option<aiperf_sim::SpecDecodeConfig>, UsageError> {
    let tokens = match (out.spec_decode_tokens, preset) {
        (Some(0), _) => return Ok(None),
        (Some(k), _) => k,
        (None, Some(p)) => p.num_spec_tokens,
        (None, None) if out.spec_decode_acceptance.is_some() => {
            return Err(UsageError::new(
                "--spec-decode-acceptance needs speculative decoding: add --spec-decode-tokens \
                 (e.g. 3) or use --preset spec-decode",
            ));
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(aiperf_sim::SpecDecodeConfig {
        num_spec_tokens: tokens,
        acceptance_rate: out
            .spec_decode_acceptance
            .or(preset.map(|p| p.acceptance_rate))
            .unwrap_or(0.7),
    }))
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

/// A duration from milliseconds given on the command line.
fn seconds(flag: &str, ms: f64) -> Result<Duration, UsageError> {
    if !(ms.is_finite() && ms >= 0.0) {
        return Err(UsageError::new(format!(
            "{flag}: must be a finite, non-negative number, got {ms}"
        )));
    }
    Ok(Duration::from_secs_f64(ms / 1e3))
}

fn engine_presets() -> String {
    let names: Vec<&str> = PRESETS
        .iter()
        .filter(|p| matches!(preset(p.name).map(|c| c.timing), Some(Timing::Engine(_))))
        .map(|p| p.name)
        .collect();
    format!("the engine presets ({})", names.join(", "))
}

fn reject_flags(flags: &[(&str, bool)], preset: &str, applies_to: &str) -> Result<(), UsageError> {
    match flags.iter().find(|(_, given)| *given) {
        Some((flag, _)) => Err(UsageError::new(format!(
            "{flag} applies to {applies_to}, not to --preset {preset}; drop the flag or pick \
             another preset"
        ))),
        None => Ok(()),
    }
}
