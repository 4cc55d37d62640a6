//! The bundled configuration templates (`aiperf config init`), shipped in the binary.

use super::yaml::Value;

/// The categories, in the order they are listed.
pub const CATEGORIES: [&str; 7] = [
    "Getting Started",
    "Load Testing",
    "Datasets",
    "Sweep & Multi-Run",
    "Advanced",
    "Multimodal",
    "Specialized Endpoints",
];

#[derive(Debug, Clone, Copy)]
pub struct Template {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub category: &'static str,
    pub tags: &'static str,
    pub difficulty: &'static str,
    pub text: &'static str,
}

macro_rules! template {
    ($name:literal, $title:literal, $cat:literal, $difficulty:literal, $tags:literal, $desc:literal) => {
        Template {
            name: $name,
            title: $title,
            description: $desc,
            category: $cat,
            tags: $tags,
            difficulty: $difficulty,
            text: include_str!(concat!("templates/", $name, ".yaml")),
        }
    };
}

/// Every template, by category then name.
pub const ALL: [Template; 27] = [
    template!(
        "minimal",
        "Minimal Configuration",
        "Getting Started",
        "beginner",
        "quick-start, simple",
        "The smallest useful file, written with the shorthands."
    ),
    template!(
        "warmup_profiling",
        "Warmup + Profiling (Two-Phase)",
        "Getting Started",
        "beginner",
        "warmup, two-phase, best-practice",
        "A warmup phase to settle caches and connections, then the measured phase."
    ),
    template!(
        "fixed_schedule",
        "Fixed Schedule (Hand-Authored Timestamps)",
        "Load Testing",
        "advanced",
        "fixed_schedule, mooncake, regression, deterministic, timing",
        "Requests sent at exact millisecond offsets, for repeatable timing tests."
    ),
    template!(
        "goodput_slo",
        "Goodput / SLO Benchmark",
        "Load Testing",
        "intermediate",
        "goodput, slo, latency, multi-phase",
        "Requests per second that meet every latency objective, at a target load."
    ),
    template!(
        "latency_test",
        "Latency Test (Controlled QPS)",
        "Load Testing",
        "beginner",
        "latency, poisson, ttft, itl",
        "TTFT, ITL and end-to-end latency at a steady arrival rate."
    ),
    template!(
        "multi_url_load_balancing",
        "Multi-URL Load Balancing",
        "Load Testing",
        "intermediate",
        "load-balancing, multi-url, scaling",
        "Requests spread over several server replicas."
    ),
    template!(
        "ramping",
        "Gradual Load Ramping",
        "Load Testing",
        "intermediate",
        "ramp, concurrency, rate, capacity, stress",
        "Concurrency and rate raised gradually, avoiding cold-start spikes."
    ),
    template!(
        "request_cancellation",
        "Request Cancellation Test",
        "Load Testing",
        "advanced",
        "cancellation, resilience",
        "How the server copes when clients abandon requests in flight."
    ),
    template!(
        "time_based_soak",
        "Time-Based Soak Test",
        "Load Testing",
        "intermediate",
        "soak, stability, duration, sla, drift",
        "A long fixed-duration run to find drift and leaks under steady load."
    ),
    template!(
        "inline_dataset",
        "Inline Dataset",
        "Datasets",
        "beginner",
        "dataset, inline, records, single_turn",
        "Prompts written in the file itself, no separate JSONL file."
    ),
    template!(
        "multi_turn_conversation",
        "Multi-Turn Conversation",
        "Datasets",
        "intermediate",
        "multi-turn, sessions, chat, context",
        "Chat sessions whose context grows turn after turn."
    ),
    template!(
        "public_dataset",
        "Public Dataset (ShareGPT)",
        "Datasets",
        "beginner",
        "public, sharegpt, real-data",
        "Real conversations from the ShareGPT dataset (read from its local copy)."
    ),
    template!(
        "trace_replay",
        "Production Trace Replay",
        "Datasets",
        "advanced",
        "trace, mooncake, replay, fixed_schedule",
        "Traffic replayed from a trace at its timestamps."
    ),
    template!(
        "scenario_workload_profiles",
        "Scenario Sweep: Workload Profiles",
        "Sweep & Multi-Run",
        "advanced",
        "sweep, scenarios, workload, multi-run",
        "Named scenarios, each a distinct workload shape, repeated for confidence intervals."
    ),
    template!(
        "speed_bench_sweep",
        "SPEED-Bench Per-Category Sweep",
        "Sweep & Multi-Run",
        "advanced",
        "speculative-decoding, speed-bench, spec-decode, sweep",
        "Speculative-decoding runs per category, for the speed-bench-report matrix."
    ),
    template!(
        "sweep_distributions",
        "Grid Sweep + Multi-Run",
        "Sweep & Multi-Run",
        "intermediate",
        "sweep, grid, multi-run, isl, rate",
        "Every combination of input length and request rate, each repeated."
    ),
    template!(
        "sweep_with_plot",
        "Concurrency Sweep with Inline Plot Envelope",
        "Sweep & Multi-Run",
        "intermediate",
        "sweep, concurrency, pareto, plot",
        "A concurrency sweep for the throughput/latency frontier, with the report drawn after."
    ),
    template!(
        "env_var_production",
        "Environment Variable Production Config",
        "Advanced",
        "intermediate",
        "env-vars, ci-cd, production",
        "Everything that changes between deployments taken from environment variables."
    ),
    template!(
        "gpu_telemetry",
        "GPU Telemetry (DCGM / pynvml)",
        "Advanced",
        "intermediate",
        "gpu, telemetry, dcgm, power",
        "GPU power, utilization, memory and temperature scraped during the run."
    ),
    template!(
        "http_trace_metrics",
        "HTTP Trace Metrics (Latency Breakdown)",
        "Advanced",
        "intermediate",
        "http, trace, latency, debugging",
        "Per-request HTTP timing (DNS, connect, send, wait, receive) to debug transport."
    ),
    template!(
        "jinja2_variables",
        "Jinja2 Computed Config",
        "Advanced",
        "intermediate",
        "jinja2, variables, templating",
        "Values defined once and derived with expressions."
    ),
    template!(
        "kv_cache_test",
        "KV Cache / Prefix Caching",
        "Advanced",
        "advanced",
        "kv-cache, prefix, user-centric, cache",
        "Prefix-cache efficiency with shared prefixes and user-centric load."
    ),
    template!(
        "long_context",
        "Long Context Benchmark (32K+)",
        "Advanced",
        "advanced",
        "long-context, prefill, isl",
        "Long inputs with a cap on concurrent prefills."
    ),
    template!(
        "user_files",
        "User Files (Templated Artifacts)",
        "Advanced",
        "intermediate",
        "artifacts, variables, jinja2",
        "Run parameters kept as variables and recorded with the run."
    ),
    template!(
        "audio_multimodal",
        "Audio/Speech Model Benchmark",
        "Multimodal",
        "intermediate",
        "audio, speech, multimodal",
        "Speech-to-text or audio-understanding models with synthetic audio."
    ),
    template!(
        "multimodal_vision",
        "Vision-Language Model Benchmark",
        "Multimodal",
        "intermediate",
        "vision, images, vlm, multimodal",
        "Vision-language models with synthetic images."
    ),
    template!(
        "embeddings",
        "Embeddings Endpoint Benchmark",
        "Specialized Endpoints",
        "beginner",
        "embeddings, batch",
        "Embedding models with batched text inputs."
    ),
];

