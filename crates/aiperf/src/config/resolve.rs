//! `aiperf profile` flags → [`ProfileConfig`], with every check that can be made before
//! anything runs. Each error names the flag and says how to fix it.

use std::path::Path;

use serde_json::{Map, Value};

use crate::UsageError;
use crate::cli::profile::{ArrivalPattern, ProfileArgs, UiArg};
use crate::cli::profile::{SweepModeArg, SweepTypeArg};
use crate::endpoints::Endpoint;
use crate::metrics::GOODPUT_METRICS;
use crate::settings::{
    Arrival, Convergence, ConvergenceMode, DatasetFileKind, Encoding, EndpointConfig, EndpointKind,
    ExportLevel, GoodputTarget, Header, HeaderValue, InputConfig, LengthDist, LoadConfig,
    MultiRunConfig, OutputConfig, Param, PrefixShape, ProfileConfig, Sampling, SearchConfig,
    Secret, SessionShape, SimTarget, StopCondition, SweepConfig, SweepKind, SweepMode, SweepParam,
    TokenizerSpec, UiMode,
};

/// Default mean input length of synthetic prompts, as the reference tool.
pub const DEFAULT_ISL: u32 = 550;

/// Validates `args` into a configuration. `argv` is the command line, recorded (with secrets
/// redacted) in the artifacts.
pub fn resolve(args: &ProfileArgs, argv: &[String]) -> Result<ProfileConfig, UsageError> {
    args.unsupported.check().map_err(UsageError::new)?;
    if args.unsupported.bo_constraint_mode.is_some() {
        if args.recipe.search_recipe.is_some() {
            return Err(UsageError::new(
                "--search-recipe is mutually exclusive with --bo-constraint-mode; drop it (the \
                 recipe defines the search)",
            ));
        }
        tracing::warn!(
            "--bo-constraint-mode is ignored (as in the reference tool): SLA constraints are \
             always modelled, expected improvement times the probability of meeting them"
        );
    }
    let sim = resolve_sim(args)?;
    let models = match (&sim, args.endpoint.models.is_empty()) {
        (_, false) => {
            if let Some(bad) = args.endpoint.models.iter().find(|m| m.trim().is_empty()) {
                return Err(UsageError::new(format!(
                    "--model: empty model name {bad:?}; give names separated by commas"
                )));
            }
            args.endpoint.models.clone()
        }
        (Some(sim), true) => {
            let preset = aiperf_sim::presets::find(&sim.preset).expect("preset checked");
            vec![preset.model.to_owned()]
        }
        (None, true) => {
            return Err(UsageError::new(
                "--model is required: name the model the server serves (e.g. -m Qwen/Qwen3-0.6B), \
                 or add --sim to benchmark the built-in simulator",
            ));
        }
    };

    let endpoint = resolve_endpoint(args, sim.is_some())?;
    let tokenizer = match (&args.tokenizer.tokenizer, &sim) {
        (None, Some(_)) => TokenizerSpec::Builtin {
            encoding: Encoding::O200kBase,
        },
        (Some(name), Some(_)) if name == "server" => {
            return Err(UsageError::new(
                "--tokenizer server: the built-in simulator counts with o200k_base, which aiperf \
                 already uses with --sim; drop --tokenizer (or run `aiperf sim` and point --url \
                 at it)",
            ));
        }
        (Some(name), None) if name == "server" => TokenizerSpec::Server {
            url: endpoint.urls[0].clone(),
            model: models[0].clone(),
        },
        (name, _) => TokenizerSpec::resolve(
            name.as_deref(),
            &models[0],
            &args.tokenizer.tokenizer_revision,
        ),
    };
    let input = resolve_input(args)?;
    check_embeddings(args, &endpoint)?;
    let load = resolve_load(args)?;
    let mut goodput = parse_goodput(&args.output.goodput)?;
    let sweep = resolve_sweep(args)?;
    let multi_run = resolve_multi_run(args)?;
    let recipe = match &args.recipe.search_recipe {
        Some(name) => {
            let r = crate::recipes::load(name)?;
            let streaming = args.endpoint.streaming && !args.endpoint.no_streaming;
            Some(super::recipe::expand(&r, args, streaming)?)
        }
        None => None,
    };
    let (sweep, mut search) = match &recipe {
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
                cooldown(
                    "--parameter-sweep-cooldown-seconds",
                    args.multi.parameter_sweep_cooldown_seconds,
                )?;
            }
            (sweep, e.search.clone())
        }
        None => {
            let search = resolve_search(args, sweep.as_ref())?;
            (sweep, search)
        }
    };
    if sweep.is_none() {
        warn_unused_sweep_flags(args);
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
    let repeated = sweep.is_some() || multi_run.num_runs > 1 || search.is_some();
    if repeated && args.output.ui == Some(UiArg::Dashboard) {
        return Err(UsageError::new(
            "--ui dashboard: Dashboard UI is not supported with parameter sweeps due to terminal \
             control limitations. Please use '--ui simple' or '--ui none' instead.",
        ));
    }
    let ui = match args.output.ui {
        Some(UiArg::Simple) => UiMode::Simple,
        Some(UiArg::None) => UiMode::None,
        Some(UiArg::Dashboard) => UiMode::Dashboard,
        // The dashboard on a terminal for a single run; sweeps print a line per run.
        None if !repeated && std::io::IsTerminal::is_terminal(&std::io::stderr()) => {
            UiMode::Dashboard
        }
        None => UiMode::Simple,
    };
    let random_seed = match args.input.random_seed {
        Some(seed) => seed,
        None if repeated && args.multi.set_consistent_seed => 42,
        // Below 2⁵³, so JSON readers that hold numbers as doubles (JavaScript, pandas'
        // float columns) keep it exactly.
        None => uuid::Uuid::new_v4().as_u64_pair().0 & ((1 << 53) - 1),
    };
    if let Some(s) = search.as_mut()
        && args.search.search_random_seed.is_none()
    {
        s.seed = random_seed;
    }

    if let Some(e) = &recipe {
        for g in &e.goodput {
            goodput.retain(|t| t.tag != g.tag);
            goodput.push(g.clone());
        }
    }
    // A target on a metric this run does not measure would fail every request; like the
    // reference tool, ignore it, but say so.
    goodput.retain(|t| {
        let measured = match t.tag.as_str() {
            "request_latency" => true,
            "e2e_output_token_throughput" => endpoint_of(&endpoint).generates(),
            _ => endpoint.streaming,
        };
        if !measured {
            tracing::warn!(
                "--goodput {}: not measured in this run ({}); the target is ignored",
                t.tag,
                if endpoint_of(&endpoint).generates() {
                    "it needs --streaming"
                } else {
                    "the endpoint generates no tokens"
                }
            );
        }
        measured
    });
    let shard = resolve_shard(args)?;
    if shard.is_some() && (sweep.is_some() || multi_run.num_runs > 1 || search.is_some()) {
        return Err(UsageError::new(
            "--shards splits one benchmark; it cannot be combined with sweeps, repeated runs \
             or searches (run those with `aiperf kube sweep`)",
        ));
    }
    if let (Some(s), Some(c)) = (&shard, load.concurrency)
        && c < s.count
    {
        return Err(UsageError::new(format!(
            "--shards {}: more shards than --concurrency {c}; every shard needs at least one \
             concurrent request",
            s.count
        )));
    }
    Ok(ProfileConfig {
        models,
        model_selection: args.endpoint.model_selection_strategy,
        endpoint,
        tokenizer,
        input,
        random_seed,
        load,
        goodput,
        output: OutputConfig {
            artifact_dir: args.output.artifact_dir.clone(),
            export_level: args.output.export_level,
            server_metrics: resolve_server_metrics(args)?,
            gpu_telemetry: resolve_gpu_telemetry(args)?,
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
        shard,
    })
}

fn resolve_server_metrics(
    args: &ProfileArgs,
) -> Result<crate::settings::ServerMetricsConfig, UsageError> {
    let o = &args.output;
    let interval = o.server_metrics_interval_ms;
    if !(interval.is_finite() && interval >= 1.0) {
        return Err(UsageError::new(format!(
            "--server-metrics-interval-ms must be at least 1 millisecond, got {interval}"
        )));
    }
    let urls = o
        .server_metrics
        .iter()
        .map(|u| {
            normalize_url(u).map_err(|e| UsageError::new(e.0.replace("--url", "--server-metrics")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut jsonl = false;
    for f in &o.server_metrics_formats {
        match f.trim().to_ascii_lowercase().as_str() {
            "json" | "csv" => {}
            "jsonl" => jsonl = true,
            other => {
                return Err(UsageError::new(format!(
                    "--server-metrics-formats: unknown format {other:?}; use json, csv or jsonl \
                     (json and csv are always written)"
                )));
            }
        }
    }
    Ok(crate::settings::ServerMetricsConfig {
        enabled: !o.no_server_metrics,
        urls,
        interval_ms: interval,
        jsonl,
    })
}

/// `--shards N --shard-index I` (with the clock and start options), checked.
pub fn resolve_shard(
    args: &ProfileArgs,
) -> Result<Option<crate::settings::ShardConfig>, UsageError> {
    let d = &args.distributed;
    let (Some(count), Some(index)) = (d.shards, d.shard_index) else {
        if d.shards.is_some() {
            return Err(UsageError::new(
                "--shards N needs --shard-index I (which shard this process runs); \
                 `aiperf kube profile --shards N` starts every shard for you",
            ));
        }
        return Ok(None);
    };
    if count == 0 {
        return Err(UsageError::new("--shards must be at least 1"));
    }
    if index >= count {
        return Err(UsageError::new(format!(
            "--shard-index {index} is out of range for --shards {count} (use 0 to {})",
            count - 1
        )));
    }
    if let Some(clock) = &d.shard_clock
        && let Err(e) = crate::shard::split(clock)
    {
        return Err(UsageError::new(e.to_string()));
    }
    if let Some(t) = d.shard_start_at
        && !(t.is_finite() && t > 0.0)
    {
        return Err(UsageError::new(format!(
            "--shard-start-at must be a Unix time in seconds, got {t}"
        )));
    }
    Ok(Some(crate::settings::ShardConfig {
        count,
        index,
        clock: d.shard_clock.clone(),
        start_at: d.shard_start_at,
    }))
}

fn resolve_gpu_telemetry(
    args: &ProfileArgs,
) -> Result<crate::settings::GpuTelemetryConfig, UsageError> {
    let o = &args.output;
    let interval = o.gpu_telemetry_interval_ms;
    if !(interval.is_finite() && interval >= 1.0) {
        return Err(UsageError::new(format!(
            "--gpu-telemetry-interval-ms must be at least 1 millisecond, got {interval}"
        )));
    }
    let given = o.gpu_telemetry.as_deref().unwrap_or_default();
    if o.no_gpu_telemetry && !given.is_empty() {
        return Err(UsageError::new(
            "--no-gpu-telemetry contradicts --gpu-telemetry URLs; drop one of them",
        ));
    }
    let mut urls = Vec::new();
    for v in given {
        match v.as_str() {
            "dashboard" => {}
            "pynvml" | "amdsmi" => {
                return Err(UsageError::new(format!(
                    "--gpu-telemetry {v}: only DCGM exporter endpoints are supported; run \
                     nvidia's dcgm-exporter next to the server and pass its URL, e.g. \
                     --gpu-telemetry http://localhost:9400/metrics"
                )));
            }
            _ if v.ends_with(".csv") => {
                return Err(UsageError::new(format!(
                    "--gpu-telemetry {v}: custom DCGM field files are not supported; the \
                     standard fields (power, energy, utilisation, memory, temperature, clocks) \
                     are always read"
                )));
            }
            _ => {
                let url = normalize_url(v)
                    .map_err(|e| UsageError::new(e.0.replace("--url", "--gpu-telemetry")))?;
                // A bare exporter address gets the conventional path.
                let has_path = url
                    .parse::<http::Uri>()
                    .is_ok_and(|u| !matches!(u.path(), "" | "/"));
                let url = if has_path {
                    url
                } else {
                    format!("{url}/metrics")
                };
                if !urls.contains(&url) {
                    urls.push(url);
                }
            }
        }
    }
    Ok(crate::settings::GpuTelemetryConfig {
        enabled: !o.no_gpu_telemetry,
        urls,
        interval_ms: interval,
    })
}

fn resolve_sim(args: &ProfileArgs) -> Result<Option<SimTarget>, UsageError> {
    let Some(preset) = &args.sim.sim else {
        if args.sim.sim_speedup.is_some() {
            return Err(UsageError::new(
                "--sim-speedup only applies with --sim; add --sim or drop --sim-speedup",
            ));
        }
        return Ok(None);
    };
    let Some(found) = aiperf_sim::presets::find(preset) else {
        let names: Vec<&str> = aiperf_sim::presets::PRESETS
            .iter()
            .map(|p| p.name)
            .collect();
        return Err(UsageError::new(format!(
            "--sim: unknown preset {preset:?}; choose one of {}",
            names.join(", ")
        )));
    };
    if !args.endpoint.urls.is_empty() {
        return Err(UsageError::new(
            "--sim and --url conflict: --sim benchmarks the built-in simulator on a loopback \
             port; drop one of them",
        ));
    }
    let speedup = args.sim.sim_speedup.unwrap_or(1.0);
    if !(speedup.is_finite() && speedup > 0.0) {
        return Err(UsageError::new(format!(
            "--sim-speedup must be a positive number, got {speedup}"
        )));
    }
    Ok(Some(SimTarget {
        preset: found.name.to_owned(),
        speedup,
    }))
}

fn resolve_endpoint(args: &ProfileArgs, sim: bool) -> Result<EndpointConfig, UsageError> {
    let a = &args.endpoint;
    let kind = endpoint_type(&a.endpoint_type)?;
    let urls = if sim {
        Vec::new() // filled in once the simulator is listening
    } else if a.urls.is_empty() {
        vec!["http://localhost:8000".to_owned()]
    } else {
        a.urls
            .iter()
            .map(|u| normalize_url(u))
            .collect::<Result<_, _>>()?
    };
    let path = match &a.endpoint {
        Some(p) if p.trim().is_empty() => {
            return Err(UsageError::new(
                "--endpoint: empty path; give e.g. /v1/chat/completions",
            ));
        }
        Some(p) if p.starts_with('/') => p.clone(),
        Some(p) => format!("/{p}"),
        None => kind.default_path().to_owned(),
    };
    let urls = urls.into_iter().map(|url| base_url(url, &path)).collect();
    if !(a.request_timeout_seconds.is_finite() && a.request_timeout_seconds > 0.0) {
        return Err(UsageError::new(format!(
            "--request-timeout-seconds must be a positive number of seconds, got {}",
            a.request_timeout_seconds
        )));
    }
    let mut headers = Vec::new();
    for h in &a.headers {
        headers.extend(parse_headers(h)?);
    }
    let mut extra_inputs = Map::new();
    for e in &a.extra_inputs {
        for (k, v) in parse_extra_input(e)? {
            extra_inputs.insert(k, v);
        }
    }
    Ok(EndpointConfig {
        urls,
        kind: EndpointKind(a.endpoint_type.clone()),
        path,
        streaming: a.streaming && !a.no_streaming,
        timeout_secs: a.request_timeout_seconds,
        api_key: a.api_key.clone().filter(|k| !k.is_empty()).map(Secret::new),
        headers,
        extra_inputs,
        use_server_token_count: a.use_server_token_count,
        use_legacy_max_tokens: a.use_legacy_max_tokens,
        connection_warmup: a.connection_warmup,
        connection_reuse: a.connection_reuse_strategy,
    })
}

/// The base URL the request path is appended to. A URL that already ends with the path
/// (`http://host:8000/v1/chat/completions`) is cut back to its base, as is a trailing `/v1`
/// when the path starts with `/v1/`, so the path is not doubled and `/metrics` is found.
fn base_url(url: String, path: &str) -> String {
    let path = path.trim_end_matches('/');
    let after_host = url.find("://").map_or(0, |i| i + 3);
    let url_path = url[after_host..]
        .find('/')
        .map_or("", |i| &url[after_host + i..]);
    let cut = if !path.is_empty() && url_path.ends_with(path) {
        Some(path.len())
    } else if path.starts_with("/v1/") && url_path.ends_with("/v1") {
        Some("/v1".len())
    } else {
        None
    };
    match cut {
        Some(n) => {
            let base = url[..url.len() - n].to_owned();
            tracing::info!("--url {url} includes the request path; sending to {base}{path}");
            base
        }
        None => url,
    }
}

/// Adds `http://` when no scheme is given and drops a trailing slash.
fn normalize_url(url: &str) -> Result<String, UsageError> {
    let url = url.trim();
    let full = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    let parsed: http::Uri = full.parse().map_err(|e| {
        UsageError::new(format!(
            "--url: {url:?} is not a valid URL ({e}); give e.g. http://localhost:8000"
        ))
    })?;
    match parsed.scheme_str() {
        Some("http" | "https") => {}
        other => {
            return Err(UsageError::new(format!(
                "--url: unsupported scheme {:?} in {url:?}; use http:// or https://",
                other.unwrap_or("")
            )));
        }
    }
    if parsed.host().is_none_or(str::is_empty) {
        return Err(UsageError::new(format!("--url: {url:?} has no host")));
    }
    Ok(full.trim_end_matches('/').to_owned())
}

fn is_credential(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "authorization"
        || n == "proxy-authorization"
        || n.contains("api-key")
        || n.contains("apikey")
        || n.contains("token")
        || n.contains("secret")
        || n == "cookie"
}

fn header(name: &str, value: &str) -> Result<Header, UsageError> {
    let name = name.trim();
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(UsageError::new(format!(
            "--header: {name:?} is not a valid header name; use Name:Value"
        )));
    }
    let value = value.trim();
    if http::HeaderValue::from_str(value).is_err() {
        return Err(UsageError::new(format!(
            "--header {name}: the value has characters a header cannot carry"
        )));
    }
    let value = if is_credential(name) {
        HeaderValue::Secret(Secret::new(value))
    } else {
        HeaderValue::Plain(value.to_owned())
    };
    Ok(Header {
        name: name.to_owned(),
        value,
    })
}

fn parse_headers(raw: &str) -> Result<Vec<Header>, UsageError> {
    if raw.trim_start().starts_with('{') {
        let obj: Map<String, Value> = serde_json::from_str(raw)
            .map_err(|e| UsageError::new(format!("--header: not a JSON object of headers: {e}")))?;
        return obj
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => header(k, s),
                other => header(k, &other.to_string()),
            })
            .collect();
    }
    let Some((name, value)) = raw.split_once(':') else {
        return Err(UsageError::new(format!(
            "--header: {raw:?} is not Name:Value (e.g. -H 'X-Team:perf')"
        )));
    };
    Ok(vec![header(name, value)?])
}

fn parse_extra_input(raw: &str) -> Result<Vec<(String, Value)>, UsageError> {
    if raw.trim_start().starts_with('{') {
        let obj: Map<String, Value> = serde_json::from_str(raw)
            .map_err(|e| UsageError::new(format!("--extra-inputs: not a JSON object: {e}")))?;
        return Ok(obj.into_iter().collect());
    }
    let Some((key, value)) = raw.split_once(':') else {
        return Err(UsageError::new(format!(
            "--extra-inputs: {raw:?} is not key:value (e.g. --extra-inputs ignore_eos:true)"
        )));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(UsageError::new(format!(
            "--extra-inputs: {raw:?} has an empty key"
        )));
    }
    let value = value.trim();
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok(vec![(key.to_owned(), value)])
}

/// The first value of a flag that accepts a list; a list of several is a sweep, built and
/// validated by [`resolve_sweep`], and the first value is the base configuration.
fn first<T: Copy>(values: &[T]) -> Option<T> {
    values.first().copied()
}

/// The swept flags (those given several values), each value checked.
fn resolve_sweep(args: &ProfileArgs) -> Result<Option<SweepConfig>, UsageError> {
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
fn warn_unused_sweep_flags(args: &ProfileArgs) {
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

/// The explicit `--search-*` flags.
fn resolve_search(
    args: &ProfileArgs,
    sweep: Option<&SweepConfig>,
) -> Result<Option<SearchConfig>, UsageError> {
    use super::search::{parse_sla, parse_space};
    use crate::cli::profile::{DirectionArg, OptunaSamplerArg, PlannerArg, PoolingArg};
    use crate::settings::{Objective, PlannerKind};
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
    let requested = a.search_planner.unwrap_or(PlannerArg::Bayesian);
    if a.optuna_sampler.is_some() && requested != PlannerArg::Optuna {
        return Err(UsageError::new(
            "--optuna-sampler chooses the sampler of --search-planner optuna; add \
             --search-planner optuna or drop --optuna-sampler",
        ));
    }
    let planner = match requested {
        PlannerArg::Optuna if a.optuna_sampler == Some(OptunaSamplerArg::Tpe) => PlannerKind::Tpe,
        // Optuna's GP and BoTorch samplers are Gaussian-process BO, as is `bayesian`.
        PlannerArg::Bayesian | PlannerArg::Optuna => PlannerKind::Bayesian,
        PlannerArg::MonotonicSla => PlannerKind::MonotonicSla,
        PlannerArg::SmoothIsotonic => PlannerKind::SmoothIsotonic,
        PlannerArg::Grid => PlannerKind::Grid,
    };
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
    super::search::check_tunables(a)?;
    let stat = a.search_stat.clone().unwrap_or_else(|| "avg".into());
    let pooled = a.search_percentile_pooling == Some(PoolingArg::Pooled);
    if pooled {
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
    }
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
    }))
}

fn cooldown(flag: &str, secs: f64) -> Result<(), UsageError> {
    if secs.is_finite() && (0.0..=86_400.0).contains(&secs) {
        Ok(())
    } else {
        Err(UsageError::new(format!(
            "{flag} must be between 0 and 86400 seconds, got {secs}"
        )))
    }
}

fn resolve_multi_run(args: &ProfileArgs) -> Result<MultiRunConfig, UsageError> {
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
    })
}

