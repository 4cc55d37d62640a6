//! `aiperf profile`: one benchmark run, end to end.

use crate::cli::profile::ProfileArgs;
use crate::config::{Plan, Planned};
use crate::loadgen::Interrupts;
use crate::settings::UiMode;
use crate::{ExitStatus, UsageError};

/// Flags that may accompany `--plan`: the plan fixes everything else.
const PLAN_FLAGS: &[&str] = &[
    "--plan",
    "--cell",
    "--artifact-dir",
    "--ui",
    "--bundle-to-stdout",
    "--shards",
    "--shard-index",
    "--shard-clock",
    "--shard-start-at",
];

/// `aiperf profile --plan PLAN --cell N`: one run of a plan.
async fn run_plan_cell(args: &ProfileArgs) -> anyhow::Result<ExitStatus> {
    let d = &args.distributed;
    let (Some(plan), Some(cell)) = (&d.plan, d.cell) else {
        unreachable!("clap requires --plan and --cell together")
    };
    if let Some(flag) = args
        .given
        .iter()
        .find(|f| !PLAN_FLAGS.contains(&f.as_str()))
    {
        return Err(UsageError::new(format!(
            "{flag} cannot be combined with --plan: the plan fixes every benchmark setting \
             (make a new plan with `aiperf kube plan` instead)"
        ))
        .into());
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
        return run_plan_cell(&args).await;
    }
    let Planned {
        plan,
        auto_plot,
        plot_required,
    } = crate::config::plan(&args, &argv)?;
    crate::bench::raise_file_limit(plan.config());
    let interrupts = Interrupts::default();
    let signals = tokio::spawn(watch_interrupts(interrupts.clone()));
    let result = match plan {
        Plan::Single(config) => {
            crate::bench::run(config, &interrupts, crate::bench::RunOptions::default())
                .await
                .map(|outcome| (outcome.status, outcome.artifact_dir))
        }
        Plan::Sweep(config) => crate::sweep::run(config, &interrupts).await,
        Plan::Search(config) => crate::search::run(config, &interrupts).await,
    };
    signals.abort();
    let (mut status, dir) = result?;
    if interrupts.stop.is_cancelled() {
        status = ExitStatus::Interrupted;
    }
    if auto_plot && dir.is_dir() {
        match crate::plot::plot(
            std::slice::from_ref(&dir),
            None,
            &crate::plot::Options::default(),
        ) {
            Ok(report) => crate::ui::console::line(&report.display().to_string())?,
            Err(e) if plot_required => {
                // A failed report, not a bad flag: exit 1.
                return Err(anyhow::anyhow!(
                    "--auto-plot could not write the report (--plot-required): {e:#}"
                ));
            }
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
