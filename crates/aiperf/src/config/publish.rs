//! Flags of the Python AIPerf for work this tool leaves to other tools: publishing to
//! OpenTelemetry, MLflow and Weights & Biases, accuracy benchmarks, and benchmark scenarios.
//! Their values are checked; then a run goes on as a performance benchmark with one line on
//! stderr saying what is not done and what to do instead, or (a scenario, which would change
//! what the benchmark means) is refused.

use crate::UsageError;
use crate::cli::profile::ProfileArgs;

/// The scenarios the Python AIPerf 0.13 knows.
const SCENARIOS: [&str; 1] = ["inferencex-agentx-mvp"];

/// Checks the flags' values and says, once each, what is not done here.
pub(super) fn check(args: &ProfileArgs) -> Result<(), UsageError> {
    check_values(args)?;
    check_scenario(args)?;
    for note in notes(args) {
        tracing::warn!("{note}");
    }
    Ok(())
}

fn check_values(args: &ProfileArgs) -> Result<(), UsageError> {
    let p = &args.publish;
    if let Some(bad) = p
        .otel_resource_attributes
        .iter()
        .find(|a| a.split_once('=').is_none_or(|(k, _)| k.trim().is_empty()))
    {
        return Err(UsageError::new(format!(
            "--otel-resource-attributes: {bad:?} is not key=value (e.g. \
             --otel-resource-attributes deployment.environment=staging)"
        )));
    }
    if let Some(bad) = p.mlflow_tag.iter().find(|t| {
        let json = t.trim_start().starts_with('{')
            && serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(t).is_ok();
        !json && t.split_once(':').is_none_or(|(k, _)| k.trim().is_empty())
    }) {
        return Err(UsageError::new(format!(
            "--mlflow-tag: {bad:?} is neither key:value nor a JSON object (e.g. --mlflow-tag \
             team:perf)"
        )));
    }
    let a = &args.accuracy;
    if a.accuracy_enable_cot && a.accuracy_no_enable_cot {
        return Err(UsageError::new(
            "--accuracy-enable-cot and --accuracy-no-enable-cot contradict each other; give one",
        ));
    }
    Ok(())
}

/// `--scenario`: its lock holds a benchmark to agentic replay of Weka traces, which does not
/// run here, so a run under its name would not be what the name promises.
fn check_scenario(args: &ProfileArgs) -> Result<(), UsageError> {
    let Some(name) = &args.scenario.scenario else {
        return Ok(());
    };
    if !SCENARIOS.contains(&name.as_str()) {
        return Err(UsageError::new(format!(
            "--scenario {name:?}: unknown scenario; the Python AIPerf knows {}",
            SCENARIOS.join(", ")
        )));
    }
    Err(UsageError::new(format!(
        "--scenario {name}: the scenario locks the benchmark to agentic replay of Weka \
         coding-agent traces (streaming, ignore_eos, at least 900 s), which this tool does not \
         run; run the scenario with the Python AIPerf, or drop --scenario to benchmark the \
         same server with this tool's own load"
    )))
}

/// One line per group of flags given whose work is not done here.
fn notes(args: &ProfileArgs) -> Vec<String> {
    let p = &args.publish;
    let mut notes = Vec::new();
    let otel = p.otel_url.is_some()
        || !p.stream.is_empty()
        || !p.otel_resource_attributes.is_empty()
        || p.gen_ai_provider.is_some();
    if otel {
        notes.push(
            "--otel-url/--stream/--otel-resource-attributes/--gen-ai-provider: metrics are not \
             streamed to OpenTelemetry from here; every request's metrics are in \
             profile_export.jsonl and the summary in profile_export_aiperf.json (read them \
             with an OpenTelemetry collector's filelog receiver, or push them from a script)"
                .to_owned(),
        );
    }
    let mlflow = p.mlflow_tracking_uri.is_some()
        || p.mlflow_experiment.is_some()
        || p.mlflow_run_name.is_some()
        || !p.mlflow_tag.is_empty()
        || p.mlflow_parent_run_id.is_some()
        || !p.mlflow_artifact_glob.is_empty();
    if mlflow {
        notes.push(
            "--mlflow-*: the run is not uploaded to MLflow from here; upload the artifact \
             directory with the mlflow client afterwards (`mlflow artifacts log-artifacts \
             --local-dir <artifact-dir> --run-id <id>`, with MLFLOW_TRACKING_URI set)"
                .to_owned(),
        );
    }
    let wandb = p.wandb_project.is_some()
        || p.wandb_entity.is_some()
        || p.wandb_run_name.is_some()
        || !p.wandb_tag.is_empty();
    if wandb {
        notes.push(
            "--wandb-*: the run is not uploaded to Weights & Biases from here (it needs the W&B \
             service and its client); upload the artifact directory with `wandb` afterwards \
             (e.g. `wandb artifact put --type benchmark --name <project>/<name> <artifact-dir>`)"
                .to_owned(),
        );
    }
    let a = &args.accuracy;
    if let Some(b) = a.accuracy_benchmark {
        let name = clap::ValueEnum::to_possible_value(&b)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default();
        notes.push(format!(
            "--accuracy-benchmark {name}: accuracy is not graded here (it needs the {name} \
             dataset with its few-shot examples and the benchmark's grader, which are not \
             bundled and cannot be fetched offline); this runs as a performance benchmark. \
             Grade accuracy with the Python AIPerf or lm-evaluation-harness"
        ));
    } else if !a.accuracy_tasks.is_empty()
        || a.accuracy_n_shots.is_some()
        || a.accuracy_enable_cot
        || a.accuracy_no_enable_cot
        || a.accuracy_grader.is_some()
        || a.accuracy_system_prompt.is_some()
        || a.accuracy_verbose
    {
        notes.push(
            "--accuracy-* options have no effect without --accuracy-benchmark (and accuracy is \
             not graded here)"
                .to_owned(),
        );
    }
    if args.scenario.unsafe_override && args.scenario.scenario.is_none() {
        notes.push("--unsafe-override has no effect without --scenario".to_owned());
    }
    notes
}
