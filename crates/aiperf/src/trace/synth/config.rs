//! The distributions an agentic-code workload is drawn from (`--config`, or the built-in
//! defaults), with the Python AIPerf's field names, defaults and rules. A config file holds
//! these fields, or is a previous run's `manifest.json` (its `generation_params`). Fields the
//! generator does not know are kept and written back to the manifest.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The bundled configs, by name (`--config default`).
const BUNDLED: &[(&str, &str)] = &[("default", include_str!("default.json"))];
/// The name of the bundled JSON Schema, which is no config.
const SCHEMA_NAME: &str = "spec";
const SCHEMA_ID: &str = "https://ai-dynamo.github.io/aiperf/schemas/agentic-code-gen-config.json";

/// A lognormal distribution given by its real-space mean and median (`mu` and `sigma`
/// derived unless both are given), optionally bounded by rejection sampling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lognormal {
    #[serde(default)]
    pub mu: Option<f64>,
    #[serde(default)]
    pub sigma: Option<f64>,
    pub mean: f64,
    pub median: f64,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Lognormal {
    pub fn new(mean: f64, median: f64) -> Self {
        Self {
            mu: None,
            sigma: None,
            mean,
            median,
            min: None,
            max: None,
            extra: Map::new(),
        }
    }

    /// Checks the parameters and derives `mu` and `sigma` when not given.
    fn resolve(&mut self, field: &str) -> Result<(), String> {
        let positive = |name: &str, v: f64| {
            if v > 0.0 {
                Ok(())
            } else {
                Err(format!("{field}.{name} must be > 0 (got {v})"))
            }
        };
        positive("mean", self.mean)?;
        positive("median", self.median)?;
        if let Some(v) = self.min {
            positive("min", v)?;
        }
        if let Some(v) = self.max {
            positive("max", v)?;
        }
        if self.sigma.is_some_and(|s| s < 0.0) {
            return Err(format!("{field}.sigma must be >= 0"));
        }
        if self.mean < self.median {
            return Err(format!(
                "{field}: mean ({}) must be >= median ({}) for lognormal",
                self.mean, self.median
            ));
        }
        if let (Some(lo), Some(hi)) = (self.min, self.max)
            && lo > hi
        {
            return Err(format!("{field}: min ({lo}) must be <= max ({hi})"));
        }
        match (self.mu, self.sigma) {
            (None, None) => {
                self.mu = Some(self.median.ln());
                let ratio = self.mean / self.median;
                self.sigma = Some(if ratio > 1.0 {
                    (2.0 * ratio.ln()).sqrt()
                } else {
                    0.0
                });
            }
            (Some(mu), Some(sigma)) => {
                if !mu.is_finite() || !sigma.is_finite() {
                    return Err(format!("{field}: mu and sigma must be finite"));
                }
            }
            _ => return Err(format!("{field}: mu and sigma must be supplied as a pair")),
        }
        Ok(())
    }

    /// `mu` and `sigma` (resolved).
    pub fn params(&self) -> (f64, f64) {
        (self.mu.unwrap_or(0.0), self.sigma.unwrap_or(0.0))
    }
}

/// New tokens per turn: a lognormal with a correction for the truncation at the context limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTokens {
    #[serde(flatten)]
    pub dist: Lognormal,
    #[serde(default = "one")]
    pub bias: f64,
}

fn one() -> f64 {
    1.0
}

/// Inter-turn delays: fast agentic follow-ups or slow human turns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixtureDelay {
    #[serde(default = "agentic_fraction")]
    pub agentic_fraction: f64,
    #[serde(default = "agentic_delay")]
    pub agentic_delay: Lognormal,
    #[serde(default = "human_delay")]
    pub human_delay: Lognormal,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn agentic_fraction() -> f64 {
    0.7
}
fn agentic_delay() -> Lognormal {
    Lognormal::new(2_500.0, 1_800.0)
}
fn human_delay() -> Lognormal {
    Lognormal::new(40_000.0, 25_000.0)
}

impl Default for MixtureDelay {
    fn default() -> Self {
        Self {
            agentic_fraction: agentic_fraction(),
            agentic_delay: agentic_delay(),
            human_delay: human_delay(),
            max: None,
            extra: Map::new(),
        }
    }
}

/// The chance a session ends after a turn, growing with its context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reset {
    #[serde(default = "base_probability")]
    pub base_probability: f64,
    #[serde(default = "context_scaling")]
    pub context_scaling: f64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn base_probability() -> f64 {
    0.02
}
fn context_scaling() -> f64 {
    2.0
}

impl Default for Reset {
    fn default() -> Self {
        Self {
            base_probability: base_probability(),
            context_scaling: context_scaling(),
            extra: Map::new(),
        }
    }
}

