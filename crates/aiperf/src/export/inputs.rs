//! `inputs.json` (the exact body of every turn, per conversation) and `run_config.json` (the
//! resolved configuration, secrets redacted, with the run's identity).

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::VERSION;
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
    aiperf_version: &'static str,
    artifact_dir: &'a Path,
    cfg: &'a ProfileConfig,
}

/// `inputs.json`: the exact body of every turn, per conversation.
pub fn inputs_json(config: &ProfileConfig, api: &dyn Endpoint, dataset: &Dataset) -> Value {
    let data = dataset
        .conversations
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let model = &config.models[i % config.models.len()];
            InputsSession {
                session_id: &c.id,
                payloads: c
                    .turns
                    .iter()
                    .map(|t| api.body(&config.endpoint, model, t, &[]))
                    .collect(),
            }
        })
        .collect();
    serde_json::to_value(Inputs { data }).expect("inputs serialize")
}

/// `run_config.json`: the resolved configuration (secrets redacted) and the run's identity.
pub fn run_config_json(config: &ProfileConfig, benchmark_id: &str, artifact_dir: &Path) -> Value {
    serde_json::to_value(RunConfig {
        benchmark_id,
        aiperf_version: VERSION,
        artifact_dir,
        cfg: config,
    })
    .expect("the configuration serializes")
}
