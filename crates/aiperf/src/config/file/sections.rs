//! The `benchmark:` body's sections other than the dataset and the phases: models, endpoint,
//! tokenizer, artifacts, SLOs, telemetry, and the Python AIPerf's service settings.

use super::keys::{join, unknown_key};
use super::map::{Mapper, Result, entries};
use super::yaml::{Node, Value};

const BODY_KEYS: [&str; 19] = [
    "models",
    "endpoint",
    "datasets",
    "phases",
    "artifacts",
    "slos",
    "tokenizer",
    "gpu_telemetry",
    "server_metrics",
    "network_latency",
    "otel",
    "mlflow",
    "wandb",
    "runtime",
    "logging",
    "metrics",
    "accuracy",
    "scenario",
    "unsafe_override",
];

pub(super) fn body(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        match key.snake().as_str() {
            "models" => models(m, value, &p)?,
            "endpoint" => endpoint(m, value, &p)?,
            "datasets" => super::dataset::datasets(m, value, &p)?,
            "phases" => super::phases::phases(m, value, &p)?,
            "artifacts" => artifacts(m, value, &p)?,
            "slos" => slos(m, value, &p)?,
            "tokenizer" => tokenizer(m, value, &p)?,
            "gpu_telemetry" => gpu_telemetry(m, value, &p)?,
            "server_metrics" => server_metrics(m, value, &p)?,
            "runtime" => runtime(m, value, &p)?,
            "logging" => {
                for (k, v) in entries(value, &p)? {
                    match k.snake().as_str() {
                        "level" => m.text_flag("log-level", v, &join(&p, &k.name))?,
                        _ => return Err(unknown_key(k, &p, &["level"])),
                    }
                }
            }
            "metrics" => {
                if let Some((k, _)) = entries(value, &p)?.first() {
                    return Err(unknown_key(k, &p, &[] as &[&str]));
                }
            }
            "scenario" => m.text_flag("scenario", value, &p)?,
            "unsafe_override" => m.switch("unsafe-override", value, &p)?,
            "network_latency" => integration(m, value, &p, NETWORK_LATENCY)?,
            "otel" => integration(m, value, &p, OTEL)?,
            "mlflow" => integration(m, value, &p, MLFLOW)?,
            "wandb" => integration(m, value, &p, WANDB)?,
            "accuracy" => integration(m, value, &p, ACCURACY)?,
            _ => return Err(unknown_key(key, path, &BODY_KEYS)),
        }
    }
    Ok(())
}

fn models(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    let mut names = Vec::new();
    let items = match &node.value {
        Value::Str(s) => {
            m.flag("model", s.clone(), node, path);
            return Ok(());
        }
        Value::Seq(items) => items.clone(),
        Value::Map(_) => {
            let mut items = Vec::new();
            for (key, value) in entries(node, path)? {
                let p = join(path, &key.name);
                match key.snake().as_str() {
                    "strategy" => m.text_flag("model-selection-strategy", value, &p)?,
                    "items" => {
                        items = value
                            .as_seq()
                            .ok_or_else(|| m.refuse(value, &p, "expected a list of models"))?
                            .to_vec();
                    }
                    _ => return Err(unknown_key(key, path, &["strategy", "items"])),
                }
            }
            items
        }
        _ => return Err(m.refuse(node, path, "expected a model name or a list of them")),
    };
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match &item.value {
            Value::Str(s) => names.push(s.clone()),
            Value::Map(_) => {
                for (key, value) in entries(item, &p)? {
                    let q = join(&p, &key.name);
                    match key.snake().as_str() {
                        "name" => names.push(m.text(value, &q)?),
                        "weight" => {
                            if m.num(value, &q)? != 1.0 {
                                return Err(m.refuse(
                                    value,
                                    &q,
                                    "weighted model selection is not offered; models are used \
                                     round robin or at random (strategy)",
                                ));
                            }
                        }
                        "lora" | "modalities" | "tokenizer" => {
                            return Err(m.refuse(
                                value,
                                &q,
                                "per-model settings are not offered; give the model's name (and \
                                 the tokenizer under benchmark.tokenizer)",
                            ));
                        }
                        _ => {
                            return Err(unknown_key(
                                key,
                                &p,
                                &["name", "weight", "lora", "modalities", "tokenizer"],
                            ));
                        }
                    }
                }
            }
            _ => return Err(m.refuse(item, &p, "expected a model name")),
        }
    }
    if !names.is_empty() {
        m.flag("model", names.join(","), node, path);
    }
    Ok(())
}

