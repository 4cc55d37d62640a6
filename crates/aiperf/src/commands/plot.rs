//! `aiperf plot`: the report of one results directory, a comparison of several, or a live
//! dashboard that follows them as they are written.

use std::path::PathBuf;

use crate::cli::{PlotArgs, PlotTheme};
use crate::plot::{Options, Theme};
use crate::{ExitStatus, UsageError};

pub async fn run(args: PlotArgs) -> anyhow::Result<ExitStatus> {
    let mut paths: Vec<PathBuf> = args.paths.clone();
    paths.extend(args.more_paths.iter().cloned());
    if paths.is_empty() {
        paths.push(PathBuf::from("artifacts"));
    }
    if args.mlflow_upload && args.dashboard {
        return Err(UsageError::new(
            "--mlflow-upload and --dashboard cannot be combined: drop one of them",
        )
        .into());
    }
    if args.mlflow_upload || args.mlflow_tracking_uri.is_some() || args.mlflow_run_id.is_some() {
        tracing::warn!(
            "--mlflow-upload, --mlflow-tracking-uri and --mlflow-run-id have no effect here: \
             the charts are written as PNG and SVG under the output directory; log them to \
             MLflow with `mlflow artifacts log-artifacts --local-dir <output>`"
        );
    }
    if let Some(config) = &args.config {
        tracing::warn!(
            "--config {}: plot configuration files of the Python AIPerf do not apply here; the \
             report's charts are chosen from what the results hold",
            config.display()
        );
    }
    let options = Options {
        theme: match args.theme {
            PlotTheme::Light => Theme::Light,
            PlotTheme::Dark => Theme::Dark,
        },
        live: args.dashboard,
    };
    if args.dashboard {
        if let Some(output) = &args.output {
            tracing::warn!(
                "--output {}: not used with --dashboard; the dashboard serves its charts from a \
                 temporary directory (run `aiperf plot` without --dashboard to write them)",
                output.display()
            );
        }
        crate::plot::dashboard::serve(paths, &args.host, args.port, options).await?;
        return Ok(ExitStatus::Success);
    }
    let report = crate::plot::plot(&paths, args.output.as_deref(), &options)?;
    crate::ui::console::line(&report.display().to_string())?;
    Ok(ExitStatus::Success)
}