fn resolve_convergence(args: &ProfileArgs) -> Result<Option<Convergence>, UsageError> {
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

fn stddev(flag: &str, v: f64) -> Result<f64, UsageError> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(UsageError::new(format!(
            "{flag} must be zero or positive, got {v}"
        )))
    }
}

fn resolve_input(args: &ProfileArgs) -> Result<InputConfig, UsageError> {
    let a = &args.input;
    let isl = first(&a.isl);
    let osl = first(&a.osl);
    if isl == Some(0) {
        return Err(UsageError::new("--isl must be at least 1 token"));
    }
    let max = crate::dataset::prompts::MAX_PROMPT_TOKENS;
    if let Some(too_long) = a.isl.iter().find(|v| **v > max) {
        return Err(UsageError::new(format!(
            "--isl {too_long} is larger than the supported {max} tokens"
        )));
    }
    if osl == Some(0) {
        return Err(UsageError::new("--osl must be at least 1 token"));
    }
    let isl_stddev = stddev("--isl-stddev", a.isl_stddev)?;
    let osl_stddev = stddev("--osl-stddev", a.osl_stddev)?;
    let osl = osl.map(|m| LengthDist {
        mean: f64::from(m),
        stddev: osl_stddev,
    });
    if let Some(path) = &a.input_file {
        let synthetic_only = [
            ("--num-prefix-prompts", a.num_prefix_prompts != 0),
            ("--prefix-prompt-length", a.prefix_prompt_length != 0),
            (
                "--shared-system-prompt-length",
                a.shared_system_prompt_length != 0,
            ),
            ("--session-turns-mean", a.session_turns_mean != 1.0),
            ("--session-turns-stddev", a.session_turns_stddev != 0.0),
            (
                "--session-turn-delay-mean",
                a.session_turn_delay_mean != 0.0,
            ),
            (
                "--session-turn-delay-stddev",
                a.session_turn_delay_stddev != 0.0,
            ),
        ];
        if let Some((flag, _)) = synthetic_only.iter().find(|f| f.1) {
            return Err(UsageError::new(format!(
                "{flag} shapes synthetic prompts; --input-file brings its own (drop one of them)"
            )));
        }
        if !path.is_file() {
            return Err(UsageError::new(format!(
                "--input-file: {} does not exist or is not a file",
                path.display()
            )));
        }
        let kind = match a.custom_dataset_type {
            Some(kind) => kind,
            None => sniff_kind(path)?,
        };
        if a.isl_block_size == 0 {
            return Err(UsageError::new("--isl-block-size must be at least 1 token"));
        }
        return Ok(InputConfig::File {
            path: path.clone(),
            kind,
            osl,
            sampling: a.dataset_sampling_strategy.unwrap_or(Sampling::Sequential),
            block_tokens: a.isl_block_size,
        });
    }
    if a.custom_dataset_type.is_some() {
        return Err(UsageError::new(
            "--custom-dataset-type needs --input-file: name the file to read",
        ));
    }
    if a.num_dataset_entries == 0 {
        return Err(UsageError::new("--num-dataset-entries must be at least 1"));
    }
    Ok(InputConfig::Synthetic {
        entries: a.num_dataset_entries,
        isl: LengthDist {
            mean: f64::from(isl.unwrap_or(DEFAULT_ISL)),
            stddev: isl_stddev,
        },
        osl,
        sampling: a.dataset_sampling_strategy.unwrap_or(Sampling::Shuffle),
        batch: a.prompt_batch_size,
        sessions: session_shape(a)?,
        prefixes: prefix_shape(a)?,
    })
}

