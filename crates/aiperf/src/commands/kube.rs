//! `aiperf kube`: plan, sweep, profile (sharded), collect, status, cancel and the search
//! controller, from the command line to the Kubernetes driver (`crate::kube`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::kube::{KubeCollectArgs, KubeCommand, KubeOptions, KubeSweepArgs, KubeTargetArgs};
use crate::config::resolve;
use crate::kube::manifests::JobOptions;
use crate::kube::{api, bundle, controller, manifests};
use crate::settings::ProfileConfig;
use crate::sweep::plan::PlanDoc;
use crate::{ExitStatus, UsageError};

pub async fn run(command: KubeCommand, argv: &[String]) -> anyhow::Result<ExitStatus> {
    match command {
        KubeCommand::Plan(args) => {
            let config = resolve(&args.profile, argv)?;
            let plan = plan_of(&config, None).await?;
            let json = serde_json::to_vec_pretty(&plan)?;
            match &args.output_plan {
                Some(path) => crate::export::write_atomic(path, &json)
                    .with_context(|| format!("writing {}", path.display()))?,
                None => {
                    let mut out = crate::ui::console::stdout();
                    out.write_all(&json)?;
                    writeln!(out)?;
                }
            }
            Ok(ExitStatus::Success)
        }
        KubeCommand::Sweep(args) => sweep(*args, argv).await,
        KubeCommand::Profile(args) => sharded(*args, argv).await,
        KubeCommand::Collect(args) => collect(&args).await,
        KubeCommand::Controller(args) => {
            let mut spec = controller::load(&args.spec)?;
            crate::config::restore_credentials(&mut spec.config)?;
            controller::run(spec).await
        }
        KubeCommand::Status(args) => status(&args).await,
        KubeCommand::Cancel(args) => {
            let client = api::connect().await?;
            // The run's own Job first (a search's controller), then any child Jobs.
            api::suspend(&client, &args.namespace, &args.name).await?;
            for job in api::jobs_of(&client, &args.namespace, &args.name).await? {
                if job != args.name {
                    api::suspend(&client, &args.namespace, &job).await?;
                }
            }
            crate::ui::console::line(&format!(
                "{}: suspended; running pods stop and no new runs start. Completed runs are \
                 kept: `aiperf kube collect` aggregates them.",
                args.name
            ))?;
            Ok(ExitStatus::Success)
        }
    }
}

/// The plan of `config`, writing under `base` (default: where a local run would write).
async fn plan_of(config: &ProfileConfig, base: Option<&Path>) -> anyhow::Result<PlanDoc> {
    if config.search.is_some() {
        return Err(UsageError::new(
            "adaptive searches (--search-*, search recipes) choose each run from the results \
             of the previous ones, so they have no plan of runs; `aiperf kube sweep` runs them \
             with a controller pod",
        )
        .into());
    }
    if config.multi_run.convergence.is_some() {
        return Err(UsageError::new(
            "--convergence-metric decides after each run whether another is needed, so its runs \
             cannot be planned ahead as pods; run it with `aiperf profile`, or drop it to run all \
             --num-profile-runs",
        )
        .into());
    }
    let base = match base {
        Some(b) => b.to_path_buf(),
        None => {
            let (_, dataset) = crate::bench::load_dataset(config, None).await?;
            config.artifact_dir(config.load.mode(dataset.has_timestamps()))
        }
    };
    Ok(PlanDoc::new(config, &base))
}

fn job_name(o: &JobOptions, kind: &str) -> Result<String, UsageError> {
    let name = o.name.clone().unwrap_or_else(|| {
        let id = uuid::Uuid::new_v4().simple().to_string();
        format!("aiperf-{kind}-{}", &id[..6])
    });
    manifests::check_name(&name)?;
    Ok(name)
}

/// The flags pods are given by `aiperf kube` itself.
fn check_pod_flags(d: &crate::cli::profile::DistributedArgs) -> Result<(), UsageError> {
    if d.plan.is_some() || d.cell.is_some() || d.bundle_to_stdout {
        return Err(UsageError::new(
            "--plan, --cell and --bundle-to-stdout are what `aiperf kube` gives each pod; give \
             the benchmark's own flags instead",
        ));
    }
    Ok(())
}