/// Explicit turns per session (instead of resets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TurnCount {
    pub mean: u64,
    pub median: u64,
    pub min: u64,
    pub max: u64,
    #[serde(default)]
    pub allow_truncation: bool,
    #[serde(default)]
    pub max_session_attempts: Option<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TurnCount {
    fn resolve(&mut self) -> Result<(), String> {
        for (name, v) in [
            ("mean", self.mean),
            ("median", self.median),
            ("min", self.min),
            ("max", self.max),
        ] {
            if v == 0 {
                return Err(format!("turns.{name} must be > 0"));
            }
        }
        let (mean, median, min, max) = (self.mean, self.median, self.min, self.max);
        if mean < median {
            return Err(format!(
                "turns: mean ({mean}) must be >= median ({median}) for lognormal"
            ));
        }
        if min > median {
            return Err(format!("turns: min ({min}) must be <= median ({median})"));
        }
        if mean > max {
            return Err(format!("turns: mean ({mean}) must be <= max ({max})"));
        }
        if min > max {
            return Err(format!("turns: min ({min}) must be <= max ({max})"));
        }
        if self.max_session_attempts == Some(0) {
            return Err("turns.max_session_attempts must be >= 1".into());
        }
        if self.allow_truncation {
            if self.max_session_attempts.is_some() {
                return Err(
                    "turns: max_session_attempts cannot be set when allow_truncation is true"
                        .into(),
                );
            }
        } else if self.max_session_attempts.is_none() {
            self.max_session_attempts = Some(100);
        }
        Ok(())
    }

    /// The bounded lognormal turn counts are drawn from.
    pub fn lognormal(&self) -> Lognormal {
        let mut d = Lognormal::new(self.mean as f64, self.median as f64);
        d.min = Some(self.min as f64);
        d.max = Some(self.max as f64);
        let _ = d.resolve("turns");
        d
    }
}

/// Groups sharing an L1.5 prefix, drawn by a Zipf law.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Groups {
    #[serde(default = "num_groups")]
    pub num_groups: u64,
    #[serde(default = "zipf_alpha")]
    pub zipf_alpha: f64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn num_groups() -> u64 {
    50
}
fn zipf_alpha() -> f64 {
    1.2
}

impl Default for Groups {
    fn default() -> Self {
        Self {
            num_groups: num_groups(),
            zipf_alpha: zipf_alpha(),
            extra: Map::new(),
        }
    }
}

/// The layers of the prompt prefix: L1 shared by all, L1.5 by a group, L2 by one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheLayers {
    #[serde(default = "layer1_tokens")]
    pub layer1_tokens: u64,
    #[serde(default = "layer1_5_tokens")]
    pub layer1_5_tokens: u64,
    #[serde(default = "layer2")]
    pub layer2: Lognormal,
    #[serde(default)]
    pub layer1_5_groups: Groups,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn layer1_tokens() -> u64 {
    32_000
}
fn layer1_5_tokens() -> u64 {
    20_000
}
fn layer2() -> Lognormal {
    Lognormal::new(10_000.0, 5_000.0)
}

impl Default for CacheLayers {
    fn default() -> Self {
        Self {
            layer1_tokens: layer1_tokens(),
            layer1_5_tokens: layer1_5_tokens(),
            layer2: layer2(),
            layer1_5_groups: Groups::default(),
            extra: Map::new(),
        }
    }
}

/// Everything the sessions are drawn from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionConfig {
    #[serde(default = "new_tokens", alias = "newTokensPerTurn")]
    pub new_tokens_per_turn: NewTokens,
    #[serde(default = "generation_length", alias = "generationLength")]
    pub generation_length: Lognormal,
    #[serde(default, alias = "interTurnDelay")]
    pub inter_turn_delay: MixtureDelay,
    #[serde(default = "some_reset")]
    pub reset: Option<Reset>,
    #[serde(default)]
    pub turns: Option<TurnCount>,
    #[serde(default = "max_prompt_tokens", alias = "maxPromptTokens")]
    pub max_prompt_tokens: u64,
    #[serde(default = "block_size", alias = "blockSize")]
    pub block_size: u64,
    #[serde(default)]
    pub cache: CacheLayers,
    #[serde(default, alias = "restartInitialProbability")]
    pub restart_initial_probability: f64,
    #[serde(default = "restart_turn_range", alias = "restartTurnRange")]
    pub restart_turn_range: Vec<u64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn new_tokens() -> NewTokens {
    NewTokens {
        dist: Lognormal::new(3_500.0, 1_800.0),
        bias: 1.0,
    }
}
fn generation_length() -> Lognormal {
    Lognormal::new(500.0, 300.0)
}
fn some_reset() -> Option<Reset> {
    Some(Reset::default())
}
fn max_prompt_tokens() -> u64 {
    200_000
}
fn block_size() -> u64 {
    512
}
fn restart_turn_range() -> Vec<u64> {
    vec![5, 15]
}

