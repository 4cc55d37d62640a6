//! What the endpoint tests share: a hand-written server that keeps every request whole (binary
//! form bodies included) and answers as the test says, whole HTTP answers (JSON, server-sent
//! events), runs of `aiperf profile` against such a server, and what a run wrote.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::common::{profile, read_lines, stderr};

/// One request as the server read it.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub method: String,
    pub path: String,
    pub head: String,
    pub body: Vec<u8>,
}

/// One part of a form: its file name and type (files only) and its bytes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct FormPart {
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl Seen {
    /// `METHOD PATH`.
    pub(super) fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The body as JSON.
    pub(super) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub(super) fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    /// The parts of a `multipart/form-data` body, by name, in order.
    pub(super) fn form(&self) -> Vec<(String, FormPart)> {
        let content_type = self.header("content-type").expect("a content type");
        let boundary = content_type
            .split_once("boundary=")
            .expect("a multipart boundary")
            .1
            .trim_matches('"');
        let delimiter = format!("--{boundary}").into_bytes();
        let mut parts = Vec::new();
        let mut rest = &self.body[..];
        while let Some(at) = find(rest, &delimiter) {
            rest = &rest[at + delimiter.len()..];
            if rest.starts_with(b"--") {
                break;
            }
            let head_end = find(rest, b"\r\n\r\n").expect("part headers");
            let head = String::from_utf8_lossy(&rest[2..head_end]).into_owned();
            let data_start = head_end + 4;
            let mut closing = b"\r\n".to_vec();
            closing.extend_from_slice(&delimiter);
            let data_end = data_start + find(&rest[data_start..], &closing).expect("a closed part");
            let param = |key: &str| {
                head.split(';')
                    .find_map(|p| p.trim().strip_prefix(&format!("{key}=\"")))
                    .map(|v| v.split('"').next().unwrap_or_default().to_owned())
            };
            let content_type = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Type: "))
                .map(str::to_owned);
            parts.push((
                param("name").expect("a part name"),
                FormPart {
                    filename: param("filename"),
                    content_type,
                    data: rest[data_start..data_end].to_vec(),
                },
            ));
            rest = &rest[data_end..];
        }
        parts
    }

    /// A form's text field.
    pub(super) fn field(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| String::from_utf8_lossy(&p.data).into_owned())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one HTTP/1.1 request whole; `None` when the client went away.
fn read_request(stream: &mut impl Read) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                let mut words = head.split_whitespace();
                return Some(Seen {
                    method: words.next()?.to_owned(),
                    path: words.next()?.to_owned(),
                    body: buf[end + 4..end + 4 + len].to_vec(),
                    head,
                });
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The requests a [`server`] has seen.
pub(super) type Requests = Arc<Mutex<Vec<Seen>>>;

/// A server that answers each of the endpoint's requests with `answer(request, n)` (a whole
/// HTTP response; `n` counts those requests) and keeps them; the run's own scrapes of
/// `/metrics` are not found. A response that says `Connection: close` (a stream without a
/// length) closes its connection.
pub(super) fn server(
    answer: impl Fn(&Seen, usize) -> String + Send + Sync + 'static,
) -> (SocketAddr, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Requests = Arc::default();
    let kept = Arc::clone(&seen);
    let answer = Arc::new(answer);
    let count = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (answer, seen, count) =
                (Arc::clone(&answer), Arc::clone(&kept), Arc::clone(&count));
            std::thread::spawn(move || {
                while let Some(request) = read_request(&mut stream) {
                    let response = if request.path.ends_with("/metrics") {
                        http("404 Not Found", "text/plain", "")
                    } else {
                        let n = count.fetch_add(1, Ordering::SeqCst);
                        let response = answer(&request, n);
                        seen.lock().unwrap().push(request);
                        response
                    };
                    let head = response.split("\r\n\r\n").next().unwrap_or_default();
                    let close = head.contains("\r\nConnection: close");
                    if stream.write_all(response.as_bytes()).is_err() || close {
                        return;
                    }
                }
            });
        }
    });
    (addr, seen)
}

/// A [`server`] that answers the requests in turn with `answers`, over and over.
pub(super) fn rotating(answers: Vec<String>) -> (SocketAddr, Requests) {
    server(move |_, n| answers[n % answers.len()].clone())
}

/// A whole HTTP response.
pub(super) fn http(status: &str, content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A whole JSON response.
pub(super) fn json(status: &str, body: &str) -> String {
    http(status, "application/json", body)
}

pub(super) fn json_ok(body: &str) -> String {
    json("200 OK", body)
}

/// A 200 response streaming `events` (server-sent events), the connection closed after them.
pub(super) fn sse(events: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n{events}"
    )
}

/// A 200 response streaming `events` as server-sent events, each named by its `type`.
pub(super) fn typed_sse(events: &[Value]) -> String {
    let events: String = (events.iter())
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap()))
        .collect();
    sse(&events)
}

