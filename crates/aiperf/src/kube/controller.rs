//! The search controller: `aiperf kube sweep` with a search starts one pod running
//! `aiperf kube controller`, which drives the search exactly as a local run does, except that
//! each iteration's trials run as a child Job (from the iteration's plan, written to the
//! results volume) and their results are read back from that volume.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::api;
use super::manifests::{self, PodSetup};
use crate::loadgen::Interrupts;
use crate::settings::ProfileConfig;
use crate::sweep::RunResult;
use crate::sweep::plan::PlanDoc;

/// Everything the controller pod needs: the search and how to run its children.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ControllerSpec {
    /// The search configuration (credentials redacted, restored from the environment).
    pub config: ProfileConfig,
    /// The results directory on the volume.
    pub base: PathBuf,
    pub children: ChildJobs,
}

/// How iterations become Jobs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildJobs {
    pub owner: String,
    pub namespace: String,
    pub image: String,
    pub cpu: String,
    pub memory: String,
    pub claim: String,
    pub api_key: bool,
    pub retries: i32,
    /// How often a running child Job is checked.
    pub poll_ms: u64,
}

impl ChildJobs {
    fn setup(&self) -> PodSetup {
        PodSetup {
            owner: self.owner.clone(),
            namespace: self.namespace.clone(),
            image: self.image.clone(),
            cpu: self.cpu.clone(),
            memory: self.memory.clone(),
            claim: Some(self.claim.clone()),
            api_key: self.api_key,
            service_account: None,
            subdomain: None,
        }
    }

    /// Runs the trials of one iteration as a Job and reads their results from the volume.
    /// A Job that already exists (a restarted controller) is waited for, not created again.
    async fn run(
        &self,
        plan: &PlanDoc,
        interrupts: &Interrupts,
    ) -> anyhow::Result<Vec<Option<RunResult>>> {
        let dir = &plan.base;
        std::fs::create_dir_all(dir)?;
        let plan_path = dir.join(crate::sweep::PLAN_FILE);
        crate::export::write_atomic(&plan_path, &serde_json::to_vec_pretty(plan)?)?;
        let iteration = dir
            .file_name()
            .map(|n| n.to_string_lossy().replace("search_iter_", "i"))
            .unwrap_or_default();
        let job = format!("{}-{iteration}", self.owner);
        let object = manifests::child_job(
            &job,
            &self.setup(),
            &plan_path.display().to_string(),
            &dir.display().to_string(),
            plan.runs.len(),
            self.retries,
        );
        let client = api::connect().await?;
        api::create_objects(&client, std::slice::from_ref(&object), true).await?;
        loop {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(self.poll_ms)) => {}
                () = interrupts.stop.cancelled() => {
                    api::suspend(&client, &self.namespace, &job).await?;
                    break;
                }
            }
            if !api::progress(&client, &self.namespace, &job)
                .await?
                .finished
                .is_empty()
            {
                break;
            }
        }
        Ok(plan
            .runs
            .iter()
            .map(|r| crate::sweep::recorded(&dir.join(&r.dir)))
            .collect())
    }
}

impl crate::sweep::Runner for ChildJobs {
    fn run_all<'a>(
        &'a self,
        plan: &'a PlanDoc,
        interrupts: &'a Interrupts,
    ) -> crate::sweep::BoxFuture<'a, anyhow::Result<Vec<Option<RunResult>>>> {
        Box::pin(self.run(plan, interrupts))
    }
}

/// Reads the controller's specification.
pub fn load(spec_path: &Path) -> anyhow::Result<ControllerSpec> {
    let text = std::fs::read_to_string(spec_path)
        .map_err(|e| crate::UsageError::new(format!("cannot read {}: {e}", spec_path.display())))?;
    Ok(serde_json::from_str(&text).map_err(|e| {
        crate::UsageError::new(format!(
            "{} is not a controller specification: {e}",
            spec_path.display()
        ))
    })?)
}

/// `aiperf kube controller SPEC`: the search, its iterations run as child Jobs (credentials
/// already restored into `spec`).
pub async fn run(mut spec: ControllerSpec) -> anyhow::Result<crate::ExitStatus> {
    spec.config.ui = crate::settings::UiMode::None;
    std::fs::create_dir_all(&spec.base)?;
    let interrupts = Interrupts::default();
    let signals = tokio::spawn(stop_on_terminate(interrupts.clone()));
    let result = crate::search::run_with(spec.config, spec.base, &spec.children, &interrupts).await;
    signals.abort();
    result.map(|(status, _)| status)
}

/// Kubernetes stops a pod with SIGTERM: stop the search (and suspend the running child).
async fn stop_on_terminate(interrupts: Interrupts) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    interrupts.stop.cancel();
}
