//! A recipe's expansion: the recipe's variables filled from the flags, its search or grid and
//! its post-processing turned into the plan (`--search-recipe NAME`).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::search::parse_sla;
use crate::UsageError;
use crate::cli::profile::{OptunaSamplerArg, ProfileArgs, SearchStyleArg};
use crate::recipes::{Direction, Recipe, SearchSpec, StyleSpec, post_process};
use crate::settings::{
    GoodputTarget, Objective, Param, PlannerKind, PostProcessSpec, SearchConfig, SlaFilter,
    SpaceDim, SweepConfig, SweepKind, SweepMode, SweepParam,
};

/// What a recipe turns a run into.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Expansion {
    pub name: String,
    pub search: Option<SearchConfig>,
    pub sweep: Option<SweepConfig>,
    pub post_process: Option<PostProcessSpec>,
    pub goodput: Vec<GoodputTarget>,
    /// The recipe asks for the HTML report when it finishes.
    pub auto_plot: bool,
}

fn toml_to_json(v: &toml::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The recipe flags given on the command line, by variable name.
fn cli_variables(args: &ProfileArgs) -> Result<Map<String, Value>, UsageError> {
    let r = &args.recipe;
    for (flag, value) in [
        ("--ttft-sla-ms", r.ttft_sla_ms),
        ("--itl-sla-ms", r.itl_sla_ms),
        ("--tpot-sla-ms", r.tpot_sla_ms),
        ("--e2e-sla-ms", r.e2e_sla_ms),
        ("--degradation-threshold", r.degradation_threshold),
    ] {
        if let Some(x) = value
            && !(x.is_finite() && x > 0.0)
        {
            return Err(UsageError::new(format!(
                "{flag} must be a positive number, got {x}"
            )));
        }
    }
    let mut v = Map::new();
    let mut put = |k: &str, x: Option<f64>| {
        if let Some(x) = x {
            v.insert(k.into(), json!(x));
        }
    };
    put("ttft-sla-ms", r.ttft_sla_ms);
    let itl = match (r.itl_sla_ms, r.tpot_sla_ms) {
        (Some(a), Some(b)) if a != b => {
            return Err(UsageError::new(format!(
                "--itl-sla-ms ({a}) and --tpot-sla-ms ({b}) conflict: they are the same SLA; give one"
            )));
        }
        (a, b) => a.or(b),
    };
    put("itl-sla-ms", itl);
    put("e2e-sla-ms", r.e2e_sla_ms);
    if let Some(e) = r.error_rate_sla {
        if !(e > 0.0 && e < 1.0) {
            return Err(UsageError::new(format!(
                "--error-rate-sla is a fraction between 0 and 1 (0.01 = 1 %), got {e}"
            )));
        }
        put("error-rate-sla", Some(e));
        // request_error_rate is reported in percent.
        put("error-rate-sla-pct", Some(e * 100.0));
    }
    if let Some(f) = r.slo_attainment_fraction {
        if !(f > 0.0 && f <= 1.0) {
            return Err(UsageError::new(format!(
                "--slo-attainment-fraction must be in (0, 1], got {f}"
            )));
        }
        put("slo-attainment-fraction", Some(f));
    }
    put("concurrency-min", r.concurrency_min);
    put("concurrency-max", r.concurrency_max);
    put("concurrency-steps", r.concurrency_steps);
    put("isl-min", r.isl_min);
    put("isl-max", r.isl_max);
    put("isl-steps", r.isl_steps);
    put("osl-min", r.osl_min);
    put("osl-max", r.osl_max);
    put("osl-steps", r.osl_steps);
    put("degradation-threshold", r.degradation_threshold);
    if let Some(t) = &r.degradation_metric_tag {
        v.insert("degradation-metric-tag".into(), json!(t));
    }
    if let Some(s) = &r.degradation_stat {
        v.insert("degradation-stat".into(), json!(s));
    }
    if let Some(p) = &r.isl_osl_pairs {
        v.insert("isl-osl-pairs".into(), json!(p));
    }
    if !args.load.concurrency.is_empty() {
        v.insert("concurrency".into(), json!(args.load.concurrency));
    }
    if !args.search.search_sla.is_empty() {
        v.insert("search-sla".into(), json!(args.search.search_sla));
    }
    Ok(v)
}

/// `128/128,512/256` → pairs, with the documented errors.
pub(super) fn parse_isl_osl_pairs(raw: &str) -> Result<Vec<(u64, u64)>, UsageError> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for token in raw.split(',') {
        let token = token.trim();
        let Some((isl, osl)) = token.split_once('/').filter(|(_, o)| !o.contains('/')) else {
            return Err(UsageError::new(format!(
                "--isl-osl-pairs: '{token}' expected '<isl>/<osl>' (one slash)"
            )));
        };
        let parse = |s: &str| s.trim().parse::<u64>().ok().filter(|v| *v > 0);
        let (Some(i), Some(o)) = (parse(isl), parse(osl)) else {
            return Err(UsageError::new(format!(
                "--isl-osl-pairs: '{token}' both sides must be a positive int"
            )));
        };
        if out.contains(&(i, o)) {
            return Err(UsageError::new(format!(
                "--isl-osl-pairs: duplicate pair '{i}/{o}'"
            )));
        }
        out.push((i, o));
    }
    Ok(out)
}

