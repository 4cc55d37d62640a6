//! The Kubernetes objects of a sweep or a sharded benchmark, built as typed `k8s-openapi`
//! structs (so every field name and type is the API's), printed as YAML for `--dry-run`.
//!
//! A sweep is one Indexed Job: completion `i` runs `aiperf profile --plan … --cell i`, with
//! the plan in a ConfigMap and the results on a PersistentVolumeClaim, or in the pod logs
//! when there is no volume. A sharded benchmark is an Indexed Job whose completions all run
//! at once, plus a headless Service so the shards reach shard 0's clock by name.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    Namespace, ObjectFieldSelector, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec,
    ResourceRequirements, Secret, SecretKeySelector, Service, ServicePort, ServiceSpec, Volume,
    VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

/// Where and how the Jobs run (`aiperf kube` flags).
#[derive(Debug, Clone)]
pub struct JobOptions {
    /// Container image with the aiperf binary.
    pub image: String,
    pub namespace: String,
    /// Name of the Job and prefix of every object.
    pub name: Option<String>,
    /// Pods running at the same time (sweeps).
    pub parallelism: u32,
    /// Retries of a failed pod, per run.
    pub backoff_limit: i32,
    /// An existing PersistentVolumeClaim for the results.
    pub pvc: Option<String>,
    /// Size of a PersistentVolumeClaim to create for the results.
    pub storage: Option<String>,
    pub storage_class: Option<String>,
    /// CPU and memory each pod requests.
    pub cpu: String,
    pub memory: String,
    /// Seconds between submitting and the common start of a sharded benchmark.
    pub start_delay: f64,
    /// Print the manifests instead of creating them.
    pub dry_run: bool,
}

/// Label every object carries: which sweep or benchmark it belongs to.
pub const OWNER_LABEL: &str = "aiperf.dev/run";
/// Where the plan is mounted in the pods.
pub const PLAN_PATH: &str = "/etc/aiperf/plan.json";
/// Where results are written in the pods.
pub const RESULTS_ROOT: &str = "/results";
/// The user the image runs as (distroless `nonroot`).
const IMAGE_USER: i64 = 65532;
/// Port of shard 0's clock.
pub const CLOCK_PORT: u16 = 9555;
/// Jobs stay a week after they finish, so their status and logs can still be collected.
const KEEP_FINISHED_SECS: i32 = 7 * 24 * 3600;

/// One object of the manifest, typed.
#[derive(Debug, Clone)]
pub enum Object {
    Namespace(Namespace),
    ConfigMap(ConfigMap),
    Claim(PersistentVolumeClaim),
    Service(Service),
    Secret(Secret),
    ServiceAccount(ServiceAccount),
    Role(Role),
    RoleBinding(RoleBinding),
    Job(Box<Job>),
}

impl Object {
    pub fn to_json(&self) -> Value {
        // Serializing API structs cannot fail.
        match self {
            Self::Namespace(o) => serde_json::to_value(o),
            Self::ConfigMap(o) => serde_json::to_value(o),
            Self::Claim(o) => serde_json::to_value(o),
            Self::Service(o) => serde_json::to_value(o),
            Self::Secret(o) => serde_json::to_value(o),
            Self::ServiceAccount(o) => serde_json::to_value(o),
            Self::Role(o) => serde_json::to_value(o),
            Self::RoleBinding(o) => serde_json::to_value(o),
            Self::Job(o) => serde_json::to_value(o),
        }
        .unwrap_or(Value::Null)
    }
}

/// The manifests as a multi-document YAML stream.
pub fn to_yaml(objects: &[Object]) -> anyhow::Result<String> {
    let mut out = String::new();
    for o in objects {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&o.to_json())?);
    }
    Ok(out)
}

fn labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "aiperf".to_owned()),
        (
            "app.kubernetes.io/managed-by".to_owned(),
            "aiperf".to_owned(),
        ),
        (OWNER_LABEL.to_owned(), name.to_owned()),
    ])
}

fn meta(name: &str, namespace: &str, owner: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels(owner)),
        ..ObjectMeta::default()
    }
}

fn namespace(name: &str) -> Object {
    Object::Namespace(Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    })
}

/// Files the pods find in `/etc/aiperf` (the run's ConfigMap), by name.
pub type Files = BTreeMap<String, String>;

fn plan_map(name: &str, o: &JobOptions, file: &str, json: String, mut files: Files) -> Object {
    files.insert(file.to_owned(), json);
    Object::ConfigMap(ConfigMap {
        metadata: meta(&format!("{name}-plan"), &o.namespace, name),
        data: Some(files),
        ..ConfigMap::default()
    })
}

