//! The terminal: the console report of a run, progress bars, the live dashboard. The only
//! place that draws on the terminal; everything else hands it what to show.

pub mod console;
pub mod dashboard;
pub mod reports;
pub mod table;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::collector::Progress;
use crate::settings::UiMode;

/// The progress bar of a phase (drawn on stderr with `--ui simple`, hidden otherwise).
pub fn progress_bar(ui: UiMode, total: Option<u64>, phase: &str) -> ProgressBar {
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
pub fn tick(
    bar: ProgressBar,
    progress: Arc<Progress>,
    warmup: bool,
) -> tokio::task::JoinHandle<()> {
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