pub(super) fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The one error group of a run's summary: its type, message and count.
pub(super) fn only_error(summary: &Value) -> (String, String, u64) {
    let errors = summary["error_summary"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let details = &errors[0]["error_details"];
    (
        details["type"].as_str().unwrap().to_owned(),
        details["message"].as_str().unwrap().to_owned(),
        errors[0]["count"].as_u64().unwrap(),
    )
}

/// A run of `aiperf profile` against a hand-written server: what it said, what it wrote and
/// what the server got.
pub(super) struct Run {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub output: Output,
    pub seen: Vec<Seen>,
}

impl Run {
    pub(super) fn summary(&self) -> Value {
        read_json(&self.dir.join("profile_export_aiperf.json"))
    }

    pub(super) fn records(&self) -> Vec<Value> {
        read_lines(&self.dir.join("profile_export.jsonl"))
    }

    /// Its records that failed and those that did not.
    pub(super) fn failed_and_good(&self) -> (Vec<Value>, Vec<Value>) {
        self.records()
            .into_iter()
            .partition(|r| r.get("error").is_some())
    }
}

/// `aiperf profile --endpoint-type kind -m m -u url ARGS` into `dir`.
pub(super) fn profile_at(dir: &Path, kind: &str, url: &str, args: &[&str]) -> Output {
    let mut all = vec!["--endpoint-type", kind, "-m", "m", "-u", url];
    all.extend_from_slice(args);
    profile(dir, &all)
}

/// Runs `--endpoint-type kind -m m` against `http://ADDR{url_path}` of a server answering its
/// requests in turn with `answers`, with `args`.
pub(super) fn run_against(kind: &str, url_path: &str, answers: Vec<String>, args: &[&str]) -> Run {
    let (addr, seen) = rotating(answers);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let output = profile_at(&dir, kind, &format!("http://{addr}{url_path}"), args);
    let seen = seen.lock().unwrap().clone();
    Run {
        _tmp: tmp,
        dir,
        output,
        seen,
    }
}

/// Runs `args` against a server answering `good` and `bad` in turn, 4 requests one at a time:
/// two succeed with output, two fail with one error, and the run succeeds. Returns the error's
/// details and what the server got.
pub(super) fn alternating(
    kind: &str,
    url_path: &str,
    (good, bad): (String, String),
    args: &[&str],
) -> (Value, Vec<Seen>) {
    let mut all = vec!["--request-count", "4", "--concurrency", "1"];
    all.extend_from_slice(args);
    let run = run_against(kind, url_path, vec![good, bad], &all);
    assert!(run.output.status.success(), "{}", stderr(&run.output));
    let (failed, good) = run.failed_and_good();
    assert_eq!((failed.len(), good.len()), (2, 2), "{failed:?}");
    for r in &good {
        let osl = &r["metrics"]["output_sequence_length"]["value"];
        assert!(osl.as_u64().unwrap() > 0, "{r}");
    }
    let summary = run.summary();
    let errors = summary["error_summary"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["count"], 2);
    (errors[0]["error_details"].clone(), run.seen)
}

/// Runs `kind` with `args` against a server answering the JSON bodies `good` and `bad` in turn,
/// `requests` requests: half fail with one error of `error_type` whose message holds `needle`,
/// the others are measured, and the run succeeds. Against a server answering only `bad`,
/// every request fails and so does the run, saying why.
pub(super) fn good_and_bad(
    kind: &str,
    args: &[&str],
    (good, bad): (&str, &str),
    (error_type, needle): (&str, &str),
    requests: u32,
) {
    let count = requests.to_string();
    let mut all = vec!["--request-count", count.as_str()];
    all.extend_from_slice(args);
    let run = run_against(kind, "", vec![json_ok(good), json_ok(bad)], &all);
    assert!(
        run.output.status.success(),
        "{kind}: {}",
        stderr(&run.output)
    );
    let half = requests / 2;
    let summary = run.summary();
    assert_eq!(summary["request_count"]["avg"], f64::from(half), "{kind}");
    let (found, message, errors) = only_error(&summary);
    assert_eq!(
        (found.as_str(), errors),
        (error_type, u64::from(half)),
        "{kind}: {message}"
    );
    assert!(message.contains(needle), "{kind}: {message}");
    let (failed, good) = run.failed_and_good();
    assert_eq!(
        (failed.len(), good.len()),
        (half as usize, half as usize),
        "{kind}"
    );

    let all_bad = run_against(kind, "", vec![json_ok(bad)], &all);
    let said = stderr(&all_bad.output);
    assert_eq!(all_bad.output.status.code(), Some(1), "{kind}: {said}");
    assert!(said.contains(needle), "{kind}: {said}");
}

/// The simulator for conversations (the `fixed` preset, serving `m`, 4× faster), whose answers
/// reason for half their tokens.
pub(super) async fn reasoning_sim() -> aiperf_sim::SimServer {
    let mut config = aiperf_sim::presets::preset("fixed").unwrap();
    config.served_models = vec!["m".into()];
    config.output.reasoning_ratio = 0.5;
    config.speedup = 4.0;
    aiperf_sim::SimServer::start(config).await.unwrap()
}

/// [`profile_at`] on a blocking thread, off the runtime that serves the simulator; it must
/// succeed.
pub(super) async fn profile_off_runtime(
    dir: &Path,
    kind: &'static str,
    url: &str,
    args: Vec<&'static str>,
) {
    let (dir, url) = (dir.to_owned(), url.to_owned());
    let output = tokio::task::spawn_blocking(move || profile_at(&dir, kind, &url, &args))
        .await
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
}
