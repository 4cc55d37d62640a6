//! The configuration of an adaptive search and the parsing of its flags.

use crate::UsageError;
use crate::cli::profile::{
    AcquisitionArg, DirectionArg, OptunaSamplerArg, PlannerArg, PoolingArg, ProfileArgs,
    SearchArgs, TerminatorArg,
};
use crate::settings::Param;
use crate::settings::SpaceDim;
use crate::settings::{ExportLevel, Objective, PlannerKind, SearchConfig, SweepConfig};
use crate::settings::{SlaFilter, SlaOp};

/// `PATH:LO,HI[:int|real][:log]`.
pub(super) fn parse_space(raw: &str) -> Result<SpaceDim, UsageError> {
    let bad = |why: &str| {
        UsageError::new(format!(
            "--search-space {raw:?}: {why}; expected PATH:LO,HI[:int|real][:log], e.g. concurrency:1,1000:int"
        ))
    };
    let mut parts = raw.split(':');
    let path = parts.next().unwrap_or("");
    let param = Param::parse(path).ok_or_else(|| {
        bad("unknown path (searchable: concurrency, request_rate, isl, osl, request_count, benchmark_duration)")
    })?;
    let range = parts.next().ok_or_else(|| bad("missing LO,HI"))?;
    let (lo, hi) = range
        .split_once(',')
        .ok_or_else(|| bad("the range needs LO,HI"))?;
    let lo: f64 = lo.trim().parse().map_err(|_| bad("LO is not a number"))?;
    let hi: f64 = hi.trim().parse().map_err(|_| bad("HI is not a number"))?;
    let mut integer = param.integer();
    let mut log = false;
    for flag in parts {
        match flag.trim() {
            "int" => integer = true,
            "real" => integer = false,
            "log" | "log-uniform" => log = true,
            "uniform" => log = false,
            other => return Err(bad(&format!("unknown kind {other:?}"))),
        }
    }
    if !(lo.is_finite() && hi.is_finite() && hi > lo) {
        return Err(bad("HI must be greater than LO"));
    }
    if lo <= 0.0 && (log || param.integer()) {
        return Err(bad("LO must be positive"));
    }
    Ok(SpaceDim {
        param,
        lo,
        hi,
        integer,
        log,
    })
}

/// `TAG:STAT:OP:THRESHOLD` (STAT defaults to p95 when omitted: `TAG:OP:THRESHOLD`).
pub(super) fn parse_sla(raw: &str) -> Result<SlaFilter, UsageError> {
    let bad = |why: &str| {
        UsageError::new(format!(
            "--search-sla {raw:?}: {why}; expected TAG:STAT:OP:THRESHOLD, e.g. time_to_first_token:p95:lt:200"
        ))
    };
    let parts: Vec<&str> = raw.split(':').map(str::trim).collect();
    let (tag, stat, op, thr) = match parts.as_slice() {
        [tag, stat, op, thr] => (*tag, *stat, *op, *thr),
        [tag, op, thr] => (*tag, "p95", *op, *thr),
        _ => return Err(bad("wrong number of fields")),
    };
    if tag.is_empty()
        || !tag
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(bad("TAG must be a metric tag like time_to_first_token"));
    }
    if !matches!(
        stat,
        "avg"
            | "min"
            | "max"
            | "std"
            | "p1"
            | "p5"
            | "p10"
            | "p25"
            | "p50"
            | "p75"
            | "p90"
            | "p95"
            | "p99"
    ) {
        return Err(bad(&format!("unknown STAT {stat:?}")));
    }
    let op = match op {
        "lt" | "<" => SlaOp::Lt,
        "le" | "<=" => SlaOp::Le,
        "gt" | ">" => SlaOp::Gt,
        "ge" | ">=" => SlaOp::Ge,
        other => return Err(bad(&format!("unknown OP {other:?} (lt, le, gt, ge)"))),
    };
    let threshold: f64 = thr
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| bad("THRESHOLD is not a finite number"))?;
    Ok(SlaFilter {
        metric_tag: tag.to_owned(),
        stat: stat.to_owned(),
        op,
        threshold,
    })
}