/// The claim to create, when `--storage` asks for one.
fn claim(name: &str, o: &JobOptions) -> Option<Object> {
    let size = o.storage.as_ref()?;
    Some(Object::Claim(PersistentVolumeClaim {
        metadata: meta(&format!("{name}-results"), &o.namespace, name),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec![if o.parallelism > 1 {
                "ReadWriteMany".to_owned()
            } else {
                "ReadWriteOnce".to_owned()
            }]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_owned(),
                    Quantity(size.clone()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            storage_class_name: o.storage_class.clone(),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }))
}

/// The claim the pods write to, if any.
pub fn claim_name(name: &str, o: &JobOptions) -> Option<String> {
    o.pvc
        .clone()
        .or_else(|| o.storage.as_ref().map(|_| format!("{name}-results")))
}

/// The pod's index as an environment variable, so arguments can use `$(AIPERF_INDEX)`.
const INDEX_ENV: &str = "AIPERF_INDEX";

/// The Secret holding the API key (plans never contain it); `key` is `None` for a
/// placeholder (`--dry-run` never prints credentials).
fn api_key_secret(name: &str, o: &JobOptions, key: Option<&str>) -> Object {
    Object::Secret(Secret {
        metadata: meta(&format!("{name}-api-key"), &o.namespace, name),
        string_data: Some(BTreeMap::from([(
            "api-key".to_owned(),
            key.unwrap_or(crate::settings::REDACTED).to_owned(),
        )])),
        ..Secret::default()
    })
}

/// What a pod of the run needs, whoever creates it (the CLI, or a search controller).
#[derive(Debug, Clone)]
pub struct PodSetup {
    /// The run's name: labels, the plan ConfigMap, the API-key Secret.
    pub owner: String,
    pub namespace: String,
    pub image: String,
    pub cpu: String,
    pub memory: String,
    /// The results volume's claim (an emptyDir without one).
    pub claim: Option<String>,
    /// The pods get `AIPERF_API_KEY` from the run's Secret.
    pub api_key: bool,
    pub service_account: Option<String>,
    pub subdomain: Option<String>,
}

impl PodSetup {
    pub fn new(name: &str, o: &JobOptions, api_key: bool) -> Self {
        Self {
            owner: name.to_owned(),
            namespace: o.namespace.clone(),
            image: o.image.clone(),
            cpu: o.cpu.clone(),
            memory: o.memory.clone(),
            claim: claim_name(name, o),
            api_key,
            service_account: None,
            subdomain: None,
        }
    }
}

fn pod(p: &PodSetup, args: Vec<String>) -> PodTemplateSpec {
    let name = p.owner.as_str();
    let mut env = vec![EnvVar {
        name: INDEX_ENV.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: "metadata.annotations['batch.kubernetes.io/job-completion-index']"
                    .into(),
                api_version: None,
            }),
            ..EnvVarSource::default()
        }),
        value: None,
    }];
    if p.api_key {
        env.push(EnvVar {
            name: "AIPERF_API_KEY".into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: format!("{name}-api-key"),
                    key: "api-key".into(),
                    optional: None,
                }),
                ..EnvVarSource::default()
            }),
            value: None,
        });
    }
    let results = match p.claim.clone() {
        Some(claim) => Volume {
            name: "results".into(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim,
                read_only: None,
            }),
            ..Volume::default()
        },
        None => Volume {
            name: "results".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        },
    };
    let resources = BTreeMap::from([
        ("cpu".to_owned(), Quantity(p.cpu.clone())),
        ("memory".to_owned(), Quantity(p.memory.clone())),
    ]);
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels(name)),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            restart_policy: Some("Never".into()),
            subdomain: p.subdomain.clone(),
            service_account_name: p.service_account.clone(),
            // The image's unprivileged user; the volume's group lets it write the results.
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(IMAGE_USER),
                fs_group: Some(IMAGE_USER),
                ..PodSecurityContext::default()
            }),
            containers: vec![Container {
                name: "aiperf".into(),
                image: Some(p.image.clone()),
                args: Some(args),
                env: Some(env),
                resources: Some(ResourceRequirements {
                    requests: Some(resources),
                    limits: Some(BTreeMap::from([(
                        "memory".to_owned(),
                        Quantity(p.memory.clone()),
                    )])),
                    ..ResourceRequirements::default()
                }),
                volume_mounts: Some(vec![
                    VolumeMount {
                        name: "plan".into(),
                        mount_path: "/etc/aiperf".into(),
                        read_only: Some(true),
                        ..VolumeMount::default()
                    },
                    VolumeMount {
                        name: "results".into(),
                        mount_path: RESULTS_ROOT.into(),
                        ..VolumeMount::default()
                    },
                ]),
                ..Container::default()
            }],
            volumes: Some(vec![
                Volume {
                    name: "plan".into(),
                    config_map: Some(ConfigMapVolumeSource {
                        name: format!("{name}-plan"),
                        ..ConfigMapVolumeSource::default()
                    }),
                    ..Volume::default()
                },
                results,
            ]),
            ..PodSpec::default()
        }),
    }
}

