//! What a run asks of the server besides its requests, and the Endpoint options about the
//! wire: several URLs in round robin (`--url-strategy`), waiting for the model
//! (`--wait-for-model-*`), the cache reset and the profiler around the profiling phase (on
//! `aiperf sim`, which records them), `--session-header`, `--per-chunk-usage`; the Python
//! AIPerf's options for its own processes, accepted with a note.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::common::{
    aiperf, assert_usage_error, interrupt, profile, read_http_request, read_lines, stderr,
};

/// An `aiperf sim` process recording every request it gets.
struct Sim {
    child: Child,
    url: String,
    records: std::path::PathBuf,
}

impl Sim {
    fn start(records: &Path) -> Self {
        let mut child = aiperf()
            .args([
                "sim",
                "--port",
                "0",
                "--preset",
                "fixed",
                "--speedup",
                "100",
                "--model",
                "m",
            ])
            .arg("--record-requests")
            .arg(records)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let banner = lines.next().unwrap().unwrap();
        let url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {banner:?}"))
            .to_owned();
        Self {
            child,
            url,
            records: records.to_path_buf(),
        }
    }

    /// Stops the simulator (Ctrl-C) and returns what it recorded.
    fn stop(mut self) -> Vec<Value> {
        interrupt(self.child.id());
        assert!(self.child.wait().unwrap().success());
        read_lines(&self.records)
    }
}

fn records(dir: &Path) -> Vec<Value> {
    read_lines(&dir.join("profile_export.jsonl"))
}

fn metric(record: &Value, name: &str) -> f64 {
    record["metrics"][name]["value"].as_f64().unwrap()
}

