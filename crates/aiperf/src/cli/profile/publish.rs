//! Publishing results to outside services: OpenTelemetry, MLflow, Weights & Biases.

use clap::{ArgAction, Args, ValueEnum};

/// What `--stream` sends to the OpenTelemetry collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StreamArg {
    /// Per-request metric records.
    Metrics,
    /// Phase timing (requests sent and completed, phase starts and ends).
    Timing,
    /// Both.
    Default,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct PublishArgs {
    /// OTLP/HTTP metrics endpoint to stream the run's metrics to. Not sent from here (the
    /// run says so); the records are in profile_export.jsonl.
    #[arg(long, value_name = "URL")]
    pub otel_url: Option<String>,

    /// What to stream over OpenTelemetry: metrics, timing, or default (both).
    #[arg(long, value_enum, num_args = 1.., action = ArgAction::Append)]
    pub stream: Vec<StreamArg>,

    /// Extra OpenTelemetry resource attributes, `key=value` (repeatable).
    #[arg(long, value_name = "KEY=VALUE", action = ArgAction::Append)]
    pub otel_resource_attributes: Vec<String>,

    /// The `gen_ai.provider.name` of the OpenTelemetry GenAI conventions.
    #[arg(long, value_name = "NAME")]
    pub gen_ai_provider: Option<String>,

    /// MLflow tracking server to upload the run to. Not uploaded from here (the run says
    /// how to with the `mlflow` client).
    #[arg(long, value_name = "URI")]
    pub mlflow_tracking_uri: Option<String>,

    /// MLflow experiment name.
    #[arg(long, value_name = "NAME")]
    pub mlflow_experiment: Option<String>,

    /// MLflow run name.
    #[arg(long, value_name = "NAME")]
    pub mlflow_run_name: Option<String>,

    /// MLflow run tags, `key:value` or a JSON object (repeatable).
    #[arg(long, value_name = "KEY:VALUE", action = ArgAction::Append)]
    pub mlflow_tag: Vec<String>,

    /// MLflow parent run id.
    #[arg(long, value_name = "ID")]
    pub mlflow_parent_run_id: Option<String>,

    /// Which artifacts to upload to MLflow, as globs (repeatable, or comma-separated).
    #[arg(long, value_name = "GLOB", value_delimiter = ',', action = ArgAction::Append)]
    pub mlflow_artifact_glob: Vec<String>,

    /// Weights & Biases project to upload the run to. Not uploaded from here (the run says
    /// how to with the `wandb` client).
    #[arg(long, value_name = "PROJECT")]
    pub wandb_project: Option<String>,

    /// Weights & Biases entity (team or user).
    #[arg(long, value_name = "ENTITY")]
    pub wandb_entity: Option<String>,

    /// Weights & Biases run name.
    #[arg(long, value_name = "NAME")]
    pub wandb_run_name: Option<String>,

    /// Weights & Biases run tags (repeatable, or comma-separated).
    #[arg(long, value_name = "TAG", value_delimiter = ',', action = ArgAction::Append)]
    pub wandb_tag: Vec<String>,
}