/// `--num-prefix-prompts`, `--prefix-prompt-length`, `--shared-system-prompt-length`.
fn prefix_shape(a: &crate::cli::profile::InputArgs) -> Result<PrefixShape, UsageError> {
    match (a.num_prefix_prompts, a.prefix_prompt_length) {
        (0, 0) => {}
        (0, _) => {
            return Err(UsageError::new(
                "--prefix-prompt-length needs --num-prefix-prompts: how many distinct prefixes \
                 to share (e.g. --num-prefix-prompts 4)",
            ));
        }
        (_, 0) => {
            return Err(UsageError::new(
                "--num-prefix-prompts needs --prefix-prompt-length: the tokens of each prefix \
                 (e.g. --prefix-prompt-length 512)",
            ));
        }
        _ => {}
    }
    Ok(PrefixShape {
        count: a.num_prefix_prompts,
        length: a.prefix_prompt_length,
        system_length: a.shared_system_prompt_length,
    })
}

/// `--session-turns-*` and `--session-turn-delay-*`: the shape of synthetic conversations.
fn session_shape(a: &crate::cli::profile::InputArgs) -> Result<SessionShape, UsageError> {
    let non_negative = |flag: &str, v: f64| {
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(UsageError::new(format!(
                "{flag} must be zero or a positive number, got {v}"
            )))
        }
    };
    if !(a.session_turns_mean.is_finite() && a.session_turns_mean >= 1.0) {
        return Err(UsageError::new(format!(
            "--session-turns-mean must be at least 1 (turns per conversation), got {}",
            a.session_turns_mean
        )));
    }
    let ratio = non_negative("--session-delay-ratio", a.session_delay_ratio)?;
    Ok(SessionShape {
        turns: LengthDist {
            mean: a.session_turns_mean,
            stddev: non_negative("--session-turns-stddev", a.session_turns_stddev)?,
        },
        delay_ms_mean: non_negative("--session-turn-delay-mean", a.session_turn_delay_mean)?
            * ratio,
        delay_ms_stddev: non_negative("--session-turn-delay-stddev", a.session_turn_delay_stddev)?
            * ratio,
    })
}

