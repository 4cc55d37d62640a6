//! Several results directories in one report (`aiperf plot A B ...`): what sets each apart
//! (its label, from the settings that differ), the headline metrics against the first
//! directory (the baseline) with a verdict on whether each difference goes beyond the
//! confidence intervals, and overlay charts with a series per directory.
//!
//! Single runs and repeated trials are compared as a whole; sweeps and searches cell by cell
//! (cells with the same parameters). A run is not matched to a sweep cell: mixed kinds are
//! compared within their kind, and the page says so.

mod data;
mod deltas;
mod labels;
mod overlays;

use std::fmt::Write as _;
use std::path::PathBuf;

use self::data::Dir;
use super::chart::Out;
use super::html::{Report, esc, table};
use crate::UsageError;

/// Adds the comparison of the results in `paths` to `report`, charts written to `out`;
/// whether any two directories were of a kind to be compared. A usage error names a path
/// that holds no results.
pub(super) fn compare(paths: &[PathBuf], out: &Out, report: &mut Report) -> anyhow::Result<bool> {
    let mut dirs = Vec::with_capacity(paths.len());
    for path in paths {
        let dir = Dir::load(path).ok_or_else(|| {
            UsageError::new(format!(
                "aiperf plot: {} holds no aiperf results (profile_export_aiperf.json, sweep_aggregate/, aggregate/ or search_history.json)",
                path.display()
            ))
        })?;
        dirs.push(dir);
    }
    labels::assign(&mut dirs);
    let (whole, cells): (Vec<&Dir>, Vec<&Dir>) = dirs.iter().partition(|d| !d.kind.has_cells());
    let mut notes = kind_notes(&whole, &cells);
    let mut sections: Vec<(&str, String)> = Vec::new();
    if whole.len() >= 2 {
        sections.push(("Runs: differences", deltas::whole_tables(&whole)));
        sections.push(("Runs overlaid", overlays::runs(&whole, out)));
    }
    let searches: Vec<&Dir> = cells
        .iter()
        .copied()
        .filter(|d| d.path.join(crate::search::HISTORY).is_file())
        .collect();
    if searches.len() >= 2 {
        sections.push(("Searches: outcomes", search_outcomes(&searches)));
    }
    if cells.len() >= 2 {
        let (tables, unmatched) = deltas::cell_tables(&cells);
        let (charts, left_out) = overlays::sweeps(&cells, out);
        notes.extend(unmatched);
        notes.extend(left_out);
        sections.push(("Sweeps: differences by cell", tables));
        sections.push(("Sweeps overlaid", charts));
    }
    let mut html = String::new();
    html.push_str(&header(&dirs, &whole, &cells));
    for n in &notes {
        let _ = writeln!(html, "<p class=\"note\">{}</p>", esc(n));
    }
    report.add("Compared results", html);
    let compared = !sections.is_empty();
    for (title, body) in sections {
        if !body.is_empty() {
            report.add(title, body);
        }
    }
    Ok(compared)
}

/// A row per directory: its label, path and kind (what ran, against what and when is in the
/// page's header); the first of each kind compared is the baseline.
fn header(dirs: &[Dir], whole: &[&Dir], cells: &[&Dir]) -> String {
    let baselines: Vec<&Dir> = [whole, cells]
        .into_iter()
        .filter(|g| g.len() >= 2)
        .map(|g| g[0])
        .collect();
    let rows: Vec<Vec<String>> = dirs
        .iter()
        .map(|d| {
            vec![
                if baselines.iter().any(|b| std::ptr::eq(*b, d)) {
                    "baseline".to_owned()
                } else {
                    String::new()
                },
                d.label.clone(),
                d.path.display().to_string(),
                d.kind.name().to_owned(),
            ]
        })
        .collect();
    table(&["", "label", "path", "kind"], &rows)
}

/// Each search's outcome side by side: what it found, against which limits, and why it
/// stopped.
fn search_outcomes(searches: &[&Dir]) -> String {
    let rows: Vec<Vec<String>> = searches
        .iter()
        .filter_map(|d| {
            let doc = super::read_json(&d.path.join(crate::search::HISTORY))?;
            let mut row = vec![d.label.clone()];
            row.extend(super::search::outcome_row(&doc));
            Some(row)
        })
        .collect();
    table(
        &[
            "",
            "best probe",
            "objective",
            "limits at the best probe",
            "probes",
            "stopped",
        ],
        &rows,
    )
}

/// What is compared with what when the kinds differ.
fn kind_notes(whole: &[&Dir], cells: &[&Dir]) -> Vec<String> {
    let names = |g: &[&Dir]| {
        g.iter()
            .map(|d| d.label.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut notes = Vec::new();
    if !whole.is_empty() && !cells.is_empty() {
        notes.push(format!(
            "A single run is not matched to a sweep cell: runs and trials ({}) are compared with \
             each other, sweeps and searches ({}) with each other.",
            names(whole),
            names(cells)
        ));
    }
    for group in [whole, cells] {
        if let [only] = group {
            notes.push(format!(
                "{} ({}) has nothing of its kind to be compared with.",
                only.label,
                only.kind.name()
            ));
        }
    }
    notes
}