const ENDPOINT_KEYS: [&str; 25] = [
    "url",
    "urls",
    "url_strategy",
    "type",
    "path",
    "api_key",
    "timeout",
    "streaming",
    "transport",
    "connection_reuse",
    "use_legacy_max_tokens",
    "use_server_token_count",
    "per_chunk_usage",
    "template",
    "headers",
    "extra",
    "download_video_content",
    "request_content_type",
    "session_header",
    "uuid_and_strip",
    "wait_for_model_timeout",
    "wait_for_model_interval",
    "wait_for_model_mode",
    "reset_kv_cache",
    "server_profiler",
];

fn endpoint(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    let mut urls = Vec::new();
    let mut extra = serde_json::Map::new();
    let mut extra_at = None;
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        match key.snake().as_str() {
            "url" | "urls" => match &value.value {
                Value::Seq(items) => {
                    for (i, u) in items.iter().enumerate() {
                        urls.push(m.text(u, &format!("{p}[{i}]"))?);
                    }
                }
                _ => urls.push(m.text(value, &p)?),
            },
            // Round robin is how several URLs are used by default; only another strategy
            // needs the flag.
            "url_strategy" if m.text(value, &p)? == "round_robin" => {}
            "url_strategy" => m.text_flag("url-strategy", value, &p)?,
            "type" => m.text_flag("endpoint-type", value, &p)?,
            "path" => m.text_flag("endpoint", value, &p)?,
            "api_key" => m.text_flag("api-key", value, &p)?,
            "timeout" => m.seconds_flag("request-timeout-seconds", value, &p)?,
            "streaming" => m.switch("streaming", value, &p)?,
            "transport" => m.text_flag("transport", value, &p)?,
            "connection_reuse" => m.text_flag("connection-reuse-strategy", value, &p)?,
            "use_legacy_max_tokens" => m.switch("use-legacy-max-tokens", value, &p)?,
            "use_server_token_count" => m.switch("use-server-token-count", value, &p)?,
            "per_chunk_usage" => m.switch("per-chunk-usage", value, &p)?,
            "download_video_content" => m.switch("download-video-content", value, &p)?,
            "uuid_and_strip" => m.switch("uuid-and-strip", value, &p)?,
            "request_content_type" => m.text_flag("request-content-type", value, &p)?,
            "session_header" => m.text_flag("session-header", value, &p)?,
            "wait_for_model_timeout" => m.seconds_flag("wait-for-model-timeout", value, &p)?,
            "wait_for_model_interval" => m.seconds_flag("wait-for-model-interval", value, &p)?,
            "wait_for_model_mode" => m.text_flag("wait-for-model-mode", value, &p)?,
            "headers" => {
                let map = entries(value, &p)?;
                if !map.is_empty() {
                    let json = serde_json::Value::Object(
                        map.iter()
                            .map(|(k, v)| {
                                (k.name.clone(), serde_json::Value::String(v.scalar_text()))
                            })
                            .collect(),
                    );
                    m.flag("header", json.to_string(), value, &p);
                }
            }
            "extra" => {
                for (k, v) in entries(value, &p)? {
                    extra.insert(k.name.clone(), v.to_json());
                }
                extra_at = Some((value.clone(), p.clone()));
            }
            "template" => {
                for (k, v) in entries(value, &p)? {
                    let q = join(&p, &k.name);
                    match k.snake().as_str() {
                        "body" => extra.insert("payload_template".into(), m.text(v, &q)?.into()),
                        "response_field" => {
                            extra.insert("response_field".into(), m.text(v, &q)?.into())
                        }
                        _ => return Err(unknown_key(k, &p, &["body", "response_field"])),
                    };
                }
                extra_at.get_or_insert((value.clone(), p.clone()));
            }
            "reset_kv_cache" => probe(m, value, &p, "reset-kv-cache", RESET_KV_CACHE)?,
            "server_profiler" => probe(m, value, &p, "server-profiler", SERVER_PROFILER)?,
            _ => return Err(unknown_key(key, path, &ENDPOINT_KEYS)),
        }
    }
    if !urls.is_empty() {
        // One flag per URL: a repeated `--url`.
        for (i, url) in urls.into_iter().enumerate() {
            m.out.flags.push(super::Flag {
                name: "url".into(),
                values: vec![url],
                line: node.line,
                key: format!("{path}.url[{i}]"),
            });
        }
    }
    if let Some((at, p)) = extra_at
        && !extra.is_empty()
    {
        m.flag(
            "extra-inputs",
            serde_json::Value::Object(extra).to_string(),
            &at,
            &p,
        );
    }
    Ok(())
}