/// The endpoint type `--endpoint-type` names (checked by clap; a plan file may hold any).
fn endpoint_type(name: &str) -> Result<&'static dyn Endpoint, UsageError> {
    crate::endpoints::by_name(name).ok_or_else(|| {
        let known: Vec<&str> = crate::endpoints::names().collect();
        UsageError::new(format!(
            "--endpoint-type {name:?} is not known; known types: {}",
            known.join(", ")
        ))
    })
}

/// The endpoint type of a resolved endpoint (resolved from a known name).
fn endpoint_of(endpoint: &EndpointConfig) -> &'static dyn Endpoint {
    endpoint_type(endpoint.kind.name()).expect("the endpoint type was checked when resolved")
}

/// What embeddings can and cannot do, and the batch size that only they use.
fn check_embeddings(args: &ProfileArgs, endpoint: &EndpointConfig) -> Result<(), UsageError> {
    let batch = args.input.prompt_batch_size;
    if batch == 0 {
        return Err(UsageError::new("--prompt-batch-size must be at least 1"));
    }
    let kind = endpoint_of(endpoint);
    if batch > 1 && !kind.batches() {
        let batching: Vec<&str> = crate::endpoints::ALL
            .iter()
            .filter(|e| e.batches())
            .map(|e| e.name())
            .collect();
        return Err(UsageError::new(format!(
            "--prompt-batch-size {batch}: batches of texts are sent to --endpoint-type {}; \
             {} requests carry one prompt",
            batching.join(" or "),
            kind.name()
        )));
    }
    if batch > 1 && args.input.input_file.is_some() {
        return Err(UsageError::new(
            "--prompt-batch-size batches synthetic prompts; with --input-file, put the texts of \
             a request together in one line (\"texts\": [...])",
        ));
    }
    if endpoint.streaming && !kind.streams() {
        return Err(UsageError::new(format!(
            "--streaming: {} responses are not streamed; drop --streaming (request latency is \
             measured)",
            kind.name()
        )));
    }
    if !args.input.osl.is_empty() && !kind.generates() {
        return Err(UsageError::new(format!(
            "--osl: {} generate no output tokens; drop --osl",
            kind.name()
        )));
    }
    Ok(())
}