impl SessionConfig {
    /// The built-in defaults (no `--config`).
    pub fn defaults() -> Self {
        Self::from_value(Value::Object(Map::new())).expect("the defaults are valid")
    }

    /// A config from its JSON fields, checked, with derived parameters filled in.
    pub fn from_value(value: Value) -> Result<Self, String> {
        let Value::Object(mut data) = value else {
            return Err("the config must be a JSON object".into());
        };
        data.remove("system_prompt_tokens");
        if let Some(fraction) = data.remove("restart_fraction") {
            match data.get("restart_initial_probability") {
                Some(p) if !p.is_null() && *p != fraction => {
                    return Err(
                        "restart_fraction cannot differ from restart_initial_probability".into(),
                    );
                }
                _ => {
                    data.insert("restart_initial_probability".into(), fraction);
                }
            }
        }
        if data.get("turns").is_some_and(|t| !t.is_null()) && !data.contains_key("reset") {
            data.insert("reset".into(), Value::Null);
        }
        let mut config: Self =
            serde_json::from_value(Value::Object(data)).map_err(|e| e.to_string())?;
        config.resolve()?;
        Ok(config)
    }

    fn resolve(&mut self) -> Result<(), String> {
        self.new_tokens_per_turn
            .dist
            .resolve("new_tokens_per_turn")?;
        if self.new_tokens_per_turn.bias <= 0.0 {
            return Err("new_tokens_per_turn.bias must be > 0".into());
        }
        self.generation_length.resolve("generation_length")?;
        let delay = &mut self.inter_turn_delay;
        if !(0.0..=1.0).contains(&delay.agentic_fraction) {
            return Err("inter_turn_delay.agentic_fraction must be within [0, 1]".into());
        }
        delay
            .agentic_delay
            .resolve("inter_turn_delay.agentic_delay")?;
        delay.human_delay.resolve("inter_turn_delay.human_delay")?;
        if delay.max.is_some_and(|m| m < 0.0) {
            return Err("inter_turn_delay.max must be >= 0".into());
        }
        if let Some(reset) = &self.reset {
            if !(0.0..=1.0).contains(&reset.base_probability) {
                return Err("reset.base_probability must be within [0, 1]".into());
            }
            if reset.context_scaling < 1.0 {
                return Err("reset.context_scaling must be >= 1".into());
            }
        }
        if let Some(turns) = &mut self.turns {
            turns.resolve()?;
        }
        if self.max_prompt_tokens == 0 {
            return Err("max_prompt_tokens must be >= 1".into());
        }
        if self.block_size == 0 {
            return Err("block_size must be >= 1".into());
        }
        self.cache.layer2.resolve("cache.layer2")?;
        if self.cache.layer1_5_groups.num_groups == 0 {
            return Err("cache.layer1_5_groups.num_groups must be >= 1".into());
        }
        if self.cache.layer1_5_groups.zipf_alpha < 0.0 {
            return Err("cache.layer1_5_groups.zipf_alpha must be >= 0".into());
        }
        if !(0.0..=1.0).contains(&self.restart_initial_probability) {
            return Err("restart_initial_probability must be within [0, 1]".into());
        }
        self.check_turn_mode()
    }

    fn check_turn_mode(&self) -> Result<(), String> {
        let [lo, hi] = self.restart_turn_range[..] else {
            return Err("restart_turn_range must hold two numbers, [min, max)".into());
        };
        if lo < 1 {
            return Err("restart_turn_range minimum must be >= 1".into());
        }
        if hi <= lo {
            return Err("restart_turn_range must be ordered as [min, max)".into());
        }
        let Some(turns) = &self.turns else {
            return Ok(());
        };
        if self.reset.is_some() {
            return Err("turns mode cannot be combined with reset".into());
        }
        if self.restart_initial_probability != 0.0 {
            return Err("turns mode cannot be combined with restart_initial_probability".into());
        }
        let min_l2 = self.cache.layer2.min.map_or(1, |m| m as u64);
        let min_new = self.new_tokens_per_turn.dist.min.map_or(1, |m| m as u64);
        let min_output = self
            .generation_length
            .max
            .map_or(30, |m| (m as u64).min(30));
        let mut input = self.cache.layer1_tokens + self.cache.layer1_5_tokens + min_l2;
        if input >= self.max_prompt_tokens {
            return Err(
                "turns mode is impossible: minimum initial context exceeds max_prompt_tokens"
                    .into(),
            );
        }
        if turns.allow_truncation {
            return Ok(());
        }
        for _ in 1..turns.min {
            input += min_output + min_new;
            if input >= self.max_prompt_tokens {
                return Err(
                    "turns mode is impossible: minimum turn count cannot fit under \
                            max_prompt_tokens"
                        .into(),
                );
            }
        }
        Ok(())
    }