#[test]
fn several_urls_take_whole_conversations_in_turn() {
    let tmp = tempfile::tempdir().unwrap();
    let a = Sim::start(&tmp.path().join("a.jsonl"));
    let b = Sim::start(&tmp.path().join("b.jsonl"));
    let dir = tmp.path().join("run");
    let out = profile(
        &dir,
        &[
            "-m",
            "m",
            "--url",
            &a.url,
            "--url",
            &b.url,
            "--url-strategy",
            "round_robin",
            "--num-sessions",
            "6",
            "--session-turns-mean",
            "3",
            "--concurrency",
            "2",
            "--osl",
            "4",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (seen_a, seen_b) = (a.stop(), b.stop());
    // Each request's conversation, from the client's records.
    let conversation: HashMap<String, String> = records(&dir)
        .iter()
        .map(|r| {
            let m = &r["metadata"];
            let id = |k: &str| m[k].as_str().unwrap().to_owned();
            (id("x_request_id"), id("x_correlation_id"))
        })
        .collect();
    assert_eq!(conversation.len(), 18);
    let conversations_of = |seen: &[Value]| -> HashSet<String> {
        seen.iter()
            .map(|r| conversation[r["client_request_id"].as_str().unwrap()].clone())
            .collect()
    };
    let (on_a, on_b) = (conversations_of(&seen_a), conversations_of(&seen_b));
    // Three conversations each, every turn of a conversation on the same server.
    assert_eq!((on_a.len(), on_b.len()), (3, 3), "{on_a:?} {on_b:?}");
    assert!(on_a.is_disjoint(&on_b));
    assert_eq!((seen_a.len(), seen_b.len()), (9, 9));
}

/// A hand-written server: `answer(method, path, body)` gives the status, content type and
/// body pieces of each answer (pieces after the first are sent 20 ms apart, chunked); every
/// request is kept as (method, path, head, body).
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

fn server(
    answer: impl Fn(&str, &str, &str) -> (u16, &'static str, Vec<String>) + Send + Sync + 'static,
) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Seen = Arc::default();
    let kept = seen.clone();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (answer, kept) = (answer.clone(), kept.clone());
            std::thread::spawn(move || {
                while let Some((head, body)) = read_http_request(&mut stream) {
                    let mut words = head.split_whitespace();
                    let method = words.next().unwrap_or_default().to_owned();
                    let path = words.next().unwrap_or_default().to_owned();
                    let (status, content_type, pieces) = answer(&method, &path, &body);
                    kept.lock().unwrap().push((method, path, head, body));
                    let mut reply = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n\
                         Transfer-Encoding: chunked\r\n\r\n"
                    );
                    for (i, piece) in pieces.iter().enumerate() {
                        if i > 0 {
                            stream.write_all(reply.as_bytes()).unwrap();
                            reply.clear();
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        reply.push_str(&format!("{:x}\r\n{piece}\r\n", piece.len()));
                    }
                    reply.push_str("0\r\n\r\n");
                    if stream.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, seen)
}

const COMPLETION: &str = r#"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"fine thanks"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#;

/// The readiness probe: a chat request for one token saying "Lo".
fn is_probe(body: &str) -> bool {
    serde_json::from_str::<Value>(body).is_ok_and(|b| {
        b["messages"][0]["content"] == "Lo" && b["max_tokens"] == 1 && b["model"] == "m"
    })
}

#[test]
fn the_run_waits_until_an_inference_probe_is_answered() {
    let counted = Arc::new(Mutex::new(0));
    let (url, seen) = server(move |_, path, body| {
        if path == "/v1/chat/completions" && is_probe(body) {
            let mut n = counted.lock().unwrap();
            *n += 1;
            if *n <= 2 {
                return (
                    503,
                    "application/json",
                    vec![r#"{"error":"loading"}"#.into()],
                );
            }
        }
        (200, "application/json", vec![COMPLETION.into()])
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = profile(
        tmp.path(),
        &[
            "-m",
            "m",
            "--url",
            &url,
            "--request-count",
            "4",
            "--wait-for-model-timeout",
            "30",
            "--wait-for-model-interval",
            "0.05",
            "--no-server-metrics",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let seen = seen.lock().unwrap();
    let kinds: Vec<bool> = seen.iter().map(|(_, _, _, b)| is_probe(b)).collect();
    // Three probes (two refused while "loading"), then the benchmark's four requests.
    assert_eq!(
        kinds,
        [true, true, true, false, false, false, false],
        "{seen:?}"
    );
    assert_eq!(records(tmp.path()).len(), 4);
}

#[test]
fn the_models_probe_waits_for_the_model_in_the_list() {
    let counted = Arc::new(Mutex::new(0));
    let (url, seen) = server(move |method, path, _| match (method, path) {
        ("GET", "/v1/models") => {
            let mut n = counted.lock().unwrap();
            *n += 1;
            let data = if *n <= 2 {
                "[]"
            } else {
                r#"[{"id":"m","object":"model"}]"#
            };
            (
                200,
                "application/json",
                vec![format!(r#"{{"object":"list","data":{data}}}"#)],
            )
        }
        _ => (200, "application/json", vec![COMPLETION.into()]),
    });
    let tmp = tempfile::tempdir().unwrap();
    let out = profile(
        tmp.path(),
        &[
            "-m",
            "m",
            "--url",
            &url,
            "--request-count",
            "2",
            "--wait-for-model-timeout",
            "30",
            "--wait-for-model-mode",
            "models",
            "--wait-for-model-interval",
            "0.05",
            "--no-server-metrics",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let seen = seen.lock().unwrap();
    let lines: Vec<String> = seen.iter().map(|(m, p, _, _)| format!("{m} {p}")).collect();
    assert_eq!(
        lines,
        [
            "GET /v1/models",
            "GET /v1/models",
            "GET /v1/models",
            "POST /v1/chat/completions",
            "POST /v1/chat/completions"
        ]
    );
    assert!(!seen.iter().any(|(_, _, _, b)| is_probe(b)));
}

#[test]
fn a_model_never_ready_stops_before_anything_is_measured() {
    let (url, seen) = server(|_, _, _| (503, "application/json", vec!["{}".into()]));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let out = profile(
        &dir,
        &[
            "-m",
            "m",
            "--url",
            &url,
            "--request-count",
            "2",
            "--wait-for-model-timeout",
            "0.3",
            "--wait-for-model-mode",
            "both",
            "--wait-for-model-interval",
            "0.05",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--wait-for-model-timeout"), "{err}");
    assert!(err.contains("was not ready after 0.3 s"), "{err}");
    // Only probes were sent (of the models list: `both` checks it first); no artifacts.
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 2, "{seen:?}");
    assert!(
        seen.iter()
            .all(|(m, p, _, _)| m == "GET" && p == "/v1/models"),
        "{seen:?}"
    );
    assert!(!dir.exists());
}

#[test]
fn cache_reset_and_profiler_surround_the_phases_on_the_simulator() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::start(&tmp.path().join("sim.jsonl"));
    let dir = tmp.path().join("run");
    let out = profile(
        &dir,
        &[
            "-m",
            "m",
            "--url",
            &sim.url,
            "--warmup-request-count",
            "2",
            "--request-count",
            "4",
            "--concurrency",
            "1",
            "--reset-kv-cache",
            "--server-profiler",
            "--osl",
            "4",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut seen = sim.stop();
    seen.sort_by_key(|r| r["arrival_ns"].as_u64().unwrap());
    let profiling: HashSet<String> = records(&dir)
        .iter()
        .map(|r| r["metadata"]["x_request_id"].as_str().unwrap().to_owned())
        .collect();
    let kind = |r: &Value| match r["endpoint"].as_str().unwrap() {
        "/v1/chat/completions" => {
            let id = r["client_request_id"].as_str().unwrap();
            if profiling.contains(id) {
                "profiling"
            } else {
                "warmup"
            }
            .to_owned()
        }
        other => other.to_owned(),
    };
    let order: Vec<String> = seen.iter().map(kind).collect();
    assert_eq!(
        order,
        [
            "/reset_prefix_cache",
            "warmup",
            "warmup",
            "/start_profile",
            "profiling",
            "profiling",
            "profiling",
            "profiling",
            "/stop_profile"
        ]
    );
    // Each control request is answered before the next request arrives.
    for w in seen.windows(2) {
        assert!(
            w[0]["end_ns"].as_u64() <= w[1]["arrival_ns"].as_u64(),
            "{w:?}"
        );
    }
}

#[test]
fn a_failed_cache_reset_stops_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = Sim::start(&tmp.path().join("sim.jsonl"));
    let out = profile(
        &tmp.path().join("run"),
        &[
            "-m",
            "m",
            "--url",
            &sim.url,
            "--request-count",
            "2",
            "--reset-kv-cache-path",
            "/nope",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--reset-kv-cache: POST"), "{err}");
    assert!(err.contains("/nope answered 404"), "{err}");
    assert!(sim.stop().is_empty(), "nothing was sent to the model");
}

#[test]
fn the_session_header_carries_the_correlation_id() {
    let (url, seen) = server(|_, _, _| (200, "application/json", vec![COMPLETION.into()]));
    let tmp = tempfile::tempdir().unwrap();
    let out = profile(
        tmp.path(),
        &[
            "-m",
            "m",
            "--url",
            &url,
            "--num-sessions",
            "2",
            "--session-turns-mean",
            "2",
            "--session-header",
            "X-Session-ID",
            "--no-server-metrics",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let header = |head: &str, name: &str| {
        head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let sessions: HashMap<String, String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, head, _)| {
            assert_eq!(header(head, "x-correlation-id"), None);
            (
                header(head, "x-request-id").unwrap(),
                header(head, "x-session-id").unwrap(),
            )
        })
        .collect();
    let recs = records(tmp.path());
    assert_eq!(recs.len(), 4);
    for r in &recs {
        let m = &r["metadata"];
        assert_eq!(
            sessions[m["x_request_id"].as_str().unwrap()],
            m["x_correlation_id"].as_str().unwrap()
        );
    }
}

/// A stream whose first content chunk carries three tokens, then two more, with cumulative
/// usage on every chunk.
fn bundled_stream() -> Vec<String> {
    let usage = |n: u32| {
        format!(
            r#""usage":{{"prompt_tokens":5,"completion_tokens":{n},"total_tokens":{}}}"#,
            n + 5
        )
    };
    let chunk = |text: &str, n: u32| {
        format!(
            "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}}}}],{}}}\n\n",
            usage(n)
        )
    };
    vec![
        chunk("one two three", 3),
        chunk(" four", 4),
        chunk(" five", 5),
        format!("data: {{\"choices\":[],{}}}\n\ndata: [DONE]\n\n", usage(5)),
    ]
}

#[test]
fn per_chunk_usage_leaves_the_first_chunks_tokens_out_of_inter_token_latency() {
    let (url, seen) = server(|_, _, _| (200, "text/event-stream", bundled_stream()));
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, extra: &[&str]| {
        let dir = tmp.path().join(name);
        let mut args = vec![
            "-m",
            "m",
            "--url",
            &url,
            "--request-count",
            "2",
            "--streaming",
            "--use-server-token-count",
            "--no-server-metrics",
        ];
        args.extend_from_slice(extra);
        let out = profile(&dir, &args);
        assert!(out.status.success(), "{}", stderr(&out));
        records(&dir)
    };
    for (recs, first_chunk) in [
        (run("per-chunk", &["--per-chunk-usage"]), 3.0),
        (run("plain", &[]), 1.0),
    ] {
        for r in &recs {
            let decode = metric(r, "request_latency") - metric(r, "time_to_first_token");
            assert!(decode > 0.0, "{r}");
            assert_eq!(metric(r, "output_sequence_length"), 5.0);
            let itl = metric(r, "inter_token_latency");
            assert!(
                (itl * (5.0 - first_chunk) - decode).abs() < 1e-6,
                "{itl} {decode}"
            );
        }
    }
    let bodies: Vec<Value> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, _, b)| serde_json::from_str(b).unwrap())
        .collect();
    let options = serde_json::json!({"include_usage": true, "continuous_usage_stats": true});
    assert_eq!(bodies[0]["stream_options"], options);
    assert_eq!(
        bodies[3]["stream_options"],
        serde_json::json!({"include_usage": true})
    );
}

#[test]
fn bad_control_options_are_usage_errors() {
    let p = |args: &[&'static str]| {
        let mut all = vec!["profile", "--sim"];
        all.extend_from_slice(args);
        all
    };
    assert_usage_error(
        &p(&["--reset-kv-cache-path", "reset"]),
        "--reset-kv-cache-path must be a path",
    );
    assert_usage_error(
        &p(&["--server-profiler-stop-path", "http://elsewhere/stop"]),
        "--server-profiler-stop-path must be a path",
    );
    assert_usage_error(
        &p(&["--server-profiler-timeout-seconds", "0"]),
        "positive number",
    );
    assert_usage_error(
        &p(&["--wait-for-model-interval", "0"]),
        "--wait-for-model-interval",
    );
    assert_usage_error(
        &p(&["--wait-for-model-timeout", "-1"]),
        "--wait-for-model-timeout",
    );
    assert_usage_error(
        &p(&["--wait-for-model-mode", "ping"]),
        "--wait-for-model-mode",
    );
    assert_usage_error(&p(&["--url-strategy", "random"]), "--url-strategy");
    assert_usage_error(&p(&["--transport", "grpc"]), "--transport");
    assert_usage_error(&p(&["--session-header", "X Session"]), "--session-header");
    assert_usage_error(
        &p(&["--per-chunk-usage", "--streaming"]),
        "--use-server-token-count",
    );
    assert_usage_error(
        &p(&["--per-chunk-usage", "--use-server-token-count"]),
        "requires --streaming",
    );
    assert_usage_error(
        &p(&[
            "--per-chunk-usage",
            "--use-server-token-count",
            "--streaming",
            "--endpoint-type",
            "completions",
        ]),
        "requires --endpoint-type chat",
    );
    assert_usage_error(
        &p(&["--uuid-and-strip", "--endpoint-type", "completions"]),
        "--uuid-and-strip",
    );
    assert_usage_error(
        &p(&["--hf-weka-dataset", "org/traces"]),
        "Weka agentic traces",
    );
    assert_usage_error(
        &p(&["--workers-max", "0"]),
        "--workers-max must be at least 1",
    );
    assert_usage_error(&p(&["--stats-interval", "2000"]), "--stats-interval");
}

#[test]
fn python_process_options_are_accepted_with_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let out = profile(
        tmp.path(),
        &[
            "--sim",
            "--request-count",
            "2",
            "--record-processors",
            "2",
            "--max-workers",
            "4",
            "--api-port",
            "9999",
            "--api-host",
            "0.0.0.0",
            "--stats-interval",
            "5",
            "--zmq-host",
            "10.0.0.1",
            "--zmq-ipc-path",
            "/tmp/zmq",
            "--zmq-dual-bind",
            "--transport",
            "http",
            "--url-strategy",
            "round-robin",
            "--apply-chat-template",
            "--uuid-and-strip",
        ],
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(
            "--record-processor-service-count, --api-port, --api-host, --stats-interval, \
             --workers-max, --zmq-host, --zmq-ipc-path, --zmq-dual-bind tune the Python \
             AIPerf's own processes and do not apply here"
        ),
        "{err}"
    );
    assert!(
        err.contains("--apply-chat-template has no effect here"),
        "{err}"
    );
    assert!(err.contains("--uuid-and-strip has no effect here"), "{err}");
    assert_eq!(records(tmp.path()).len(), 2);
}

#[test]
fn extra_verbose_logs_as_much_as_dash_vv() {
    let tmp = tempfile::tempdir().unwrap();
    let quiet = profile(&tmp.path().join("a"), &["--sim", "--request-count", "1"]);
    let verbose = profile(
        &tmp.path().join("b"),
        &["--sim", "--request-count", "1", "--extra-verbose"],
    );
    assert!(quiet.status.success() && verbose.status.success());
    assert!(!stderr(&quiet).contains("DEBUG"));
    assert!(stderr(&verbose).contains("DEBUG"), "{}", stderr(&verbose));
}

#[test]
fn batch_size_is_the_prompt_batch_size() {
    let tmp = tempfile::tempdir().unwrap();
    let out = profile(
        tmp.path(),
        &[
            "--sim",
            "--endpoint-type",
            "embeddings",
            "--batch-size",
            "3",
            "--request-count",
            "2",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let inputs: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("inputs.json")).unwrap()).unwrap();
    let input = &inputs["data"][0]["payloads"][0]["input"];
    assert_eq!(input.as_array().map(Vec::len), Some(3), "{input}");
}

/// The control paths and timeouts are the ones given: the reset, start and stop requests go
/// to `--reset-kv-cache-path`, `--server-profiler-start-path` and `--server-profiler-stop-path`;
/// a reset the server has not answered within `--reset-kv-cache-timeout-seconds` is tried
/// again, and a profiler start not answered within `--server-profiler-timeout-seconds` stops
/// the run before anything is measured.
#[test]
fn control_paths_and_timeouts_are_the_ones_given() {
    let counted = Arc::new(Mutex::new(0));
    let (url, seen) = server(move |_, path, _| match path {
        "/admin/reset" => {
            let mut n = counted.lock().unwrap();
            *n += 1;
            if *n == 1 {
                // The first reset is answered after the client gave up on it.
                std::thread::sleep(Duration::from_millis(1500));
            }
            (200, "application/json", vec!["{}".into()])
        }
        "/admin/start" | "/admin/stop" => (200, "application/json", vec!["{}".into()]),
        "/slow/start" => {
            std::thread::sleep(Duration::from_millis(1500));
            (200, "application/json", vec!["{}".into()])
        }
        _ => (200, "application/json", vec![COMPLETION.into()]),
    });
    let tmp = tempfile::tempdir().unwrap();
    let base = [
        "-m",
        "m",
        "--url",
        &url,
        "--request-count",
        "2",
        "--no-server-metrics",
    ];
    let out = profile(
        &tmp.path().join("paths"),
        &[
            &base[..],
            &[
                "--reset-kv-cache",
                "--reset-kv-cache-path",
                "/admin/reset",
                "--reset-kv-cache-timeout-seconds",
                "0.3",
                "--server-profiler",
                "--server-profiler-start-path",
                "/admin/start",
                "--server-profiler-stop-path",
                "/admin/stop",
            ],
        ]
        .concat(),
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("no answer within 0.3 s; trying again"),
        "{err}"
    );
    let paths: Vec<String> = seen.lock().unwrap().iter().map(|s| s.1.clone()).collect();
    let chat = "/v1/chat/completions".to_owned();
    assert_eq!(
        paths,
        [
            "/admin/reset",
            "/admin/reset",
            "/admin/start",
            &chat,
            &chat,
            "/admin/stop"
        ]
    );

    seen.lock().unwrap().clear();
    let out = profile(
        &tmp.path().join("slow"),
        &[
            &base[..],
            &[
                "--server-profiler",
                "--server-profiler-start-path",
                "/slow/start",
                "--server-profiler-timeout-seconds",
                "0.3",
            ],
        ]
        .concat(),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("/slow/start failed: no answer within 0.3 s"),
        "{err}"
    );
    let sent = seen.lock().unwrap().iter().filter(|s| s.1 == chat).count();
    assert_eq!(sent, 0, "nothing was sent to the model");
}
