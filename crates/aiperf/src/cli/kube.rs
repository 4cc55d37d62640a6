//! `aiperf kube …`: sweeps, searches and sharded benchmarks on Kubernetes.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::profile::ProfileArgs;

#[derive(Debug, Subcommand)]
pub enum KubeCommand {
    /// Print the plan of a sweep or of repeated runs (JSON): every run with its values, seed
    /// and directory. `aiperf profile --plan PLAN --cell N` executes one run of it.
    #[command(allow_negative_numbers = true)]
    Plan(Box<KubePlanArgs>),
    /// Run a sweep (or repeated runs, or an adaptive search) on Kubernetes: grid sweeps become
    /// one Indexed Job, one completion per run; searches a controller Job.
    #[command(allow_negative_numbers = true)]
    Sweep(Box<KubeSweepArgs>),
    /// Run one benchmark split across `--shards N` pods that start together.
    #[command(allow_negative_numbers = true)]
    Profile(Box<KubeSweepArgs>),
    /// Gather the artifacts of a Kubernetes sweep and write the aggregates, as a local sweep
    /// would.
    Collect(KubeCollectArgs),
    /// Show the progress of a sweep or sharded benchmark.
    Status(KubeTargetArgs),
    /// Stop a sweep: running pods are stopped, no new ones start, completed runs are kept.
    Cancel(KubeTargetArgs),
    /// Run a search's controller (inside its pod; started by `aiperf kube sweep`).
    #[command(hide = true)]
    Controller(KubeControllerArgs),
}

#[derive(Debug, Args)]
pub struct KubeControllerArgs {
    /// The controller specification (mounted from the run's ConfigMap).
    pub spec: PathBuf,
}

#[derive(Debug, Args)]
pub struct KubePlanArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// Write the plan here instead of stdout.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output_plan: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct KubeSweepArgs {
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub kube: KubeOptions,
}

/// Where and how the pods run.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Kubernetes")]
pub struct KubeOptions {
    /// Container image with the aiperf binary (see the Dockerfile).
    #[arg(long)]
    pub image: String,

    /// Namespace of every object.
    #[arg(long, default_value = "aiperf-benchmarks")]
    pub namespace: String,

    /// Name of the Job and prefix of every object. Default: aiperf-<kind>-<random>.
    #[arg(long)]
    pub name: Option<String>,

    /// Pods running at the same time (sweeps).
    #[arg(long, default_value_t = 1)]
    pub parallelism: u32,

    /// Retries of a failed pod, per run.
    #[arg(long, default_value_t = 1)]
    pub backoff_limit: i32,

    /// Existing PersistentVolumeClaim for the results (ReadWriteMany when pods run in
    /// parallel). Without it, pods print their artifacts to their logs and `aiperf kube
    /// collect --job` reads them back.
    #[arg(long, value_name = "CLAIM")]
    pub pvc: Option<String>,

    /// Create a PersistentVolumeClaim of this size (e.g. 10Gi) for the results.
    #[arg(long, value_name = "SIZE", conflicts_with = "pvc")]
    pub storage: Option<String>,

    /// Storage class of the created claim.
    #[arg(long, requires = "storage")]
    pub storage_class: Option<String>,

    /// CPU and memory each pod requests, e.g. `2` and `4Gi`.
    #[arg(long, default_value = "2")]
    pub cpu: String,
    #[arg(long, default_value = "4Gi")]
    pub memory: String,

    /// Seconds between submitting and the common start of a sharded benchmark (time for
    /// every pod to be scheduled and pull the image).
    #[arg(long, default_value_t = 120.0)]
    pub start_delay: f64,

    /// Print the manifests (YAML) instead of creating them.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct KubeCollectArgs {
    /// Artifact directory to gather into (the shared volume's copy, or an empty directory
    /// for --job / --logs).
    pub dir: PathBuf,
    /// Read the artifacts from the logs of this Job's pods.
    #[arg(long)]
    pub job: Option<String>,
    /// Namespace of the Job.
    #[arg(long, default_value = "aiperf-benchmarks")]
    pub namespace: String,
    /// Read the artifacts from saved pod logs (`kubectl logs` output).
    #[arg(long, num_args = 1.., value_name = "FILE", conflicts_with = "job")]
    pub logs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct KubeTargetArgs {
    /// The Job's name (`--name` of `aiperf kube sweep`).
    pub name: String,
    #[arg(long, default_value = "aiperf-benchmarks")]
    pub namespace: String,
}