type Table = &'static [(&'static str, &'static str, Kind)];

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Seconds,
    Switch,
    Int,
    List,
    Map,
}

const RESET_KV_CACHE: Table = &[
    (
        "timeout_seconds",
        "reset-kv-cache-timeout-seconds",
        Kind::Seconds,
    ),
    (
        "max_retry_seconds",
        "reset-kv-cache-max-retry-seconds",
        Kind::Seconds,
    ),
    ("path", "reset-kv-cache-path", Kind::Text),
];
const SERVER_PROFILER: Table = &[
    (
        "timeout_seconds",
        "server-profiler-timeout-seconds",
        Kind::Seconds,
    ),
    ("start_path", "server-profiler-start-path", Kind::Text),
    ("stop_path", "server-profiler-stop-path", Kind::Text),
];
const NETWORK_LATENCY: Table = &[
    ("enabled", "network-latency-automatic", Kind::Switch),
    (
        "ping_interval",
        "network-latency-ping-interval",
        Kind::Seconds,
    ),
    ("mean_ms", "network-latency-mean", Kind::Seconds),
];
const OTEL: Table = &[
    ("metrics_url", "otel-url", Kind::Text),
    ("stream_metrics_enabled", "stream", Kind::Switch),
    ("stream_timing_enabled", "stream", Kind::Switch),
    (
        "custom_resource_attributes",
        "otel-resource-attributes",
        Kind::Map,
    ),
    ("gen_ai_provider", "gen-ai-provider", Kind::Text),
];
const MLFLOW: Table = &[
    ("tracking_uri", "mlflow-tracking-uri", Kind::Text),
    ("experiment", "mlflow-experiment", Kind::Text),
    ("run_name", "mlflow-run-name", Kind::Text),
    ("tags", "mlflow-tag", Kind::Map),
    ("parent_run_id", "mlflow-parent-run-id", Kind::Text),
    ("artifact_globs", "mlflow-artifact-glob", Kind::List),
];
const WANDB: Table = &[
    ("project", "wandb-project", Kind::Text),
    ("entity", "wandb-entity", Kind::Text),
    ("run_name", "wandb-run-name", Kind::Text),
    ("tags", "wandb-tag", Kind::List),
];
const ACCURACY: Table = &[
    ("benchmark", "accuracy-benchmark", Kind::Text),
    ("tasks", "accuracy-tasks", Kind::List),
    ("n_shots", "accuracy-n-shots", Kind::Int),
    ("enable_cot", "accuracy-enable-cot", Kind::Switch),
    ("grader", "accuracy-grader", Kind::Text),
    ("system_prompt", "accuracy-system-prompt", Kind::Text),
    ("verbose", "accuracy-verbose", Kind::Switch),
];

/// `reset_kv_cache: true` or its mapping of settings.
fn probe(m: &mut Mapper, node: &Node, path: &str, flag: &str, table: Table) -> Result<()> {
    match &node.value {
        Value::Bool(_) => m.switch(flag, node, path),
        Value::Map(_) => {
            m.push(flag, Vec::new(), node, path);
            integration(m, node, path, table)
        }
        _ => Err(m.refuse(
            node,
            path,
            "expected true, false or a mapping of its settings",
        )),
    }
}

/// A section whose keys are each one flag of the Python AIPerf.
fn integration(m: &mut Mapper, node: &Node, path: &str, table: Table) -> Result<()> {
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        let Some((_, flag, kind)) = table.iter().find(|(k, _, _)| *k == key.snake()) else {
            let known: Vec<&str> = table.iter().map(|(k, _, _)| *k).collect();
            return Err(unknown_key(key, path, &known));
        };
        match kind {
            Kind::Text => m.text_flag(flag, value, &p)?,
            Kind::Seconds => m.seconds_flag(flag, value, &p)?,
            Kind::Switch => m.switch(flag, value, &p)?,
            Kind::Int => m.int_flag(flag, value, &p)?,
            Kind::List => {
                let items = list_of_text(m, value, &p)?;
                m.push(flag, items, value, &p);
            }
            Kind::Map => {
                let items: Vec<String> = entries(value, &p)?
                    .iter()
                    .map(|(k, v)| format!("{}={}", k.name, v.scalar_text()))
                    .collect();
                if !items.is_empty() {
                    m.push(flag, items, value, &p);
                }
            }
        }
    }
    Ok(())
}

