//! `aiperf profile`: one benchmark run, end to end.

use crate::cli::profile::ProfileArgs;
use crate::config::resolve;
use crate::loadgen::Interrupts;
use crate::settings::UiMode;
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
    let mut plan_doc = crate::sweep::load_plan(plan, "--plan")?;
    crate::config::restore_credentials(&mut plan_doc.config)?;
    let result = crate::sweep::run_cell(
        plan_doc,
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
        crate::kube::bundle::write(&base, &dir, &mut crate::ui::console::stdout())?;
    }
    Ok(status)
}

pub async fn run(args: Box<ProfileArgs>, argv: Vec<String>) -> anyhow::Result<ExitStatus> {
    if args.distributed.plan.is_some() {
        return run_plan_cell(&args, &argv).await;
    }
    let config = resolve(&args, &argv)?;
    crate::bench::raise_file_limit(&config);
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
        crate::bench::run(config, &interrupts, crate::bench::RunOptions::default())
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
            Ok(report) => crate::ui::console::line(&report.display().to_string())?,
            Err(e) => tracing::warn!("--auto-plot: {e:#}"),
        }
    }
    Ok(status)
}

/// First Ctrl-C: stop sending and drain; second: cancel everything in flight.
async fn watch_interrupts(interrupts: Interrupts) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    crate::ui::console::notice(
        "\nstopping: no new requests; waiting for those in flight (Ctrl-C again to cancel them)",
    );
    interrupts.stop.cancel();
    if tokio::signal::ctrl_c().await.is_ok() {
        crate::ui::console::notice("cancelling requests in flight");
        interrupts.abort.cancel();
    }
}
