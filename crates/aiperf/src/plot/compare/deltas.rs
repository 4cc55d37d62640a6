//! The deltas tables: each headline metric of every directory against the baseline (the
//! first directory), the difference in the metric's unit and in percent, and whether it goes
//! beyond the two confidence intervals.

use std::fmt::Write as _;

use serde_json::Value;

use super::data::{Dir, Estimate, HEADLINE, Metric};
use crate::plot::chart::human;
use crate::plot::html::esc;

/// The verdict where both intervals overlap.
pub(super) const WITHIN: &str = "no (within CI)";

/// The verdict on a difference: "yes" when the two intervals do not overlap.
fn verdict(base: &Estimate, other: &Estimate) -> &'static str {
    match (base.ci, other.ci) {
        (Ok(b), Ok(o)) if b.1 < o.0 || o.1 < b.0 => "yes",
        (Ok(_), Ok(_)) => WITHIN,
        (Err(why), _) | (_, Err(why)) => why,
    }
}

/// A value with its interval, if any.
fn value_cell(e: &Estimate, unit: &str) -> String {
    let mut html = esc(&human(e.value, unit));
    if let Ok((lo, hi)) = e.ci {
        let _ = write!(
            html,
            " <span class=\"ci\">[{} – {}]</span>",
            esc(&human(lo, unit)),
            esc(&human(hi, unit))
        );
    }
    html
}

/// `+`, `−` (the minus sign) or nothing for zero.
fn sign(d: f64) -> &'static str {
    if d > 0.0 {
        "+"
    } else if d < 0.0 {
        "−"
    } else {
        ""
    }
}

/// `+1.2 ms`, `−350 requests/s`.
fn signed(d: f64, unit: &str) -> String {
    format!("{}{}", sign(d), human(d.abs(), unit))
}

/// One table row: `lead` cells (the cell's parameters, for sweeps), the metric, both values,
/// the deltas and the verdict; `None` when neither side measured the metric.
fn row(
    lead: &[String],
    m: &Metric,
    base: Option<Estimate>,
    other: Option<Estimate>,
) -> Option<String> {
    if base.is_none() && other.is_none() {
        return None;
    }
    let mut html = String::new();
    let dash = |e: Option<&Estimate>| e.map_or("–".to_owned(), |e| value_cell(e, m.unit));
    let values = (dash(base.as_ref()), dash(other.as_ref()));
    let (delta, pct, verdict, class) = match (base, other) {
        (Some(b), Some(o)) => {
            let d = o.value - b.value;
            let pct = if b.value == 0.0 {
                "–".to_owned()
            } else {
                let pct = 100.0 * d / b.value;
                format!("{}{:.1} %", sign(pct), pct.abs())
            };
            let verdict = verdict(&b, &o);
            let class = if d == 0.0 || verdict == WITHIN {
                ""
            } else if (d > 0.0) == m.higher_is_better {
                "better"
            } else {
                "worse"
            };
            (signed(d, m.unit), pct, verdict, class)
        }
        _ => ("–".to_owned(), "–".to_owned(), "–", ""),
    };
    let _ = write!(
        html,
        "<tr data-metric=\"{}\" data-verdict=\"{}\">",
        m.key(),
        esc(verdict)
    );
    for l in lead {
        let _ = write!(html, "<td>{}</td>", esc(l));
    }
    let class_attr = if class.is_empty() {
        String::new()
    } else {
        format!(" class=\"{class}\"")
    };
    let _ = write!(
        html,
        "<td>{}</td><td>{}</td><td>{}</td><td{class_attr}>{}</td><td{class_attr}>{}</td><td>{}</td></tr>",
        esc(m.title),
        values.0,
        values.1,
        esc(&delta),
        esc(&pct),
        esc(verdict)
    );
    Some(html)
}

/// A table with `lead` columns before the metric's.
fn table(lead: &[&str], base: &Dir, other: &Dir, rows: &[String]) -> String {
    let mut html = format!(
        "<h3>{} vs {} (baseline)</h3>\n<table class=\"deltas\"><tr>",
        esc(&other.label),
        esc(&base.label)
    );
    for h in lead.iter().copied().chain([
        "metric",
        &base.label,
        &other.label,
        "delta",
        "delta %",
        "beyond the CIs?",
    ]) {
        let _ = write!(html, "<th>{}</th>", esc(h));
    }
    html.push_str("</tr>");
    for r in rows {
        html.push_str(r);
    }
    html.push_str("</table>\n");
    html
}