fn indexed_job(
    name: &str,
    p: &PodSetup,
    completions: usize,
    parallelism: u32,
    per_index_retries: i32,
    template: PodTemplateSpec,
) -> Object {
    Object::Job(Box::new(Job {
        metadata: meta(name, &p.namespace, &p.owner),
        spec: Some(JobSpec {
            completion_mode: Some("Indexed".into()),
            completions: Some(completions as i32),
            parallelism: Some(parallelism.min(completions as u32).max(1) as i32),
            backoff_limit_per_index: Some(per_index_retries),
            ttl_seconds_after_finished: Some(KEEP_FINISHED_SECS),
            template,
            ..JobSpec::default()
        }),
        ..Job::default()
    }))
}

/// Directory of a sweep's results inside the pods.
pub fn results_dir(name: &str) -> String {
    format!("{RESULTS_ROOT}/{name}")
}

/// The run's credentials: `None` without `--api-key`; `Some(None)` for a placeholder.
pub type ApiKey<'a> = Option<Option<&'a str>>;

/// A sweep (or repeated runs): one completion per planned run.
pub fn sweep(
    name: &str,
    o: &JobOptions,
    plan_json: String,
    files: Files,
    runs: usize,
    api_key: ApiKey<'_>,
) -> Vec<Object> {
    let mut args: Vec<String> = [
        "profile",
        "--plan",
        PLAN_PATH,
        "--cell",
        &format!("$({INDEX_ENV})"),
        "--artifact-dir",
        &results_dir(name),
        "--ui",
        "none",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if claim_name(name, o).is_none() {
        args.push("--bundle-to-stdout".into());
    }
    let mut out = vec![
        namespace(&o.namespace),
        plan_map(name, o, "plan.json", plan_json, files),
    ];
    out.extend(api_key.map(|k| api_key_secret(name, o, k)));
    out.extend(claim(name, o));
    let setup = PodSetup::new(name, o, api_key.is_some());
    out.push(indexed_job(
        name,
        &setup,
        runs,
        o.parallelism,
        o.backoff_limit,
        pod(&setup, args),
    ));
    out
}

/// One benchmark split across `shards` pods that start together at `start_at`.
pub fn sharded(
    name: &str,
    o: &JobOptions,
    plan_json: String,
    files: Files,
    shards: u32,
    start_at: f64,
    api_key: ApiKey<'_>,
) -> Vec<Object> {
    let mut args: Vec<String> = [
        "profile",
        "--plan",
        PLAN_PATH,
        "--cell",
        "0",
        "--artifact-dir",
        &format!("{}/shard_$({INDEX_ENV})", results_dir(name)),
        "--ui",
        "none",
        "--shards",
        &shards.to_string(),
        "--shard-index",
        &format!("$({INDEX_ENV})"),
        "--shard-clock",
        &format!("{name}-0.{name}:{CLOCK_PORT}"),
        "--shard-start-at",
        &format!("{start_at:.3}"),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if claim_name(name, o).is_none() {
        args.push("--bundle-to-stdout".into());
    }
    let service = Object::Service(Service {
        metadata: meta(name, &o.namespace, name),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            selector: Some(BTreeMap::from([(OWNER_LABEL.to_owned(), name.to_owned())])),
            ports: Some(vec![ServicePort {
                name: Some("clock".into()),
                port: i32::from(CLOCK_PORT),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    });
    let mut out = vec![
        namespace(&o.namespace),
        plan_map(name, o, "plan.json", plan_json, files),
    ];
    out.extend(api_key.map(|k| api_key_secret(name, o, k)));
    out.extend(claim(name, o));
    out.push(service);
    // A restarted shard would miss the common start: no retries.
    let setup = PodSetup {
        subdomain: Some(name.to_owned()),
        ..PodSetup::new(name, o, api_key.is_some())
    };
    out.push(indexed_job(
        name,
        &setup,
        shards as usize,
        shards,
        0,
        pod(&setup, args),
    ));
    out
}

/// File name of the search controller's specification in the run's ConfigMap.
pub const CONTROLLER_FILE: &str = "controller.json";

/// An adaptive search: a controller Job (with the right to manage Jobs in its namespace)
/// that runs the search and creates one child Job per iteration ([`child_job`]). The results
/// volume is required: the controller reads each iteration's results from it.
pub fn search(
    name: &str,
    o: &JobOptions,
    spec_json: String,
    files: Files,
    api_key: ApiKey<'_>,
) -> Vec<Object> {
    let account = format!("{name}-controller");
    let mut out = vec![
        namespace(&o.namespace),
        plan_map(name, o, CONTROLLER_FILE, spec_json, files),
    ];
    out.extend(api_key.map(|k| api_key_secret(name, o, k)));
    out.extend(claim(name, o));
    out.push(Object::ServiceAccount(ServiceAccount {
        metadata: meta(&account, &o.namespace, name),
        ..ServiceAccount::default()
    }));
    out.push(Object::Role(Role {
        metadata: meta(&account, &o.namespace, name),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec!["batch".into()]),
            resources: Some(vec!["jobs".into()]),
            verbs: ["create", "get", "list", "watch", "patch", "delete"]
                .iter()
                .map(|v| (*v).to_owned())
                .collect(),
            ..PolicyRule::default()
        }]),
    }));
    out.push(Object::RoleBinding(RoleBinding {
        metadata: meta(&account, &o.namespace, name),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: account.clone(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: account.clone(),
            namespace: Some(o.namespace.clone()),
            ..Subject::default()
        }]),
    }));
    let setup = PodSetup {
        service_account: Some(account),
        ..PodSetup::new(name, o, api_key.is_some())
    };
    let args = [
        "kube",
        "controller",
        &format!("/etc/aiperf/{CONTROLLER_FILE}"),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    // A restarted controller resumes the search from search_history.json.
    out.push(indexed_job(
        name,
        &setup,
        1,
        1,
        o.backoff_limit,
        pod(&setup, args),
    ));
    out
}