/// The dataset type of a file given without `--custom-dataset-type`, from its first row.
fn sniff_kind(path: &Path) -> Result<DatasetFileKind, UsageError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError::new(format!("--input-file: cannot read {}: {e}", path.display()))
    })?;
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let row: Map<String, Value> = serde_json::from_str(first).map_err(|e| {
        UsageError::new(format!(
            "--input-file: {} line 1 is not a JSON object ({e}); each line should be one \
             row, or set --custom-dataset-type",
            path.display()
        ))
    })?;
    Ok(if row.contains_key("turns") {
        DatasetFileKind::MultiTurn
    } else if row.contains_key("input_length") || row.contains_key("hash_ids") {
        DatasetFileKind::MooncakeTrace
    } else {
        DatasetFileKind::SingleTurn
    })
}

fn resolve_load(args: &ProfileArgs) -> Result<LoadConfig, UsageError> {
    let a = &args.load;
    let concurrency = first(&a.concurrency);
    if concurrency == Some(0) {
        return Err(UsageError::new("--concurrency must be at least 1"));
    }
    let request_rate = first(&a.request_rate);
    if let Some(rate) = request_rate
        && !(rate.is_finite() && rate > 0.0)
    {
        return Err(UsageError::new(format!(
            "--request-rate must be a positive number of requests per second, got {rate}"
        )));
    }
    if let Some(s) = a.arrival_smoothness
        && !(s.is_finite() && s > 0.0)
    {
        return Err(UsageError::new(format!(
            "--arrival-smoothness must be a positive number, got {s}"
        )));
    }
    let pattern = match (a.request_rate_mode, a.arrival_smoothness) {
        (Some(ArrivalPattern::Gamma) | None, Some(_)) => ArrivalPattern::Gamma,
        (Some(other), Some(_)) => {
            return Err(UsageError::new(format!(
                "--arrival-smoothness only applies to gamma arrivals, not {other:?}; add \
                 --arrival-pattern gamma or drop --arrival-smoothness"
            )));
        }
        (Some(p), None) => p,
        (None, None) => ArrivalPattern::Poisson,
    };
    if a.request_rate_mode.is_some() && request_rate.is_none() {
        return Err(UsageError::new(
            "--request-rate-mode (--arrival-pattern) needs --request-rate",
        ));
    }
    let arrival = match pattern {
        ArrivalPattern::Constant => Arrival::Constant,
        ArrivalPattern::Poisson => Arrival::Poisson,
        ArrivalPattern::Gamma => Arrival::Gamma {
            smoothness: a.arrival_smoothness.unwrap_or(1.0),
        },
    };
    let requests = first(&a.request_count);
    if requests == Some(0) {
        return Err(UsageError::new("--request-count must be at least 1"));
    }
    let sessions = a.num_sessions;
    if sessions == Some(0) {
        return Err(UsageError::new("--num-sessions must be at least 1"));
    }
    if sessions.is_some() && requests.is_some() {
        return Err(UsageError::new(
            "--num-sessions and --request-count both say when to stop; give one (sessions \
             count conversations, requests count turns)",
        ));
    }
    let duration = first(&a.benchmark_duration);
    if let Some(d) = duration
        && !(d.is_finite() && d > 0.0)
    {
        return Err(UsageError::new(format!(
            "--benchmark-duration must be a positive number of seconds, got {d}"
        )));
    }
    // `inf` waits for every response however long it takes.
    if a.benchmark_grace_period.is_nan() || a.benchmark_grace_period < 0.0 {
        return Err(UsageError::new(format!(
            "--benchmark-grace-period must be zero, a positive number of seconds or inf, got {}",
            a.benchmark_grace_period
        )));
    }
    if let Some(d) = a.warmup_duration
        && !(d.is_finite() && d > 0.0)
    {
        return Err(UsageError::new(format!(
            "--warmup-duration must be a positive number of seconds, got {d}"
        )));
    }
    let warmup = match (a.warmup_request_count.filter(|&n| n > 0), a.warmup_duration) {
        (None, None) => None,
        (requests, duration_secs) => Some(StopCondition {
            requests,
            duration_secs,
            sessions: None,
        }),
    };
    let fixed_schedule = match (a.fixed_schedule, a.no_fixed_schedule) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    if fixed_schedule == Some(true) {
        if args.input.input_file.is_none() {
            return Err(UsageError::new(
                "--fixed-schedule replays a trace: add --input-file with timestamped rows",
            ));
        }
        if request_rate.is_some() {
            return Err(UsageError::new(
                "--fixed-schedule and --request-rate conflict: the trace's timestamps set the \
                 pace; drop one of them",
            ));
        }
    }
    Ok(LoadConfig {
        concurrency,
        request_rate,
        arrival,
        fixed_schedule,
        stop: StopCondition {
            requests,
            duration_secs: duration,
            sessions,
        },
        // Kept finite so configurations and plans stay valid JSON.
        grace_period_secs: a.benchmark_grace_period.min(f64::MAX),
        warmup,
        warmup_load: match (a.warmup_concurrency, a.warmup_request_rate) {
            (None, None) => None,
            (concurrency, rate) => {
                if warmup.is_none() {
                    return Err(UsageError::new(
                        "--warmup-concurrency and --warmup-request-rate shape a warmup phase: add \
                         --warmup-request-count or --warmup-duration",
                    ));
                }
                if concurrency == Some(0) {
                    return Err(UsageError::new("--warmup-concurrency must be at least 1"));
                }
                if let Some(r) = rate
                    && !(r.is_finite() && r > 0.0)
                {
                    return Err(UsageError::new(format!(
                        "--warmup-request-rate must be a positive number of requests per \
                         second, got {r}"
                    )));
                }
                Some(crate::settings::WarmupLoad { concurrency, rate })
            }
        },
        cancellation: match (a.request_cancellation_rate, a.request_cancellation_delay) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(UsageError::new(
                    "--request-cancellation-delay needs --request-cancellation-rate: say which \
                     share of requests to cancel (e.g. --request-cancellation-rate 10)",
                ));
            }
            (Some(rate), delay) => {
                if !(0.0..=100.0).contains(&rate) {
                    return Err(UsageError::new(format!(
                        "--request-cancellation-rate is a percentage between 0 and 100, got {rate}"
                    )));
                }
                let delay_secs = delay.unwrap_or(0.0);
                if !(delay_secs.is_finite() && delay_secs >= 0.0) {
                    return Err(UsageError::new(format!(
                        "--request-cancellation-delay must be zero or a positive number of \
                         seconds, got {delay_secs}"
                    )));
                }
                Some(crate::settings::Cancellation {
                    rate_pct: rate,
                    delay_secs,
                })
            }
        },
        failed_request_threshold: match a.failed_request_threshold {
            Some(t) if !(t > 0.0 && t <= 1.0) => {
                return Err(UsageError::new(format!(
                    "--failed-request-threshold is the share of requests allowed to fail, \
                     between 0 and 1 (0.1 = 10 %), got {t}"
                )));
            }
            other => other,
        },
    })
}