/// Expands `recipe` for this command line.
pub(crate) fn expand(
    recipe: &Recipe,
    args: &ProfileArgs,
    streaming: bool,
) -> Result<Expansion, UsageError> {
    super::search::check_tunables(&args.search)?;
    let mut vars = cli_variables(args)?;
    for (k, v) in &recipe.defaults {
        vars.entry(k.clone()).or_insert_with(|| toml_to_json(v));
    }
    check_flags(recipe, args, &vars, streaming)?;
    let sla = slas(recipe, args, &vars)?;
    vars.insert("sla".into(), serde_json::to_value(&sla).unwrap_or_default());
    let x = Filled { recipe, args, vars };
    let goodput = recipe
        .goodput
        .iter()
        .map(|(tag, v)| {
            Ok(GoodputTarget {
                tag: tag.clone(),
                threshold: x.number(v, &format!("goodput target {tag}"))?,
            })
        })
        .collect::<Result<Vec<_>, UsageError>>()?;
    let style = x.style()?;
    let post_process = x.post_process(style)?;
    let (search, sweep) = match style.and_then(|s| s.grid.as_ref()).or(recipe.grid.as_ref()) {
        Some(grid) => (None, Some(x.grid(grid)?)),
        None => (Some(x.search(style, sla)?), None),
    };
    Ok(Expansion {
        name: recipe.name.clone(),
        search,
        sweep,
        post_process,
        goodput,
        auto_plot: recipe.auto_plot,
    })
}

/// What the command line must and must not hold for this recipe: no explicit search flags,
/// the variables the recipe requires, an SLA when it needs one, streaming when it measures
/// streaming-only metrics.
fn check_flags(
    recipe: &Recipe,
    args: &ProfileArgs,
    vars: &Map<String, Value>,
    streaming: bool,
) -> Result<(), UsageError> {
    let name = &recipe.name;
    // Explicit search flags that define a search collide with the recipe.
    let s = &args.search;
    let defining: Vec<&str> = [
        ("search_space", !s.search_space.is_empty()),
        ("search_metric", s.search_metric.is_some()),
        ("search_direction", s.search_direction.is_some()),
        ("search_stat", s.search_stat.is_some()),
        ("search_planner", s.search_planner.is_some()),
        (
            "search_percentile_pooling",
            s.search_percentile_pooling.is_some(),
        ),
        // The sampler of the optuna style; it defines the search anywhere else.
        (
            "optuna_sampler",
            s.optuna_sampler.is_some() && args.recipe.search_style != Some(SearchStyleArg::Optuna),
        ),
    ]
    .into_iter()
    .filter(|(_, given)| *given)
    .map(|(n, _)| n)
    .collect();
    if !defining.is_empty() {
        return Err(UsageError::new(format!(
            "--search-recipe '{name}' is mutually exclusive with explicit --search-* flags {defining:?}. \
             Either drop the explicit flags and let the recipe expand them, or drop --search-recipe and \
             configure --search-* by hand."
        )));
    }
    for (var, meaning) in &recipe.variables {
        if !vars.contains_key(var) {
            return Err(UsageError::new(format!(
                "recipe '{name}' requires --{var} ({meaning}); pass it on the CLI alongside --search-recipe."
            )));
        }
    }
    if !recipe.require_one_sla_of.is_empty()
        && !recipe
            .require_one_sla_of
            .iter()
            .any(|v| vars.contains_key(v))
    {
        let flags: Vec<String> = recipe
            .require_one_sla_of
            .iter()
            .map(|v| format!("--{v}"))
            .collect();
        return Err(UsageError::new(format!(
            "recipe '{name}' requires at least one SLA: {}",
            flags.join(", ")
        )));
    }
    let needs_streaming =
        recipe.requires_streaming || recipe.streaming_when.iter().any(|v| vars.contains_key(v));
    if needs_streaming && !streaming {
        return Err(UsageError::new(format!(
            "recipe '{name}' requires --streaming ({}); enable streaming on the endpoint or pick a different recipe.",
            recipe
                .streaming_reason
                .as_deref()
                .unwrap_or("it measures streaming-only metrics")
        )));
    }
    Ok(())
}

