//! Kubernetes execution without a cluster: plans executed cell by cell as separate processes
//! (as pods would), `collect`, sharded runs merged, and the `aiperf kube` commands against a
//! small stand-in for the Kubernetes API whose "kubelet" runs each Job's pods as local
//! processes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::{Value, json};

use crate::common::{assert_usage_error, run, stderr, stdout};

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir`, relative, without the aggregates.
fn run_files(dir: &Path) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, dir, &mut out);
    out
}

const SWEEP: &[&str] = &[
    "--sim",
    "fixed",
    "--streaming",
    "--ui",
    "none",
    "--concurrency",
    "1,2",
    "--num-profile-runs",
    "2",
    "--request-count",
    "8",
    "--osl",
    "8",
    "--no-gpu-telemetry",
];

/// Plan once, execute anywhere: every run of a plan executed as its own process, then
/// `collect`, gives the layout and aggregates of the in-process sweep; and `collect` over the
/// in-process sweep's runs reproduces its aggregate exactly.
#[test]
fn plan_cells_as_processes_then_collect_match_the_local_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let local = tmp.path().join("local");
    let mut args = vec!["profile"];
    args.extend_from_slice(SWEEP);
    args.extend(["--artifact-dir", local.to_str().unwrap()]);
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));

    let distributed = tmp.path().join("distributed");
    let plan_path = tmp.path().join("plan.json");
    let mut args = vec!["kube", "plan"];
    args.extend_from_slice(SWEEP);
    args.extend([
        "--artifact-dir",
        distributed.to_str().unwrap(),
        "-o",
        plan_path.to_str().unwrap(),
    ]);
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let plan = read_json(&plan_path);
    let runs = plan["runs"].as_array().unwrap().len();
    assert_eq!(runs, 4);
    // Each run in its own process, last first (pods finish in any order).
    for cell in (0..runs).rev() {
        let cell = cell.to_string();
        let output = run(&[
            "profile",
            "--plan",
            plan_path.to_str().unwrap(),
            "--cell",
            &cell,
            "--ui",
            "none",
        ]);
        assert!(output.status.success(), "cell {cell}: {}", stderr(&output));
    }
    let output = run(&["kube", "collect", distributed.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(run_files(&distributed), run_files(&local));
    let sweep = |dir: &Path| {
        read_json(&dir.join("aggregate/sweep_aggregate/profile_export_aiperf_sweep.json"))
    };
    let (a, b) = (sweep(&local), sweep(&distributed));
    for key in [
        "num_profile_runs",
        "num_successful_runs",
        "metadata",
        "pareto_optimal",
    ] {
        if key != "pareto_optimal" {
            assert_eq!(a[key], b[key], "{key}");
        }
    }
    let params = |d: &Value| -> Vec<Value> {
        d["per_combination_metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["parameters"].clone())
            .collect()
    };
    assert_eq!(params(&a), params(&b));
    // The fixed-latency server: the same TTFT wherever the cell ran.
    for (x, y) in a["per_combination_metrics"]
        .as_array()
        .unwrap()
        .iter()
        .zip(b["per_combination_metrics"].as_array().unwrap())
    {
        let ttft = |c: &Value| {
            c["metrics"]["time_to_first_token_avg"]["mean"]
                .as_f64()
                .unwrap()
        };
        assert!(
            (ttft(x) - ttft(y)).abs() < 5.0,
            "{} vs {}",
            ttft(x),
            ttft(y)
        );
    }

    // Aggregating the local sweep's own runs again gives its aggregate, byte for byte.
    let again = tmp.path().join("again");
    for f in run_files(&local) {
        if f.starts_with("aggregate/") {
            continue;
        }
        let to = again.join(&f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(local.join(&f), to).unwrap();
    }
    let output = run(&["kube", "collect", again.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    for f in [
        "aggregate/sweep_aggregate/profile_export_aiperf_sweep.json",
        "aggregate/sweep_aggregate/profile_export_aiperf_sweep.csv",
        "aggregate/concurrency_2/profile_export_aiperf_aggregate.json",
    ] {
        assert_eq!(
            std::fs::read(local.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f}"
        );
    }

    // A run that has not happened yet is reported, and the exit code says so.
    std::fs::remove_file(
        again.join("profile_runs/trial_0002/concurrency_2/.aiperf_results_ready.json"),
    )
    .unwrap();
    let output = run(&["kube", "collect", again.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("no results"),
        "{}",
        stdout(&output)
    );

    // The plan fixes the benchmark: other flags are refused, and cells must exist.
    assert_usage_error(
        &[
            "profile",
            "--plan",
            plan_path.to_str().unwrap(),
            "--cell",
            "0",
            "--concurrency",
            "3",
        ],
        "--concurrency",
    );
    assert_usage_error(
        &[
            "profile",
            "--plan",
            plan_path.to_str().unwrap(),
            "--cell",
            "0",
            "--synthetic-input-tokens-mean=9",
        ],
        "--isl cannot be combined with --plan",
    );
    assert_usage_error(
        &[
            "profile",
            "--plan",
            plan_path.to_str().unwrap(),
            "--cell",
            "9",
        ],
        "--cell",
    );
    assert_usage_error(
        &["profile", "--plan", "/nonexistent/plan.json", "--cell", "0"],
        "--plan",
    );
    // Runs that stop once they agree cannot be planned ahead.
    assert_usage_error(
        &[
            "kube",
            "plan",
            "--sim",
            "--num-profile-runs",
            "3",
            "--convergence-metric",
            "request_latency",
            "-o",
            tmp.path().join("conv.json").to_str().unwrap(),
        ],
        "--convergence-metric",
    );
    // Bad Kubernetes options name the flag.
    let k = |extra: &[&'static str]| {
        let mut a = vec![
            "kube",
            "sweep",
            "--sim",
            "--concurrency",
            "1,2",
            "--image",
            "i",
            "--dry-run",
        ];
        a.extend_from_slice(extra);
        a
    };
    assert_usage_error(&k(&["--name", "Not_Valid"]), "--name");
    assert_usage_error(&k(&["--parallelism", "0"]), "--parallelism");
    assert_usage_error(&k(&["--backoff-limit", "-1"]), "--backoff-limit");
    assert_usage_error(&k(&["--start-delay", "-5"]), "--start-delay");
    let shard = |extra: &[&'static str]| {
        let mut a = vec!["profile", "--sim", "--shards", "2", "--shard-index", "1"];
        a.extend_from_slice(extra);
        a
    };
    assert_usage_error(&shard(&["--shard-clock", "no-port-here"]), "--shard-clock");
    assert_usage_error(&shard(&["--shard-start-at", "-1"]), "--shard-start-at");
    assert_usage_error(&k(&["--plan", "p.json", "--cell", "0"]), "--plan");
    assert_usage_error(&k(&["--input-file", "/"]), "--input-file");
    assert_usage_error(&["kube", "sweep", "--sim", "--dry-run"], "--image");
    assert_usage_error(
        &["kube", "profile", "--sim", "--image", "i", "--dry-run"],
        "--shards",
    );
    assert_usage_error(
        &[
            "kube",
            "profile",
            "--sim",
            "--concurrency",
            "2",
            "--shards",
            "4",
            "--image",
            "i",
            "--dry-run",
        ],
        "--shards",
    );
    assert_usage_error(
        &[
            "kube",
            "plan",
            "--sim",
            "--streaming",
            "--search-recipe",
            "latency-knee",
        ],
        "search",
    );
    assert_usage_error(
        &[
            "kube",
            "collect",
            tmp.path().join("local/profile_runs").to_str().unwrap(),
        ],
        "collect",
    );
    assert_usage_error(&["merge", tmp.path().to_str().unwrap(), "-o", "x"], "merge");
}

/// One benchmark over four shard processes, merged, against the same seeded schedule in one
/// process: the same requests, and percentiles that agree.
#[test]
fn four_shards_merge_into_the_single_process_run() {
    let tmp = tempfile::tempdir().unwrap();
    let free_port = || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // One server for every shard, as in a real deployment.
    let server_port = free_port().to_string();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_aiperf"))
        .args(["sim", "--preset", "fixed", "--port", &server_port])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{server_port}");
    let common = [
        "profile",
        "-m",
        "fixed-latency-sim",
        "--url",
        &url,
        "--streaming",
        "--request-rate",
        "80",
        "--request-count",
        "160",
        "--osl",
        "12",
        "--random-seed",
        "11",
        "--ui",
        "none",
        "--no-server-metrics",
        "--no-gpu-telemetry",
    ];
    let clock = format!("127.0.0.1:{}", free_port());
    let start_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 4.0;
    let shards: Vec<PathBuf> = (0..4)
        .map(|i| tmp.path().join(format!("shard_{i}")))
        .collect();
    let children: Vec<_> = shards
        .iter()
        .enumerate()
        .map(|(i, dir)| {
            let mut args: Vec<String> = common.iter().map(|s| (*s).to_owned()).collect();
            args.extend([
                "--shards".into(),
                "4".into(),
                "--shard-index".into(),
                i.to_string(),
                "--shard-clock".into(),
                clock.clone(),
                "--shard-start-at".into(),
                format!("{start_at:.3}"),
                "--artifact-dir".into(),
                dir.display().to_string(),
            ]);
            std::process::Command::new(env!("CARGO_BIN_EXE_aiperf"))
                .args(&args)
                .output_async()
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "shard {i}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let single = tmp.path().join("single");
    let mut args: Vec<&str> = common.to_vec();
    args.extend(["--artifact-dir", single.to_str().unwrap()]);
    let output = run(&args);
    let _ = server.kill();
    let _ = server.wait();
    assert!(output.status.success(), "{}", stderr(&output));

    let merged = tmp.path().join("merged");
    let mut args = vec!["merge"];
    let dirs: Vec<String> = shards.iter().map(|d| d.display().to_string()).collect();
    args.extend(dirs.iter().map(String::as_str));
    args.extend(["-o", merged.to_str().unwrap()]);
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));

    let m = read_json(&merged.join("profile_export_aiperf.json"));
    let s = read_json(&single.join("profile_export_aiperf.json"));
    assert_eq!(m["request_count"]["avg"], s["request_count"]["avg"]);
    assert_eq!(m["request_count"]["avg"].as_f64(), Some(160.0));
    // The merged run describes the whole benchmark as the single run does, in the reference
    // tool's shape: shard 0's configuration with every shard's requests.
    let phase = |d: &Value| {
        (d["input_config"]["phases"].as_array().unwrap().iter())
            .find(|p| p["kind"] == "profiling")
            .cloned()
            .unwrap_or_else(|| panic!("no profiling phase in {d:#}"))
    };
    assert_eq!(phase(&m)["requests"], 160, "{:#}", m["input_config"]);
    assert_eq!(phase(&m), phase(&s));
    // Each shard ran a quarter, measured its clock against shard 0 and started on time.
    let per_shard = m["shards"].as_array().unwrap();
    assert_eq!(
        per_shard
            .iter()
            .map(|s| s["records"].as_u64().unwrap())
            .sum::<u64>(),
        160
    );
    for s in &per_shard[1..] {
        assert!(s["clock_rtt_ns"].as_u64().is_some(), "{s}");
    }
    // The same schedule: the merged duration and throughput are the single run's.
    let rel = |k: &str| {
        let (a, b) = (m[k]["avg"].as_f64().unwrap(), s[k]["avg"].as_f64().unwrap());
        (a - b).abs() / b
    };
    assert!(
        rel("benchmark_duration") < 0.05,
        "{} vs {}",
        m["benchmark_duration"],
        s["benchmark_duration"]
    );
    assert!(rel("request_throughput") < 0.05);
    for p in ["p50", "p90"] {
        let (a, b) = (
            m["time_to_first_token"][p].as_f64().unwrap(),
            s["time_to_first_token"][p].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 3.0, "TTFT {p}: merged {a} vs single {b}");
    }
    let lines = std::fs::read_to_string(merged.join("profile_export.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 160);
    let shards_seen: BTreeSet<u64> = lines
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["metadata"]["shard"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(shards_seen.len(), 4);
    // Shard flags are checked.
    assert_usage_error(&["profile", "--sim", "--shards", "4"], "--shard-index");
    assert_usage_error(
        &["profile", "--sim", "--shards", "2", "--shard-index", "2"],
        "--shard-index",
    );
    assert_usage_error(
        &[
            "profile",
            "--sim",
            "--concurrency",
            "2",
            "--shards",
            "4",
            "--shard-index",
            "0",
        ],
        "--shards",
    );
}

/// `std::process::Command::output` without waiting: spawn with captured output.
trait OutputAsync {
    fn output_async(&mut self) -> std::process::Child;
}

impl OutputAsync for std::process::Command {
    fn output_async(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }
}

/// A stand-in for the Kubernetes API: it stores what is created, and runs each Job's pods as
/// local `aiperf` processes (its "kubelet"), keeping their output as pod logs.
#[derive(Default)]
struct Cluster {
    objects: Mutex<HashMap<String, Value>>,
    logs: Mutex<BTreeMap<String, String>>,
    root: PathBuf,
    /// Pods reach the API with this (their "service account").
    kubeconfig: PathBuf,
}

/// The value of the `aiperf.dev/run=<value>` label selector in a query string.
fn label_value(query: &str) -> String {
    let selector = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("labelSelector="))
        .map(|s| s.replace("%3D", "=").replace("%2F", "/"))
        .unwrap_or_default();
    selector.split('=').nth(1).unwrap_or("").to_owned()
}

fn status(code: u16, reason: &str, message: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                   "message": message, "code": code})
            .to_string(),
        )))
        .unwrap()
}

fn ok_json(code: u16, v: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(v.to_string())))
        .unwrap()
}

impl Cluster {
    async fn handle(self: Arc<Self>, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or("").to_owned();
        let body = req.into_body().collect().await.unwrap().to_bytes();
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method.as_str(), parts.as_slice()) {
            ("POST", ["api", "v1", "namespaces"]) => self.create("Namespace", "", &body),
            ("POST", ["api", "v1", "namespaces", ns, kind]) => self.create(kind, ns, &body),
            (
                "POST",
                [
                    "apis",
                    "rbac.authorization.k8s.io",
                    "v1",
                    "namespaces",
                    ns,
                    kind,
                ],
            ) => self.create(kind, ns, &body),
            ("GET", ["apis", "batch", "v1", "namespaces", ns, "jobs"]) => {
                let run = label_value(&query);
                let items: Vec<Value> = self
                    .objects
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|(k, j)| {
                        k.starts_with(&format!("jobs/{ns}/"))
                            && j["metadata"]["labels"]["aiperf.dev/run"] == run.as_str()
                    })
                    .map(|(_, j)| j.clone())
                    .collect();
                ok_json(
                    200,
                    &json!({"apiVersion": "batch/v1", "kind": "JobList", "metadata": {}, "items": items}),
                )
            }
            ("POST", ["apis", "batch", "v1", "namespaces", ns, "jobs"]) => {
                let response = self.create("jobs", ns, &body);
                if response.status() == 201 {
                    let job: Value = serde_json::from_slice(&body).unwrap();
                    let me = self.clone();
                    let ns = (*ns).to_owned();
                    tokio::task::spawn_blocking(move || me.run_job(&ns, &job));
                }
                response
            }
            ("GET", ["apis", "batch", "v1", "namespaces", ns, "jobs", name]) => {
                match self
                    .objects
                    .lock()
                    .unwrap()
                    .get(&format!("jobs/{ns}/{name}"))
                {
                    Some(job) => ok_json(200, job),
                    None => status(404, "NotFound", &format!("jobs.batch \"{name}\" not found")),
                }
            }
            ("PATCH", ["apis", "batch", "v1", "namespaces", ns, "jobs", name]) => {
                let patch: Value = serde_json::from_slice(&body).unwrap();
                let mut objects = self.objects.lock().unwrap();
                match objects.get_mut(&format!("jobs/{ns}/{name}")) {
                    Some(job) => {
                        if let Some(s) = patch["spec"]["suspend"].as_bool() {
                            job["spec"]["suspend"] = json!(s);
                        }
                        ok_json(200, job)
                    }
                    None => status(404, "NotFound", "no such job"),
                }
            }
            ("GET", ["api", "v1", "namespaces", ns, "pods"]) => {
                let run = label_value(&query);
                let items: Vec<Value> = self
                    .logs
                    .lock()
                    .unwrap()
                    .keys()
                    .filter(|pod| pod.starts_with(&format!("{ns}/{run}-")))
                    .map(
                        |pod| json!({"metadata": {"name": pod.split('/').nth(1), "namespace": ns}}),
                    )
                    .collect();
                ok_json(
                    200,
                    &json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items}),
                )
            }
            ("GET", ["api", "v1", "namespaces", ns, "pods", pod, "log"]) => {
                match self.logs.lock().unwrap().get(&format!("{ns}/{pod}")) {
                    Some(text) => Response::new(Full::new(Bytes::from(text.clone()))),
                    None => status(404, "NotFound", "no such pod"),
                }
            }
            _ => status(404, "NotFound", &format!("{method} {path}")),
        }
    }

    fn create(&self, kind: &str, ns: &str, body: &[u8]) -> Response<Full<Bytes>> {
        let object: Value = serde_json::from_slice(body).unwrap();
        let name = object["metadata"]["name"].as_str().unwrap_or("").to_owned();
        let key = format!("{kind}/{ns}/{name}");
        let mut objects = self.objects.lock().unwrap();
        if objects.contains_key(&key) {
            return status(
                409,
                "AlreadyExists",
                &format!("{kind} \"{name}\" already exists"),
            );
        }
        objects.insert(key, object.clone());
        ok_json(201, &object)
    }

    /// The "kubelet": runs every index of an Indexed Job as a local process, `parallelism` at
    /// a time, with the plan ConfigMap and the API-key Secret in place.
    fn run_job(self: Arc<Self>, ns: &str, job: &Value) {
        let name = job["metadata"]["name"].as_str().unwrap().to_owned();
        let owner = job["metadata"]["labels"]["aiperf.dev/run"]
            .as_str()
            .unwrap()
            .to_owned();
        let spec = &job["spec"];
        let completions = spec["completions"].as_u64().unwrap();
        let pod_spec = &spec["template"]["spec"];
        let container = &pod_spec["containers"][0];
        let node = self.root.join(&name);
        // A claim is one directory every pod shares; an emptyDir is per pod.
        let claim = pod_spec["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
            .map(|c| self.root.join("claims").join(c));
        // The ConfigMap's files, as mounted at /etc/aiperf (paths inside follow the mounts).
        let etc = node.join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        let files =
            self.objects.lock().unwrap()[&format!("configmaps/{ns}/{owner}-plan")]["data"].clone();
        for (file, text) in files.as_object().unwrap() {
            let mut text = text
                .as_str()
                .unwrap()
                .replace("\"/etc/aiperf/", &format!("\"{}/", etc.display()));
            if let Some(c) = &claim {
                text = text.replace("\"/results", &format!("\"{}", c.display()));
            }
            std::fs::write(etc.join(file), text).unwrap();
        }
        let api_key = self
            .objects
            .lock()
            .unwrap()
            .get(&format!("secrets/{ns}/{owner}-api-key"))
            .and_then(|s| s["stringData"]["api-key"].as_str().map(str::to_owned));
        // The pods' DNS: the shards reach shard 0's clock on this machine.
        let clock_port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let pod = |index: u64| -> bool {
            let results = claim
                .clone()
                .unwrap_or_else(|| node.join(format!("pod-{index}")));
            let args: Vec<String> = container["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    let a = a
                        .as_str()
                        .unwrap()
                        .replace("$(AIPERF_INDEX)", &index.to_string())
                        .replace("/etc/aiperf", etc.to_str().unwrap())
                        .replace(
                            &format!("{name}-0.{name}:9555"),
                            &format!("127.0.0.1:{clock_port}"),
                        );
                    match a.strip_prefix("/results") {
                        Some(rest) => format!("{}{rest}", results.display()),
                        None => a,
                    }
                })
                .collect();
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_aiperf"));
            command
                .args(&args)
                .env_remove("AIPERF_API_KEY")
                .env("KUBECONFIG", &self.kubeconfig);
            if let Some(key) = &api_key {
                command.env("AIPERF_API_KEY", key);
            }
            let output = command.output().unwrap();
            let mut log = String::from_utf8_lossy(&output.stdout).into_owned();
            log.push_str(&String::from_utf8_lossy(&output.stderr));
            self.logs
                .lock()
                .unwrap()
                .insert(format!("{ns}/{name}-{index}-x7k2p"), log);
            output.status.success()
        };
        // `parallelism` pods at a time.
        let parallelism = spec["parallelism"].as_u64().unwrap_or(1).max(1);
        let mut succeeded = Vec::new();
        let indexes: Vec<u64> = (0..completions).collect();
        for batch in indexes.chunks(parallelism as usize) {
            let done: Vec<(u64, bool)> = std::thread::scope(|scope| {
                let running: Vec<_> = batch
                    .iter()
                    .map(|&i| (i, scope.spawn(move || pod(i))))
                    .collect();
                running
                    .into_iter()
                    .map(|(i, h)| (i, h.join().unwrap()))
                    .collect()
            });
            succeeded.extend(
                done.into_iter()
                    .filter(|(_, ok)| *ok)
                    .map(|(i, _)| i.to_string()),
            );
        }
        let mut objects = self.objects.lock().unwrap();
        let job = objects.get_mut(&format!("jobs/{ns}/{name}")).unwrap();
        job["status"] = json!({
            "succeeded": succeeded.len(),
            "failed": completions as usize - succeeded.len(),
            "completedIndexes": succeeded.join(","),
            "conditions": [{"type": "Complete", "status": "True"}],
        });
    }

    /// Waits (polling the recorded state) until the Job `key` has finished.
    fn wait_for(&self, key: &str, secs: u64, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.job_done(key) {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn job_done(&self, key: &str) -> bool {
        self.objects
            .lock()
            .unwrap()
            .get(key)
            .is_some_and(|j| j["status"]["conditions"].is_array())
    }
}

/// `aiperf kube sweep | status | collect --job | cancel` against the stand-in API: the same
/// client calls a cluster gets, the same pods' work, the same aggregate.
#[test]
fn kube_commands_against_an_api_server() {
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = tmp.path().join("kubeconfig");
    let cluster = Arc::new(Cluster {
        root: tmp.path().join("nodes"),
        kubeconfig: kubeconfig.clone(),
        ..Cluster::default()
    });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let served = cluster.clone();
    runtime.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let c = served.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let c = c.clone();
                    async move { Ok::<_, std::convert::Infallible>(c.handle(req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{addr}\n\
             users:\n- name: me\n  user: {{}}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: me\n\
             current-context: fake\n"
        ),
    )
    .unwrap();
    let kube = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_aiperf"))
            .args(args)
            .env("KUBECONFIG", &kubeconfig)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .output()
            .unwrap()
    };
    // A local prompt file: the pods find it in the run's ConfigMap.
    let prompts = tmp.path().join("prompts.jsonl");
    std::fs::write(
        &prompts,
        "{\"text\": \"Hello there\"}\n{\"text\": \"How are you?\"}\n",
    )
    .unwrap();
    let prompts = prompts.display().to_string();
    let sweep = [
        "kube",
        "sweep",
        "--sim",
        "fixed",
        "--streaming",
        "--concurrency",
        "1,2",
        "--request-count",
        "6",
        "--osl",
        "6",
        "--no-gpu-telemetry",
        "--input-file",
        &prompts,
        "--api-key",
        "sk-test-key",
        "--image",
        "example/aiperf:test",
        "--name",
        "t1",
        "--namespace",
        "bench",
    ];
    let output = kube(&sweep);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("aiperf kube status t1"));
    {
        let objects = cluster.objects.lock().unwrap();
        let job = &objects["jobs/bench/t1"];
        assert_eq!(job["spec"]["completions"], 2);
        assert_eq!(job["spec"]["completionMode"], "Indexed");
        // The key went to a Secret, never into the plan.
        assert_eq!(
            objects["secrets/bench/t1-api-key"]["stringData"]["api-key"],
            "sk-test-key"
        );
        let data = &objects["configmaps/bench/t1-plan"]["data"];
        let plan = data["plan.json"].as_str().unwrap();
        assert!(!plan.contains("sk-test-key"));
        assert!(plan.contains("/etc/aiperf/input.jsonl"));
        assert!(
            data["input.jsonl"]
                .as_str()
                .unwrap()
                .contains("How are you?")
        );
        assert!(objects.contains_key("Namespace//bench"));
    }
    // The same name again is refused.
    let again = kube(&sweep);
    assert_eq!(
        again.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    cluster.wait_for("jobs/bench/t1", 180, "the pods did not finish");
    let output = kube(&["kube", "status", "t1", "--namespace", "bench"]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && text.contains("Complete") && text.contains("2 of 2 runs done"),
        "{text}"
    );

    let results = tmp.path().join("collected");
    let output = kube(&[
        "kube",
        "collect",
        results.to_str().unwrap(),
        "--job",
        "t1",
        "--namespace",
        "bench",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sweep_doc = read_json(&results.join("sweep_aggregate/profile_export_aiperf_sweep.json"));
    assert_eq!(
        sweep_doc["per_combination_metrics"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Every request used one of the two prompts of the file.
    let isl: BTreeSet<u64> = std::fs::read_to_string(
        results.join("concurrency_2/profile_export.jsonl"),
    )
    .unwrap()
    .lines()
    .map(|l| {
        serde_json::from_str::<Value>(l).unwrap()["metrics"]["input_sequence_length"]["value"]
            .as_u64()
            .unwrap()
    })
    .collect();
    assert!(isl.len() <= 2 && isl.iter().all(|n| *n < 10), "{isl:?}");

    let output = kube(&["kube", "cancel", "t1", "--namespace", "bench"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        cluster.objects.lock().unwrap()["jobs/bench/t1"]["spec"]["suspend"],
        true
    );

    let missing = kube(&["kube", "status", "nope", "--namespace", "bench"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--namespace"));

    // An adaptive search: a controller pod that creates one child Job per iteration, all on
    // one results volume.
    let search = [
        "kube",
        "sweep",
        "--sim",
        "fixed",
        "--streaming",
        "--request-count",
        "6",
        "--osl",
        "6",
        "--no-gpu-telemetry",
        "--search-space",
        "concurrency:1,3:int",
        "--search-planner",
        "grid",
        "--search-max-iterations",
        "3",
        "--search-metric",
        "request_throughput",
        "--search-direction",
        "maximize",
        "--image",
        "example/aiperf:test",
        "--name",
        "s1",
        "--namespace",
        "bench",
        "--storage",
        "1Gi",
    ];
    let no_volume: Vec<&str> = search[..search.len() - 2].to_vec();
    let output = kube(&no_volume);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--storage"));
    let output = kube(&search);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    {
        let objects = cluster.objects.lock().unwrap();
        assert!(objects.contains_key("roles/bench/s1-controller"));
        assert!(objects.contains_key("rolebindings/bench/s1-controller"));
        assert!(objects.contains_key("serviceaccounts/bench/s1-controller"));
    }
    cluster.wait_for("jobs/bench/s1", 240, "the search did not finish");
    let controller_log = cluster.logs.lock().unwrap()["bench/s1-0-x7k2p"].clone();
    let children: Vec<String> = cluster
        .objects
        .lock()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("jobs/bench/s1-i"))
        .cloned()
        .collect();
    assert_eq!(
        children.len(),
        3,
        "one child Job per iteration: {children:?}\n{controller_log}"
    );
    let results = tmp.path().join("nodes/claims/s1-results/s1");
    let history = read_json(&results.join("search_history.json"));
    assert_eq!(
        history["iterations"].as_array().unwrap().len(),
        3,
        "{controller_log}"
    );
    assert!(history["convergence_reason"].is_string());
    assert!(
        results
            .join("sweep_aggregate/profile_export_aiperf_sweep.json")
            .is_file()
    );
    let output = kube(&["kube", "collect", results.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let output = kube(&["kube", "status", "s1", "--namespace", "bench"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("search iterations started: 3"));
    // Cancelling a search suspends the controller and its children.
    let output = kube(&["kube", "cancel", "s1", "--namespace", "bench"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for job in children {
        assert_eq!(
            cluster.objects.lock().unwrap()[&job]["spec"]["suspend"],
            true,
            "{job}"
        );
    }

    // One benchmark over two pods that start together; their artifacts come back through the
    // logs and are merged.
    let output = kube(&[
        "kube",
        "profile",
        "--sim",
        "fixed",
        "--streaming",
        "--concurrency",
        "4",
        "--request-count",
        "12",
        "--osl",
        "6",
        "--no-gpu-telemetry",
        "--shards",
        "2",
        "--start-delay",
        "3",
        "--image",
        "example/aiperf:test",
        "--name",
        "p1",
        "--namespace",
        "bench",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    cluster.wait_for("jobs/bench/p1", 120, "the shards did not finish");
    let merged = tmp.path().join("merged");
    let output = kube(&[
        "kube",
        "collect",
        merged.to_str().unwrap(),
        "--job",
        "p1",
        "--namespace",
        "bench",
    ]);
    let logs = format!("{:?}", cluster.logs.lock().unwrap().get("bench/p1-1-x7k2p"));
    assert!(
        output.status.success(),
        "{}\n{logs}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doc = read_json(&merged.join("profile_export_aiperf.json"));
    assert_eq!(doc["request_count"]["avg"].as_f64(), Some(12.0), "{logs}");
    assert_eq!(doc["shards"].as_array().unwrap().len(), 2);
    assert!(doc["shards"][1]["clock_rtt_ns"].as_u64().is_some());
    assert!(merged.join("shard_1/profile_export.jsonl").is_file());
    drop(runtime);
}

/// `--dry-run` prints the manifests: snapshot-tested, and valid against the Kubernetes 1.33
/// OpenAPI schemas (strict: no unknown fields) when the test Python has `kubernetes-validate`.
/// Without a cluster, each command says so; only those that create objects suggest
/// `--dry-run`, the others do not have it.
#[test]
fn without_a_cluster_the_hint_fits_the_command() {
    let home = tempfile::tempdir().unwrap();
    let kube = |args: &[&str]| {
        let output = crate::common::aiperf()
            .env("HOME", home.path())
            .env("KUBECONFIG", home.path().join("no-such-config"))
            .env_remove("KUBERNETES_SERVICE_HOST")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        stderr(&output)
    };
    for args in [&["kube", "status", "x"][..], &["kube", "cancel", "x"]] {
        let err = kube(args);
        assert!(err.contains("cannot reach a Kubernetes cluster"), "{err}");
        assert!(!err.contains("--dry-run"), "{args:?}: {err}");
    }
    let err = kube(&[
        "kube",
        "sweep",
        "--sim",
        "--image",
        "i:1",
        "--concurrency",
        "1,2",
    ]);
    assert!(
        err.contains("use --dry-run to print the manifests"),
        "{err}"
    );
}

#[test]
fn dry_run_manifests_are_stable_and_valid() {
    let sweep = run(&[
        "kube",
        "sweep",
        "--sim",
        "fixed",
        "--streaming",
        "--concurrency",
        "1,2,4",
        "--request-count",
        "10",
        "--random-seed",
        "7",
        "--image",
        "ghcr.io/example/aiperf:0.1",
        "--name",
        "demo",
        "--namespace",
        "bench",
        "--parallelism",
        "2",
        "--storage",
        "5Gi",
        "--dry-run",
    ]);
    assert!(sweep.status.success(), "{}", stderr(&sweep));
    // The plan's identity is a fresh UUID on every run.
    let normalize = |s: String| {
        let s = s.replace(env!("CARGO_BIN_EXE_aiperf"), "aiperf");
        let key = "\"sweep_id\": \"";
        match s.find(key) {
            Some(i) => {
                let start = i + key.len();
                let end = start + s[start..].find('"').unwrap();
                format!("{}<sweep id>{}", &s[..start], &s[end..])
            }
            None => s,
        }
    };
    let sweep_yaml = normalize(stdout(&sweep));
    insta::assert_snapshot!("kube_sweep_dry_run", sweep_yaml);

    let sharded = run(&[
        "kube",
        "profile",
        "-m",
        "m",
        "--url",
        "http://vllm.serving:8000",
        "--concurrency",
        "64",
        "--request-count",
        "4000",
        "--random-seed",
        "7",
        "--shards",
        "4",
        "--image",
        "ghcr.io/example/aiperf:0.1",
        "--name",
        "big",
        "--api-key",
        "sk-secret",
        "--dry-run",
    ]);
    assert!(sharded.status.success(), "{}", stderr(&sharded));
    let sharded_yaml = normalize(stdout(&sharded));
    assert!(
        !sharded_yaml.contains("sk-secret"),
        "credentials are never printed"
    );
    assert!(stderr(&sharded).contains("create secret generic big-api-key"));
    // The common start is submission time + --start-delay.
    let start_line = sharded_yaml
        .lines()
        .skip_while(|l| !l.contains("--shard-start-at"))
        .nth(1)
        .unwrap();
    let start: f64 = start_line
        .trim()
        .trim_start_matches("- ")
        .trim_matches('"')
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((start - now - 120.0).abs() < 30.0, "{start} vs {now}");
    let sharded_yaml = sharded_yaml.replace(start_line, "        - \"<start>\"");
    insta::assert_snapshot!("kube_sharded_dry_run", sharded_yaml);

    let search = run(&[
        "kube",
        "sweep",
        "--sim",
        "--streaming",
        "--search-recipe",
        "max-concurrency-under-sla",
        "--ttft-sla-ms",
        "300",
        "--image",
        "ghcr.io/example/aiperf:0.1",
        "--name",
        "knee",
        "--pvc",
        "shared-results",
        "--dry-run",
    ]);
    assert!(search.status.success(), "{}", stderr(&search));
    let search_yaml = normalize(stdout(&search));
    for kind in [
        "kind: Role",
        "kind: RoleBinding",
        "kind: ServiceAccount",
        "serviceAccountName: knee-controller",
        "claimName: shared-results",
    ] {
        assert!(search_yaml.contains(kind), "{kind} missing:\n{search_yaml}");
    }

    let python = std::env::var("AIPERF_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = r#"
import sys, yaml, kubernetes_validate
docs = [d for d in yaml.safe_load_all(sys.stdin.read()) if d]
for d in docs:
    kubernetes_validate.validate(d, "1.33.0", strict=True)
print(len(docs))
"#;
    let has = std::process::Command::new(&python)
        .args(["-c", "import kubernetes_validate, yaml"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("kubernetes-validate not found for {python}: manifests not checked against the schemas\n").as_bytes(),
        )
        .unwrap();
        return;
    }
    for (what, yaml, count) in [
        ("sweep", &sweep_yaml, "4"),
        ("sharded", &sharded_yaml, "5"),
        ("search", &search_yaml, "6"),
    ] {
        let mut child = std::process::Command::new(&python)
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), yaml.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout).trim(),
            count,
            "{what}"
        );
    }
}
