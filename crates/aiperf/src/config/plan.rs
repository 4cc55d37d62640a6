//! The plan around one benchmark: parameter sweeps, repeated runs and their convergence test.

use crate::UsageError;
use crate::cli::profile::ProfileArgs;
use crate::cli::profile::{SweepModeArg, SweepTypeArg};
use crate::settings::*;

/// The first value of a flag that accepts a list; a list of several is a sweep, built and
/// validated by [`resolve_sweep`], and the first value is the base configuration.
pub(super) fn first<T: Copy>(values: &[T]) -> Option<T> {
    values.first().copied()
}

/// The swept flags (those given several values), each value checked.
pub(super) fn resolve_sweep(args: &ProfileArgs) -> Result<Option<SweepConfig>, UsageError> {
    let (i, l) = (&args.input, &args.load);
    let as_f64 = |v: &[u32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
    let lists: [(Param, Vec<f64>); 6] = [
        (Param::Isl, as_f64(&i.isl)),
        (Param::Osl, as_f64(&i.osl)),
        (Param::Concurrency, as_f64(&l.concurrency)),
        (Param::BenchmarkDuration, l.benchmark_duration.clone()),
        (Param::RequestRate, l.request_rate.clone()),
        (
            Param::RequestCount,
            l.request_count.iter().map(|&x| x as f64).collect(),
        ),
    ];
    let mut params = Vec::new();
    for (param, values) in lists {
        if values.len() < 2 {
            continue;
        }
        let list = values
            .iter()
            .map(|v| param.format(*v))
            .collect::<Vec<_>>()
            .join(",");
        let flag = param.flag();
        for v in &values {
            let ok = if param.integer() {
                *v >= 1.0
            } else {
                v.is_finite() && *v > 0.0
            };
            if !ok {
                return Err(UsageError::new(format!(
                    "{flag}: every sweep value must be positive, got {} in {list}",
                    param.format(*v)
                )));
            }
        }
        for (k, v) in values.iter().enumerate() {
            if values[..k].contains(v) {
                return Err(UsageError::new(format!(
                    "{flag}: value {} appears twice in {list}; each sweep value must be distinct",
                    param.format(*v)
                )));
            }
        }
        params.push(SweepParam { param, values });
    }
    if params.is_empty() {
        return Ok(None);
    }
    let m = &args.multi;
    let kind = match m.sweep_type {
        SweepTypeArg::Grid => SweepKind::Grid,
        SweepTypeArg::Zip => SweepKind::Zip,
    };
    if kind == SweepKind::Zip {
        let n = params[0].values.len();
        if params.iter().any(|p| p.values.len() != n) {
            let lens: Vec<String> = params
                .iter()
                .map(|p| format!("{} has {}", p.param.flag(), p.values.len()))
                .collect();
            return Err(UsageError::new(format!(
                "--sweep-type zip pairs values by position, so every swept flag needs the same \
                 number of values ({})",
                lens.join(", ")
            )));
        }
    }
    if params.iter().any(|p| p.param == Param::Isl) && args.input.input_file.is_some() {
        return Err(UsageError::new(
            "--isl with several values sweeps synthetic prompt lengths; it cannot apply to \
             --input-file prompts",
        ));
    }
    cooldown(
        "--parameter-sweep-cooldown-seconds",
        m.parameter_sweep_cooldown_seconds,
    )?;
    Ok(Some(SweepConfig {
        params,
        kind,
        mode: match m.parameter_sweep_mode {
            SweepModeArg::Repeated => SweepMode::Repeated,
            SweepModeArg::Independent => SweepMode::Independent,
        },
        cooldown_secs: m.parameter_sweep_cooldown_seconds,
        same_seed: m.parameter_sweep_same_seed,
    }))
}

/// Sweep-only flags do nothing in a run without a sweep; say so rather than ignore them.
pub(super) fn warn_unused_sweep_flags(args: &ProfileArgs) {
    let m = &args.multi;
    let given = [
        ("--sweep-type", m.sweep_type != SweepTypeArg::Grid),
        (
            "--parameter-sweep-mode",
            m.parameter_sweep_mode != SweepModeArg::Repeated,
        ),
        (
            "--parameter-sweep-cooldown-seconds",
            m.parameter_sweep_cooldown_seconds != 0.0,
        ),
        ("--parameter-sweep-same-seed", m.parameter_sweep_same_seed),
    ];
    for (flag, _) in given.iter().filter(|g| g.1) {
        tracing::warn!(
            "{flag} has no effect: nothing is swept (give a flag several values, e.g. \
             --concurrency 1,2,4)"
        );
    }
}

pub(super) fn cooldown(flag: &str, secs: f64) -> Result<(), UsageError> {
    if secs.is_finite() && (0.0..=86_400.0).contains(&secs) {
        Ok(())
    } else {
        Err(UsageError::new(format!(
            "{flag} must be between 0 and 86400 seconds, got {secs}"
        )))
    }
}

pub(super) fn resolve_multi_run(args: &ProfileArgs) -> Result<MultiRunConfig, UsageError> {
    let m = &args.multi;
    if !(1..=10).contains(&m.num_profile_runs) {
        return Err(UsageError::new(format!(
            "--num-profile-runs must be between 1 and 10, got {}",
            m.num_profile_runs
        )));
    }
    if !(m.confidence_level > 0.0 && m.confidence_level < 1.0) {
        return Err(UsageError::new(format!(
            "--confidence-level must be between 0 and 1 (e.g. 0.95), got {}",
            m.confidence_level
        )));
    }
    cooldown(
        "--profile-run-cooldown-seconds",
        m.profile_run_cooldown_seconds,
    )?;
    Ok(MultiRunConfig {
        num_runs: m.num_profile_runs,
        confidence_level: m.confidence_level,
        cooldown_secs: m.profile_run_cooldown_seconds,
        warmup_first_only: m.profile_run_disable_warmup_after_first,
        convergence: resolve_convergence(args)?,
        vary_seed_per_trial: m.vary_seed_per_trial,
        no_sweep_table: m.no_sweep_table,
    })
}

pub(super) fn resolve_convergence(args: &ProfileArgs) -> Result<Option<Convergence>, UsageError> {
    use crate::cli::profile::ConvergenceModeArg;
    let m = &args.multi;
    let Some(metric) = &m.convergence_metric else {
        if let Some(flag) = [
            ("--convergence-threshold", m.convergence_threshold.is_some()),
            (
                "--convergence-mode",
                m.convergence_mode != ConvergenceModeArg::CiWidth,
            ),
            ("--convergence-stat", m.convergence_stat != "avg"),
            ("--convergence-min-runs", m.convergence_min_runs != 2),
        ]
        .iter()
        .find(|f| f.1)
        {
            return Err(UsageError::new(format!(
                "{} needs --convergence-metric: name the metric whose runs must agree, e.g. \
                 --convergence-metric time_to_first_token",
                flag.0
            )));
        }
        return Ok(None);
    };
    let metric = metric.trim();
    if metric.is_empty() || metric.contains(char::is_whitespace) {
        return Err(UsageError::new(format!(
            "--convergence-metric: {metric:?} is not a metric tag (e.g. time_to_first_token)"
        )));
    }
    if m.num_profile_runs < 2 {
        return Err(UsageError::new(
            "--convergence-metric stops repeated runs early, so it needs --num-profile-runs of \
             at least 2 (the most runs to make)",
        ));
    }
    let mode = match m.convergence_mode {
        ConvergenceModeArg::CiWidth => ConvergenceMode::CiWidth,
        ConvergenceModeArg::Cv => ConvergenceMode::Cv,
        ConvergenceModeArg::Distribution => ConvergenceMode::Distribution,
    };
    let threshold = m.convergence_threshold.unwrap_or(match mode {
        ConvergenceMode::CiWidth => 0.10,
        _ => 0.05,
    });
    if !(threshold > 0.0 && threshold < 1.0) {
        return Err(UsageError::new(format!(
            "--convergence-threshold must be between 0 and 1, got {threshold}"
        )));
    }
    if !(2..=m.num_profile_runs).contains(&m.convergence_min_runs) {
        return Err(UsageError::new(format!(
            "--convergence-min-runs must be between 2 and --num-profile-runs ({}), got {}",
            m.num_profile_runs, m.convergence_min_runs
        )));
    }
    if mode == ConvergenceMode::Distribution && args.output.export_level == ExportLevel::Summary {
        return Err(UsageError::new(
            "--convergence-mode distribution compares per-request values, which --export-level \
             summary does not keep; use --export-level records (the default) or raw",
        ));
    }
    Ok(Some(Convergence {
        metric: metric.to_owned(),
        stat: m.convergence_stat.clone(),
        mode,
        threshold,
        min_runs: m.convergence_min_runs,
    }))
}

/// `--variant`/`--sweep-variant`: hand-picked sweep values, each setting any flags. Checked as
/// the Python AIPerf checks them, then refused: this tool sweeps flag lists (grid or zip).
pub(super) fn check_variants(args: &ProfileArgs) -> Result<(), UsageError> {
    let variants = &args.multi.variant;
    match variants.len() {
        0 => Ok(()),
        1 => Err(UsageError::new(
            "--variant: a single occurrence is rejected; use the --isl/--osl/--concurrency \
             flags for a one-off, and --variant at least twice for a sweep of variants",
        )),
        _ if args.recipe.search_recipe.is_some() => Err(UsageError::new(
            "--variant is mutually exclusive with --search-recipe; drop one (the recipe owns \
             the sweep's parameters)",
        )),
        _ => Err(UsageError::new(format!(
            "--variant: sweeps of hand-picked variants ({} given) do not run here; sweep flag \
             lists instead: the i-th values together with --sweep-type zip (e.g. \
             --concurrency 4,16 --isl 128,1024 --sweep-type zip), or every combination (the \
             default grid)",
            variants.len()
        ))),
    }
}