/// The SLA filters: the recipe's (when their variable is set), then --search-sla in order.
fn slas(
    recipe: &Recipe,
    args: &ProfileArgs,
    vars: &Map<String, Value>,
) -> Result<Vec<SlaFilter>, UsageError> {
    let mut sla: Vec<SlaFilter> = Vec::new();
    for f in &recipe.sla {
        if f.when.as_ref().is_some_and(|w| !vars.contains_key(w)) {
            continue;
        }
        sla.push(SlaFilter {
            metric_tag: f.metric.clone(),
            stat: f.stat.clone(),
            op: f.op,
            threshold: number_of(
                &f.threshold,
                vars,
                &recipe.name,
                &format!("the {} SLA threshold", f.metric),
            )?,
        });
    }
    for raw in &args.search.search_sla {
        sla.push(parse_sla(raw)?);
    }
    Ok(sla)
}

/// A recipe with its variables filled in from the command line and its defaults.
struct Filled<'a> {
    recipe: &'a Recipe,
    args: &'a ProfileArgs,
    vars: Map<String, Value>,
}

impl Filled<'_> {
    fn resolve(&self, v: &toml::Value) -> Result<Value, UsageError> {
        substitute(&toml_to_json(v), &self.vars, &self.recipe.name)
    }

    fn number(&self, v: &toml::Value, what: &str) -> Result<f64, UsageError> {
        number_of(v, &self.vars, &self.recipe.name, what)
    }

    /// The style `--search-style` picks (or the recipe's default), for recipes that have
    /// styles.
    fn style(&self) -> Result<Option<&StyleSpec>, UsageError> {
        let recipe = self.recipe;
        if recipe.style_variable.is_none() {
            return Ok(None);
        }
        let chosen = match self.args.recipe.search_style {
            Some(SearchStyleArg::Monotonic) => "monotonic",
            Some(SearchStyleArg::SmoothIsotonic) => "smooth_isotonic",
            Some(SearchStyleArg::Bo) => "bo",
            Some(SearchStyleArg::Optuna) => "optuna",
            Some(SearchStyleArg::Grid) => "grid",
            None => recipe.default_style.as_deref().unwrap_or("smooth_isotonic"),
        };
        recipe.styles.get(chosen).map(Some).ok_or_else(|| {
            UsageError::new(format!(
                "--search-style: recipe '{}' has no style {chosen:?}",
                recipe.name
            ))
        })
    }

    /// The post-processing step, its parameters filled in and checked.
    fn post_process(
        &self,
        style: Option<&StyleSpec>,
    ) -> Result<Option<PostProcessSpec>, UsageError> {
        let post = style
            .and_then(|s| s.post_process.as_ref())
            .or(self.recipe.post_process.as_ref());
        post.map(|p| -> Result<PostProcessSpec, UsageError> {
            let params: Map<String, Value> = p
                .params
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
                .collect::<Result<_, UsageError>>()?;
            let spec = PostProcessSpec {
                handler: p.handler.clone(),
                output: p.output.clone(),
                params: Value::Object(params),
            };
            post_process::check(&spec)
                .map_err(|e| UsageError::new(format!("recipe '{}': {}", self.recipe.name, e.0)))?;
            Ok(spec)
        })
        .transpose()
    }

    /// A grid recipe (or style): the sweep it runs.
    fn grid(&self, grid: &BTreeMap<String, toml::Value>) -> Result<SweepConfig, UsageError> {
        let (name, s) = (&self.recipe.name, &self.args.search);
        for (flag, given) in [
            ("search_max_iterations", s.search_max_iterations.is_some()),
            ("search_initial_points", s.search_initial_points.is_some()),
            ("search_random_seed", s.search_random_seed.is_some()),
        ] {
            if given {
                return Err(UsageError::new(format!(
                    "--search-recipe '{name}' is a grid and has no search loop to tune: drop --{}",
                    flag.replace('_', "-")
                )));
            }
        }
        let swept = sweepable_lists(self.args);
        if let Some(flag) = swept
            .iter()
            .find(|f| !self.recipe.consumes.iter().any(|c| c == *f))
        {
            return Err(UsageError::new(format!(
                "recipe '{name}' owns the swept values; drop the list on --{flag} (or run a plain sweep without --search-recipe)"
            )));
        }
        grid_sweep(name, grid, &|v| self.resolve(v))
    }

    /// A search recipe (or style): the search it runs.
    fn search(
        &self,
        style: Option<&StyleSpec>,
        sla: Vec<SlaFilter>,
    ) -> Result<SearchConfig, UsageError> {
        let (name, s) = (&self.recipe.name, &self.args.search);
        let spec = self.recipe.search.as_ref().ok_or_else(|| {
            UsageError::new(format!("recipe '{name}': style without a [search] table"))
        })?;
        if let Some(flag) = sweepable_lists(self.args).first() {
            return Err(UsageError::new(format!(
                "recipe '{name}' searches the values itself; drop the list on --{flag}"
            )));
        }
        let planner = match s.optuna_sampler {
            // Only reachable with --search-style optuna (checked above).
            Some(OptunaSamplerArg::Tpe) => PlannerKind::Tpe,
            _ => style.and_then(|s| s.planner).unwrap_or(spec.planner),
        };
        let max_iterations = s
            .search_max_iterations
            .or(style.and_then(|s| s.max_iterations))
            .unwrap_or(spec.max_iterations);
        let initial_points = s
            .search_initial_points
            .or(style.and_then(|s| s.initial_points))
            .unwrap_or(spec.initial_points);
        let space = self.space(spec, style)?;
        if !(2..=200).contains(&max_iterations) {
            return Err(UsageError::new(format!(
                "--search-max-iterations must be between 2 and 200, got {max_iterations}"
            )));
        }
        if planner.has_initial_design() && initial_points >= max_iterations {
            return Err(UsageError::new(format!(
                "--search-initial-points ({initial_points}) must be below --search-max-iterations ({max_iterations})"
            )));
        }
        Ok(SearchConfig {
            space,
            objective: Objective {
                metric: spec.objective.metric.clone(),
                stat: spec.objective.stat.clone(),
                maximize: spec.objective.direction == Direction::Maximize,
            },
            max_iterations,
            initial_points,
            seed: s.search_random_seed.unwrap_or(0),
            planner,
            sla,
            stability: s.search_stability_trials.max(1),
            replicates: s.search_replicates,
            precision: s.search_precision,
            growth: 4.0,
            grid_steps: 8,
            recipe: Some(name.clone()),
            pooled: false,
            noisy_ei: false,
        })
    }

    /// The searched dimensions, their ranges filled in.
    fn space(
        &self,
        spec: &SearchSpec,
        style: Option<&StyleSpec>,
    ) -> Result<Vec<SpaceDim>, UsageError> {
        let name = &self.recipe.name;
        spec.space
            .iter()
            .map(|d| {
                let param = Param::parse(&d.param).ok_or_else(|| {
                    UsageError::new(format!("recipe '{name}': unknown space param {:?}", d.param))
                })?;
                let lo = self.number(&d.lo, "space.lo")?;
                let hi = self.number(&d.hi, "space.hi")?;
                if !(lo > 0.0 && hi > lo) {
                    return Err(UsageError::new(format!(
                        "recipe '{name}': the {} range must satisfy 0 < min < max (got {lo}..{hi}); check --concurrency-min/--concurrency-max",
                        param.name()
                    )));
                }
                let prior = style
                    .and_then(|s| s.prior.clone())
                    .or_else(|| d.prior.clone());
                Ok(SpaceDim {
                    param,
                    lo,
                    hi,
                    integer: d.kind.as_deref().is_none_or(|k| k == "int"),
                    log: prior.as_deref() == Some("log"),
                })
            })
            .collect()
    }
}