/// `--goodput "time_to_first_token:200 inter_token_latency:20"` (each flag value may hold
/// several space-separated targets, and the flag may repeat).
pub fn parse_goodput(values: &[String]) -> Result<Vec<GoodputTarget>, UsageError> {
    let mut targets: Vec<GoodputTarget> = Vec::new();
    for item in values.iter().flat_map(|v| v.split_whitespace()) {
        let Some((tag, value)) = item.split_once(':') else {
            return Err(UsageError::new(format!(
                "--goodput: {item:?} is not tag:value (e.g. --goodput \"time_to_first_token:200\")"
            )));
        };
        if !GOODPUT_METRICS.iter().any(|(t, _)| *t == tag) {
            let known: Vec<&str> = GOODPUT_METRICS.iter().map(|(t, _)| *t).collect();
            return Err(UsageError::new(format!(
                "--goodput: unknown metric {tag:?}; choose from {}",
                known.join(", ")
            )));
        }
        let threshold: f64 = value.parse().ok().filter(|v: &f64| v.is_finite() && *v >= 0.0).ok_or_else(|| {
            UsageError::new(format!(
                "--goodput {tag}: {value:?} is not a non-negative number (in the metric's display unit, e.g. ms)"
            ))
        })?;
        if targets.iter().any(|t| t.tag == tag) {
            return Err(UsageError::new(format!("--goodput: {tag} is given twice")));
        }
        targets.push(GoodputTarget {
            tag: tag.to_owned(),
            threshold,
        });
    }
    Ok(targets)
}

