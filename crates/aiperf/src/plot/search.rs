//! The search section: the probes a search made, against its SLA or objective, the
//! iterations as a table, its best trial and why it stopped.

use std::fmt::Write as _;

use serde_json::Value;

use super::chart::{Chart, Out, Series, Style};
use super::html::{Report, esc, figure, human, params_label, table};

/// How a search iteration is placed on the y axis.
type YOf = fn(&Value) -> Option<f64>;

/// A search: the probes it made and, for SLA searches, the boundary.
pub(super) fn search(doc: &Value, out: &Out, report: &mut Report) {
    let iterations = doc["iterations"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let path = doc["config"]["search_space"][0]["path"]
        .as_str()
        .unwrap_or("");
    if iterations.is_empty() || path.is_empty() {
        return;
    }
    let mut html = probes_chart(doc, iterations, path, out);
    html.push_str(&iterations_table(iterations));
    let verdict = outcome(doc);
    html.push_str(&verdict);
    report.highlight("Search result", verdict);
    let passed = iterations
        .iter()
        .filter(|it| it["feasible"] == true)
        .count();
    report.key(
        "Search",
        format!("{} probes", iterations.len()),
        format!("{passed} met the SLA"),
    );
    report.add("Search", html);
}

/// Each probe at the value of `path` it tried, passed ones highlighted, with the SLA
/// threshold and the highest passing value marked.
fn probes_chart(doc: &Value, iterations: &[Value], path: &str, out: &Out) -> String {
    let sla = &doc["config"]["sla_filters"][0];
    let (y_label, y_of) = y_axis(sla);
    let short = path.rsplit('.').next().unwrap_or(path).to_owned();
    let pts = |v: &[&Value]| -> (Vec<(f64, f64)>, Vec<String>) {
        v.iter()
            .filter_map(|it| {
                let x = it["variation_values"][path].as_f64()?;
                Some(((x, y_of(it)?), format!("{short}={}", human(x, ""))))
            })
            .unzip()
    };
    let (yes, no): (Vec<&Value>, Vec<&Value>) =
        iterations.iter().partition(|it| it["feasible"] == true);
    let mut chart = Chart {
        title: format!(
            "Search probes ({})",
            doc["config"]["planner"].as_str().unwrap_or("")
        ),
        x_label: short.clone(),
        y_unit: if y_label.ends_with("(ms)") {
            "ms".into()
        } else {
            String::new()
        },
        y_label,
        series: vec![
            {
                let (p, l) = pts(&yes);
                Series::points("passed", p, Style::Highlight).labelled(l)
            },
            {
                let (p, l) = pts(&no);
                Series::points("failed", p, Style::Muted).labelled(l)
            },
        ],
        ..Chart::default()
    };
    if let Some(t) = sla["threshold"].as_f64() {
        chart
            .hlines
            .push((t, format!("SLA {}", human(t, &chart.y_unit))));
    }
    if let Some(b) = doc["boundary_summary"]["feasible_max"]["value"].as_f64() {
        chart.vlines.push((b, format!("highest passing {b}")));
    }
    figure(&chart, out, "search_probes")
}

/// The y axis: the first SLA's observed value for SLA searches, the objective otherwise.
fn y_axis(sla: &Value) -> (String, YOf) {
    if sla.is_object() {
        let label = format!(
            "{} {} (ms)",
            sla["metric_tag"].as_str().unwrap_or(""),
            sla["stat"].as_str().unwrap_or("")
        );
        (label, |it| it["sla_observed"][0]["observed"].as_f64())
    } else {
        ("objective".into(), |it| it["objective_values"][0].as_f64())
    }
}

fn iterations_table(iterations: &[Value]) -> String {
    let rows: Vec<Vec<String>> = iterations
        .iter()
        .map(|it| {
            vec![
                it["iteration_idx"].to_string(),
                params_label(&it["variation_values"]),
                it["objective_values"][0]
                    .as_f64()
                    .map_or("–".into(), |v| human(v, "")),
                if it["feasible"] == true {
                    "yes".into()
                } else {
                    "no".into()
                },
            ]
        })
        .collect();
    table(&["iteration", "values", "objective", "feasible"], &rows)
}

/// Each SLA limit of the search with the best probe's observed value and the verdict:
/// `[limit, observed, met|missed|no passing probe]`.
fn limits(doc: &Value) -> Vec<Vec<String>> {
    let best_iteration = doc["iterations"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|it| {
            it["iteration_idx"] == doc["best_trials"][0]["iteration_idx"]
                && !doc["best_trials"][0]["iteration_idx"].is_null()
        })
        .unwrap_or(&Value::Null);
    doc["config"]["sla_filters"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, f)| {
            let observed = best_iteration["sla_observed"][i]["observed"].as_f64();
            let threshold = f["threshold"].as_f64().unwrap_or(f64::NAN);
            let (symbol, met): (&str, fn(f64, f64) -> bool) = match f["op"].as_str() {
                Some("lt") => ("<", |o, t| o < t),
                Some("gt") => (">", |o, t| o > t),
                Some("ge") => ("≥", |o, t| o >= t),
                _ => ("≤", |o, t| o <= t),
            };
            vec![
                format!(
                    "{} {} {symbol} {}",
                    f["metric_tag"].as_str().unwrap_or(""),
                    f["stat"].as_str().unwrap_or(""),
                    human(threshold, "")
                ),
                observed.map_or("–".into(), |v| human(v, "")),
                match observed {
                    Some(o) if met(o, threshold) => "met".into(),
                    Some(_) => "missed".into(),
                    None => "no passing probe".into(),
                },
            ]
        })
        .collect()
}

/// A search's outcome in one row, for comparisons: the best probe, its objective, each
/// limit's observed value and verdict, the number of probes and why it stopped.
pub(super) fn outcome_row(doc: &Value) -> Vec<String> {
    let best = &doc["best_trials"][0];
    let verdicts: Vec<String> = limits(doc)
        .into_iter()
        .map(|l| format!("{}: {} ({})", l[0], l[1], l[2]))
        .collect();
    vec![
        if best.is_object() {
            params_label(&best["variation_values"])
        } else {
            "none".into()
        },
        best["objective_values"][0]
            .as_f64()
            .map_or("–".into(), |v| human(v, "")),
        verdicts.join("; "),
        doc["iterations"].as_array().map_or(0, Vec::len).to_string(),
        doc["convergence_reason"]
            .as_str()
            .unwrap_or("not finished")
            .to_owned(),
    ]
}

/// The SLA verdict (each limit and whether the best probe met it), the best trial, if any,
/// and why the search stopped.
fn outcome(doc: &Value) -> String {
    let mut html = String::new();
    let limits = limits(doc);
    if !limits.is_empty() {
        html.push_str(&table(&["limit", "best probe", "verdict"], &limits));
    }
    if let Some(best) = doc["best_trials"][0].as_object() {
        let _ = write!(
            html,
            "<p><b>Best:</b> {} (iteration {})</p>",
            esc(&params_label(&best["variation_values"])),
            best["iteration_idx"]
        );
    }
    let _ = write!(
        html,
        "<p>Stopped: {}</p>",
        esc(doc["convergence_reason"].as_str().unwrap_or("not finished"))
    );
    html
}