fn number_of(
    v: &toml::Value,
    vars: &Map<String, Value>,
    name: &str,
    what: &str,
) -> Result<f64, UsageError> {
    substitute(&toml_to_json(v), vars, name)?
        .as_f64()
        .ok_or_else(|| UsageError::new(format!("recipe '{name}': {what} is not a number")))
}

/// Flags given with several values (magic lists).
fn sweepable_lists(args: &ProfileArgs) -> Vec<&'static str> {
    let (i, l) = (&args.input, &args.load);
    [
        ("isl", i.isl.len()),
        ("osl", i.osl.len()),
        ("concurrency", l.concurrency.len()),
        ("request-rate", l.request_rate.len()),
        ("request-count", l.request_count.len()),
        ("benchmark-duration", l.benchmark_duration.len()),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 1)
    .map(|(f, _)| f)
    .collect()
}

/// Replaces `"@name"` strings by the variable's value, recursively.
fn substitute(v: &Value, vars: &Map<String, Value>, recipe: &str) -> Result<Value, UsageError> {
    Ok(match v {
        Value::String(s) if s.starts_with('@') => vars.get(&s[1..]).cloned().ok_or_else(|| {
            UsageError::new(format!(
                "recipe '{recipe}' requires --{}; pass it on the CLI alongside --search-recipe.",
                &s[1..]
            ))
        })?,
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute(x, vars, recipe))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), substitute(x, vars, recipe)?)))
                .collect::<Result<_, UsageError>>()?,
        ),
        other => other.clone(),
    })
}

