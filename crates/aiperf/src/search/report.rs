//! What a search prints: a line per iteration, and the result.

use std::path::Path;

use aiperf_stats::search::Planner;

use super::Iteration;
use super::history::best;
use crate::settings::SearchConfig;

/// The line of iteration `idx`: its values, objective and SLA verdict.
pub(super) fn iteration_line(s: &SearchConfig, idx: usize, it: &Iteration) -> String {
    let values: Vec<String> = s
        .space
        .iter()
        .zip(&it.values)
        .map(|(d, v)| format!("{}={}", d.param.name(), d.param.format(*v)))
        .collect();
    let objective = it.objective.map_or("no result".into(), |v| {
        format!("{} {} {v:.2}", s.objective.metric, s.objective.stat)
    });
    let slas: Vec<String> = s
        .sla
        .iter()
        .zip(&it.observed)
        .map(|(f, o)| {
            format!(
                "{}.{}={}",
                f.metric_tag,
                f.stat,
                o.map_or("n/a".into(), |o| format!("{o:.2}"))
            )
        })
        .collect();
    let verdict = if s.sla.is_empty() {
        String::new()
    } else if it.feasible {
        " feasible".into()
    } else {
        " infeasible".into()
    };
    format!(
        "[iter {idx}] {} -> {objective}{}{}{verdict}",
        values.join(", "),
        if slas.is_empty() { "" } else { ", " },
        slas.join(", ")
    )
}

/// How the search ended: why it stopped, the best configuration, the SLA boundary.
pub(super) fn result_text(
    s: &SearchConfig,
    iterations: &[Iteration],
    planner: &dyn Planner,
    history: &Path,
) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nstopped: {}",
        planner.convergence_reason().unwrap_or("interrupted")
    );
    let (best_idx, feasible) = best(s, iterations);
    if let Some(i) = best_idx {
        let it = &iterations[i];
        let values: Vec<String> = s
            .space
            .iter()
            .zip(&it.values)
            .map(|(d, v)| format!("{}={}", d.param.name(), d.param.format(*v)))
            .collect();
        let _ = writeln!(
            out,
            "best{}: {} ({} {} {:.2}, iteration {i})",
            if feasible == 0 && !s.sla.is_empty() {
                " (no configuration met the SLA)"
            } else {
                ""
            },
            values.join(", "),
            s.objective.metric,
            s.objective.stat,
            it.objective.unwrap_or(f64::NAN)
        );
    }
    if s.space.len() == 1
        && !s.sla.is_empty()
        && let Some(b) = planner.boundary()
    {
        let d = &s.space[0];
        let f = b
            .feasible_max
            .map_or("none".into(), |x| d.param.format(x.0));
        let i = b
            .infeasible_min
            .map_or("none".into(), |x| d.param.format(x.0));
        let _ = writeln!(
            out,
            "SLA boundary: highest passing {} = {f}, lowest failing = {i}",
            d.param.name()
        );
    }
    let _ = writeln!(out, "\n{}", history.display());
    out
}
