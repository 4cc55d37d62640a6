//! Everything that shapes the simulated server, with validation.
//!
//! Error messages name the `aiperf sim` flag that sets each field, because that is how most
//! users meet them.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::engine::EngineParams;

/// Full configuration of one simulated server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// Model names the server answers to (`/v1/models` lists them; others get a 404).
    pub served_models: Vec<String>,
    /// How long prefill and decode take.
    pub timing: Timing,
    /// Longest prompt + output, in tokens.
    pub max_model_len: u32,
    /// Run this many times faster than real time (all durations are divided by it).
    pub speedup: f64,
    /// Output length and content.
    pub output: OutputConfig,
    /// How prompt tokens are counted.
    pub tokenizer: TokenizerKind,
    /// Injected failures.
    pub faults: FaultConfig,
    /// Seed of every random choice the server makes.
    pub seed: u64,
    /// Write the server's own per-request timestamps here as JSON lines.
    pub record_requests: Option<PathBuf>,
    /// How long shutdown waits for in-flight requests before dropping them.
    pub shutdown_grace: Duration,
    /// The simulated GPUs behind `/dcgm/metrics`.
    #[serde(default)]
    pub gpus: crate::gpu::GpuConfig,
    /// Speculative decoding to report (none: the server does not speculate).
    #[serde(default)]
    pub spec_decode: Option<crate::spec_decode::SpecDecodeConfig>,
}

/// The latency model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Timing {
    /// Continuous batching: requests share one engine, so load changes latency.
    Engine(EngineParams),
    /// Every request independently gets the same time to first token and inter-token time,
    /// whatever the load. For checking a client's measurement accuracy.
    Fixed {
        #[serde(with = "duration_ms")]
        ttft: Duration,
        #[serde(with = "duration_ms")]
        itl: Duration,
    },
    /// No simulated latency at all: every token is ready at once. For client benchmarks.
    Zero,
}

/// Output length when the request does not force it with `ignore_eos`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputConfig {
    /// Mean of the "natural" answer length, in tokens, before `max_tokens` caps it.
    pub mean_tokens: u32,
    /// Standard deviation of the natural answer length.
    pub stddev_tokens: u32,
    /// Fraction of the output sent as `reasoning_content` before the answer (chat only).
    pub reasoning_ratio: f64,
}

impl Default for OutputConfig {
    fn default() -> Self {
        Self {
            mean_tokens: 256,
            stddev_tokens: 128,
            reasoning_ratio: 0.0,
        }
    }
}

/// Tokenizer used to count prompt tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenizerKind {
    /// OpenAI's `o200k_base` (the client's default for unknown models).
    #[default]
    O200kBase,
    /// OpenAI's `cl100k_base`.
    Cl100kBase,
    /// One token per four bytes: no tokenizer cost, for client benchmarks at very high rates.
    Approx,
}

impl TokenizerKind {
    pub const NAMES: [&'static str; 3] = ["o200k_base", "cl100k_base", "approx"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "o200k_base" => Some(Self::O200kBase),
            "cl100k_base" => Some(Self::Cl100kBase),
            "approx" => Some(Self::Approx),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::O200kBase => "o200k_base",
            Self::Cl100kBase => "cl100k_base",
            Self::Approx => "approx",
        }
    }
}

/// Seeded fault injection. Rates are per request, in `[0, 1]`, and at most one fault hits a
/// request, so the rates must add up to at most 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultConfig {
    /// Answer with an HTTP error instead of a completion.
    pub error_rate: f64,
    /// Statuses to pick from (uniformly) for injected errors.
    pub error_statuses: Vec<u16>,
    /// `Retry-After` seconds sent with injected 429 and 503 answers.
    pub retry_after_secs: u32,
    /// Drop the connection part-way through the response.
    pub disconnect_rate: f64,
    /// Replace one chunk of the stream with invalid JSON.
    pub malformed_rate: f64,
    /// Pause the response part-way through for [`stall`](Self::stall).
    pub stall_rate: f64,
    #[serde(with = "duration_ms")]
    pub stall: Duration,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            error_statuses: vec![500],
            retry_after_secs: 1,
            disconnect_rate: 0.0,
            malformed_rate: 0.0,
            stall_rate: 0.0,
            stall: Duration::from_secs(10),
        }
    }
}

impl FaultConfig {
    pub fn is_active(&self) -> bool {
        self.error_rate + self.disconnect_rate + self.malformed_rate + self.stall_rate > 0.0
    }
}

/// A configuration value that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{flag}: {message}")]
pub struct ConfigError {
    /// The `aiperf sim` flag that sets the bad value.
    pub flag: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(flag: &'static str, message: impl Into<String>) -> Self {
        Self {
            flag,
            message: message.into(),
        }
    }
}