    /// The config with `--max-isl` (the context limit) and `--max-osl` (the longest answer)
    /// applied, checked again.
    pub fn with_limits(self, max_isl: Option<u64>, max_osl: Option<u64>) -> Result<Self, String> {
        if max_isl.is_none() && max_osl.is_none() {
            return Ok(self);
        }
        let mut data = serde_json::to_value(&self).map_err(|e| e.to_string())?;
        if let Some(isl) = max_isl {
            data["max_prompt_tokens"] = isl.into();
        }
        if let Some(osl) = max_osl {
            data["generation_length"]["max"] = (osl as f64).into();
        }
        Self::from_value(data)
    }
}

/// Loads `--config`: a bundled config's name, or a file holding a config or a manifest.
pub fn load(name_or_path: &str) -> Result<SessionConfig, String> {
    if name_or_path == SCHEMA_NAME {
        return Err("spec.json is a JSON Schema reference, not a loadable config".into());
    }
    if let Some((_, text)) = BUNDLED.iter().find(|(n, _)| *n == name_or_path) {
        return parse(text, name_or_path);
    }
    let path = Path::new(name_or_path);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        return parse(&text, name_or_path);
    }
    let names: Vec<String> = BUNDLED.iter().map(|(n, _)| format!("'{n}'")).collect();
    Err(format!(
        "config '{name_or_path}' not found; bundled configs: [{}], or give a file path",
        names.join(", ")
    ))
}

fn parse(text: &str, origin: &str) -> Result<SessionConfig, String> {
    let data: Value = serde_json::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
    let Value::Object(mut map) = data else {
        return Err(format!("config '{origin}' must be a JSON object"));
    };
    if map.get("$id").and_then(Value::as_str) == Some(SCHEMA_ID) && map.contains_key("properties") {
        return Err("spec.json is a JSON Schema reference, not a loadable config".into());
    }
    let data = match map.remove("generation_params") {
        Some(params @ Value::Object(_)) => params,
        Some(_) => {
            return Err(format!(
                "config '{origin}': generation_params must be a JSON object"
            ));
        }
        None => Value::Object(map),
    };
    SessionConfig::from_value(data).map_err(|e| format!("{origin}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_derive_the_lognormal_parameters() {
        let c = SessionConfig::defaults();
        assert_eq!(c.new_tokens_per_turn.dist.mu, Some(1800f64.ln()));
        assert_eq!(
            c.generation_length.sigma,
            Some((2.0 * (500f64 / 300.0).ln()).sqrt())
        );
        assert!(c.reset.is_some() && c.turns.is_none());
        let json = serde_json::to_value(&c).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys[0], "new_tokens_per_turn");
        assert_eq!(json["new_tokens_per_turn"]["bias"], 1.0);
        assert_eq!(json["restart_turn_range"], serde_json::json!([5, 15]));
    }

    #[test]
    fn turns_mode_drops_the_default_reset_and_checks_feasibility() {
        let c = SessionConfig::from_value(serde_json::json!({
            "turns": {"mean": 10, "median": 8, "min": 2, "max": 20}
        }))
        .unwrap();
        assert!(c.reset.is_none());
        assert_eq!(c.turns.unwrap().max_session_attempts, Some(100));
        let err = SessionConfig::from_value(serde_json::json!({
            "turns": {"mean": 10, "median": 8, "min": 2, "max": 20},
            "max_prompt_tokens": 1000
        }))
        .unwrap_err();
        assert!(err.contains("impossible"), "{err}");
    }

    #[test]
    fn bad_values_name_their_field() {
        let err = SessionConfig::from_value(serde_json::json!({
            "generation_length": {"mean": 100, "median": 300}
        }))
        .unwrap_err();
        assert!(err.contains("generation_length"), "{err}");
        assert!(load("nope-such-config").unwrap_err().contains("'default'"));
        assert!(load("spec").is_err());
    }

    #[test]
    fn limits_override_the_context_and_the_answer_length() {
        let c = SessionConfig::defaults()
            .with_limits(Some(100_000), Some(2_000))
            .unwrap();
        assert_eq!(c.max_prompt_tokens, 100_000);
        assert_eq!(c.generation_length.max, Some(2_000.0));
    }
}
