//! Talking to the cluster (kube-rs): create the objects, read a Job's progress, suspend it,
//! and read its pods' logs. The connection comes from `KUBECONFIG` / `~/.kube/config`, or the
//! pod's service account when run inside the cluster.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Client;
use kube::api::{Api, ListParams, LogParams, Patch, PatchParams, PostParams};

use super::manifests::{OWNER_LABEL, Object};

/// A client for the current kubeconfig context (or the in-cluster service account).
pub async fn connect() -> anyhow::Result<Client> {
    Client::try_default().await.map_err(|e| {
        anyhow::anyhow!(
            "cannot reach a Kubernetes cluster ({e}); set KUBECONFIG or run inside the cluster"
        )
    })
}

fn exists(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

/// Creates one namespaced object in its namespace.
async fn create_in_namespace<K>(client: &Client, object: &K) -> Result<(), kube::Error>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let ns = object.meta().namespace.as_deref().unwrap_or("default");
    Api::<K>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), object)
        .await
        .map(|_| ())
}

/// Creates every object; an existing namespace is fine, an existing object of this run is
/// an error naming it (pick another `--name`), unless `reuse` (a restarted controller).
pub async fn create_objects(
    client: &Client,
    objects: &[Object],
    reuse: bool,
) -> anyhow::Result<()> {
    for o in objects {
        let result = match o {
            Object::Namespace(x) => {
                let r = Api::<Namespace>::all(client.clone())
                    .create(&PostParams::default(), x)
                    .await;
                if r.as_ref().is_err_and(exists) {
                    continue;
                }
                r.map(|_| ())
            }
            Object::ConfigMap(x) => create_in_namespace(client, x).await,
            Object::Claim(x) => create_in_namespace(client, x).await,
            Object::Service(x) => create_in_namespace(client, x).await,
            Object::Secret(x) => create_in_namespace(client, x).await,
            Object::ServiceAccount(x) => create_in_namespace(client, x).await,
            Object::Role(x) => create_in_namespace(client, x).await,
            Object::RoleBinding(x) => create_in_namespace(client, x).await,
            Object::Job(x) => create_in_namespace(client, x.as_ref()).await,
        };
        let json = o.to_json();
        let kind = json["kind"].as_str().unwrap_or("object");
        let name = json["metadata"]["name"].as_str().unwrap_or("");
        match result {
            Ok(()) => tracing::info!("created {kind} {name}"),
            Err(e) if exists(&e) && reuse => tracing::info!("{kind} {name} exists already"),
            Err(e) if exists(&e) => {
                return Err(crate::UsageError::new(format!(
                    "--name: {kind} {name} already exists; choose another --name or delete it"
                ))
                .into());
            }
            Err(e) => anyhow::bail!("creating {kind} {name}: {e}"),
        }
    }
    Ok(())
}

/// A Job's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobProgress {
    pub completions: i32,
    pub succeeded: i32,
    pub failed: i32,
    pub active: i32,
    pub completed_indexes: String,
    pub failed_indexes: String,
    pub suspended: bool,
    /// `Complete`, `Failed`, or empty while running.
    pub finished: String,
}

pub async fn progress(client: &Client, namespace: &str, name: &str) -> anyhow::Result<JobProgress> {
    let job = Api::<Job>::namespaced(client.clone(), namespace)
        .get(name)
        .await
        .map_err(|e| match &e {
            kube::Error::Api(s) if s.code == 404 => anyhow::Error::from(crate::UsageError::new(
                format!("no Job {name} in namespace {namespace} (check --namespace)"),
            )),
            _ => anyhow::anyhow!("reading Job {name}: {e}"),
        })?;
    let spec = job.spec.unwrap_or_default();
    let status = job.status.unwrap_or_default();
    let finished = status
        .conditions
        .unwrap_or_default()
        .into_iter()
        .find(|c| (c.type_ == "Complete" || c.type_ == "Failed") && c.status == "True")
        .map(|c| c.type_)
        .unwrap_or_default();
    Ok(JobProgress {
        completions: spec.completions.unwrap_or(1),
        succeeded: status.succeeded.unwrap_or(0),
        failed: status.failed.unwrap_or(0),
        active: status.active.unwrap_or(0),
        completed_indexes: status.completed_indexes.unwrap_or_default(),
        failed_indexes: status.failed_indexes.unwrap_or_default(),
        suspended: spec.suspend.unwrap_or(false),
        finished,
    })
}

/// The Jobs of the run `name` (the sweep's, or a search's controller and children).
pub async fn jobs_of(client: &Client, namespace: &str, name: &str) -> anyhow::Result<Vec<String>> {
    let list = Api::<Job>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels(&format!("{OWNER_LABEL}={name}")))
        .await
        .map_err(|e| anyhow::anyhow!("listing the Jobs of {name}: {e}"))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|j| j.metadata.name)
        .collect())
}

/// Suspends the Job: running pods stop, no new ones start, completed runs stay.
pub async fn suspend(client: &Client, namespace: &str, name: &str) -> anyhow::Result<()> {
    let patch = serde_json::json!({"spec": {"suspend": true}});
    Api::<Job>::namespaced(client.clone(), namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(|e| anyhow::anyhow!("suspending Job {name}: {e}"))?;
    Ok(())
}

/// The logs of every pod of the run `name`, by pod name.
pub async fn logs(
    client: &Client,
    namespace: &str,
    name: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let pods = Api::<Pod>::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(&format!("{OWNER_LABEL}={name}")))
        .await
        .map_err(|e| anyhow::anyhow!("listing the pods of {name}: {e}"))?;
    let mut out = Vec::new();
    for pod in list.items {
        let Some(pod_name) = pod.metadata.name else {
            continue;
        };
        match pods.logs(&pod_name, &LogParams::default()).await {
            Ok(text) => out.push((pod_name, text)),
            Err(e) => tracing::warn!("logs of pod {pod_name}: {e}"),
        }
    }
    Ok(out)
}