fn check_options(o: &KubeOptions) -> Result<(), UsageError> {
    if o.image.trim().is_empty() {
        return Err(UsageError::new(
            "--image: name the container image that holds aiperf",
        ));
    }
    if o.parallelism == 0 {
        return Err(UsageError::new("--parallelism must be at least 1"));
    }
    if o.backoff_limit < 0 {
        return Err(UsageError::new("--backoff-limit must be 0 or more"));
    }
    if !(o.start_delay.is_finite() && o.start_delay >= 0.0) {
        return Err(UsageError::new(
            "--start-delay must be a non-negative number of seconds",
        ));
    }
    Ok(())
}

/// The API key for the run's Secret; a placeholder (and a note) in dry runs.
fn api_key<'a>(config: &'a ProfileConfig, o: &JobOptions, name: &str) -> manifests::ApiKey<'a> {
    let key = config.endpoint.api_key.as_ref()?;
    if o.dry_run {
        tracing::warn!(
            "the Secret {name}-api-key holds a placeholder in this output (credentials are \
             never printed); create it with `kubectl -n {} create secret generic {name}-api-key \
             --from-literal=api-key=…` instead of applying that document",
            o.namespace
        );
        Some(None)
    } else {
        Some(Some(key.expose()))
    }
}

/// Prints or creates `objects`, then tells the user what comes next.
async fn submit(
    name: &str,
    o: &JobOptions,
    objects: &[manifests::Object],
    what: &str,
) -> anyhow::Result<ExitStatus> {
    if o.dry_run {
        crate::ui::console::text(&manifests::to_yaml(objects)?)?;
        return Ok(ExitStatus::Success);
    }
    // Only the commands that create objects can print them instead.
    let client = api::connect()
        .await
        .map_err(|e| anyhow::anyhow!("{e:#} (use --dry-run to print the manifests instead)"))?;
    api::create_objects(&client, objects, false).await?;
    let ns = &o.namespace;
    let collect = if manifests::claim_name(name, o).is_some() {
        format!(
            "copy {} from the volume, then `aiperf kube collect DIR`",
            manifests::results_dir(name)
        )
    } else {
        format!("`aiperf kube collect DIR --job {name} --namespace {ns}`")
    };
    crate::ui::console::line(&format!(
        "{what} {name} submitted to namespace {ns}.\n  progress: aiperf kube status {name} \
         --namespace {ns}\n  stop:     aiperf kube cancel {name} --namespace {ns}\n  results:  \
         {collect}"
    ))?;
    Ok(ExitStatus::Success)
}

async fn sweep(args: KubeSweepArgs, argv: &[String]) -> anyhow::Result<ExitStatus> {
    check_options(&args.kube)?;
    check_pod_flags(&args.profile.distributed)?;
    let o = job_options(&args.kube);
    let mut config = resolve(&args.profile, argv)?;
    let files = embed_local_files(&mut config)?;
    if config.shard.is_some() {
        return Err(UsageError::new(
            "--shards splits one benchmark: use `aiperf kube profile --shards N`",
        )
        .into());
    }
    if config.search.is_some() {
        return search(&o, config, files).await;
    }
    let name = job_name(&o, "sweep")?;
    let plan = plan_of(&config, Some(Path::new(&manifests::results_dir(&name)))).await?;
    let objects = manifests::sweep(
        &name,
        &o,
        serde_json::to_string_pretty(&plan)?,
        files,
        plan.runs.len(),
        api_key(&config, &o, &name),
    );
    submit(&name, &o, &objects, "sweep").await
}

/// An adaptive search: a controller pod runs it and starts one child Job per iteration.
async fn search(
    o: &JobOptions,
    config: ProfileConfig,
    files: manifests::Files,
) -> anyhow::Result<ExitStatus> {
    let name = job_name(o, "search")?;
    let Some(claim) = manifests::claim_name(&name, o) else {
        return Err(UsageError::new(
            "a search on Kubernetes needs a results volume (--pvc CLAIM or --storage SIZE): \
             the controller reads each iteration's results from it",
        )
        .into());
    };
    if o.parallelism > 1 {
        tracing::warn!("--parallelism: a search runs one iteration at a time");
    }
    let spec = controller::ControllerSpec {
        config: config.clone(),
        base: PathBuf::from(manifests::results_dir(&name)),
        children: controller::ChildJobs {
            owner: name.clone(),
            namespace: o.namespace.clone(),
            image: o.image.clone(),
            cpu: o.cpu.clone(),
            memory: o.memory.clone(),
            claim,
            api_key: config.endpoint.api_key.is_some(),
            retries: o.backoff_limit,
            poll_ms: 2000,
        },
    };
    let objects = manifests::search(
        &name,
        o,
        serde_json::to_string_pretty(&spec)?,
        files,
        api_key(&config, o, &name),
    );
    submit(&name, o, &objects, "search").await
}

