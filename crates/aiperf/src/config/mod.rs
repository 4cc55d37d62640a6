//! Flags become settings: `cli` parses, this resolves and validates, section by section
//! (endpoint, input, load, plan, search, telemetry, output), and decides the plan (a single run,
//! a sweep or repeated runs, a search, a recipe). Clap types stop here; the environment is
//! read only here. Every error names the flag and says how to fix it.

mod dataset;
mod endpoint;
pub mod file;
mod input;
mod load;
mod media;
mod network;
mod output;
mod plan;
mod public;
mod publish;
mod recipe;
mod replay;
mod search;
mod server_control;
mod shaping;
mod telemetry;
#[cfg(test)]
mod tests;

use crate::UsageError;
use crate::cli::profile::{ProfileArgs, SweepModeArg, UiArg};
use crate::settings::{
    HubAccess, LoadConfig, MultiRunConfig, OutputConfig, ProfileConfig, SearchConfig, Secret,
    ShardConfig, SimTarget, SweepConfig, SweepMode, UiMode,
};

pub use self::load::resolve_shard;
pub use self::output::parse_goodput;

/// Default mean input length of synthetic prompts, as the reference tool.
pub const DEFAULT_ISL: u32 = 550;

/// What `aiperf profile` runs, decided once when the flags are resolved.
#[derive(Debug)]
pub enum Plan {
    /// One benchmark.
    Single(ProfileConfig),
    /// Several benchmarks: a parameter sweep (from the flags or a recipe's grid), repeated
    /// trials, or both.
    Sweep(ProfileConfig),
    /// A search for the best value of a metric (from `--search-space` or a recipe).
    Search(ProfileConfig),
}

impl Plan {
    pub fn config(&self) -> &ProfileConfig {
        match self {
            Plan::Single(c) | Plan::Sweep(c) | Plan::Search(c) => c,
        }
    }
}

/// A resolved `aiperf profile` command line: the plan and what follows it.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    /// Write the HTML report when the plan finishes (`--auto-plot`, or a recipe that asks for
    /// it, unless `--no-auto-plot`).
    pub auto_plot: bool,
    /// A report that cannot be written fails the command (`--plot-required`).
    pub plot_required: bool,
}

/// Validates `args` and decides what runs. `argv` is the command line, recorded (with secrets
/// redacted) in the artifacts.
pub fn plan(args: &ProfileArgs, argv: &[String]) -> Result<Planned, UsageError> {
    let (config, recipe_plots) = resolve_all(args, argv)?;
    let plan = if config.search.is_some() {
        Plan::Search(config)
    } else if config.sweep.is_some() || config.multi_run.num_runs > 1 {
        Plan::Sweep(config)
    } else {
        Plan::Single(config)
    };
    let auto_plot = (args.output.auto_plot || recipe_plots) && !args.output.no_auto_plot;
    Ok(Planned {
        plan,
        auto_plot,
        plot_required: args.output.plot_required,
    })
}

/// Validates `args` into a configuration. `argv` is the command line, recorded (with secrets
/// redacted) in the artifacts.
pub fn resolve(args: &ProfileArgs, argv: &[String]) -> Result<ProfileConfig, UsageError> {
    resolve_all(args, argv).map(|(config, _)| config)
}

/// The configuration, and whether a recipe asked for the HTML report.
fn resolve_all(args: &ProfileArgs, argv: &[String]) -> Result<(ProfileConfig, bool), UsageError> {
    check_unsupported(args)?;
    let sim = endpoint::resolve_sim(args)?;
    let models = resolve_models(args, sim.as_ref())?;
    let endpoint = endpoint::resolve_endpoint(args, sim.is_some())?;
    let tokenizer = input::resolve_tokenizer(args, sim.as_ref(), &endpoint, &models)?;
    let input = input::resolve_input(args)?;
    let media = media::resolve_media(args)?;
    endpoint::check_embeddings(args, &endpoint)?;
    let load = load::resolve_load(args)?;
    let dataset = dataset::resolve_dataset(args, &input, &endpoint, load.fixed_schedule)?;
    let polling = endpoint::resolve_polling(args, &endpoint, &media)?;
    let plan = resolve_plan(args)?;
    let repeated = plan.is_repeated();
    let ui = resolve_ui(args, repeated)?;
    let random_seed = match args.input.random_seed {
        Some(seed) => seed,
        None if repeated && args.multi.set_consistent_seed => 42,
        // Below 2⁵³, so JSON readers that hold numbers as doubles (JavaScript, pandas'
        // float columns) keep it exactly.
        None => uuid::Uuid::new_v4().as_u64_pair().0 & ((1 << 53) - 1),
    };
    let Shape {
        sweep,
        mut search,
        multi_run,
        recipe,
    } = plan;
    let recipe_plots = recipe.as_ref().is_some_and(|e| e.auto_plot);
    if let Some(s) = search.as_mut()
        && args.search.search_random_seed.is_none()
    {
        s.seed = random_seed;
    }
    let goodput =
        output::resolve_goodput(args, recipe.as_ref().map(|e| &e.goodput[..]), &endpoint)?;
    let shard = resolve_shard(args)?;
    check_shard(shard.as_ref(), repeated, &load)?;
    let config = ProfileConfig {
        models,
        model_selection: args.endpoint.model_selection_strategy,
        endpoint,
        polling,
        server_control: server_control::resolve(args)?,
        tokenizer,
        input,
        dataset,
        media,
        random_seed,
        load,
        goodput,
        network_latency: network::resolve_network_latency(args)?,
        output: OutputConfig {
            artifact_dir: args.output.artifact_dir.clone(),
            export_level: args.output.export_level,
            slice_duration_secs: output::slice_duration(args.output.slice_duration)?,
            server_metrics: telemetry::resolve_server_metrics(args)?,
            gpu_telemetry: telemetry::resolve_gpu_telemetry(args)?,
            export_http_trace: args.http_trace.export_http_trace,
            show_trace_timing: args.http_trace.show_trace_timing,
            export_prefix: output::export_prefix(args)?,
            export_outputs_json: args.output.export_outputs_json,
        },
        ui,
        sim,
        multi_run,
        sweep,
        resume: args.multi.resume,
        search,
        post_process: recipe.as_ref().and_then(|e| e.post_process.clone()),
        recipe: recipe.as_ref().map(|e| e.name.clone()),
        cli_command: command_line(argv),
        config_file: args.config_file.config.clone(),
        shard,
        hub: hub_access(),
    };
    Ok((config, recipe_plots))
}

