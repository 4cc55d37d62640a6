//! Search recipes: named questions ("the highest concurrency that meets this SLA") answered by
//! a search or a grid sweep plus a post-processing step that writes the answer file.
//!
//! A recipe is data: a TOML file with a search space or grid, an objective, SLA filters and a
//! post-process handler. Values written `"@name"` are variables: recipe flags from the command
//! line (`--ttft-sla-ms` is `ttft-sla-ms`) or the recipe's `[defaults]`. The built-in recipes
//! are such files embedded in the binary; `--search-recipe ./my-recipe.toml` runs your own.

pub mod documents;
pub mod post_process;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::UsageError;
use crate::settings::PlannerKind;
use crate::settings::SlaOp;

/// The built-in recipes, as embedded TOML.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "max-throughput-ttft-sla",
        include_str!("../../recipes/max-throughput-ttft-sla.toml"),
    ),
    (
        "max-throughput-itl-sla",
        include_str!("../../recipes/max-throughput-itl-sla.toml"),
    ),
    (
        "max-concurrency-under-sla",
        include_str!("../../recipes/max-concurrency-under-sla.toml"),
    ),
    (
        "max-goodput-under-slo",
        include_str!("../../recipes/max-goodput-under-slo.toml"),
    ),
    (
        "concurrency-ramp",
        include_str!("../../recipes/concurrency-ramp.toml"),
    ),
    (
        "prefill-ttft-curve",
        include_str!("../../recipes/prefill-ttft-curve.toml"),
    ),
    (
        "decode-itl-curve",
        include_str!("../../recipes/decode-itl-curve.toml"),
    ),
    (
        "pareto-sweep",
        include_str!("../../recipes/pareto-sweep.toml"),
    ),
];

/// A recipe file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub requires_streaming: bool,
    /// Variables that, when set, make streaming required.
    #[serde(default)]
    pub streaming_when: Vec<String>,
    pub streaming_reason: Option<String>,
    #[serde(default)]
    pub auto_plot: bool,
    /// Required variables (no default) and what they mean.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub defaults: BTreeMap<String, toml::Value>,
    /// At least one of these variables must be set.
    #[serde(default)]
    pub require_one_sla_of: Vec<String>,
    /// Magic-list flags the recipe uses itself (allowed alongside it).
    #[serde(default)]
    pub consumes: Vec<String>,
    #[serde(default)]
    pub sla: Vec<SlaSpec>,
    #[serde(default)]
    pub goodput: BTreeMap<String, toml::Value>,
    pub search: Option<SearchSpec>,
    pub grid: Option<BTreeMap<String, toml::Value>>,
    pub post_process: Option<PostSpec>,
    pub style_variable: Option<String>,
    pub default_style: Option<String>,
    #[serde(default)]
    pub styles: BTreeMap<String, StyleSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaSpec {
    pub metric: String,
    pub stat: String,
    pub op: SlaOp,
    pub threshold: toml::Value,
    /// Only when this variable is set.
    pub when: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSpec {
    pub planner: PlannerKind,
    pub max_iterations: u32,
    #[serde(default = "five")]
    pub initial_points: u32,
    pub objective: ObjectiveSpec,
    pub space: Vec<SpaceSpec>,
}

fn five() -> u32 {
    5
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveSpec {
    pub metric: String,
    #[serde(default = "avg")]
    pub stat: String,
    pub direction: Direction,
}

fn avg() -> String {
    "avg".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Maximize,
    Minimize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpaceSpec {
    pub param: String,
    pub lo: toml::Value,
    pub hi: toml::Value,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub prior: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostSpec {
    pub handler: String,
    pub output: String,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
}

/// A style overrides the search settings, or turns the recipe into a grid.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleSpec {
    pub planner: Option<PlannerKind>,
    pub max_iterations: Option<u32>,
    pub initial_points: Option<u32>,
    pub prior: Option<String>,
    pub grid: Option<BTreeMap<String, toml::Value>>,
    pub post_process: Option<PostSpec>,
}

/// Reads a recipe by built-in name or file path.
pub fn load(name_or_path: &str) -> Result<Recipe, UsageError> {
    let (text, origin) = match BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
        Some((_, text)) => (
            (*text).to_owned(),
            format!("built-in recipe {name_or_path}"),
        ),
        None if name_or_path.ends_with(".toml") || Path::new(name_or_path).is_file() => {
            let text = std::fs::read_to_string(name_or_path).map_err(|e| {
                UsageError::new(format!("--search-recipe: cannot read {name_or_path}: {e}"))
            })?;
            (text, name_or_path.to_owned())
        }
        None => {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            return Err(UsageError::new(format!(
                "--search-recipe: unknown recipe {name_or_path:?}; built-in recipes: {} (or give the path of a recipe .toml file)",
                names.join(", ")
            )));
        }
    };
    let recipe: Recipe = toml::from_str(&text).map_err(|e| {
        UsageError::new(format!(
            "--search-recipe: {origin} is not a valid recipe: {e}"
        ))
    })?;
    if recipe.search.is_none() && recipe.grid.is_none() {
        return Err(UsageError::new(format!(
            "--search-recipe: {origin}: needs a [search] or a [grid] table"
        )));
    }
    if recipe.search.is_some() && recipe.grid.is_some() {
        return Err(UsageError::new(format!(
            "--search-recipe: {origin}: give either [search] or [grid], not both"
        )));
    }
    if let Some(p) = &recipe.post_process
        && !post_process::HANDLERS.contains(&p.handler.as_str())
    {
        return Err(UsageError::new(format!(
            "--search-recipe: {origin}: post_process.handler {:?} is unknown; known: {}",
            p.handler,
            post_process::HANDLERS.join(", ")
        )));
    }
    Ok(recipe)
}