async fn sharded(mut args: KubeSweepArgs, argv: &[String]) -> anyhow::Result<ExitStatus> {
    check_options(&args.kube)?;
    check_pod_flags(&args.profile.distributed)?;
    let d = &mut args.profile.distributed;
    if d.shard_index.is_some() || d.shard_clock.is_some() || d.shard_start_at.is_some() {
        return Err(UsageError::new(
            "--shard-index, --shard-clock and --shard-start-at are set per pod by `aiperf kube \
             profile`; give only --shards N",
        )
        .into());
    }
    let Some(shards) = d.shards.take() else {
        return Err(UsageError::new(
            "--shards N is required: the number of pods the benchmark is split across",
        )
        .into());
    };
    if shards == 0 {
        return Err(UsageError::new("--shards must be at least 1").into());
    }
    let mut config = resolve(&args.profile, argv)?;
    let files = embed_local_files(&mut config)?;
    if config.sweep.is_some() || config.multi_run.num_runs > 1 || config.search.is_some() {
        return Err(UsageError::new(
            "`aiperf kube profile --shards` runs one benchmark; use `aiperf kube sweep` for \
             sweeps and repeated runs",
        )
        .into());
    }
    if let Some(c) = config.load.concurrency
        && c < shards
    {
        return Err(UsageError::new(format!(
            "--shards {shards}: more shards than --concurrency {c}"
        ))
        .into());
    }
    let o = job_options(&args.kube);
    let name = job_name(&o, "profile")?;
    let plan = plan_of(&config, Some(Path::new(&manifests::results_dir(&name)))).await?;
    let start_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
        + o.start_delay;
    let objects = manifests::sharded(
        &name,
        &o,
        serde_json::to_string_pretty(&plan)?,
        files,
        shards,
        start_at,
        api_key(&config, &o, &name),
    );
    submit(&name, &o, &objects, "sharded benchmark").await
}

/// Largest local file carried in the run's ConfigMap (its total limit is 1 MiB).
const MAX_EMBEDDED_BYTES: u64 = 900 * 1024;

/// Local files the pods cannot see (`--input-file`, a tokenizer file) go into the run's
/// ConfigMap; the configuration is pointed at their place in the pods.
fn embed_local_files(config: &mut ProfileConfig) -> anyhow::Result<manifests::Files> {
    let mut files = manifests::Files::new();
    let mut embed = |path: &mut PathBuf, flag: &str, name: &str| -> anyhow::Result<()> {
        let size = match std::fs::metadata(&*path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(
                    "{flag}: {} is not on this machine; the pods must find it there (in the \
                     image or on a volume)",
                    path.display()
                );
                return Ok(());
            }
            Err(e) => {
                return Err(UsageError::new(format!(
                    "{flag}: cannot read {}: {e}",
                    path.display()
                ))
                .into());
            }
        };
        if size > MAX_EMBEDDED_BYTES {
            return Err(UsageError::new(format!(
                "{flag}: {} is {size} bytes; files over {MAX_EMBEDDED_BYTES} bytes do not fit in \
                 the run's ConfigMap: put it in the image or on a volume the pods mount and give \
                 that path",
                path.display()
            ))
            .into());
        }
        let text = std::fs::read_to_string(&*path).map_err(|e| {
            UsageError::new(format!(
                "{flag}: cannot read {} as text: {e}",
                path.display()
            ))
        })?;
        files.insert(name.to_owned(), text);
        *path = PathBuf::from("/etc/aiperf").join(name);
        Ok(())
    };
    if let crate::settings::InputConfig::File { path, .. } = &mut config.input {
        embed(path, "--input-file", "input.jsonl")?;
    }
    if let crate::settings::TokenizerSpec::File { path } = &mut config.tokenizer {
        if path.is_dir() {
            path.push("tokenizer.json");
        }
        embed(path, "--tokenizer", "tokenizer.json")?;
    }
    Ok(files)
}