/// `HF_HUB_OFFLINE` (any of 1/true/yes/on, as the Hugging Face libraries read it) and
/// `HF_TOKEN`.
fn hub_access() -> HubAccess {
    let offline = std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    });
    let token = std::env::var("HF_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .map(Secret::new);
    HubAccess { offline, token }
}

/// The Python AIPerf's flags whose work is done differently here, or not at all: mapped onto
/// ours, noted on stderr, or refused with what to do instead.
fn check_unsupported(args: &ProfileArgs) -> Result<(), UsageError> {
    search::check_planner_options(args)?;
    plan::check_variants(args)?;
    publish::check(args)
}

/// `--model`, or the simulator preset's model.
fn resolve_models(args: &ProfileArgs, sim: Option<&SimTarget>) -> Result<Vec<String>, UsageError> {
    match (sim, args.endpoint.models.is_empty()) {
        (_, false) => {
            if let Some(bad) = args.endpoint.models.iter().find(|m| m.trim().is_empty()) {
                return Err(UsageError::new(format!(
                    "--model: empty model name {bad:?}; give names separated by commas"
                )));
            }
            Ok(args.endpoint.models.clone())
        }
        (Some(sim), true) => {
            let preset = aiperf_sim::presets::find(&sim.preset).expect("preset checked");
            Ok(vec![preset.model.to_owned()])
        }
        (None, true) => Err(UsageError::new(
            "--model is required: name the model the server serves (e.g. -m Qwen/Qwen3-0.6B), \
             or add --sim to benchmark the built-in simulator",
        )),
    }
}

/// What runs around the benchmark: a sweep, repeated runs, a search, from flags or a recipe.
struct Shape {
    sweep: Option<SweepConfig>,
    search: Option<SearchConfig>,
    multi_run: MultiRunConfig,
    recipe: Option<recipe::Expansion>,
}

impl Shape {
    /// More than one benchmark.
    fn is_repeated(&self) -> bool {
        self.sweep.is_some() || self.multi_run.num_runs > 1 || self.search.is_some()
    }
}

fn resolve_plan(args: &ProfileArgs) -> Result<Shape, UsageError> {
    let sweep = plan::resolve_sweep(args)?;
    let multi_run = plan::resolve_multi_run(args)?;
    let recipe = match &args.recipe.search_recipe {
        Some(name) => {
            let r = crate::recipes::load(name)?;
            let streaming = args.endpoint.streaming && !args.endpoint.no_streaming;
            Some(recipe::expand(&r, args, streaming)?)
        }
        None => None,
    };
    let (sweep, search) = match &recipe {
        Some(e) => {
            // A recipe's grid is a sweep like any other: the user's order, cooldown and
            // seeding apply to it.
            let sweep = e.sweep.clone().map(|mut s| {
                let m = &args.multi;
                s.mode = match m.parameter_sweep_mode {
                    SweepModeArg::Repeated => SweepMode::Repeated,
                    SweepModeArg::Independent => SweepMode::Independent,
                };
                s.cooldown_secs = m.parameter_sweep_cooldown_seconds;
                s.same_seed = m.parameter_sweep_same_seed;
                s
            });
            if sweep.is_some() {
                plan::cooldown(
                    "--parameter-sweep-cooldown-seconds",
                    args.multi.parameter_sweep_cooldown_seconds,
                )?;
            }
            (sweep, e.search.clone())
        }
        None => {
            let search = search::resolve_search(args, sweep.as_ref())?;
            (sweep, search)
        }
    };
    if sweep.is_none() {
        plan::warn_unused_sweep_flags(args);
    }
    if multi_run.convergence.is_some() {
        if search.is_some() {
            return Err(UsageError::new(
                "--convergence-metric cannot be combined with a search: the search decides how \
                 many benchmarks to run",
            ));
        }
        if sweep
            .as_ref()
            .is_some_and(|s| s.mode == SweepMode::Repeated)
        {
            return Err(UsageError::new(
                "--convergence-metric stops the runs of one sweep value early, which needs them \
                 back to back: add --parameter-sweep-mode independent",
            ));
        }
    }
    Ok(Shape {
        sweep,
        search,
        multi_run,
        recipe,
    })
}