/// The search tunables shared by explicit searches and recipes.
pub(super) fn check_tunables(s: &crate::cli::profile::SearchArgs) -> Result<(), UsageError> {
    if !(s.search_precision > 0.0 && s.search_precision < 1.0) {
        return Err(UsageError::new(format!(
            "--search-precision must be between 0 and 1 (0.05 = 5 %), got {}",
            s.search_precision
        )));
    }
    if s.search_replicates > 20 {
        return Err(UsageError::new(format!(
            "--search-replicates is at most 20, got {}",
            s.search_replicates
        )));
    }
    Ok(())
}

/// The explicit `--search-*` flags.
pub(super) fn resolve_search(
    args: &ProfileArgs,
    sweep: Option<&SweepConfig>,
) -> Result<Option<SearchConfig>, UsageError> {
    let a = &args.search;
    if a.search_space.is_empty() {
        let given = [
            ("--search-metric", a.search_metric.is_some()),
            ("--search-direction", a.search_direction.is_some()),
            ("--search-max-iterations", a.search_max_iterations.is_some()),
            ("--search-planner", a.search_planner.is_some()),
            ("--search-stat", a.search_stat.is_some()),
            (
                "--search-percentile-pooling",
                a.search_percentile_pooling.is_some(),
            ),
            ("--optuna-sampler", a.optuna_sampler.is_some()),
            ("--optuna-acquisition", a.optuna_acquisition.is_some()),
            ("--search-initial-points", a.search_initial_points.is_some()),
        ];
        if let Some((flag, _)) = given.iter().find(|g| g.1)
            && args.recipe.search_recipe.is_none()
        {
            return Err(UsageError::new(format!(
                "{flag} needs --search-space: say what to search, e.g. --search-space concurrency:1,1000:int"
            )));
        }
        return Ok(None);
    }
    if let Some(sweep) = sweep {
        return Err(UsageError::new(format!(
            "--search-space cannot be combined with a parameter sweep ({} with several values): a \
             search chooses the values itself",
            sweep.params[0].param.flag()
        )));
    }
    let space = a
        .search_space
        .iter()
        .map(|s| parse_space(s))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, d) in space.iter().enumerate() {
        if space[..i].iter().any(|e| e.param == d.param) {
            return Err(UsageError::new(format!(
                "--search-space: {} is given twice",
                d.param.name()
            )));
        }
    }
    let metric = a.search_metric.clone().ok_or_else(|| {
        UsageError::new("--search-space needs --search-metric (e.g. output_token_throughput)")
    })?;
    let maximize = match a.search_direction {
        Some(DirectionArg::Maximize) => true,
        Some(DirectionArg::Minimize) => false,
        None => {
            return Err(UsageError::new(
                "--search-space needs --search-direction maximize|minimize",
            ));
        }
    };
    let max_iterations = a
        .search_max_iterations
        .ok_or_else(|| UsageError::new("--search-space needs --search-max-iterations (2-200)"))?;
    if !(2..=200).contains(&max_iterations) {
        return Err(UsageError::new(format!(
            "--search-max-iterations must be between 2 and 200, got {max_iterations}"
        )));
    }
    let planner = planner(a)?;
    let initial_points = a.search_initial_points.unwrap_or(5);
    if planner.has_initial_design() && initial_points >= max_iterations {
        return Err(UsageError::new(format!(
            "--search-initial-points ({initial_points}) must be below --search-max-iterations \
             ({max_iterations})"
        )));
    }
    let sla = a
        .search_sla
        .iter()
        .map(|s| parse_sla(s))
        .collect::<Result<Vec<_>, _>>()?;
    if planner.is_sla_1d() {
        if space.len() != 1 || !space[0].integer {
            return Err(UsageError::new(format!(
                "--search-planner {}: searches exactly one integer dimension (e.g. \
                 --search-space concurrency:1,1000:int)",
                planner.name()
            )));
        }
        if sla.is_empty() {
            return Err(UsageError::new(format!(
                "--search-planner {}: finds an SLA boundary, so it needs at least one --search-sla",
                planner.name()
            )));
        }
    }
    check_tunables(a)?;
    let noisy_ei = noisy_incumbent(a, planner)?;
    let stat = a.search_stat.clone().unwrap_or_else(|| "avg".into());
    let pooled = pooling(args, &stat)?;
    Ok(Some(SearchConfig {
        space,
        objective: Objective {
            metric,
            stat,
            maximize,
        },
        max_iterations,
        initial_points,
        // Default: the run's base seed (42 unless --random-seed), so re-running the command
        // resumes the same search.
        seed: a.search_random_seed.unwrap_or(0),
        planner,
        sla,
        stability: a.search_stability_trials.max(1),
        replicates: a.search_replicates,
        precision: a.search_precision,
        growth: 4.0,
        grid_steps: 8,
        recipe: None,
        pooled,
        noisy_ei,
    }))
}