/// How the intervals were had, for the caption of the tables.
fn caption(dirs: &[&Dir]) -> String {
    let mut parts = vec![
        "“Beyond the CIs?” says yes when the two 95 % confidence intervals (shown in brackets) \
         do not overlap; green is better, red worse (higher throughput, lower latency and fewer \
         errors are better), uncoloured where the difference is within the intervals."
            .to_owned(),
    ];
    if dirs.iter().any(|d| d.has_request_intervals()) {
        parts.push(
            "Single runs and sweep cells of one trial: averages have a Student-t interval of \
             the mean over the run's requests (profile_export.jsonl); percentiles a \
             distribution-free interval between two order statistics (normal approximation of \
             the binomial), which needs enough requests beyond the percentile (about 380 for \
             p99); throughput and the error count of a single run have none."
                .to_owned(),
        );
    }
    if dirs.iter().any(|d| d.has_trial_intervals()) {
        parts.push(
            "Repeated trials and sweep cells of several trials: the Student-t interval over \
             the trials, as aggregated."
                .to_owned(),
        );
    }
    format!("<p class=\"caption\">{}</p>\n", esc(&parts.join(" ")))
}

/// Runs and trials, each against the first.
pub(super) fn whole_tables(dirs: &[&Dir]) -> String {
    let Some((base, others)) = dirs.split_first() else {
        return String::new();
    };
    let mut html = caption(dirs);
    for other in others {
        let rows: Vec<String> = HEADLINE
            .iter()
            .filter_map(|m| row(&[], m, base.estimate(m), other.estimate(m)))
            .collect();
        html.push_str(&table(&[], base, other, &rows));
    }
    html
}

/// A cell's parameters as `concurrency=8, osl=128`: its identity across sweeps.
pub(super) fn cell_name(cell: &Value) -> String {
    cell["parameters"]
        .as_object()
        .map(|p| {
            p.iter()
                .map(|(k, v)| match v.as_f64() {
                    Some(x) => format!("{k}={x}"),
                    None => format!(
                        "{k}={}",
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                    ),
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Sweeps and searches, each against the first, cell by cell; the notes say which cells
/// had no counterpart.
pub(super) fn cell_tables(dirs: &[&Dir]) -> (String, Vec<String>) {
    let Some((base, others)) = dirs.split_first() else {
        return (String::new(), Vec::new());
    };
    let mut html = caption(dirs);
    let mut notes = Vec::new();
    for other in others {
        let mut rows = Vec::new();
        let mut unmatched: Vec<String> = Vec::new();
        for cell in base.cells() {
            let name = cell_name(cell);
            let Some(twin) = other.cells().iter().find(|c| cell_name(c) == name) else {
                unmatched.push(format!("{name} (only in {})", base.label));
                continue;
            };
            rows.extend(HEADLINE.iter().filter_map(|m| {
                row(
                    std::slice::from_ref(&name),
                    m,
                    base.cell_estimate(cell, m),
                    other.cell_estimate(twin, m),
                )
            }));
        }
        unmatched.extend(
            other
                .cells()
                .iter()
                .map(cell_name)
                .filter(|n| !base.cells().iter().any(|c| cell_name(c) == *n))
                .map(|n| format!("{n} (only in {})", other.label)),
        );
        if !unmatched.is_empty() {
            notes.push(format!(
                "{} vs {}: cells without a counterpart are not compared: {}.",
                other.label,
                base.label,
                unmatched.join("; ")
            ));
        }
        if rows.is_empty() {
            notes.push(format!(
                "{} and {} share no cell (the same swept parameters with the same values).",
                other.label, base.label
            ));
        } else {
            html.push_str(&table(&["cell"], base, other, &rows));
        }
    }
    (html, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(value: f64, ci: Option<(f64, f64)>) -> Estimate {
        Estimate {
            value,
            ci: ci.ok_or("no CI"),
        }
    }

    #[test]
    fn a_difference_is_beyond_the_intervals_only_when_they_do_not_overlap() {
        assert_eq!(
            verdict(&e(10.0, Some((9.0, 11.0))), &e(20.0, Some((19.0, 21.0)))),
            "yes"
        );
        assert_eq!(
            verdict(&e(10.0, Some((9.0, 11.0))), &e(10.5, Some((10.0, 11.0)))),
            WITHIN
        );
        assert_eq!(
            verdict(&e(10.0, None), &e(20.0, Some((19.0, 21.0)))),
            "no CI"
        );
    }

    #[test]
    fn rows_colour_by_the_metric_direction() {
        let ttft = &HEADLINE[2];
        let slower = row(
            &[],
            ttft,
            Some(e(20.0, Some((19.0, 21.0)))),
            Some(e(40.0, Some((39.0, 41.0)))),
        )
        .unwrap();
        assert!(slower.contains("class=\"worse\">+20 ms<"), "{slower}");
        assert!(slower.contains("+100.0 %"), "{slower}");
        let throughput = &HEADLINE[0];
        let faster = row(&[], throughput, Some(e(10.0, None)), Some(e(12.0, None))).unwrap();
        assert!(faster.contains("class=\"better\""), "{faster}");
        assert!(faster.contains("data-verdict=\"no CI\""), "{faster}");
        let same = row(
            &[],
            ttft,
            Some(e(20.0, Some((19.0, 21.0)))),
            Some(e(20.5, Some((19.5, 21.5)))),
        )
        .unwrap();
        assert!(!same.contains("<td class="), "{same}");
        assert_eq!(row(&[], ttft, None, None), None);
    }
}