/// A list of scalars (or one scalar) as text values.
pub(super) fn list_of_text(m: &Mapper, node: &Node, path: &str) -> Result<Vec<String>> {
    match node.as_seq() {
        Some(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| m.text(v, &format!("{path}[{i}]")))
            .collect(),
        None => Ok(vec![m.text(node, path)?]),
    }
}

fn tokenizer(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    if let Value::Str(_) = node.value {
        return m.text_flag("tokenizer", node, path);
    }
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        match key.snake().as_str() {
            "name" => m.text_flag("tokenizer", value, &p)?,
            "revision" => m.text_flag("tokenizer-revision", value, &p)?,
            "trust_remote_code" => m.switch("tokenizer-trust-remote-code", value, &p)?,
            "apply_chat_template" => m.switch("apply-chat-template", value, &p)?,
            _ => {
                return Err(unknown_key(
                    key,
                    path,
                    &[
                        "name",
                        "revision",
                        "trust_remote_code",
                        "apply_chat_template",
                    ],
                ));
            }
        }
    }
    Ok(())
}

const ARTIFACT_KEYS: [&str; 12] = [
    "dir",
    "prefix",
    "summary",
    "records",
    "raw",
    "trace",
    "slice_duration",
    "show_trace_timing",
    "user_files",
    "auto_plot",
    "plot_required",
    "export_outputs_json",
];

fn artifacts(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    let (mut records, mut raw) = (true, false);
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        match key.snake().as_str() {
            "dir" => m.text_flag("artifact-dir", value, &p)?,
            "prefix" => m.text_flag("profile-export-prefix", value, &p)?,
            "summary" => {
                if matches!(value.value, Value::Bool(false)) {
                    return Err(m.refuse(
                        value,
                        &p,
                        "the summary (profile_export_aiperf.json) is always written",
                    ));
                }
                export_formats(m, value, &p, "json")?;
            }
            "records" => {
                records = !matches!(value.value, Value::Bool(false));
                if records {
                    export_formats(m, value, &p, "jsonl")?;
                }
            }
            "raw" => raw = m.boolean(value, &p)?,
            "trace" => m.switch("export-http-trace", value, &p)?,
            "slice_duration" => m.seconds_flag("slice-duration", value, &p)?,
            "show_trace_timing" => m.switch("show-trace-timing", value, &p)?,
            "auto_plot" => m.switch("auto-plot", value, &p)?,
            "plot_required" => m.switch("plot-required", value, &p)?,
            "export_outputs_json" => m.switch("export-outputs-json", value, &p)?,
            "user_files" => {
                if value.as_seq().is_none_or(|s| !s.is_empty()) {
                    return Err(m.refuse(
                        value,
                        &p,
                        "templated user files are not written into the artifacts here; write \
                         them beside the run yourself (run_config.json records every setting)",
                    ));
                }
            }
            _ => return Err(unknown_key(key, path, &ARTIFACT_KEYS)),
        }
    }
    let level = match (raw, records) {
        (true, _) => Some("raw"),
        (false, false) => Some("summary"),
        (false, true) => None,
    };
    if let Some(level) = level {
        m.flag("export-level", level.to_owned(), node, path);
    }
    Ok(())
}

/// `summary: [json]`, `records: [jsonl]`: the only formats there are.
fn export_formats(m: &Mapper, node: &Node, path: &str, only: &str) -> Result<()> {
    for format in list_of_text(m, node, path)? {
        if format != only {
            return Err(m.refuse(
                node,
                path,
                &format!("the only format is {only}, got {format:?}"),
            ));
        }
    }
    Ok(())
}

fn slos(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    let mut goals = Vec::new();
    for (key, value) in entries(node, path)? {
        let v = m.num(value, &join(path, &key.name))?;
        goals.push(format!("{}:{}", key.name, super::map::number(v)));
    }
    if !goals.is_empty() {
        m.push("goodput", goals, node, path);
    }
    Ok(())
}