/// The Optuna planner's options that map onto ours or do nothing, the deprecated
/// `--bo-constraint-mode` and the tiered SLAs: checked before the search is built.
pub(super) fn check_planner_options(args: &ProfileArgs) -> Result<(), UsageError> {
    let a = &args.search;
    if args.recipe.search_recipe.is_some() {
        let defining = [
            ("--optuna-acquisition", a.optuna_acquisition.is_some()),
            ("--optuna-terminator", a.optuna_terminator.is_some()),
            ("--bo-constraint-mode", a.bo_constraint_mode.is_some()),
        ];
        if let Some((flag, _)) = defining.iter().find(|d| d.1) {
            return Err(UsageError::new(format!(
                "--search-recipe is mutually exclusive with {flag}; drop it (the recipe defines \
                 the search)"
            )));
        }
    }
    if !a.search_sla_tier.is_empty() {
        return Err(UsageError::new(
            "--search-sla-tier: searches over several SLA tiers do not run here; run one \
             search per tier, each with its filters as --search-sla (e.g. --search-sla \
             time_to_first_token:p95:lt:5000)",
        ));
    }
    if a.bo_constraint_mode.is_some() {
        tracing::warn!(
            "--bo-constraint-mode is ignored (as in the Python AIPerf): SLA constraints are \
             always modelled, expected improvement times the probability of meeting them"
        );
    }
    match a.optuna_terminator {
        Some(TerminatorArg::Regret | TerminatorArg::Emmr)
            if a.search_planner != Some(PlannerArg::Optuna) =>
        {
            Err(UsageError::new(
                "--optuna-terminator is a stopping rule of --search-planner optuna; add \
                 --search-planner optuna or drop it",
            ))
        }
        Some(TerminatorArg::Regret | TerminatorArg::Emmr) => {
            tracing::warn!(
                "--optuna-terminator: the posterior-regret rule weighs the room left for \
                 improvement against cross-validation error estimates, which a benchmark does \
                 not report, so (as in the Python AIPerf) it never stops the search; its budget, \
                 patience and plateau do"
            );
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `--optuna-acquisition`: whether the Gaussian-process planner measures improvement from
/// its best mean at a feasible point (noisy expected improvement) rather than the best value
/// seen. The log variants choose the same points as their plain forms.
fn noisy_incumbent(a: &SearchArgs, planner: PlannerKind) -> Result<bool, UsageError> {
    let Some(acq) = a.optuna_acquisition else {
        return Ok(false);
    };
    let name = clap::ValueEnum::to_possible_value(&acq)
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default();
    if let Some(sampler) = a.optuna_sampler.filter(|s| *s != OptunaSamplerArg::Botorch) {
        let sampler = clap::ValueEnum::to_possible_value(&sampler)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default();
        return Err(UsageError::new(format!(
            "--optuna-acquisition {name} requires --optuna-sampler botorch; got \
             --optuna-sampler {sampler}"
        )));
    }
    if planner != PlannerKind::Bayesian {
        return Err(UsageError::new(format!(
            "--optuna-acquisition {name} chooses the acquisition of the Gaussian-process \
             planner (--search-planner optuna or bayesian), not of --search-planner {}",
            planner.name()
        )));
    }
    match acq {
        AcquisitionArg::Logei | AcquisitionArg::Qlogei => Ok(false),
        AcquisitionArg::Qnei | AcquisitionArg::Qlognei => Ok(true),
        AcquisitionArg::Qehvi | AcquisitionArg::Qnehvi | AcquisitionArg::Qlognehvi => {
            Err(UsageError::new(format!(
                "--optuna-acquisition {name} is multi-objective; got 1 objective. Use a \
                 single-objective acquisition (qlognei recommended)"
            )))
        }
    }
}

/// `--search-planner` (and `--optuna-sampler`) as the planner that runs.
fn planner(a: &SearchArgs) -> Result<PlannerKind, UsageError> {
    let requested = a.search_planner.unwrap_or(PlannerArg::Bayesian);
    if a.optuna_sampler.is_some() && requested != PlannerArg::Optuna {
        return Err(UsageError::new(
            "--optuna-sampler chooses the sampler of --search-planner optuna; add \
             --search-planner optuna or drop --optuna-sampler",
        ));
    }
    Ok(match requested {
        PlannerArg::Optuna if a.optuna_sampler == Some(OptunaSamplerArg::Tpe) => PlannerKind::Tpe,
        // Optuna's GP and BoTorch samplers are Gaussian-process BO, as is `bayesian`.
        PlannerArg::Bayesian | PlannerArg::Optuna => PlannerKind::Bayesian,
        PlannerArg::MonotonicSla => PlannerKind::MonotonicSla,
        PlannerArg::SmoothIsotonic => PlannerKind::SmoothIsotonic,
        PlannerArg::Grid => PlannerKind::Grid,
    })
}

/// `--search-percentile-pooling pooled`: a percentile over every request, which needs the
/// requests' values kept.
fn pooling(args: &ProfileArgs, stat: &str) -> Result<bool, UsageError> {
    if args.search.search_percentile_pooling != Some(PoolingArg::Pooled) {
        return Ok(false);
    }
    if !(stat.starts_with('p') || stat == "min" || stat == "max") {
        return Err(UsageError::new(format!(
            "--search-percentile-pooling pooled pools per-request values for a percentile; \
             --search-stat {stat} is not one (use p50, p90, p95, p99, min or max)"
        )));
    }
    if args.output.export_level == ExportLevel::Summary {
        return Err(UsageError::new(
            "--search-percentile-pooling pooled reads every request's values, which \
             --export-level summary does not keep; use --export-level records (the default)",
        ));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_parse_with_aliases_and_kinds() {
        let d = parse_space("concurrency:1,1000:int").unwrap();
        assert_eq!(
            (d.param, d.lo, d.hi, d.integer, d.log),
            (Param::Concurrency, 1.0, 1000.0, true, false)
        );
        let d = parse_space("phases.profiling.rate:0.5,20:real:log").unwrap();
        assert_eq!(
            (d.param, d.integer, d.log),
            (Param::RequestRate, false, true)
        );
        assert_eq!(
            parse_space("datasets.main.prompts.isl.mean:128,4096")
                .unwrap()
                .param,
            Param::Isl
        );
        for (raw, needle) in [
            ("temperature:0,1", "unknown path"),
            ("concurrency:10", "LO,HI"),
            ("concurrency:10,1", "greater than LO"),
            ("concurrency:0,10", "LO must be positive"),
            ("concurrency:1,10:float", "unknown kind"),
            ("concurrency:a,10", "LO is not a number"),
        ] {
            let e = parse_space(raw).unwrap_err().to_string();
            assert!(
                e.contains(needle) && e.starts_with("--search-space"),
                "{raw}: {e}"
            );
        }
    }

    #[test]
    fn slas_parse_and_margins_are_signed() {
        let f = parse_sla("time_to_first_token:p95:lt:200").unwrap();
        assert_eq!(
            (f.stat.as_str(), f.op, f.threshold),
            ("p95", SlaOp::Lt, 200.0)
        );
        assert_eq!(f.margin(250.0), 0.25);
        assert_eq!(f.margin(150.0), -0.25);
        let g = parse_sla("good_request_fraction:avg:ge:0.9").unwrap();
        assert!(g.margin(0.95) < 0.0 && g.margin(0.8) > 0.0);
        assert_eq!(parse_sla("request_latency:lt:5").unwrap().stat, "p95");
        for raw in [
            "ttft",
            "time_to_first_token:p95:eq:1",
            "time_to_first_token:p42:lt:1",
            "x:p95:lt:inf",
        ] {
            assert!(
                parse_sla(raw)
                    .unwrap_err()
                    .to_string()
                    .starts_with("--search-sla"),
                "{raw}"
            );
        }
    }
}