/// The Job of one search iteration: its trials, one after another, from the iteration's plan
/// on the results volume.
pub fn child_job(
    job: &str,
    p: &PodSetup,
    plan: &str,
    dir: &str,
    trials: usize,
    retries: i32,
) -> Object {
    let args = [
        "profile",
        "--plan",
        plan,
        "--cell",
        &format!("$({INDEX_ENV})"),
        "--artifact-dir",
        dir,
        "--ui",
        "none",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    indexed_job(job, p, trials, 1, retries, pod(p, args))
}

/// Checks a name the objects are derived from (DNS-1123 label, with room for suffixes).
pub fn check_name(name: &str) -> Result<(), crate::UsageError> {
    let ok = !name.is_empty()
        && name.len() <= 48
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(crate::UsageError::new(format!(
            "--name {name:?}: use at most 48 lowercase letters, digits and '-', starting and \
             ending with a letter or digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> JobOptions {
        JobOptions {
            image: "ghcr.io/example/aiperf:1".into(),
            namespace: "bench".into(),
            name: None,
            parallelism: 2,
            backoff_limit: 1,
            pvc: None,
            storage: Some("5Gi".into()),
            storage_class: None,
            cpu: "2".into(),
            memory: "4Gi".into(),
            start_delay: 60.0,
            dry_run: true,
        }
    }

    /// Every object survives a round trip through its typed API struct unchanged: no field
    /// is unknown to the API, misspelled or of the wrong type.
    fn round_trips(objects: &[Object]) {
        fn again<T: serde::Serialize + serde::de::DeserializeOwned>(v: &Value) -> Value {
            serde_json::to_value(serde_json::from_value::<T>(v.clone()).unwrap()).unwrap()
        }
        for o in objects {
            let json = o.to_json();
            let back = match o {
                Object::Namespace(_) => again::<Namespace>(&json),
                Object::ConfigMap(_) => again::<ConfigMap>(&json),
                Object::Claim(_) => again::<PersistentVolumeClaim>(&json),
                Object::Service(_) => again::<Service>(&json),
                Object::Secret(_) => again::<Secret>(&json),
                Object::ServiceAccount(_) => again::<ServiceAccount>(&json),
                Object::Role(_) => again::<Role>(&json),
                Object::RoleBinding(_) => again::<RoleBinding>(&json),
                Object::Job(_) => again::<Job>(&json),
            };
            assert_eq!(back, json);
        }
    }

    #[test]
    fn sweep_is_one_indexed_job_per_run() {
        let objects = sweep(
            "s1",
            &options(),
            "{}".into(),
            Files::new(),
            6,
            Some(Some("sk-test")),
        );
        round_trips(&objects);
        let Some(Object::Secret(secret)) = objects.iter().find(|o| matches!(o, Object::Secret(_)))
        else {
            panic!("an API key goes to a Secret")
        };
        assert_eq!(secret.string_data.as_ref().unwrap()["api-key"], "sk-test");
        let Object::Job(job) = objects.last().unwrap() else {
            panic!()
        };
        let env = job
            .spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .containers[0]
            .env
            .clone()
            .unwrap();
        assert!(env.iter().any(|e| e.name == "AIPERF_API_KEY"
            && e.value_from.as_ref().unwrap().secret_key_ref.is_some()));
        let Object::Job(job) = objects.last().unwrap() else {
            panic!("the Job comes last")
        };
        let spec = job.spec.as_ref().unwrap();
        assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
        assert_eq!((spec.completions, spec.parallelism), (Some(6), Some(2)));
        let args = spec.template.spec.as_ref().unwrap().containers[0]
            .args
            .clone()
            .unwrap();
        assert!(
            args.windows(2).any(|w| w == ["--cell", "$(AIPERF_INDEX)"]),
            "{args:?}"
        );
        assert!(
            !args.contains(&"--bundle-to-stdout".to_owned()),
            "a volume holds the results"
        );
        assert!(objects.iter().any(|o| matches!(o, Object::Claim(_))));
        // Without a volume, the pods print their artifacts.
        let no_volume = JobOptions {
            storage: None,
            ..options()
        };
        let objects = sweep("s1", &no_volume, "{}".into(), Files::new(), 6, None);
        let Object::Job(job) = objects.last().unwrap() else {
            panic!()
        };
        let args = job
            .spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .containers[0]
            .args
            .clone()
            .unwrap();
        assert!(args.contains(&"--bundle-to-stdout".to_owned()));
    }

    #[test]
    fn shards_start_together_and_find_shard_zero() {
        let objects = sharded(
            "b1",
            &options(),
            "{}".into(),
            Files::new(),
            4,
            1_800_000_000.0,
            None,
        );
        round_trips(&objects);
        let Object::Job(job) = objects.last().unwrap() else {
            panic!()
        };
        let spec = job.spec.as_ref().unwrap();
        assert_eq!(
            (
                spec.completions,
                spec.parallelism,
                spec.backoff_limit_per_index
            ),
            (Some(4), Some(4), Some(0))
        );
        let pod = spec.template.spec.as_ref().unwrap();
        assert_eq!(pod.subdomain.as_deref(), Some("b1"));
        let args = pod.containers[0].args.clone().unwrap();
        assert!(
            args.windows(2)
                .any(|w| w == ["--shard-clock", "b1-0.b1:9555"]),
            "{args:?}"
        );
        assert!(objects.iter().any(|o| matches!(o, Object::Service(_))));
        assert!(check_name("Bad_Name").is_err() && check_name("ok-1").is_ok());
    }

    #[test]
    fn searches_get_a_controller_allowed_to_manage_jobs() {
        let objects = search("s2", &options(), "{}".into(), Files::new(), None);
        round_trips(&objects);
        let Some(Object::Role(role)) = objects.iter().find(|o| matches!(o, Object::Role(_))) else {
            panic!("a Role")
        };
        assert_eq!(
            role.rules.as_ref().unwrap()[0].resources.as_deref(),
            Some(&["jobs".to_owned()][..])
        );
        let Object::Job(job) = objects.last().unwrap() else {
            panic!()
        };
        let pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        assert_eq!(pod.service_account_name.as_deref(), Some("s2-controller"));
        assert_eq!(
            pod.containers[0].args.as_ref().unwrap()[..2],
            ["kube".to_owned(), "controller".to_owned()]
        );
        let setup = PodSetup::new("s2", &options(), false);
        round_trips(&[child_job(
            "s2-i0003",
            &setup,
            "/results/s2/search_iter_0003/.aiperf_plan.json",
            "/results/s2/search_iter_0003",
            2,
            1,
        )]);
    }
}