/// `gpu_telemetry:` true/false, a URL, or {enabled, urls, collector, mode}.
fn gpu_telemetry(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    let mut tokens = Vec::new();
    match &node.value {
        Value::Bool(false) => {
            m.push("no-gpu-telemetry", Vec::new(), node, path);
            return Ok(());
        }
        Value::Bool(true) => return Ok(()),
        Value::Str(url) => tokens.push(url.clone()),
        _ => {
            for (key, value) in entries(node, path)? {
                let p = join(path, &key.name);
                match key.snake().as_str() {
                    "enabled" => {
                        if !m.boolean(value, &p)? {
                            m.push("no-gpu-telemetry", Vec::new(), node, path);
                            return Ok(());
                        }
                    }
                    "url" | "urls" => tokens.extend(list_of_text(m, value, &p)?),
                    "collector" => match m.text(value, &p)?.as_str() {
                        "dcgm" => {}
                        "pynvml" => tokens.push("pynvml".into()),
                        c => {
                            return Err(m.refuse(
                                value,
                                &p,
                                &format!(
                                    "the {c} collector is not offered here: use pynvml for this \
                                     host's NVIDIA GPUs or DCGM exporter urls"
                                ),
                            ));
                        }
                    },
                    "mode" => {
                        if m.text(value, &p)? == "realtime_dashboard" {
                            tokens.push("dashboard".into());
                        }
                    }
                    // The DCGM metric CSV naming extra fields (`--gpu-telemetry FILE.csv`).
                    "metrics_file" => tokens.push(m.text(value, &p)?),
                    _ => {
                        return Err(unknown_key(
                            key,
                            path,
                            &[
                                "enabled",
                                "urls",
                                "url",
                                "metrics_file",
                                "collector",
                                "mode",
                            ],
                        ));
                    }
                }
            }
        }
    }
    if !tokens.is_empty() {
        m.push("gpu-telemetry", tokens, node, path);
    }
    Ok(())
}

fn server_metrics(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    match &node.value {
        Value::Bool(false) => {
            m.push("no-server-metrics", Vec::new(), node, path);
            return Ok(());
        }
        Value::Bool(true) => return Ok(()),
        Value::Str(url) => {
            m.push("server-metrics", vec![url.clone()], node, path);
            return Ok(());
        }
        _ => {}
    }
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        match key.snake().as_str() {
            "enabled" => {
                if !m.boolean(value, &p)? {
                    m.push("no-server-metrics", Vec::new(), node, path);
                    return Ok(());
                }
            }
            "url" | "urls" => {
                let urls = list_of_text(m, value, &p)?;
                if !urls.is_empty() {
                    m.push("server-metrics", urls, value, &p);
                }
            }
            "formats" => {
                let formats = list_of_text(m, value, &p)?;
                m.push("server-metrics-formats", formats, value, &p);
            }
            "discovery" => {
                for (k, v) in entries(value, &p)? {
                    let q = join(&p, &k.name);
                    match k.snake().as_str() {
                        "mode" if m.text(v, &q)? == "auto" => {}
                        "mode" | "label_selector" | "namespace" => {
                            return Err(m.refuse(
                                v,
                                &q,
                                "Kubernetes discovery of metrics endpoints is not offered; give \
                                 their urls",
                            ));
                        }
                        "timeout_seconds" => {
                            m.seconds(v, &q)?;
                        }
                        _ => {
                            return Err(unknown_key(
                                k,
                                &p,
                                &["mode", "label_selector", "namespace", "timeout_seconds"],
                            ));
                        }
                    }
                }
            }
            _ => {
                return Err(unknown_key(
                    key,
                    path,
                    &["enabled", "urls", "url", "formats", "discovery"],
                ));
            }
        }
    }
    Ok(())
}

const RUNTIME_KEYS: [&str; 12] = [
    "ui",
    "workers",
    "record_processors",
    "service_run_type",
    "communication",
    "api_port",
    "api_host",
    "dataset_api_base_url",
    "workers_per_pod",
    "record_processors_per_pod",
    "workers_min",
    "stats_interval",
];

/// The Python AIPerf's processes and their wiring: nothing here to set, except the UI.
fn runtime(m: &mut Mapper, node: &Node, path: &str) -> Result<()> {
    for (key, value) in entries(node, path)? {
        let p = join(path, &key.name);
        match key.snake().as_str() {
            "ui" => m.text_flag("ui", value, &p)?,
            k if RUNTIME_KEYS.contains(&k) => m.warn(format!(
                "{p}: does not apply here (the Python AIPerf's worker processes and their \
                 messaging); one process sends and measures every request"
            )),
            _ => return Err(unknown_key(key, path, &RUNTIME_KEYS)),
        }
    }
    Ok(())
}
