//! `aiperf plot`: charts and a self-contained HTML report from exported artifacts.
//!
//! Everything is read from the files a run, a sweep or a search wrote, so results produced
//! earlier (or by the Python reference tool, where the files have the same shape) can be
//! plotted. Output: `plots/*.png`, `plots/*.svg` and `plots/report.html`, which inlines its
//! chart data, script and CSS and references nothing outside itself.
//!
//! One file per kind of results, each adding its section to the report: `search`, `sweep`,
//! `recipes`, `repeated` (several runs of one configuration) and `run`; `compare` sets several
//! directories side by side (`aiperf plot A B`); `html` writes the page (charts drawn in the
//! browser by the inlined uPlot, see `assets/report/`), `chart` the PNG/SVG exports,
//! `provenance` says where the results came from and `dashboard` serves the page live.

pub mod chart;
mod compare;
pub mod dashboard;
mod html;
mod provenance;
mod recipes;
mod repeated;
mod run;
mod search;
mod sweep;

use std::path::{Path, PathBuf};

use serde_json::Value;

use self::html::Report;
use crate::UsageError;

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// The runs of repeated trials (`profile_runs/*/`), in order.
fn run_dirs(path: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(path.join("profile_runs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    runs.sort();
    runs
}

/// Where a results directory keeps its sweep aggregate, if any.
fn sweep_dir(path: &Path) -> Option<PathBuf> {
    [
        path.join("sweep_aggregate"),
        path.join("aggregate/sweep_aggregate"),
    ]
    .into_iter()
    .find(|d| d.join(crate::sweep::aggregate::SWEEP_JSON).is_file())
}

/// The report's colours (page and exported charts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Theme {
    #[default]
    Light,
    Dark,
}

impl Theme {
    pub fn name(self) -> &'static str {
        match self {
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }
}

/// How the report is written.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub theme: Theme,
    /// Served by the dashboard: the page follows the results as they change.
    pub live: bool,
}

/// Writes `plots/` (or `output`) for the results in `paths` and returns the report's path:
/// one directory's report, or a comparison of several.
pub fn plot(
    paths: &[PathBuf],
    output: Option<&Path>,
    options: &Options,
) -> anyhow::Result<PathBuf> {
    let Some(first) = paths.first() else {
        return Err(UsageError::new("aiperf plot: give a results directory").into());
    };
    let out = output.map_or_else(|| first.join("plots"), Path::to_path_buf);
    std::fs::create_dir_all(&out)
        .map_err(|e| UsageError::new(format!("--output: cannot create {}: {e}", out.display())))?;
    let page = page(paths, &out, options)?;
    let report_path = out.join("report.html");
    crate::export::write_atomic(&report_path, page.as_bytes())?;
    Ok(report_path)
}

/// The report page for `paths`, its charts' PNG and SVG files written into `out`.
pub fn page(paths: &[PathBuf], out: &Path, options: &Options) -> anyhow::Result<String> {
    for path in paths {
        if !path.is_dir() {
            return Err(UsageError::new(format!(
                "aiperf plot: {} is not a directory of results",
                path.display()
            ))
            .into());
        }
    }
    let out = html::out_for(out, options);
    let mut report = Report::new(options);
    if let [path] = paths {
        sections(path, &out, &mut report);
    } else if !compare::compare(paths, &out, &mut report)? {
        // Nothing of the same kind to compare: each directory's own sections.
        for path in paths {
            let mut one = Report::new(options);
            sections(path, &out, &mut one);
            report.extend_titled(&path.display().to_string(), one);
        }
    }
    if report.is_empty() {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(UsageError::new(format!(
            "aiperf plot: {} holds no aiperf results (profile_export_aiperf.json, sweep_aggregate/, aggregate/ or search_history.json)",
            names.join(", ")
        ))
        .into());
    }
    Ok(report.page(paths))
}

/// A section for each kind of results found in `path`, charts written to `out`; a directory
/// can hold several (a search is also a sweep).
fn sections(path: &Path, out: &chart::Out, report: &mut Report) {
    if let Some(h) = read_json(&path.join(crate::search::HISTORY)) {
        search::search(&h, out, report);
    }
    if let Some(d) = sweep_dir(path) {
        if let Some(doc) = read_json(&d.join(crate::sweep::aggregate::SWEEP_JSON)) {
            sweep::sweep(&doc, out, report);
        }
        recipes::recipes(&d, out, report);
    }
    if let Some(doc) = read_json(
        &path
            .join("aggregate")
            .join(crate::sweep::aggregate::AGGREGATE_JSON),
    ) {
        repeated::multi_run(path, &doc, out, report);
    }
    if path
        .join(crate::export::ExportNames::in_dir(path).summary_json())
        .is_file()
    {
        run::single_run(path, out, report);
    }
}