pub fn find(name: &str) -> Option<&'static Template> {
    let wanted = name.trim_end_matches(".yaml").replace('-', "_");
    ALL.iter().find(|t| t.name == wanted)
}

/// The templates whose name, title, description, category or tags contain `keyword`.
pub fn search(keyword: &str) -> Vec<&'static Template> {
    let k = keyword.to_lowercase();
    ALL.iter()
        .filter(|t| {
            [t.name, t.title, t.description, t.category, t.tags]
                .iter()
                .any(|f| f.to_lowercase().contains(&k))
        })
        .collect()
}

/// The template with its model and URL replaced: the value after `model:` (or the first
/// entry of `models:`) and after `url:` in its `endpoint:` (or the first of `urls:`).
/// Comments and layout are kept.
pub fn customized(text: &str, model: Option<&str>, url: Option<&str>) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut model_done, mut url_done, mut in_endpoint, mut in_list) = (false, false, false, None);
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let key = trimmed.split(':').next().unwrap_or_default();
        if !trimmed.starts_with('#') && !trimmed.trim().is_empty() {
            if key == "endpoint" {
                in_endpoint = true;
            } else if in_endpoint && indent <= 2 && !trimmed.starts_with('-') {
                in_endpoint = false;
            }
        }
        let replace = |value: &str| {
            let (head, _) = line.split_at(line.find(':').map_or(line.len(), |i| i + 1));
            let comment = line
                .find(" #")
                .map(|i| line[i..].trim_end().to_owned())
                .unwrap_or_default();
            format!("{head} {}{comment}\n", quoted(value))
        };
        match (in_list, model, url) {
            (Some("models"), Some(m), _) if trimmed.starts_with("- ") && !model_done => {
                out.push_str(&format!("{}- {}\n", &line[..indent], quoted(m)));
                model_done = true;
                continue;
            }
            (Some("urls"), _, Some(u)) if trimmed.starts_with("- ") && !url_done => {
                out.push_str(&format!("{}- {}\n", &line[..indent], quoted(u)));
                url_done = true;
                continue;
            }
            _ => {}
        }
        in_list = None;
        match (key, model, url) {
            ("model", Some(m), _) if !model_done && trimmed.starts_with("model:") => {
                out.push_str(&replace(m));
                model_done = true;
            }
            ("url", _, Some(u)) if in_endpoint && !url_done && trimmed.starts_with("url:") => {
                out.push_str(&replace(u));
                url_done = true;
            }
            ("models", _, _) if trimmed.trim_end() == "models:" => {
                in_list = Some("models");
                out.push_str(line);
            }
            ("urls", _, _) if in_endpoint && trimmed.trim_end() == "urls:" => {
                in_list = Some("urls");
                out.push_str(line);
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// A YAML scalar, quoted when it holds anything YAML would read otherwise.
fn quoted(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c))
        && !value.starts_with(['-', ':'])
        && matches!(super::env::coerce(value), Value::Str(_));
    if plain {
        value.to_owned()
    } else {
        serde_json::Value::String(value.to_owned()).to_string()
    }
}