/// The sweep a `[grid]` table describes: log-spaced axes, explicit values, or paired
/// ISL/OSL shapes crossed with concurrency.
fn grid_sweep(
    name: &str,
    grid: &BTreeMap<String, toml::Value>,
    resolve: &dyn Fn(&toml::Value) -> Result<Value, UsageError>,
) -> Result<SweepConfig, UsageError> {
    let axis = |key: &str, spec: &toml::Value| -> Result<Vec<f64>, UsageError> {
        let spec = resolve(spec)?;
        if let Some(log) = spec.get("log") {
            let n: Vec<f64> = log
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            let [lo, hi, steps] = n[..] else {
                return Err(UsageError::new(format!(
                    "recipe '{name}': grid.{key}.log needs [min, max, steps]"
                )));
            };
            let values = aiperf_stats::search::grid::log_grid(lo, hi, steps as usize).ok_or_else(|| {
                UsageError::new(format!(
                    "recipe '{name}': the {key} grid needs 0 < min < max and at least 2 steps (got {lo}, {hi}, {steps}); check --{key}-min/--{key}-max/--{key}-steps"
                ))
            })?;
            return Ok(values.into_iter().map(|v| v as f64).collect());
        }
        if let Some(values) = spec.get("values") {
            let v: Vec<f64> = values
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            if v.is_empty() {
                return Err(UsageError::new(format!(
                    "recipe '{name}': grid.{key}.values is empty"
                )));
            }
            return Ok(v);
        }
        Err(UsageError::new(format!(
            "recipe '{name}': grid.{key} needs `log` or `values`"
        )))
    };
    let param_of = |key: &str| {
        Param::parse(key).ok_or_else(|| {
            UsageError::new(format!("recipe '{name}': unknown grid parameter {key:?}"))
        })
    };
    if let Some(pairs) = grid.get("pairs") {
        let raw = resolve(pairs)?;
        let pairs = parse_isl_osl_pairs(raw.as_str().unwrap_or(""))?;
        let conc = match grid.get("concurrency") {
            Some(c) => axis("concurrency", c)?,
            None => vec![1.0],
        };
        if pairs.len() * conc.len() < 2 {
            return Err(UsageError::new(format!(
                "recipe '{name}': a Pareto sweep with a single point is meaningless. Pass at least 2 pairs OR at least 2 concurrency values."
            )));
        }
        let (mut isl, mut osl, mut c) = (Vec::new(), Vec::new(), Vec::new());
        for (i, o) in &pairs {
            for k in &conc {
                isl.push(*i as f64);
                osl.push(*o as f64);
                c.push(*k);
            }
        }
        return Ok(SweepConfig {
            params: vec![
                SweepParam {
                    param: Param::Isl,
                    values: isl,
                },
                SweepParam {
                    param: Param::Osl,
                    values: osl,
                },
                SweepParam {
                    param: Param::Concurrency,
                    values: c,
                },
            ],
            kind: SweepKind::Zip,
            mode: SweepMode::Repeated,
            cooldown_secs: 0.0,
            same_seed: false,
        });
    }
    let mut params: Vec<SweepParam> = grid
        .iter()
        .map(|(k, spec)| {
            Ok(SweepParam {
                param: param_of(k)?,
                values: axis(k, spec)?,
            })
        })
        .collect::<Result<_, UsageError>>()?;
    params.sort_by_key(|p| p.param);
    Ok(SweepConfig {
        params,
        kind: SweepKind::Grid,
        mode: SweepMode::Repeated,
        cooldown_secs: 0.0,
        same_seed: false,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};
    use crate::recipes::{BUILTIN, load};

    fn args(extra: &[&str]) -> Box<ProfileArgs> {
        let argv: Vec<&str> = ["aiperf", "profile", "-m", "m"]
            .iter()
            .chain(extra)
            .copied()
            .collect();
        let Command::Profile(p) = Cli::try_parse_from(argv).unwrap().command else {
            unreachable!()
        };
        p
    }

    fn expand_named(name: &str, extra: &[&str]) -> Result<Expansion, UsageError> {
        let a = args(extra);
        expand(&load(name).unwrap(), &a, true)
    }

    #[test]
    fn every_builtin_recipe_parses() {
        for (name, _) in BUILTIN {
            let r = load(name).unwrap();
            assert_eq!(&r.name, name);
            assert!(!r.description.is_empty());
        }
    }

    #[test]
    fn bo_recipes_expand_with_the_reference_defaults() {
        let e = expand_named("max-throughput-ttft-sla", &["--ttft-sla-ms", "200"]).unwrap();
        let s = e.search.unwrap();
        assert_eq!(
            (s.planner, s.max_iterations, s.initial_points),
            (PlannerKind::Bayesian, 30, 5)
        );
        assert_eq!(
            (
                s.space[0].lo,
                s.space[0].hi,
                s.space[0].integer,
                s.space[0].log
            ),
            (1.0, 1000.0, true, true)
        );
        assert_eq!(s.sla[0].threshold, 200.0);
        assert_eq!(s.objective.key(), "output_token_throughput_avg");
        let e = expand_named(
            "max-throughput-itl-sla",
            &["--tpot-sla-ms", "50", "--search-max-iterations", "12"],
        )
        .unwrap();
        assert_eq!(
            e.search.as_ref().unwrap().sla[0].metric_tag,
            "inter_token_latency"
        );
        assert_eq!(e.search.unwrap().max_iterations, 12, "tunables override");
        let e = expand_named(
            "max-goodput-under-slo",
            &[
                "--ttft-sla-ms",
                "500",
                "--tpot-sla-ms",
                "15",
                "--e2e-sla-ms",
                "2000",
            ],
        )
        .unwrap();
        assert_eq!(e.goodput.len(), 3);
        let s = e.search.unwrap();
        assert_eq!(s.objective.metric, "goodput");
        assert_eq!(
            (s.sla[0].metric_tag.as_str(), s.sla[0].threshold),
            ("good_request_fraction", 0.95)
        );
    }

    #[test]
    fn max_concurrency_styles() {
        let e = expand_named(
            "max-concurrency-under-sla",
            &["--ttft-sla-ms", "200", "--e2e-sla-ms", "900"],
        )
        .unwrap();
        let s = e.search.unwrap();
        assert_eq!(
            (s.planner, s.max_iterations),
            (PlannerKind::SmoothIsotonic, 30)
        );
        assert_eq!(s.sla.len(), 2);
        assert_eq!(
            (s.sla[1].metric_tag.as_str(), s.sla[1].stat.as_str()),
            ("request_latency", "p99")
        );
        let e = expand_named(
            "max-concurrency-under-sla",
            &["--error-rate-sla", "0.01", "--search-style", "monotonic"],
        )
        .unwrap();
        let s = e.search.unwrap();
        assert_eq!(s.planner, PlannerKind::MonotonicSla);
        assert_eq!(
            (s.sla[0].metric_tag.as_str(), s.sla[0].threshold),
            ("request_error_rate", 1.0)
        );
        let e = expand_named(
            "max-concurrency-under-sla",
            &[
                "--ttft-sla-ms",
                "60",
                "--search-style",
                "grid",
                "--concurrency-max",
                "32",
            ],
        )
        .unwrap();
        let sweep = e.sweep.unwrap();
        assert_eq!(
            sweep.params[0].values,
            [1.0, 2.0, 3.0, 4.0, 7.0, 12.0, 20.0, 32.0]
        );
        let post = e.post_process.unwrap();
        assert_eq!(post.handler, "sla_breach");
        assert_eq!(post.params["filters"][0]["threshold"], 60.0);
        let e = expand_named(
            "max-concurrency-under-sla",
            &[
                "--search-sla",
                "request_latency:p50:lt:100",
                "--search-style",
                "bo",
            ],
        )
        .unwrap();
        let s = e.search.unwrap();
        assert_eq!((s.planner, s.space[0].log), (PlannerKind::Bayesian, true));
        let optuna = |extra: &[&str]| {
            let mut args = vec!["--ttft-sla-ms", "60", "--search-style", "optuna"];
            args.extend(extra);
            expand_named("max-concurrency-under-sla", &args).map(|e| e.search.unwrap())
        };
        assert_eq!(optuna(&[]).unwrap().planner, PlannerKind::Bayesian);
        assert_eq!(
            optuna(&["--optuna-sampler", "botorch"]).unwrap().planner,
            PlannerKind::Bayesian
        );
        let tpe = optuna(&["--optuna-sampler", "tpe"]).unwrap();
        assert_eq!(
            (tpe.planner, tpe.max_iterations, tpe.initial_points),
            (PlannerKind::Tpe, 30, 5)
        );
        // Anywhere but the optuna style, the sampler defines the search and collides.
        for args in [
            &[
                "--ttft-sla-ms",
                "60",
                "--search-style",
                "bo",
                "--optuna-sampler",
                "tpe",
            ][..],
            &["--ttft-sla-ms", "60", "--optuna-sampler", "tpe"][..],
        ] {
            let err = expand_named("max-concurrency-under-sla", args)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("'max-concurrency-under-sla' is mutually exclusive")
                    && err.contains("optuna_sampler"),
                "{err}"
            );
        }
        let err = expand_named(
            "max-throughput-ttft-sla",
            &["--ttft-sla-ms", "60", "--optuna-sampler", "gp"],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("optuna_sampler"), "{err}");
    }

    #[test]
    fn grid_recipes_expand_to_sweeps() {
        let e = expand_named("concurrency-ramp", &["--degradation-threshold", "0.5"]).unwrap();
        assert_eq!(
            e.sweep.unwrap().params[0].values,
            [1.0, 3.0, 7.0, 19.0, 52.0, 139.0, 373.0, 1000.0]
        );
        assert_eq!(e.post_process.unwrap().params["threshold_pct"], 0.5);
        let e = expand_named(
            "prefill-ttft-curve",
            &["--isl-min", "256", "--isl-max", "32768"],
        )
        .unwrap();
        let p = e.sweep.unwrap().params;
        assert_eq!((p[0].param, p[0].values.len()), (Param::Isl, 8));
        assert_eq!(
            (p[1].param, p[1].values.clone()),
            (Param::Concurrency, vec![1.0])
        );
        let e = expand_named("decode-itl-curve", &[]).unwrap();
        let p = e.sweep.unwrap().params;
        assert_eq!(p[0].values, [64.0, 161.0, 406.0, 1024.0]);
        assert_eq!(p[1].values, [1.0, 3.0, 8.0, 24.0, 69.0, 200.0]);
        let e = expand_named(
            "pareto-sweep",
            &[
                "--isl-osl-pairs",
                " 128 / 128 , 512/256",
                "--concurrency",
                "1,4",
            ],
        )
        .unwrap();
        let s = e.sweep.unwrap();
        assert_eq!(s.kind, SweepKind::Zip);
        assert_eq!(s.params[0].values, [128.0, 128.0, 512.0, 512.0]);
        assert_eq!(s.params[2].values, [1.0, 4.0, 1.0, 4.0]);
        let e = expand_named("pareto-sweep", &["--isl-osl-pairs", "128/128"]).unwrap();
        assert_eq!(
            e.sweep.unwrap().params[2].values,
            [1.0, 4.0, 16.0, 64.0, 256.0]
        );
    }

    #[test]
    fn errors_name_the_recipe_and_the_flag() {
        let cases: &[(&str, &[&str], &str)] = &[
            (
                "max-throughput-ttft-sla",
                &[],
                "recipe 'max-throughput-ttft-sla' requires --ttft-sla-ms",
            ),
            (
                "max-throughput-ttft-sla",
                &[
                    "--ttft-sla-ms",
                    "200",
                    "--search-space",
                    "concurrency:1,500:int",
                ],
                "mutually exclusive with explicit --search-* flags [\"search_space\"]",
            ),
            (
                "max-throughput-itl-sla",
                &["--itl-sla-ms", "5", "--tpot-sla-ms", "6"],
                "conflict",
            ),
            (
                "max-concurrency-under-sla",
                &[],
                "requires at least one SLA",
            ),
            (
                "max-concurrency-under-sla",
                &["--error-rate-sla", "5"],
                "--error-rate-sla is a fraction",
            ),
            (
                "concurrency-ramp",
                &["--concurrency", "1,2"],
                "owns the swept values; drop the list on --concurrency",
            ),
            (
                "concurrency-ramp",
                &["--search-max-iterations", "5"],
                "has no search loop to tune",
            ),
            (
                "concurrency-ramp",
                &["--concurrency-min", "0"],
                "0 < min < max",
            ),
            (
                "pareto-sweep",
                &["--isl-osl-pairs", "128"],
                "'128' expected '<isl>/<osl>' (one slash)",
            ),
            (
                "pareto-sweep",
                &["--isl-osl-pairs", "0/128"],
                "'0/128' both sides must be a positive int",
            ),
            (
                "pareto-sweep",
                &["--isl-osl-pairs", "128/128,128/128"],
                "duplicate pair '128/128'",
            ),
            (
                "pareto-sweep",
                &["--isl-osl-pairs", "128/128", "--concurrency", "64"],
                "a Pareto sweep with a single point is meaningless",
            ),
            ("pareto-sweep", &[], "requires --isl-osl-pairs"),
            (
                "max-throughput-ttft-sla",
                &["--ttft-sla-ms", "200", "--concurrency", "1,2"],
                "drop the list on --concurrency",
            ),
        ];
        for (name, extra, needle) in cases {
            let e = expand_named(name, extra).unwrap_err().to_string();
            assert!(e.contains(needle), "{name} {extra:?}: {e}");
        }
        let e = expand(&load("prefill-ttft-curve").unwrap(), &args(&[]), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "recipe 'prefill-ttft-curve' requires --streaming (TTFT is a streaming-only metric)"
            ),
            "{e}"
        );
        // max-concurrency-under-sla needs streaming only for TTFT/ITL SLAs.
        assert!(
            expand(
                &load("max-concurrency-under-sla").unwrap(),
                &args(&["--e2e-sla-ms", "5"]),
                false
            )
            .is_ok()
        );
        assert!(
            expand(
                &load("max-concurrency-under-sla").unwrap(),
                &args(&["--ttft-sla-ms", "5"]),
                false
            )
            .is_err()
        );
        assert!(
            load("no-such-recipe")
                .unwrap_err()
                .to_string()
                .contains("built-in recipes: max-throughput-ttft-sla")
        );
    }

    #[test]
    fn user_recipe_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mine.toml");
        std::fs::write(&path, "name = \"mine\"\ndescription = \"d\"\n[grid]\nconcurrency = { values = [1, 2] }\n[post_process]\nhandler = \"degradation_knee\"\noutput = \"k.json\"\nparams = { param = \"concurrency\", metric = \"request_latency\", stat = \"p99\", threshold_pct = 0.1 }\n").unwrap();
        let e = expand(&load(path.to_str().unwrap()).unwrap(), &args(&[]), false).unwrap();
        assert_eq!(e.sweep.unwrap().params[0].values, [1.0, 2.0]);
        // Handler parameters are checked before anything runs.
        for (params, needle) in [
            (
                "param = \"concurrency\", metric = \"request_latency\", stat = \"p99\", thresh_pct = 0.1",
                "unknown field `thresh_pct`",
            ),
            (
                "param = \"concurrency\", metric = \"request_latency\", stat = \"p42\", threshold_pct = 0.1",
                "statistic \"p42\" is unknown",
            ),
        ] {
            std::fs::write(&path, format!("name = \"mine\"\ndescription = \"d\"\n[grid]\nconcurrency = {{ values = [1, 2] }}\n[post_process]\nhandler = \"degradation_knee\"\noutput = \"k.json\"\nparams = {{ {params} }}\n")).unwrap();
            let err = expand(&load(path.to_str().unwrap()).unwrap(), &args(&[]), false)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("recipe 'mine'") && err.contains(needle),
                "{err}"
            );
        }
        std::fs::write(&path, "name = \"mine\"\ndescription = \"d\"\nsearh = 1\n").unwrap();
        let err = load(path.to_str().unwrap()).unwrap_err().to_string();
        assert!(err.contains("unknown field `searh`"), "{err}");
        std::fs::write(&path, "name = \"mine\"\ndescription = \"d\"\n").unwrap();
        assert!(
            load(path.to_str().unwrap())
                .unwrap_err()
                .to_string()
                .contains("needs a [search] or a [grid] table")
        );
        std::fs::write(&path, "name = \"x\"\ndescription = \"d\"\n[grid]\nconcurrency = { values = [1, 2] }\n[post_process]\nhandler = \"nope\"\noutput = \"o.json\"\n").unwrap();
        assert!(
            load(path.to_str().unwrap())
                .unwrap_err()
                .to_string()
                .contains("post_process.handler \"nope\" is unknown")
        );
    }
}