impl SimConfig {
    /// Checks every field; the error names the flag to change.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.served_models.is_empty() {
            return Err(ConfigError::new(
                "--model",
                "at least one model name is needed",
            ));
        }
        if let Some(name) = self.served_models.iter().find(|m| m.trim().is_empty()) {
            return Err(ConfigError::new(
                "--model",
                format!("model name {name:?} is empty"),
            ));
        }
        if !(self.speedup.is_finite() && self.speedup > 0.0) {
            return Err(ConfigError::new(
                "--speedup",
                format!("must be a positive number, got {}", self.speedup),
            ));
        }
        if self.max_model_len < 2 {
            return Err(ConfigError::new(
                "--max-model-len",
                "must be at least 2 tokens",
            ));
        }
        let out = &self.output;
        if out.mean_tokens == 0 {
            return Err(ConfigError::new(
                "--output-tokens-mean",
                "must be at least 1",
            ));
        }
        if !(0.0..=1.0).contains(&out.reasoning_ratio) {
            return Err(ConfigError::new(
                "--reasoning-ratio",
                format!("must be between 0 and 1, got {}", out.reasoning_ratio),
            ));
        }
        self.validate_faults()?;
        if let Some(spec) = &self.spec_decode {
            if !(1..=64).contains(&spec.num_spec_tokens) {
                return Err(ConfigError::new(
                    "--spec-decode-tokens",
                    format!("must be between 1 and 64, got {}", spec.num_spec_tokens),
                ));
            }
            if !(0.0..=1.0).contains(&spec.acceptance_rate) {
                return Err(ConfigError::new(
                    "--spec-decode-acceptance",
                    format!("must be between 0 and 1, got {}", spec.acceptance_rate),
                ));
            }
        }
        let g = &self.gpus;
        if !(1..=64).contains(&g.count) {
            return Err(ConfigError::new(
                "--dcgm-num-gpus",
                format!("must be between 1 and 64, got {}", g.count),
            ));
        }
        if !(g.idle_watts.is_finite() && g.idle_watts >= 0.0) {
            return Err(ConfigError::new(
                "--gpu-idle-watts",
                format!("must be a non-negative number, got {}", g.idle_watts),
            ));
        }
        if !(g.max_watts.is_finite() && g.max_watts > g.idle_watts) {
            return Err(ConfigError::new(
                "--gpu-max-watts",
                format!(
                    "must be above the idle draw ({} W), got {}",
                    g.idle_watts, g.max_watts
                ),
            ));
        }
        match &self.timing {
            Timing::Engine(params) => params.validate(self.max_model_len),
            Timing::Fixed { .. } | Timing::Zero => Ok(()),
        }
    }

    fn validate_faults(&self) -> Result<(), ConfigError> {
        let f = &self.faults;
        for (flag, rate) in [
            ("--error-rate", f.error_rate),
            ("--disconnect-rate", f.disconnect_rate),
            ("--malformed-rate", f.malformed_rate),
            ("--stall-rate", f.stall_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(ConfigError::new(
                    flag,
                    format!("must be a fraction between 0 and 1, got {rate}"),
                ));
            }
        }
        let total = f.error_rate + f.disconnect_rate + f.malformed_rate + f.stall_rate;
        if total > 1.0 + 1e-9 {
            return Err(ConfigError::new(
                "--error-rate",
                format!(
                    "the fault rates add up to {total}; at most one fault hits a request, so \
                     their sum must be at most 1"
                ),
            ));
        }
        if f.error_statuses.is_empty() {
            return Err(ConfigError::new(
                "--error-status",
                "give at least one status",
            ));
        }
        if let Some(bad) = f.error_statuses.iter().find(|s| !(400..=599).contains(*s)) {
            return Err(ConfigError::new(
                "--error-status",
                format!("{bad} is not an HTTP error status (use 400-599, e.g. 500 or 429)"),
            ));
        }
        Ok(())
    }

    /// Scales a simulated duration to wall-clock time.
    pub fn scaled(&self, d: Duration) -> Duration {
        d.div_f64(self.speedup)
    }
}

/// Serializes a `Duration` as fractional milliseconds, the unit every latency knob uses.
pub(crate) mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64() * 1e3)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let ms = f64::deserialize(d)?;
        Duration::try_from_secs_f64(ms / 1e3).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presets::preset;

    #[test]
    fn every_preset_is_valid() {
        for p in crate::presets::PRESETS {
            let config = preset(p.name).unwrap();
            config
                .validate()
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
        }
    }

    #[test]
    fn errors_name_the_flag() {
        let mut config = preset("fixed").unwrap();
        config.speedup = 0.0;
        assert_eq!(config.validate().unwrap_err().flag, "--speedup");

        let mut config = preset("fixed").unwrap();
        config.faults.error_rate = 0.7;
        config.faults.disconnect_rate = 0.7;
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains("add up to"), "{err}");

        let mut config = preset("fixed").unwrap();
        config.faults.error_statuses = vec![200];
        assert_eq!(config.validate().unwrap_err().flag, "--error-status");

        let mut config = preset("fixed").unwrap();
        config.output.reasoning_ratio = 1.5;
        assert_eq!(config.validate().unwrap_err().flag, "--reasoning-ratio");
    }

    #[test]
    fn config_round_trips_through_json() {
        for p in crate::presets::PRESETS {
            let config = preset(p.name).unwrap();
            let text = serde_json::to_string(&config).unwrap();
            let back: SimConfig = serde_json::from_str(&text).unwrap();
            assert_eq!(back, config);
        }
    }
}