/// The command line as a shell would take it, with credentials replaced by `<redacted>`.
fn command_line(argv: &[String]) -> String {
    let mut out = Vec::with_capacity(argv.len());
    let mut redact_next = false;
    for (i, arg) in argv.iter().enumerate() {
        let shown = if redact_next {
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
            && arg.split_once(':').is_some_and(|(n, _)| is_credential(n))
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<ProfileConfig, UsageError> {
        let argv: Vec<String> = ["aiperf", "profile"]
            .iter()
            .chain(args)
            .map(|s| (*s).to_owned())
            .collect();
        let cli = Cli::try_parse_from(&argv).map_err(|e| UsageError::new(e.to_string()))?;
        let Command::Profile(p) = cli.command else {
            unreachable!()
        };
        resolve(&p, &argv)
    }

    #[test]
    fn defaults_match_the_reference_tool() {
        let c = parse(&["-m", "m"]).unwrap();
        assert_eq!(c.endpoint.urls, ["http://localhost:8000"]);
        assert_eq!(c.endpoint.path, "/v1/chat/completions");
        assert!(!c.endpoint.streaming);
        let InputConfig::Synthetic {
            isl, osl, entries, ..
        } = c.input
        else {
            panic!()
        };
        assert_eq!((isl.mean, osl, entries), (550.0, None, 100));
        assert_eq!(c.load.grace_period_secs, 30.0);
        assert_eq!(
            c.tokenizer,
            TokenizerSpec::Builtin {
                encoding: Encoding::O200kBase
            }
        );
    }

    #[test]
    fn flags_resolve() {
        let c = parse(&[
            "-m",
            "a,b",
            "-u",
            "example.com:9000/",
            "--endpoint-type",
            "completions",
            "--streaming",
            "--api-key",
            "sk-1",
            "-H",
            "X-Team:perf",
            "-H",
            "Authorization:Bearer x",
            "--extra-inputs",
            "ignore_eos:true",
            "--extra-inputs",
            "{\"min_tokens\": 5}",
            "--request-rate",
            "20",
            "--arrival-pattern",
            "gamma",
            "--arrival-smoothness",
            "0.5",
            "--benchmark-duration",
            "3",
            "--goodput",
            "time_to_first_token:200 inter_token_latency:20",
            "--random-seed",
            "7",
            "--isl",
            "64",
            "--osl",
            "16",
        ])
        .unwrap();
        assert_eq!(c.models, ["a", "b"]);
        assert_eq!(c.endpoint.urls, ["http://example.com:9000"]);
        assert_eq!(c.endpoint.path, "/v1/completions");
        assert!(c.endpoint.streaming);
        assert_eq!(c.endpoint.extra_inputs["ignore_eos"], Value::Bool(true));
        assert_eq!(c.endpoint.extra_inputs["min_tokens"], 5);
        assert!(matches!(
            c.endpoint.headers[1].value,
            HeaderValue::Secret(_)
        ));
        assert_eq!(c.load.arrival, Arrival::Gamma { smoothness: 0.5 });
        assert_eq!(c.goodput.len(), 2);
        assert_eq!(c.random_seed, 7);
        let text = serde_json::to_string(&c).unwrap();
        assert!(
            !text.contains("sk-1") && !text.contains("Bearer x"),
            "{text}"
        );
        assert!(
            c.cli_command.contains("--api-key '<redacted>'"),
            "{}",
            c.cli_command
        );
        assert!(
            c.cli_command.contains("Authorization:<redacted>"),
            "{}",
            c.cli_command
        );
    }

    #[test]
    fn a_url_with_the_request_path_is_cut_back_to_its_base() {
        let cases = [
            ("localhost:8000", None, "http://localhost:8000"),
            ("http://h:8000/v1/chat/completions", None, "http://h:8000"),
            ("https://h/llm/v1/chat/completions/", None, "https://h/llm"),
            ("http://h:8000/v1", None, "http://h:8000"),
            ("http://h/v1", Some("completions"), "http://h"),
            ("http://h/v1/completions", Some("completions"), "http://h"),
            // Only the whole path, or a trailing /v1 before a /v1/ path, is taken off.
            ("http://h/v1/chat", None, "http://h/v1/chat"),
            ("http://h/gateway", None, "http://h/gateway"),
            ("http://h/v1", None, "http://h"),
        ];
        for (url, kind, base) in cases {
            let mut args = vec!["-m", "m", "-u", url];
            if let Some(kind) = kind {
                args.extend(["--endpoint-type", kind]);
            }
            let c = parse(&args).unwrap();
            assert_eq!(c.endpoint.urls, [base], "{url}");
        }
        let custom = parse(&["-m", "m", "-u", "http://h/v1", "--endpoint", "/generate"]).unwrap();
        assert_eq!(custom.endpoint.urls, ["http://h/v1"]);
    }

    #[test]
    fn optuna_sampler_picks_the_planner_and_needs_optuna() {
        use crate::settings::PlannerKind;
        let space = ["-m", "m", "--search-space", "concurrency:1,64:int"];
        let planner = |extra: &[&str]| {
            let mut args = space.to_vec();
            args.extend([
                "--search-max-iterations",
                "10",
                "--search-metric",
                "output_token_throughput",
                "--search-direction",
                "maximize",
            ]);
            args.extend(extra);
            parse(&args).map(|c| c.search.unwrap().planner)
        };
        assert_eq!(planner(&[]).unwrap(), PlannerKind::Bayesian);
        assert_eq!(
            planner(&["--search-planner", "optuna"]).unwrap(),
            PlannerKind::Bayesian
        );
        assert_eq!(
            planner(&["--search-planner", "optuna", "--optuna-sampler", "tpe"]).unwrap(),
            PlannerKind::Tpe
        );
        assert_eq!(
            planner(&["--search-planner", "optuna", "--optuna-sampler", "gp"]).unwrap(),
            PlannerKind::Bayesian
        );
        let err = planner(&["--optuna-sampler", "tpe"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--search-planner optuna"), "{err}");
        let err = planner(&[
            "--search-planner",
            "optuna",
            "--optuna-sampler",
            "tpe",
            "--search-initial-points",
            "10",
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("--search-initial-points (10) must be below"),
            "{err}"
        );
    }

    #[test]
    fn goodput_targets_on_unmeasured_metrics_are_ignored() {
        let targets = |extra: &[&str]| {
            let mut args = vec![
                "-m",
                "m",
                "--goodput",
                "time_to_first_token:100 request_latency:900 e2e_output_token_throughput:5",
            ];
            args.extend(extra);
            let c = parse(&args).unwrap();
            c.goodput.iter().map(|t| t.tag.clone()).collect::<Vec<_>>()
        };
        assert_eq!(
            targets(&["--streaming"]),
            [
                "time_to_first_token",
                "request_latency",
                "e2e_output_token_throughput"
            ]
        );
        assert_eq!(
            targets(&[]),
            ["request_latency", "e2e_output_token_throughput"]
        );
        assert_eq!(
            targets(&["--endpoint-type", "embeddings"]),
            ["request_latency"]
        );
    }

    #[test]
    fn recipe_grids_take_the_sweep_options() {
        let c = parse(&[
            "-m",
            "m",
            "--search-recipe",
            "concurrency-ramp",
            "--parameter-sweep-mode",
            "independent",
            "--parameter-sweep-cooldown-seconds",
            "2",
            "--parameter-sweep-same-seed",
        ])
        .unwrap();
        let sweep = c.sweep.unwrap();
        assert_eq!(
            (sweep.mode, sweep.cooldown_secs, sweep.same_seed),
            (SweepMode::Independent, 2.0, true)
        );
    }

    #[test]
    fn grace_period_may_be_infinite() {
        let c = parse(&["-m", "m", "--benchmark-grace-period", "inf"]).unwrap();
        assert_eq!(c.load.grace_period_secs, f64::MAX);
        let json = serde_json::to_string(&c.load).unwrap();
        let back: crate::settings::LoadConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back.grace_period_secs, f64::MAX, "{json}");
        let err = parse(&["-m", "m", "--benchmark-grace-period", "NaN"]).unwrap_err();
        assert!(
            err.to_string().contains("--benchmark-grace-period"),
            "{err}"
        );
    }

    #[test]
    fn list_values_may_have_spaces_and_name_what_is_wrong() {
        let c = parse(&[
            "-m",
            "m",
            "--concurrency",
            "10, 20",
            "--request-rate",
            " 2.5,5",
        ])
        .unwrap();
        let sweep = c.sweep.unwrap();
        assert_eq!(sweep.params[0].values.len(), 2);
        assert_eq!(sweep.params[1].values.len(), 2);
        for (arg, needle) in [
            ("--concurrency=-5,10", "must be at least 1, got -5"),
            ("--concurrency=0,10", "must be at least 1, got 0"),
            ("--concurrency=ten", "expected a whole number, got \"ten\""),
            ("--concurrency=99999999999", "too large"),
            ("--request-rate=5,x", "expected a number, got \"x\""),
        ] {
            let err = parse(&["-m", "m", arg]).unwrap_err().to_string();
            let flag = arg.split('=').next().unwrap();
            assert!(err.contains(needle), "{arg}: {err}");
            assert!(err.contains(flag), "{arg}: {err}");
        }
    }

    #[test]
    fn lists_become_sweeps_with_a_consistent_seed() {
        let c = parse(&[
            "-m",
            "m",
            "--concurrency",
            "4,1",
            "--isl",
            "128,512",
            "--osl",
            "64",
        ])
        .unwrap();
        let sweep = c.sweep.unwrap();
        let params: Vec<_> = sweep
            .params
            .iter()
            .map(|p| (p.param, p.values.clone()))
            .collect();
        assert_eq!(
            params,
            [
                (Param::Isl, vec![128.0, 512.0]),
                (Param::Concurrency, vec![4.0, 1.0])
            ],
            "canonical order, values as given"
        );
        assert_eq!(c.random_seed, 42);
        assert_eq!(
            c.load.concurrency,
            Some(4),
            "the base takes the first value"
        );
        let c = parse(&["-m", "m", "--num-profile-runs", "3", "--random-seed", "9"]).unwrap();
        assert_eq!((c.multi_run.num_runs, c.random_seed), (3, 9));
        assert!(c.sweep.is_none());
        let c = parse(&[
            "-m",
            "m",
            "--num-profile-runs",
            "3",
            "--set-consistent-seed",
            "false",
        ])
        .unwrap();
        assert_eq!(c.multi_run.num_runs, 3);
    }

    #[test]
    fn sim_picks_the_preset_model_and_builtin_tokenizer() {
        let c = parse(&["--sim"]).unwrap();
        assert_eq!(c.models, ["llama-3.1-8b-instruct-sim"]);
        assert!(c.endpoint.urls.is_empty());
        assert_eq!(c.sim.unwrap().preset, "llama-8b-h100");
        let c = parse(&["--sim", "fixed", "-m", "org/name"]).unwrap();
        assert_eq!(
            c.tokenizer,
            TokenizerSpec::Builtin {
                encoding: Encoding::O200kBase
            }
        );
    }

    #[test]
    fn bad_values_name_their_flag() {
        let cases: &[(&[&str], &str)] = &[
            (&[], "--model is required"),
            (
                &["-m", "m", "--concurrency", "0"],
                "'--concurrency <CONCURRENCY>': must be at least 1",
            ),
            (
                &["-m", "m", "--concurrency", "1,0"],
                "--concurrency <CONCURRENCY>': must be at least 1, got 0",
            ),
            (
                &["-m", "m", "--concurrency", "1,2,1"],
                "--concurrency: value 1 appears twice",
            ),
            (
                &["-m", "m", "--request-rate", "1,-2"],
                "--request-rate: every sweep value",
            ),
            (
                &[
                    "-m",
                    "m",
                    "--concurrency",
                    "1,2",
                    "--isl",
                    "1,2,3",
                    "--sweep-type",
                    "zip",
                ],
                "same number of values",
            ),
            (
                &["-m", "m", "--concurrency", "1,2", "--ui", "dashboard"],
                "not supported with parameter sweeps",
            ),
            (
                &["-m", "m", "--num-profile-runs", "11"],
                "--num-profile-runs must be between 1 and 10",
            ),
            (
                &["-m", "m", "--num-profile-runs", "0"],
                "--num-profile-runs",
            ),
            (
                &["-m", "m", "--confidence-level", "1"],
                "--confidence-level",
            ),
            (
                &["-m", "m", "--profile-run-cooldown-seconds", "1e18"],
                "--profile-run-cooldown-seconds",
            ),
            (
                &[
                    "-m",
                    "m",
                    "--parameter-sweep-cooldown-seconds",
                    "-1",
                    "--concurrency",
                    "1,2",
                ],
                "--parameter-sweep-cooldown-seconds",
            ),
            (
                &["-m", "m", "--request-count", "0"],
                "'--request-count <REQUEST_COUNT>': must be at least 1",
            ),
            (
                &["-m", "m", "--request-rate", "0"],
                "--request-rate must be a positive",
            ),
            (
                &["-m", "m", "--request-rate", "nan"],
                "--request-rate must be a positive",
            ),
            (
                &["-m", "m", "--benchmark-duration", "-1"],
                "--benchmark-duration must be",
            ),
            (
                &["-m", "m", "--isl", "0"],
                "'--isl <ISL>': must be at least 1",
            ),
            (
                &["-m", "m", "--osl", "0"],
                "'--osl <OSL>': must be at least 1",
            ),
            (&["-m", "m", "--isl-stddev", "-1"], "--isl-stddev must be"),
            (
                &["-m", "m", "--request-timeout-seconds", "0"],
                "--request-timeout-seconds",
            ),
            (&["-m", "m", "-u", "ftp://x"], "--url: unsupported scheme"),
            (&["-m", "m", "-H", "novalue"], "--header"),
            (&["-m", "m", "--extra-inputs", "nocolon"], "--extra-inputs"),
            (
                &["-m", "m", "--goodput", "ttft:5"],
                "--goodput: unknown metric",
            ),
            (
                &["-m", "m", "--goodput", "time_to_first_token:x"],
                "--goodput time_to_first_token",
            ),
            (&["--sim", "nope"], "--sim: unknown preset"),
            (&["--sim", "-u", "localhost:1"], "--sim and --url conflict"),
            (
                &["-m", "m", "--sim-speedup", "2"],
                "--sim-speedup only applies",
            ),
            (
                &["-m", "m", "--arrival-pattern", "constant"],
                "needs --request-rate",
            ),
            (
                &[
                    "-m",
                    "m",
                    "--request-rate",
                    "5",
                    "--arrival-pattern",
                    "poisson",
                    "--arrival-smoothness",
                    "2",
                ],
                "gamma",
            ),
            (
                &["-m", "m", "--input-file", "/nonexistent.jsonl"],
                "--input-file",
            ),
            (
                &["-m", "m", "--custom-dataset-type", "single_turn"],
                "needs --input-file",
            ),
            (&["-m", "m", "--fixed-schedule"], "--fixed-schedule"),
            (
                &["-m", "m", "--num-dataset-entries", "0"],
                "--num-dataset-entries",
            ),
            (&["-m", "m", "--warmup-duration", "0"], "--warmup-duration"),
            (
                &["-m", "m", "--num-sessions", "0"],
                "--num-sessions must be at least 1",
            ),
            (
                &["-m", "m", "--session-turn-delay-mean=-5"],
                "--session-turn-delay-mean must be zero or a positive number",
            ),
            (
                &["-m", "m", "--prompt-batch-size", "0"],
                "--prompt-batch-size must be at least 1",
            ),
            (
                &[
                    "-m",
                    "m",
                    "--warmup-request-count",
                    "5",
                    "--warmup-request-rate",
                    "0",
                ],
                "--warmup-request-rate must be a positive number",
            ),
            (
                &["-m", "m", "--num-prefix-prompts", "3"],
                "--num-prefix-prompts needs --prefix-prompt-length",
            ),
            (
                &["-m", "m", "--public-dataset", "sharegpt"],
                "pass it with --input-file",
            ),
            (
                &["-m", "m", "--optuna-terminator", "regret"],
                "--optuna-acquisition and --optuna-terminator are not supported",
            ),
            (
                &["-m", "m", "--profile-export-file", "x"],
                "--profile-export-prefix / --profile-export-file are not supported",
            ),
            (
                &["-m", "m", "--prompt-corpus", "sonnet"],
                "--prompt-corpus is not supported",
            ),
            (
                &[
                    "-m",
                    "m",
                    "--search-recipe",
                    "concurrency-ramp",
                    "--bo-constraint-mode",
                    "eic",
                ],
                "mutually exclusive with --bo-constraint-mode",
            ),
            (
                &["-m", "m", "--convergence-metric", "request_latency"],
                "needs --num-profile-runs of at least 2",
            ),
            (
                &[
                    "-m",
                    "m",
                    "--num-profile-runs",
                    "3",
                    "--convergence-mode",
                    "cv",
                ],
                "--convergence-mode needs --convergence-metric",
            ),
            (
                &[
                    "-m",
                    "m",
                    "--num-profile-runs",
                    "3",
                    "--convergence-metric",
                    "request_latency",
                    "--convergence-threshold",
                    "0",
                ],
                "--convergence-threshold must be between 0 and 1",
            ),
            (
                &[
                    "-m",
                    "m",
                    "--num-profile-runs",
                    "3",
                    "--convergence-metric",
                    "request_latency",
                    "--convergence-min-runs",
                    "1",
                ],
                "--convergence-min-runs must be between 2 and --num-profile-runs (3)",
            ),
            (
                &[
                    "-m",
                    "m",
                    "--num-profile-runs",
                    "3",
                    "--convergence-metric",
                    "request_latency",
                    "--concurrency",
                    "1,2",
                ],
                "add --parameter-sweep-mode independent",
            ),
            (
                &[
                    "-m",
                    "m",
                    "--num-profile-runs",
                    "3",
                    "--convergence-metric",
                    "request_latency",
                    "--convergence-mode",
                    "distribution",
                    "--export-level",
                    "summary",
                ],
                "--export-level summary",
            ),
        ];
        for (args, needle) in cases {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains(needle), "{args:?}: {err}");
        }
    }
}