/// The shard directories (`shard_<i>`) under `dir`, in index order.
fn shard_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let i = name.strip_prefix("shard_")?.parse().ok()?;
            e.path().is_dir().then(|| (i, e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

async fn collect(args: &KubeCollectArgs) -> anyhow::Result<ExitStatus> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| UsageError::new(format!("collect: cannot create {}: {e}", dir.display())))?;
    let mut bundles = 0;
    for path in &args.logs {
        let file = std::fs::File::open(path)
            .map_err(|e| UsageError::new(format!("--logs: cannot read {}: {e}", path.display())))?;
        bundles += bundle::unpack(std::io::BufReader::new(file), dir)
            .with_context(|| format!("--logs {}", path.display()))?;
    }
    if let Some(job) = &args.job {
        let client = api::connect().await?;
        for (pod, text) in api::logs(&client, &args.namespace, job).await? {
            let n = bundle::unpack(text.as_bytes(), dir).with_context(|| format!("pod {pod}"))?;
            if n == 0 {
                tracing::warn!(
                    "pod {pod}: no artifacts in its log (still running, or failed early)"
                );
            }
            bundles += n;
        }
    }
    if !args.logs.is_empty() || args.job.is_some() {
        tracing::info!("unpacked {bundles} result bundle(s) into {}", dir.display());
    }
    if dir.join(crate::sweep::PLAN_FILE).is_file() {
        return crate::sweep::collect(dir);
    }
    let history = dir.join(crate::search::HISTORY);
    if history.is_file() {
        // The controller aggregates as it goes; report where.
        let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&history)?)
            .with_context(|| format!("reading {}", history.display()))?;
        let finished = doc["convergence_reason"].as_str();
        crate::ui::console::line(&format!(
            "search: {} iterations, {}; aggregates in {}",
            doc["iterations"].as_array().map_or(0, Vec::len),
            finished.map_or_else(|| "not finished".to_owned(), |r| format!("finished ({r})")),
            dir.join("sweep_aggregate").display()
        ))?;
        return Ok(if finished.is_some() {
            ExitStatus::Success
        } else {
            ExitStatus::Failure
        });
    }
    let shards = shard_dirs(dir);
    if !shards.is_empty() {
        crate::merge::merge(&shards, dir)?;
        return Ok(ExitStatus::Success);
    }
    Err(UsageError::new(format!(
        "collect: {} holds neither a plan ({}) nor shard_<i> directories; point it at the \
         results directory, or add --job / --logs to read them from pod logs",
        dir.display(),
        crate::sweep::PLAN_FILE
    ))
    .into())
}

async fn status(args: &KubeTargetArgs) -> anyhow::Result<ExitStatus> {
    let client = api::connect().await?;
    let p = api::progress(&client, &args.namespace, &args.name).await?;
    let state = if !p.finished.is_empty() {
        p.finished.clone()
    } else if p.suspended {
        "Cancelled".to_owned()
    } else {
        "Running".to_owned()
    };
    let mut out = format!(
        "{}: {state}; {} of {} runs done, {} running, {} failed pods\n",
        args.name, p.succeeded, p.completions, p.active, p.failed
    );
    if !p.completed_indexes.is_empty() {
        out.push_str(&format!("  completed runs: {}\n", p.completed_indexes));
    }
    if !p.failed_indexes.is_empty() {
        out.push_str(&format!("  failed runs:    {}\n", p.failed_indexes));
    }
    let children = api::jobs_of(&client, &args.namespace, &args.name)
        .await?
        .into_iter()
        .filter(|j| *j != args.name)
        .count();
    if children > 0 {
        out.push_str(&format!("  search iterations started: {children}\n"));
    }
    crate::ui::console::text(&out)?;
    Ok(ExitStatus::Success)
}

/// The cluster-side options of `aiperf kube` flags.
fn job_options(o: &KubeOptions) -> JobOptions {
    JobOptions {
        image: o.image.clone(),
        namespace: o.namespace.clone(),
        name: o.name.clone(),
        parallelism: o.parallelism,
        backoff_limit: o.backoff_limit,
        pvc: o.pvc.clone(),
        storage: o.storage.clone(),
        storage_class: o.storage_class.clone(),
        cpu: o.cpu.clone(),
        memory: o.memory.clone(),
        start_delay: o.start_delay,
        dry_run: o.dry_run,
    }
}
