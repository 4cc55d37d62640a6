//! What a run asks of the server besides its benchmark requests: waiting until the model
//! answers, resetting its prefix cache, starting and stopping its profiler; and two request
//! details tied to the server's features (the session header's name, per-chunk usage).

use serde::{Deserialize, Serialize};

/// `--wait-for-model-*`, `--reset-kv-cache*`, `--server-profiler*`, `--session-header`,
/// `--per-chunk-usage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerControl {
    /// Probe the server until the model is ready, before anything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_for_model: Option<WaitForModel>,
    /// POST to this path on every server before the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_kv_cache: Option<ControlHook>,
    /// POST to the start path on every server right before the profiling phase, to the stop
    /// path right after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_profiler: Option<ProfilerHook>,
    /// The header that carries a conversation's correlation id, instead of
    /// `X-Correlation-ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_header: Option<String>,
    /// Streamed chat answers report usage on every chunk
    /// (`stream_options.continuous_usage_stats`); inter-token latency leaves out the tokens
    /// of the first content chunk as the server counts them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub per_chunk_usage: bool,
}

impl ServerControl {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// How readiness is probed (`--wait-for-model-mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessProbe {
    /// `GET /v1/models` lists the model (a server without the list is ready once its base
    /// URL answers 2xx).
    Models,
    /// A one-token request to the endpoint gets any answer below 500.
    #[default]
    Inference,
    /// The models check, then the inference one.
    Both,
}

impl ReadinessProbe {
    /// Its `--wait-for-model-mode` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Models => "models",
            Self::Inference => "inference",
            Self::Both => "both",
        }
    }
}

/// `--wait-for-model-timeout`, `--wait-for-model-mode`, `--wait-for-model-interval`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WaitForModel {
    /// How long each (URL, model) probe may keep trying.
    pub timeout_secs: f64,
    pub probe: ReadinessProbe,
    /// Seconds between attempts.
    pub interval_secs: f64,
}

/// A control request: a POST with an empty body to a path of each server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlHook {
    /// Relative to each server's origin, starting with `/`.
    pub path: String,
    pub timeout_secs: f64,
}

/// `--server-profiler*`: the start and stop paths and their timeout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfilerHook {
    pub start_path: String,
    pub stop_path: String,
    pub timeout_secs: f64,
}

impl ControlHook {
    /// vLLM's prefix-cache reset.
    pub const DEFAULT_RESET_PATH: &'static str = "/reset_prefix_cache";
    /// The Python AIPerf's timeout for control requests, apart from the request timeout
    /// (which is tuned for inference).
    pub const DEFAULT_TIMEOUT_SECS: f64 = 30.0;
    /// How long a reset that failed for a passing reason (no answer, or 409/423/429/503) is
    /// tried again.
    pub const RESET_RETRY_SECS: f64 = 60.0;
}

impl ProfilerHook {
    /// vLLM's profiler routes.
    pub const DEFAULT_START_PATH: &'static str = "/start_profile";
    pub const DEFAULT_STOP_PATH: &'static str = "/stop_profile";
}
