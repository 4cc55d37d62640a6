//! `inputs.json` (the exact body of every turn, per conversation) and `run_config.json` (the
//! run as the reference tool's `BenchmarkRun`: its configuration in the reference tool's shape
//! and its place in its plan; then this tool's version and its own resolved settings, secrets
//! redacted).

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::VERSION;
use super::reference_config::{ReferenceConfig, RunIdentity, Variation};
use crate::dataset::Dataset;
use crate::endpoints::Endpoint;
use crate::settings::ProfileConfig;

#[derive(Serialize)]
struct Inputs<'a> {
    data: Vec<InputsSession<'a>>,
}

#[derive(Serialize)]
struct InputsSession<'a> {
    session_id: &'a str,
    payloads: Vec<Map<String, Value>>,
}

#[derive(Serialize)]
struct RunConfig<'a> {
    benchmark_id: &'a str,
    /// Shared by every run of a sweep, repeated runs or a search.
    #[serde(skip_serializing_if = "Option::is_none")]
    sweep_id: Option<&'a str>,
    cfg: &'a ReferenceConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    variation: Option<&'a Variation>,
    trial: u32,
    artifact_dir: &'a Path,
    #[serde(skip_serializing_if = "str::is_empty")]
    label: &'a str,
    cli_command: &'a str,
    random_seed: u64,
    variables: Map<String, Value>,
    resolved: Resolved,
    aiperf_version: &'static str,
    /// This tool's own resolved settings: what `aiperf` reads back.
    aiperf_config: &'a ProfileConfig,
}

/// What was decided when the run started.
#[derive(Serialize)]
struct Resolved {
    /// Model → the tokenizer counting its tokens.
    tokenizer_names: Map<String, Value>,
}

/// `inputs.json`: the exact body of every turn, per conversation. A turn the endpoint type
/// cannot send (it fails as a request when its turn comes) has no body and is left out; the
/// log says how many were and why the first was.
pub fn inputs_json(config: &ProfileConfig, api: &dyn Endpoint, dataset: &Dataset) -> Value {
    let mut unsendable = (0usize, None);
    let data = dataset
        .conversations
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let model = &config.models[i % config.models.len()];
            let payloads = (c.turns.iter())
                .filter_map(|t| match api.body(&config.endpoint, model, t, &[]) {
                    Ok(body) => Some(body),
                    Err(why) => {
                        unsendable.0 += 1;
                        unsendable.1.get_or_insert(why);
                        None
                    }
                })
                .collect();
            InputsSession {
                session_id: &c.id,
                payloads,
            }
        })
        .collect();
    if let (n, Some(first)) = unsendable {
        tracing::warn!(
            "inputs.json leaves out {n} turn(s) that --endpoint-type {} cannot send (each fails \
             as a request): {}: {}",
            api.name(),
            first.kind,
            first.message
        );
    }
    serde_json::to_value(Inputs { data }).expect("inputs serialize")
}

/// `run_config.json`: the run's configuration (`reference`, and `config` itself, secrets
/// redacted) and its identity.
pub fn run_config_json(
    config: &ProfileConfig,
    reference: &ReferenceConfig,
    identity: Option<&RunIdentity>,
    benchmark_id: &str,
    artifact_dir: &Path,
) -> Value {
    let tokenizer = config.tokenizer.display_name();
    serde_json::to_value(RunConfig {
        benchmark_id,
        sweep_id: identity.map(|i| i.sweep_id.as_str()),
        cfg: reference,
        variation: identity.map(|i| &i.variation),
        trial: identity.map_or(0, |i| i.trial),
        artifact_dir,
        label: identity.map_or("", |i| i.label.as_str()),
        cli_command: &config.cli_command,
        random_seed: config.random_seed,
        variables: Map::new(),
        resolved: Resolved {
            tokenizer_names: config
                .models
                .iter()
                .map(|m| (m.clone(), Value::from(tokenizer.as_str())))
                .collect(),
        },
        aiperf_version: VERSION,
        aiperf_config: config,
    })
    .expect("the configuration serializes")
}