/// `--ui`: the dashboard on a terminal for a single run; sweeps print a line per run.
fn resolve_ui(args: &ProfileArgs, repeated: bool) -> Result<UiMode, UsageError> {
    if repeated && args.output.ui == Some(UiArg::Dashboard) {
        return Err(UsageError::new(
            "--ui dashboard: Dashboard UI is not supported with parameter sweeps due to terminal \
             control limitations. Please use '--ui simple' or '--ui none' instead.",
        ));
    }
    Ok(match args.output.ui {
        Some(UiArg::Simple) => UiMode::Simple,
        Some(UiArg::None) => UiMode::None,
        Some(UiArg::Dashboard) => UiMode::Dashboard,
        None if !repeated && std::io::IsTerminal::is_terminal(&std::io::stderr()) => {
            UiMode::Dashboard
        }
        None => UiMode::Simple,
    })
}

/// A sharded benchmark is one benchmark, with at least one concurrent request per shard.
fn check_shard(
    shard: Option<&ShardConfig>,
    repeated: bool,
    load: &LoadConfig,
) -> Result<(), UsageError> {
    let Some(s) = shard else {
        return Ok(());
    };
    if repeated {
        return Err(UsageError::new(
            "--shards splits one benchmark; it cannot be combined with sweeps, repeated runs \
             or searches (run those with `aiperf kube sweep`)",
        ));
    }
    if let Some(c) = load.concurrency
        && c < s.count
    {
        return Err(UsageError::new(format!(
            "--shards {}: more shards than --concurrency {c}; every shard needs at least one \
             concurrent request",
            s.count
        )));
    }
    Ok(())
}

/// The command line as a shell would take it, with credentials replaced by `<redacted>`; the
/// program by its name (`aiperf profile ...`), as the reference tool records it.
fn command_line(argv: &[String]) -> String {
    let mut out = Vec::with_capacity(argv.len());
    let mut redact_next = false;
    for (i, arg) in argv.iter().enumerate() {
        let shown = if i == 0 {
            std::path::Path::new(arg)
                .file_name()
                .map_or_else(|| arg.clone(), |n| n.to_string_lossy().into_owned())
        } else if redact_next {
            redact_next = false;
            crate::settings::REDACTED.to_owned()
        } else if let Some((flag, _)) = arg.split_once('=')
            && flag == "--api-key"
        {
            format!("--api-key={}", crate::settings::REDACTED)
        } else if arg == "--api-key" {
            redact_next = true;
            arg.clone()
        } else if i > 0
            && matches!(argv[i - 1].as_str(), "-H" | "--header")
            && arg
                .split_once(':')
                .is_some_and(|(n, _)| endpoint::is_credential(n))
        {
            let (name, _) = arg.split_once(':').unwrap_or((arg, ""));
            format!("{name}:{}", crate::settings::REDACTED)
        } else {
            arg.clone()
        };
        out.push(shell_quote(&shown));
    }
    out.join(" ")
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Plans never hold credentials (they are written as `<redacted>`): the API key comes back
/// from `AIPERF_API_KEY` (in Kubernetes, from the Secret `aiperf kube` creates), and the hub
/// access from this environment.
pub fn restore_credentials(config: &mut ProfileConfig) -> Result<(), UsageError> {
    use crate::settings::REDACTED;
    config.hub = hub_access();
    let endpoint = &mut config.endpoint;
    if endpoint
        .api_key
        .as_ref()
        .is_some_and(|k| k.expose() == REDACTED)
    {
        let key = std::env::var("AIPERF_API_KEY")
            .ok()
            .filter(|k| !k.is_empty());
        let Some(key) = key else {
            return Err(UsageError::new(
                "--plan: the plan was made with --api-key, which plans never contain; set \
                 AIPERF_API_KEY (in Kubernetes the pods get it from the run's Secret)",
            ));
        };
        endpoint.api_key = Some(Secret::new(key));
    }
    if let Some(h) = endpoint
        .headers
        .iter()
        .find(|h| h.value.expose() == REDACTED)
    {
        return Err(UsageError::new(format!(
            "--plan: header {} holds a credential, which plans never contain; pass the \
             credential with --api-key (AIPERF_API_KEY) instead",
            h.name
        )));
    }
    Ok(())
}
